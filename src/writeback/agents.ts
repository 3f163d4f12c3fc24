import { calculateJwkThumbprint } from 'jose';
import type { AgentView } from '../contracts/writeback.js';
import { modified, recordAudit, type AuditTarget, type RequestContext } from '../domain/audit.js';
import type { DomainDeps } from '../domain/deps.js';
import { AppError } from '../errors.js';
import { sha256 } from '../lib/crypto.js';
import {
  consumeRegistrationToken,
  clearSyncRequests,
  findAgent,
  findAgentCredential,
  findRegistrationToken,
  insertAgent,
  insertAgentKey,
  listAgentKids,
  listAgents,
  recordHeartbeat,
  replaceUnusedCredential,
  requestSync,
  retireOtherKeys,
  setAgentEnabled,
  agentsChanged,
  takeSyncRequest,
  type WritebackAgent,
} from '../store/writeback-agents.js';
import { AGENT_HEARTBEAT_SECONDS, type Heartbeat, type HeartbeatAnswer, type RegisterAnswer, type RegisterRequest } from './protocol.js';
import { HEALTHY_WITHIN_MS } from './queue.js';
import { ssprPolicyOf } from '../domain/sspr-policy.js';
import { findTenantById } from '../store/tenants.js';
import type { Executor } from '../store/database.js';

/** Agent registration, heartbeats, key rotation and the admin's view (SPEC 3.6, reference §6). */

const agentTarget = (a: { id: string; name: string }, props: AuditTarget['modifiedProperties'] = []): AuditTarget => ({
  id: a.id,
  displayName: a.name,
  type: 'Other',
  userPrincipalName: null,
  modifiedProperties: props,
});

/** The key id is the JWK thumbprint (RFC 7638): the same key always has the same id. */
export async function keyIdOf(jwk: RegisterRequest['publicKey']): Promise<string> {
  return calculateJwkThumbprint(jwk);
}

/** How long after its token was consumed an agent that never received the answer may register again. */
export const REGISTRATION_REPEAT_MS = 10 * 60 * 1000;

/**
 * Consumes the one-time token (atomically: of two racing registrations one wins), creates the agent
 * with its first key and a random credential (only its hash is stored), and audits the registration.
 * A token already consumed is refused, except for the repeat of a registration whose answer was lost
 * (repeatRegistration).
 */
export async function registerAgent(deps: DomainDeps, ctx: RequestContext, req: RegisterRequest): Promise<RegisterAnswer> {
  const now = deps.clock.now().toISOString();
  const agentId = deps.random.uuid();
  const credential = `pac_${deps.random.token(32)}`;
  const keyId = await keyIdOf(req.publicKey);
  const tokenHash = sha256(req.token);
  return deps.db.transaction().execute(async (trx) => {
    const tenantId = await consumeRegistrationToken(trx, tokenHash, now, agentId);
    if (!tenantId) return repeatRegistration(deps, trx, ctx, { tokenHash, keyId, credential });
    await insertAgent(trx, { id: agentId, tenantId, name: req.name, version: req.version, directoryKind: req.directoryKind, credentialHash: sha256(credential), createdAt: now });
    await insertAgentKey(trx, { kid: keyId, agentId, publicJwk: req.publicKey, createdAt: now });
    await auditRegistration(deps, trx, ctx, tenantId, { id: agentId, name: req.name, directoryKind: req.directoryKind, version: req.version }, false);
    return { agentId, tenantId, credential, keyId, heartbeatSeconds: AGENT_HEARTBEAT_SECONDS };
  });
}

/**
 * The agent saves its key and token before registering (agent/state.ts), so after a crash or a lost
 * answer it repeats the call. The repeat answers the same agent with a NEW credential (the first never
 * reached anyone; only the new hash is kept) only when all hold: the key is exactly the one the token
 * was consumed with, the consumption is at most REGISTRATION_REPEAT_MS old, and the credential was
 * never used (no heartbeat, poll, sync or key call). Anything else is the plain "token already used":
 * a stolen token alone cannot take over an agent that is running, and not after ten minutes at all.
 */
async function repeatRegistration(deps: DomainDeps, trx: Executor, ctx: RequestContext, r: { tokenHash: string; keyId: string; credential: string }): Promise<RegisterAnswer> {
  const refused = () => new AppError('agent.registration_token_invalid');
  const token = await findRegistrationToken(trx, r.tokenHash);
  if (!token?.usedAt || !token.agentId) throw refused();
  const age = deps.clock.now().getTime() - Date.parse(token.usedAt);
  if (!(age >= 0 && age <= REGISTRATION_REPEAT_MS)) throw refused();
  const agent = await findAgent(trx, token.tenantId, token.agentId);
  if (!agent) throw refused();
  // an agent that never authenticated cannot have rotated: its one key is the one it registered with
  const kids = await listAgentKids(trx, agent.id);
  if (kids.length !== 1 || kids[0] !== r.keyId) throw refused();
  const current = await findAgentCredential(trx, agent.id);
  if (!current || current.used) throw refused();
  if (!(await replaceUnusedCredential(trx, agent.id, current.credentialHash, sha256(r.credential)))) throw refused();
  await auditRegistration(deps, trx, ctx, agent.tenantId, agent, true);
  return { agentId: agent.id, tenantId: agent.tenantId, credential: r.credential, keyId: r.keyId, heartbeatSeconds: AGENT_HEARTBEAT_SECONDS };
}

