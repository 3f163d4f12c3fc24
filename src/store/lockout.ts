import { PostgresAdapter } from 'kysely';
import type { Executor } from './database.js';
import { precompiled } from './precompiled.js';
import type { LockoutState } from './users.js';

export interface LockoutRow extends LockoutState {
  accountEnabled: boolean;
}

/** The same columns without a lock, outside any transaction (a sign-in with nothing to write). */
export async function readLockoutState(db: Executor, userId: string): Promise<LockoutRow | undefined> {
  const [row] = await lockoutById(db, userId);
  return row && toLockoutRow(row);
}

const lockoutById = precompiled((db: Executor, userId: string) =>
  db.selectFrom('users').select(['failed_sign_in_count', 'lockout_count', 'locked_until', 'recent_bad_hashes', 'account_enabled']).where('id', '=', userId),
);

function toLockoutRow(row: { failed_sign_in_count: number; lockout_count: number; locked_until: string | null; recent_bad_hashes: string; account_enabled: number }): LockoutRow {
  return {
    failedSignInCount: Number(row.failed_sign_in_count),
    lockoutCount: Number(row.lockout_count),
    lockedUntil: row.locked_until,
    recentBadHashes: JSON.parse(row.recent_bad_hashes) as string[],
    accountEnabled: row.account_enabled === 1,
  };
}

/**
 * The lockout columns of one user, read inside the caller's transaction. On PostgreSQL the row is
 * locked until the transaction ends, so two nodes counting failures of the same user at once do not
 * lose a count; SQLite transactions are serial already.
 */
export async function readLockoutStateForUpdate(trx: Executor, userId: string): Promise<LockoutRow | undefined> {
  let query = trx
    .selectFrom('users')
    .select(['failed_sign_in_count', 'lockout_count', 'locked_until', 'recent_bad_hashes', 'account_enabled'])
    .where('id', '=', userId);
  if (trx.getExecutor().adapter instanceof PostgresAdapter) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toLockoutRow(row);
}
