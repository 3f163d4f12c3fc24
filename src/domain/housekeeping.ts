import type { Clock } from '../lib/clock.js';
import type { Db } from '../store/database.js';
import { deleteExpiredRefreshTokens } from '../store/refresh-tokens.js';
import { deleteExpiredSessions } from '../store/sessions.js';

export const HOUSEKEEPING_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Deletes rows that can never be used again: sessions and refresh tokens past their expiry.
 * Safe to run on every node at once (plain deletes by time).
 */
export async function sweepExpired(deps: { db: Db; clock: Clock }): Promise<{ sessions: number; refreshTokens: number }> {
  const now = deps.clock.now().toISOString();
  const sessions = await deleteExpiredSessions(deps.db, now);
  const refreshTokens = await deleteExpiredRefreshTokens(deps.db, now);
  return { sessions, refreshTokens };
}