async function auditRegistration(deps: DomainDeps, trx: Executor, ctx: RequestContext, tenantId: string, a: { id: string; name: string; directoryKind: string; version: string }, repeated: boolean): Promise<void> {
  await recordAudit(deps, trx, ctx, {
    tenantId,
    activity: 'Register password writeback agent',
    category: 'DirectoryManagement',
    loggedByService: 'Self-service Password Management',
    operationType: 'Add',
    targets: [agentTarget(a, [modified('DirectoryKind', null, a.directoryKind), modified('Version', null, a.version)])],
    additionalDetails: [{ key: 'OnPremisesAgent', value: a.name }, ...(repeated ? [{ key: 'RegistrationRepeated', value: 'the first answer did not reach the agent; its unused credential was replaced' }] : [])],
  });
}

export async function agentHeartbeat(deps: DomainDeps, agent: { agentId: string; tenantId: string }, h: Heartbeat): Promise<HeartbeatAnswer> {
  await recordHeartbeat(deps.db, agent.agentId, { at: deps.clock.now().toISOString(), version: h.version, reachable: h.directory.reachable, detail: h.directory.detail });
  const tenant = await findTenantById(deps.db, agent.tenantId);
  const syncRequested = await takeSyncRequest(deps.db, agent.agentId);
  if (syncRequested) await clearSyncRequests(deps.db, agent.tenantId);
  return { heartbeatSeconds: AGENT_HEARTBEAT_SECONDS, writebackEnabled: tenant !== undefined && ssprPolicyOf(tenant).writebackEnabled, syncRequested };
}

/**
 * Key rotation: the new key becomes the only one jobs are sealed to; older keys are retired (kept
 * until every job that could have been sealed to them has expired, then removed by the sweep).
 */
export async function rotateAgentKey(deps: DomainDeps, agent: { agentId: string }, publicKey: RegisterRequest['publicKey']): Promise<{ keyId: string }> {
  const now = deps.clock.now().toISOString();
  const keyId = await keyIdOf(publicKey);
  await deps.db.transaction().execute(async (trx) => {
    const kids = await listAgentKids(trx, agent.agentId);
    if (!kids.includes(keyId)) await insertAgentKey(trx, { kid: keyId, agentId: agent.agentId, publicJwk: publicKey, createdAt: now });
    await retireOtherKeys(trx, agent.agentId, keyId, now);
  });
  return { keyId };
}

export type { AgentView };

export function agentView(a: WritebackAgent, now: Date): AgentView {
  const heard = a.lastHeartbeatAt !== null && Date.parse(a.lastHeartbeatAt) >= now.getTime() - HEALTHY_WITHIN_MS;
  return {
    id: a.id,
    name: a.name,
    version: a.version,
    directoryKind: a.directoryKind,
    enabled: a.enabled,
    createdDateTime: a.createdAt,
    lastHeartbeatDateTime: a.lastHeartbeatAt,
    directoryReachable: a.directoryReachable,
    directoryDetail: a.directoryDetail,
    jobsApplied: a.jobsApplied,
    jobsRefused: a.jobsRefused,
    syncRequested: a.syncRequested,
    healthy: a.enabled && heard && a.directoryReachable,
  };
}

export async function listAgentViews(deps: DomainDeps, tenantId: string): Promise<AgentView[]> {
  const now = deps.clock.now();
  return (await listAgents(deps.db, tenantId)).map((a) => agentView(a, now));
}

/** Enables or disables one agent's writeback; audited as Azure's "Enable/Disable password writeback for directory". */
export async function setAgentWriteback(deps: DomainDeps, ctx: RequestContext, tenantId: string, agentId: string, enabled: boolean): Promise<AgentView> {
  // again after the commit (setAgentEnabled bumps before it): an agent authenticated while it ran is not kept (src/http/agent-auth.ts)
  return deps.db.transaction().execute(async (trx) => {
    const agent = await findAgent(trx, tenantId, agentId);
    if (!agent) throw new AppError('agent.not_found');
    if (agent.enabled !== enabled) {
      await setAgentEnabled(trx, tenantId, agentId, enabled);
      await recordAudit(deps, trx, ctx, {
        tenantId,
        activity: enabled ? 'Enable password writeback for directory' : 'Disable password writeback for directory',
        category: 'DirectoryManagement',
        loggedByService: 'Self-service Password Management',
        operationType: 'Update',
        targets: [agentTarget(agent, [modified('Enabled', agent.enabled, enabled)])],
        additionalDetails: [{ key: 'OnPremisesAgent', value: agent.name }],
      });
    }
    return agentView({ ...agent, enabled }, deps.clock.now());
  }).finally(agentsChanged);
}

/** "Sync now": every enabled agent is asked at its next heartbeat; the first to answer runs it. */
export async function requestAgentSync(deps: DomainDeps, tenantId: string): Promise<{ agentsAsked: number }> {
  return { agentsAsked: await requestSync(deps.db, tenantId) };
}
