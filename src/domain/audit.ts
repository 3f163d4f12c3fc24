import { createHash } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/crypto.js';
import type { Executor } from '../store/database.js';
import {
  findChainHead,
  insertAuditEvent,
  lockAuditChain,
  type AuditEvent,
  type AuditInitiator,
  type AuditTarget,
} from '../store/audit-events.js';
import type { Principal } from './authorization.js';
import { streamAuditEvent } from './audit-stream.js';
import { countAuditEvent } from './audit-counts.js';

export type { AuditInitiator, AuditTarget } from '../store/audit-events.js';

/** Azure's activity names for the directory writes of this issue (later issues add theirs). */
export type AuditActivity =
  | 'Add user'
  | 'Update user'
  | 'Delete user'
  | 'Disable account'
  | 'Add group'
  | 'Update group'
  | 'Delete group'
  | 'Add member to group'
  | 'Remove member from group'
  | 'Add member to role'
  | 'Remove member from role'
  | 'Add application'
  | 'Add tenant'
  | 'Reset user password'
  | 'Reset password (by admin)'
  | 'Change user password'
  | 'Change password (self-service)'
  | 'Update password policy'
  | 'Self-service password reset policy changes'
  | 'Enable password writeback for directory'
  | 'Disable password writeback for directory'
  | 'Register password writeback agent'
  | 'Update authorization policy'
  | 'User registered security info'
  | 'User deleted security info'
  | 'User reviewed security info'
  | 'User registered for self-service password reset'
  | 'Self-service password reset flow activity progress'
  | 'Reset password (self-service)'
  | 'Unlock user account (self-service)'
  | 'Blocked from self-service password reset'
  | 'Admin registered security info'
  | 'Admin updated security info'
  | 'Admin deleted security info'
  | 'Unlock user account (by admin)'
  | 'Update audit log policy'
  | 'Audit log retention'
  | 'Update company branding'
  | 'Authenticator app code reused';

export const GENESIS_HASH = '0'.repeat(64);

/** Who did it and from where: built by the HTTP layer (or CLI), passed into use cases. */
export interface RequestContext {
  readonly principal: Principal | null;
  readonly ipAddress: string | null;
  readonly userAgent: string | null;
  readonly correlationId: string;
}

export interface AuditInput {
  tenantId: string;
  activity: AuditActivity;
  category: 'UserManagement' | 'GroupManagement' | 'RoleManagement' | 'ApplicationManagement' | 'DirectoryManagement' | 'Policy';
  loggedByService?: 'Core Directory' | 'Self-service Password Management' | 'Authentication Methods';
  operationType: 'Add' | 'Update' | 'Delete' | 'Assign' | 'Unassign';
  result?: 'success' | 'failure' | 'timeout';
  resultReason?: string;
  targets: AuditTarget[];
  additionalDetails?: { key: string; value: string }[];
}

export interface AuditDeps {
  clock: Clock;
  random: Random;
}

/**
 * The event that follows `head` (the tenant's newest event, or none) in the hash chain. The caller
 * holds the tenant's chain lock and writes it.
 */
export function chainedEvent(deps: AuditDeps, ctx: RequestContext, input: AuditInput, head: { seq: number; hash: string } | undefined, at: string): AuditEvent {
  const body: Omit<AuditEvent, 'hash'> = {
    id: deps.random.uuid(),
    tenantId: input.tenantId,
    seq: (head?.seq ?? 0) + 1,
    activityDateTime: at,
    activityDisplayName: input.activity,
    category: input.category,
    loggedByService: input.loggedByService ?? 'Core Directory',
    operationType: input.operationType,
    result: input.result ?? 'success',
    resultReason: input.resultReason ?? '',
    correlationId: ctx.correlationId,
    initiatedBy: initiatorOf(ctx),
    targetResources: input.targets,
    additionalDetails: input.additionalDetails ?? [],
    prevHash: head?.hash ?? GENESIS_HASH,
  };
  return { ...body, hash: hashAuditEvent(body) };
}

/**
 * Appends one event to the tenant's hash chain inside the caller's transaction, so the event exists
 * exactly when the change it records does. Never pass a secret in any field.
 */
export async function recordAudit(deps: AuditDeps, trx: Executor, ctx: RequestContext, input: AuditInput): Promise<AuditEvent> {
  await lockAuditChain(trx, input.tenantId);
  const head = await findChainHead(trx, input.tenantId);
  const event = chainedEvent(deps, ctx, input, head, deps.clock.now().toISOString());
  await insertAuditEvent(trx, event);
  await countAuditEvent(trx, event);
  await streamAuditEvent(deps, trx, event);
  return event;
}

/** SHA-256 over a canonical encoding of every field but the hash itself; chained by prevHash. */
export function hashAuditEvent(e: Omit<AuditEvent, 'hash'>): string {
  return createHash('sha256').update(canonicalJson(e)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function initiatorOf(ctx: RequestContext): AuditInitiator {
  const p = ctx.principal;
  if (p === null) return {};
  if (p.kind === 'app') {
    return { app: { appId: p.clientId, displayName: p.displayName, servicePrincipalId: null, servicePrincipalName: p.displayName } };
  }
  return { user: { id: p.userId, displayName: p.displayName, userPrincipalName: p.userPrincipalName, ipAddress: ctx.ipAddress } };
}

/** Builds a modifiedProperties entry the way Azure renders values: JSON text. */
export function modified(displayName: string, oldValue: unknown, newValue: unknown): AuditTarget['modifiedProperties'][number] {
  return {
    displayName,
    oldValue: oldValue === undefined ? null : JSON.stringify(oldValue),
    newValue: newValue === undefined ? null : JSON.stringify(newValue),
  };
}
