import { sql } from 'kysely';
import type { Bool, Executor, WritebackAgentsTable } from './database.js';
import { precompiled } from './precompiled.js';

/** Writeback agents, their registration tokens and keys. Credentials and tokens exist only as hashes. */
export interface WritebackAgent {
  id: string;
  tenantId: string;
  name: string;
  version: string;
  directoryKind: string;
  enabled: boolean;
  createdAt: string;
  lastHeartbeatAt: string | null;
  directoryReachable: boolean;
  directoryDetail: string | null;
  jobsApplied: number;
  jobsRefused: number;
  syncRequested: boolean;
}

export interface AgentKey {
  kid: string;
  agentId: string;
  publicJwk: Record<string, unknown>;
  createdAt: string;
  retiredAt: string | null;
}

const toAgent = (r: WritebackAgentsTable): WritebackAgent => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  version: r.version,
  directoryKind: r.directory_kind,
  enabled: r.enabled === 1,
  createdAt: r.created_at,
  lastHeartbeatAt: r.last_heartbeat_at,
  directoryReachable: r.directory_reachable === 1,
  directoryDetail: r.directory_detail,
  jobsApplied: Number(r.jobs_applied),
  jobsRefused: Number(r.jobs_refused),
  syncRequested: r.sync_requested === 1,
});

const b = (v: boolean): Bool => (v ? 1 : 0);

/**
 * A counter bumped by every store write that can change whether a credential authenticates its agent
 * (enablement, a replaced credential). src/http/agent-auth.ts keeps an agent's authentication for a
 * second at most and only while this counter stands still, so on this node a disable applies to the
 * very next request. Bumped with the write (before its commit) and again by the caller after the
 * commit (src/writeback/agents.ts): a read racing the commit cannot keep the old state either.
 */
let agentGeneration = 0;

export function agentsChanged(): void {
  agentGeneration++;
}

export function agentsGeneration(): number {
  return agentGeneration;
}

// Statements on every agent request and every job, built once per dialect (src/store/precompiled.ts):
// Kysely's builder and compiler cost more than the keyed lookups themselves (BENCHMARKS.md, writeback).
const agentByCredentialQuery = precompiled((db: Executor, credentialHash: string) => db.selectFrom('writeback_agents').selectAll().where('credential_hash', '=', credentialHash));
const agentKidsQuery = precompiled((db: Executor, agentId: string) => db.selectFrom('writeback_agent_keys').select('kid').where('agent_id', '=', agentId));
const countAppliedQuery = precompiled((db: Executor, id: string) => db.updateTable('writeback_agents').set({ jobs_applied: sql`jobs_applied + 1` }).where('id', '=', id));
const countRefusedQuery = precompiled((db: Executor, id: string) => db.updateTable('writeback_agents').set({ jobs_refused: sql`jobs_refused + 1` }).where('id', '=', id));
const healthyAgentKeysQuery = precompiled((db: Executor, tenantId: string, heardSince: string) =>
  db
    .selectFrom('writeback_agent_keys as k')
    .innerJoin('writeback_agents as a', 'a.id', 'k.agent_id')
    .select(['k.kid', 'k.agent_id', 'k.public_jwk', 'k.created_at', 'k.retired_at', 'a.name'])
    .where('a.tenant_id', '=', tenantId)
    .where('a.enabled', '=', 1)
    .where('a.directory_reachable', '=', 1)
    .where('a.last_heartbeat_at', '>=', heardSince)
    .where('k.retired_at', 'is', null)
    .orderBy('k.kid'),
);

export async function insertRegistrationToken(db: Executor, t: { tokenHash: string; tenantId: string; createdAt: string; expiresAt: string }): Promise<void> {
  await db.insertInto('agent_registration_tokens').values({ token_hash: t.tokenHash, tenant_id: t.tenantId, created_at: t.createdAt, expires_at: t.expiresAt, used_at: null, agent_id: null }).execute();
}

