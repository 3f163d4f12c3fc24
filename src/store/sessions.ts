import type { Executor } from './database.js';

/** A web session as stored: the cookie value and the CSRF token exist only as SHA-256 hashes. */
export interface SessionRecord {
  idHash: string;
  tenantId: string;
  userId: string;
  csrfTokenHash: string;
  createdAt: string;
  expiresAt: string;
  lastSeenAt: string;
}

export async function insertSession(db: Executor, s: SessionRecord): Promise<void> {
  await db
    .insertInto('sessions')
    .values({
      id_hash: s.idHash,
      tenant_id: s.tenantId,
      user_id: s.userId,
      csrf_token_hash: s.csrfTokenHash,
      created_at: s.createdAt,
      expires_at: s.expiresAt,
      last_seen_at: s.lastSeenAt,
    })
    .execute();
}

export async function findSessionByHash(db: Executor, idHash: string): Promise<SessionRecord | undefined> {
  const r = await db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
  return (
    r && {
      idHash: r.id_hash,
      tenantId: r.tenant_id,
      userId: r.user_id,
      csrfTokenHash: r.csrf_token_hash,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      lastSeenAt: r.last_seen_at,
    }
  );
}

/** Slides the session: a new expiry and last-seen time. */
export async function touchSession(db: Executor, idHash: string, lastSeenAt: string, expiresAt: string): Promise<void> {
  await db.updateTable('sessions').set({ last_seen_at: lastSeenAt, expires_at: expiresAt }).where('id_hash', '=', idHash).execute();
}

export async function deleteSession(db: Executor, idHash: string): Promise<void> {
  await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
}

/** Signs a user out everywhere. */
export async function deleteSessionsOfUser(db: Executor, userId: string): Promise<void> {
  await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
}

/** Signs a user out everywhere but the session they are using (after they change their password). */
export async function deleteOtherSessionsOfUser(db: Executor, userId: string, keepIdHash: string | undefined): Promise<void> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepIdHash !== undefined) query = query.where('id_hash', '!=', keepIdHash);
  await query.execute();
}

/** Housekeeping: drops sessions that expired before `before`. */
export async function deleteExpiredSessions(db: Executor, before: string): Promise<number> {
  const result = await db.deleteFrom('sessions').where('expires_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
