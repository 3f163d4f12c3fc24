import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/crypto.js';
import type { Db } from '../store/database.js';
import { deleteExpiredRefreshTokens } from '../store/refresh-tokens.js';
import { deleteExpiredSessions } from '../store/sessions.js';
import { deleteSsprLeftovers } from '../store/sspr.js';
import { deleteVerificationCodesBefore } from '../store/verification-codes.js';
import { sweepAbandonedFlows } from './sspr/abandon.js';
import { sweepWriteback, type WritebackSweepResult } from '../writeback/retry.js';

export const HOUSEKEEPING_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 3_600_000;
/** Ended reset flows stay a week for support questions ("what happened to my reset?"), then go. */
const FLOW_RETENTION_MS = 7 * DAY_MS;

export interface SweepResult {
  sessions: number;
  refreshTokens: number;
  /** reset flows that lapsed unfinished and were ended as "Abandoned" */
  abandonedFlows: number;
  /** flows, counters, blocks, CAPTCHA solutions and verification codes that can never matter again */
  ssprRows: number;
  /** writeback: cloud sides applied after an on-premises success, stale jobs expired, old keys removed */
  writeback: WritebackSweepResult;
}

/**
 * Deletes rows that can never be used again and ends reset flows nobody finished. Safe to run on
 * every node at once: plain deletes by time, and flows end through a conditional status change.
 */
export async function sweepExpired(deps: { db: Db; clock: Clock; random: Random }): Promise<SweepResult> {
  const nowDate = deps.clock.now();
  const now = nowDate.toISOString();
  const sessions = await deleteExpiredSessions(deps.db, now);
  const refreshTokens = await deleteExpiredRefreshTokens(deps.db, now);
  const abandonedFlows = await sweepAbandonedFlows(deps);
  // the longest counting window is 24 hours (flows per day); a block outlives it in its own table
  const dayAgo = new Date(nowDate.getTime() - DAY_MS).toISOString();
  const ssprRows =
    (await deleteSsprLeftovers(deps.db, { now, flowsBefore: new Date(nowDate.getTime() - FLOW_RETENTION_MS).toISOString(), attemptsBefore: dayAgo })) +
    (await deleteVerificationCodesBefore(deps.db, dayAgo));
  const writeback = await sweepWriteback(deps);
  return { sessions, refreshTokens, abandonedFlows, ssprRows, writeback };
}
