import type { Clock } from '../lib/clock.js';
import type { Db } from '../store/database.js';
import { revokeRefreshTokensOfUser } from '../store/refresh-tokens.js';
import { deleteSessionsOfUser } from '../store/sessions.js';
import { revokeSignInSessions, setPasswordHash } from '../store/users.js';
import { deleteExpiredRegistrationTokens, deleteRetiredKeys } from '../store/writeback-agents.js';
import { expireStaleJobs, listCloudRetries, takeCloudRetry } from '../store/writeback-jobs.js';
import { AGENT_LONG_POLL_MAX_SECONDS } from './protocol.js';

/** A success younger than this may still be in its request's cloud transaction: not retried yet. */
export const CLOUD_RETRY_AFTER_MS = 60_000;
/** Longest job timeout (config max): a retired key is kept this long after rotation. */
export const LONGEST_JOB_TIMEOUT_MS = 120_000;

export interface WritebackSweepResult {
  /** OnPremisesSuccessCloudFailure: on-premises successes whose cloud side was written now */
  cloudApplied: number;
  expiredJobs: number;
  retiredKeys: number;
}

/**
 * Brings the cloud in line with the directory after an on-premises success whose cloud write did not
 * happen (the request died, the database failed, or the agent answered after the timeout): the hash
 * computed before the job left is written now, sessions end as after any reset. Safe on every node:
 * the write and the mark are one transaction and the mark makes the row ineligible.
 */
export const WRITEBACK_SWEEP_INTERVAL_MS = 60_000;

/**
 * Runs sweepWriteback every minute (the hourly housekeeping also runs it): a late on-premises success
 * should reach the cloud within minutes, not an hour. Start it next to the housekeeping timer in serve.
 */
export function startWritebackSweeper(deps: { db: Db; clock: Clock }, onError: (err: unknown) => void, intervalMs = WRITEBACK_SWEEP_INTERVAL_MS): () => void {
  const timer = setInterval(() => {
    sweepWriteback(deps).catch(onError);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export async function sweepWriteback(deps: { db: Db; clock: Clock }): Promise<WritebackSweepResult> {
  const nowDate = deps.clock.now();
  const now = nowDate.toISOString();
  let cloudApplied = 0;
  for (const job of await listCloudRetries(deps.db, new Date(nowDate.getTime() - CLOUD_RETRY_AFTER_MS).toISOString())) {
    const hash = job.cloudHash;
    if (!hash) continue;
    const options = job.cloudOptions ? (JSON.parse(job.cloudOptions) as { mustChange?: boolean }) : {};
    const applied = await deps.db.transaction().execute(async (trx) => {
      // the mark first: of two nodes sweeping at once, one applies
      if (!(await takeCloudRetry(trx, job.id))) return false;
      await setPasswordHash(trx, job.userId, { passwordHash: hash, changedAt: now, forceChange: options.mustChange === true });
      await revokeSignInSessions(trx, job.tenantId, job.userId, now);
      await deleteSessionsOfUser(trx, job.userId);
      await revokeRefreshTokensOfUser(trx, job.userId, now);
      return true;
    });
    if (applied) cloudApplied += 1;
  }
  // jobs whose waiting request died with its node; the margin leaves the live waiter its own expiry
  const expiredJobs = await expireStaleJobs(deps.db, new Date(nowDate.getTime() - AGENT_LONG_POLL_MAX_SECONDS * 1000).toISOString(), now);
  const retiredKeys = await deleteRetiredKeys(deps.db, new Date(nowDate.getTime() - LONGEST_JOB_TIMEOUT_MS).toISOString());
  await deleteExpiredRegistrationTokens(deps.db, new Date(nowDate.getTime() - 24 * 3_600_000).toISOString());
  return { cloudApplied, expiredJobs, retiredKeys };
}
