import type { Bool, Executor, WritebackJobsTable } from './database.js';
import { precompiled } from './precompiled.js';

/** The writeback job queue. `sealed` holds the JWE only while the job can still be taken. */
export type JobState = WritebackJobsTable['state'];

export interface WritebackJob {
  id: string;
  tenantId: string;
  userId: string;
  kind: string;
  sealed: string | null;
  state: JobState;
  agentId: string | null;
  createdAt: string;
  claimedAt: string | null;
  finishedAt: string | null;
  expiresAt: string;
  reason: string | null;
  detail: string | null;
  durationMs: number | null;
  correlationId: string | null;
  cloudHash: string | null;
  cloudApplied: boolean;
  late: boolean;
  cloudOptions: string | null;
}

const toJob = (r: WritebackJobsTable): WritebackJob => ({
  id: r.id,
  tenantId: r.tenant_id,
  userId: r.user_id,
  kind: r.kind,
  sealed: r.sealed,
  state: r.state,
  agentId: r.agent_id,
  createdAt: r.created_at,
  claimedAt: r.claimed_at,
  finishedAt: r.finished_at,
  expiresAt: r.expires_at,
  reason: r.reason,
  detail: r.detail,
  durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
  correlationId: r.correlation_id,
  cloudHash: r.cloud_hash,
  cloudApplied: r.cloud_applied === 1,
  late: r.late === 1,
  cloudOptions: r.cloud_options,
});

/**
 * A new job, pending; or, with `claimedBy`, already claimed by that agent (its long poll waits in this
 * process and takes the job directly: src/writeback/handoff.ts).
 */
export async function insertJob(db: Executor, j: { id: string; tenantId: string; userId: string; kind: string; sealed: string; createdAt: string; expiresAt: string; correlationId: string | null; cloudHash: string | null; cloudOptions: string | null; claimedBy?: { agentId: string; at: string } }): Promise<void> {
  await insertJobQuery(db, j.id, j.tenantId, j.userId, j.kind, j.sealed, j.claimedBy ? 'claimed' : 'pending', j.claimedBy?.agentId ?? null, j.createdAt, j.claimedBy?.at ?? null, j.expiresAt, j.correlationId, j.cloudHash, j.cloudOptions);
}

// The statements of a writeback round trip are built once per dialect (src/store/precompiled.ts): Kysely's
// builder cost more than the statements themselves. Updates return the ids they changed (both dialects).
const insertJobQuery = precompiled(
  (db: Executor, id: string, tenantId: string, userId: string, kind: string, sealed: string, state: 'pending' | 'claimed', agentId: string | null, createdAt: string, claimedAt: string | null, expiresAt: string, correlationId: string | null, cloudHash: string | null, cloudOptions: string | null) =>
    db.insertInto('writeback_jobs').values({
      id, tenant_id: tenantId, user_id: userId, kind, sealed, state, agent_id: agentId, created_at: createdAt, claimed_at: claimedAt, finished_at: null, expires_at: expiresAt,
      reason: null, detail: null, duration_ms: null, correlation_id: correlationId, cloud_hash: cloudHash, cloud_applied: 0, late: 0, cloud_options: cloudOptions,
    }),
);
const findJobQuery = precompiled((db: Executor, id: string) => db.selectFrom('writeback_jobs').selectAll().where('id', '=', id));
const PENDING_PAGE = 20;
const pendingJobsQuery = precompiled((db: Executor, tenantId: string, now: string) =>
  db.selectFrom('writeback_jobs').selectAll().where('tenant_id', '=', tenantId).where('state', '=', 'pending').where('expires_at', '>', now).orderBy('created_at').orderBy('id').limit(PENDING_PAGE),
);
const claimJobQuery = precompiled((db: Executor, id: string, agentId: string, now: string, notExpiredAt: string) =>
  db.updateTable('writeback_jobs').set({ state: 'claimed', agent_id: agentId, claimed_at: now }).where('id', '=', id).where('state', '=', 'pending').where('expires_at', '>', notExpiredAt).returning('id'),
);
const finishClaimedJobQuery = precompiled((db: Executor, id: string, agentId: string, state: 'succeeded' | 'refused', reason: string | null, detail: string | null, durationMs: number, finishedAt: string) =>
  db.updateTable('writeback_jobs').set({ state, reason, detail, duration_ms: durationMs, finished_at: finishedAt, sealed: null }).where('id', '=', id).where('state', '=', 'claimed').where('agent_id', '=', agentId).returning('id'),
);

export async function findJob(db: Executor, id: string): Promise<WritebackJob | undefined> {
  const [r] = await findJobQuery(db, id);
  return r && toJob(r);
}

