import type { Executor } from './database.js';

/** A user's recent password hashes, newest first: at most `limit` of them. */
export async function listPasswordHistory(db: Executor, userId: string, limit: number): Promise<string[]> {
  if (limit <= 0) return [];
  const rows = await db
    .selectFrom('password_history')
    .select('password_hash')
    .where('user_id', '=', userId)
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => r.password_hash);
}

/**
 * Appends a hash and keeps only the newest `keep` rows (keep 0 clears the history). The caller
 * runs this in the transaction that sets the password, after updating the user's row, so two
 * concurrent sets of one user are serialised by that row's lock and cannot pick the same seq.
 */
export async function appendPasswordHistory(db: Executor, userId: string, passwordHash: string, createdAt: string, keep: number): Promise<void> {
  if (keep <= 0) {
    await db.deleteFrom('password_history').where('user_id', '=', userId).execute();
    return;
  }
  const head = await db
    .selectFrom('password_history')
    .select('seq')
    .where('user_id', '=', userId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const seq = (head?.seq ?? 0) + 1;
  await db.insertInto('password_history').values({ user_id: userId, seq, password_hash: passwordHash, created_at: createdAt }).execute();
  await db.deleteFrom('password_history').where('user_id', '=', userId).where('seq', '<=', seq - keep).execute();
}