/**
 * Consumes a one-time token: one conditional UPDATE, so two registrations racing with the same token
 * cannot both succeed. Returns the tenant when this call consumed it.
 */
export async function consumeRegistrationToken(db: Executor, tokenHash: string, now: string, agentId: string): Promise<string | undefined> {
  const row = await db.selectFrom('agent_registration_tokens').select(['tenant_id']).where('token_hash', '=', tokenHash).executeTakeFirst();
  if (!row) return undefined;
  const r = await db
    .updateTable('agent_registration_tokens')
    .set({ used_at: now, agent_id: agentId })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1 ? row.tenant_id : undefined;
}

export async function insertAgent(db: Executor, a: { id: string; tenantId: string; name: string; version: string; directoryKind: string; credentialHash: string; createdAt: string }): Promise<void> {
  await db
    .insertInto('writeback_agents')
    .values({
      id: a.id, tenant_id: a.tenantId, name: a.name, version: a.version, directory_kind: a.directoryKind,
      credential_hash: a.credentialHash, enabled: 1, created_at: a.createdAt, last_heartbeat_at: a.createdAt,
      directory_reachable: 0, directory_detail: null, jobs_applied: 0, jobs_refused: 0, sync_requested: 0, credential_used: 0,
    })
    .execute();
}

/**
 * The agent holding a credential (authentication). The first lookup that finds it also records that the
 * credential reached its agent (`credential_used`, written once): from then on the registration can no
 * longer be repeated (agents.ts). The mark is conditional on the credential hash, so it cannot race a
 * repeated registration replacing the credential: one of the two wins, the other finds nothing.
 */
export async function findAgentByCredentialHash(db: Executor, credentialHash: string): Promise<WritebackAgent | undefined> {
  const [r] = await agentByCredentialQuery(db, credentialHash);
  if (!r || r.credential_used === 1) return r && toAgent(r);
  await db.updateTable('writeback_agents').set({ credential_used: 1 }).where('credential_hash', '=', credentialHash).where('credential_used', '=', 0).execute();
  const marked = await db.selectFrom('writeback_agents').selectAll().where('credential_hash', '=', credentialHash).executeTakeFirst();
  return marked && toAgent(marked);
}

/** A registration token by its hash, consumed or not (the repeated registration of agents.ts reads it). */
export async function findRegistrationToken(db: Executor, tokenHash: string): Promise<{ tenantId: string; expiresAt: string; usedAt: string | null; agentId: string | null } | undefined> {
  const r = await db.selectFrom('agent_registration_tokens').select(['tenant_id', 'expires_at', 'used_at', 'agent_id']).where('token_hash', '=', tokenHash).executeTakeFirst();
  return r && { tenantId: r.tenant_id, expiresAt: r.expires_at, usedAt: r.used_at, agentId: r.agent_id };
}

/**
 * Replaces the credential of an agent that has never used it (a repeated registration): conditional on
 * the credential still being unused AND still the one read by the caller, so of two racing repeats, or a
 * repeat racing the first heartbeat, exactly one wins. True when this call replaced it.
 */