/** Pending, unexpired jobs of a tenant, oldest first (the claim picks the first sealed to the agent). */
export async function listPendingJobs(db: Executor, tenantId: string, now: string, limit = PENDING_PAGE): Promise<WritebackJob[]> {
  if (limit === PENDING_PAGE) return (await pendingJobsQuery(db, tenantId, now)).map(toJob);
  const rows = await db
    .selectFrom('writeback_jobs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('state', '=', 'pending')
    .where('expires_at', '>', now)
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map(toJob);
}

/** The atomic claim: only the agent whose UPDATE changes the row takes the job. */
export async function claimJob(db: Executor, id: string, agentId: string, now: string): Promise<boolean> {
  return (await claimJobQuery(db, id, agentId, now, now)).length === 1;
}

/** Hands a claimed job back (the claiming agent hung up before it received it). */
export async function releaseJob(db: Executor, id: string, agentId: string): Promise<void> {
  await db.updateTable('writeback_jobs').set({ state: 'pending', agent_id: null, claimed_at: null }).where('id', '=', id).where('state', '=', 'claimed').where('agent_id', '=', agentId).execute();
}

export interface JobOutcome {
  state: 'succeeded' | 'refused';
  reason: string | null;
  detail: string | null;
  durationMs: number;
  finishedAt: string;
}

/** Records the agent's result on a claimed job, once; the sealed payload goes with it. */
export async function finishClaimedJob(db: Executor, id: string, agentId: string, o: JobOutcome): Promise<boolean> {
  return (await finishClaimedJobQuery(db, id, agentId, o.state, o.reason, o.detail, o.durationMs, o.finishedAt)).length === 1;
}

/**
 * A result for a job the service already gave up on: the directory did act, so it is recorded (late);
 * a success with a cloud hash is then applied to the cloud by the retry sweep.
 */
export async function finishExpiredJobLate(db: Executor, id: string, agentId: string, o: JobOutcome): Promise<boolean> {
  const r = await db
    .updateTable('writeback_jobs')
    .set({ state: o.state, reason: o.reason, detail: o.detail, duration_ms: o.durationMs, finished_at: o.finishedAt, sealed: null, late: 1 })
    .where('id', '=', id)
    .where('state', '=', 'expired')
    .where('agent_id', '=', agentId)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Gives up on a job that is not finished: state expired, the sealed payload dropped. */
export async function expireJob(db: Executor, id: string, now: string): Promise<boolean> {
  const r = await db
    .updateTable('writeback_jobs')
    .set({ state: 'expired', sealed: null, finished_at: now })
    .where('id', '=', id)
    .where('state', 'in', ['pending', 'claimed'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Jobs whose waiting request died with its node: expired by time. */
export async function expireStaleJobs(db: Executor, before: string, now: string): Promise<number> {
  const r = await db
    .updateTable('writeback_jobs')
    .set({ state: 'expired', sealed: null, finished_at: now })
    .where('state', 'in', ['pending', 'claimed'])
    .where('expires_at', '<', before)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** The cloud side of a succeeded job was written (in the same transaction as the cloud change). */
export async function markCloudApplied(db: Executor, id: string): Promise<void> {
  await db.updateTable('writeback_jobs').set({ cloud_applied: 1 as Bool, cloud_hash: null }).where('id', '=', id).execute();
}

/** The sweep's claim on a cloud retry: only the node whose UPDATE changes the row applies it. */
export async function takeCloudRetry(db: Executor, id: string): Promise<boolean> {
  const r = await db.updateTable('writeback_jobs').set({ cloud_applied: 1 as Bool, cloud_hash: null }).where('id', '=', id).where('cloud_applied', '=', 0).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * On-premises successes whose cloud side is still missing (OnPremisesSuccessCloudFailure): late results,
 * and successes finished before `finishedBefore` (their request had time to write the cloud side).
 */
export async function listCloudRetries(db: Executor, finishedBefore: string, limit = 100): Promise<WritebackJob[]> {
  const rows = await db
    .selectFrom('writeback_jobs')
    .selectAll()
    .where('state', '=', 'succeeded')
    .where('cloud_applied', '=', 0)
    .where('cloud_hash', 'is not', null)
    .where((eb) => eb.or([eb('late', '=', 1), eb('finished_at', '<', finishedBefore)]))
    .orderBy('finished_at')
    .limit(limit)
    .execute();
  return rows.map(toJob);
}

/** Finished jobs in a range, for insights (succeeded and refused; expired counts as a failure). */
export async function listFinishedJobs(db: Executor, tenantId: string, from: string, to: string): Promise<{ state: JobState; durationMs: number | null }[]> {
  const rows = await db
    .selectFrom('writeback_jobs')
    .select(['state', 'duration_ms'])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .where('state', 'in', ['succeeded', 'refused', 'expired'])
    .where('kind', '!=', 'verifyPassword')
    .execute();
  return rows.map((r) => ({ state: r.state, durationMs: r.duration_ms === null ? null : Number(r.duration_ms) }));
}