export async function replaceUnusedCredential(db: Executor, agentId: string, oldHash: string, newHash: string): Promise<boolean> {
  agentsChanged();
  const r = await db
    .updateTable('writeback_agents')
    .set({ credential_hash: newHash })
    .where('id', '=', agentId)
    .where('credential_hash', '=', oldHash)
    .where('credential_used', '=', 0)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** The credential hash of an agent and whether it was ever used (for a repeated registration only). */
export async function findAgentCredential(db: Executor, agentId: string): Promise<{ credentialHash: string; used: boolean } | undefined> {
  const r = await db.selectFrom('writeback_agents').select(['credential_hash', 'credential_used']).where('id', '=', agentId).executeTakeFirst();
  return r && { credentialHash: r.credential_hash, used: r.credential_used === 1 };
}

export async function findAgent(db: Executor, tenantId: string, id: string): Promise<WritebackAgent | undefined> {
  const r = await db.selectFrom('writeback_agents').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return r && toAgent(r);
}

export async function listAgents(db: Executor, tenantId: string): Promise<WritebackAgent[]> {
  const rows = await db.selectFrom('writeback_agents').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute();
  return rows.map(toAgent);
}

/** Records a heartbeat; answers whether a sync was requested (and clears the request). */
export async function recordHeartbeat(db: Executor, id: string, h: { at: string; version: string; reachable: boolean; detail: string }): Promise<void> {
  await db
    .updateTable('writeback_agents')
    .set({ last_heartbeat_at: h.at, version: h.version, directory_reachable: b(h.reachable), directory_detail: h.detail || null })
    .where('id', '=', id)
    .execute();
}

/** Takes the "sync now" request once: only the agent whose UPDATE clears the flag is told. */
export async function takeSyncRequest(db: Executor, id: string): Promise<boolean> {
  const r = await db.updateTable('writeback_agents').set({ sync_requested: 0 }).where('id', '=', id).where('sync_requested', '=', 1).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function requestSync(db: Executor, tenantId: string): Promise<number> {
  const r = await db.updateTable('writeback_agents').set({ sync_requested: 1 }).where('tenant_id', '=', tenantId).where('enabled', '=', 1).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function setAgentEnabled(db: Executor, tenantId: string, id: string, enabled: boolean): Promise<void> {
  agentsChanged();
  await db.updateTable('writeback_agents').set({ enabled: b(enabled) }).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

export async function countAgentOutcome(db: Executor, id: string, outcome: 'succeeded' | 'refused'): Promise<void> {
  await (outcome === 'succeeded' ? countAppliedQuery : countRefusedQuery)(db, id);
}

/**
 * Healthy agents of a tenant: enabled, heard from since `heardSince`, directory reachable.
 * Returns them with their current (unretired) keys.
 */
export async function listHealthyAgentKeys(db: Executor, tenantId: string, heardSince: string): Promise<(AgentKey & { agentName: string })[]> {
  const rows = await healthyAgentKeysQuery(db, tenantId, heardSince);
  return rows.map((r) => ({ kid: r.kid, agentId: r.agent_id, publicJwk: JSON.parse(r.public_jwk) as Record<string, unknown>, createdAt: r.created_at, retiredAt: r.retired_at, agentName: r.name }));
}

export async function insertAgentKey(db: Executor, k: { kid: string; agentId: string; publicJwk: object; createdAt: string }): Promise<void> {
  await db.insertInto('writeback_agent_keys').values({ kid: k.kid, agent_id: k.agentId, public_jwk: JSON.stringify(k.publicJwk), created_at: k.createdAt, retired_at: null }).execute();
}

/** Retires every current key of the agent but `keepKid` (rotation): retired keys are no longer sealed to. */
export async function retireOtherKeys(db: Executor, agentId: string, keepKid: string, at: string): Promise<void> {
  await db.updateTable('writeback_agent_keys').set({ retired_at: at }).where('agent_id', '=', agentId).where('kid', '!=', keepKid).where('retired_at', 'is', null).execute();
}

/** Keys retired before `before` can no longer be named by any unexpired job: removed. */
export async function deleteRetiredKeys(db: Executor, before: string): Promise<number> {
  const r = await db.deleteFrom('writeback_agent_keys').where('retired_at', 'is not', null).where('retired_at', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function listAgentKids(db: Executor, agentId: string): Promise<string[]> {
  return (await agentKidsQuery(db, agentId)).map((r) => r.kid);
}

export async function deleteExpiredRegistrationTokens(db: Executor, now: string): Promise<number> {
  const r = await db.deleteFrom('agent_registration_tokens').where('expires_at', '<', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** After one agent took the "sync now" request, the others need not run it too. */
export async function clearSyncRequests(db: Executor, tenantId: string): Promise<void> {
  await db.updateTable('writeback_agents').set({ sync_requested: 0 }).where('tenant_id', '=', tenantId).where('sync_requested', '=', 1).execute();
}
