import { PostgresAdapter } from 'kysely';
import type { Executor } from './database.js';

/** A refresh token as stored: only the SHA-256 of the token itself is kept. */
export interface RefreshTokenRecord {
  id: string;
  tokenHash: string;
  /** every token rotated from one sign-in shares the family id */
  familyId: string;
  tenantId: string;
  userId: string;
  clientId: string;
  scope: string;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  revokedAt: string | null;
}

export async function insertRefreshToken(db: Executor, t: RefreshTokenRecord): Promise<void> {
  await db
    .insertInto('refresh_tokens')
    .values({
      id: t.id,
      token_hash: t.tokenHash,
      family_id: t.familyId,
      tenant_id: t.tenantId,
      user_id: t.userId,
      client_id: t.clientId,
      scope: t.scope,
      created_at: t.createdAt,
      expires_at: t.expiresAt,
      used_at: t.usedAt,
      revoked_at: t.revokedAt,
    })
    .execute();
}

/** By token hash; on PostgreSQL the row stays locked until the caller's transaction ends (two redeemers race). */
export async function findRefreshTokenForUpdate(trx: Executor, tokenHash: string): Promise<RefreshTokenRecord | undefined> {
  let query = trx.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash);
  if (trx.getExecutor().adapter instanceof PostgresAdapter) query = query.forUpdate();
  const r = await query.executeTakeFirst();
  return (
    r && {
      id: r.id,
      tokenHash: r.token_hash,
      familyId: r.family_id,
      tenantId: r.tenant_id,
      userId: r.user_id,
      clientId: r.client_id,
      scope: r.scope,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      usedAt: r.used_at,
      revokedAt: r.revoked_at,
    }
  );
}

export async function markRefreshTokenUsed(db: Executor, id: string, at: string): Promise<void> {
  await db.updateTable('refresh_tokens').set({ used_at: at }).where('id', '=', id).execute();
}

/** Revokes every token of a family that is not revoked yet. */
export async function revokeRefreshTokenFamily(db: Executor, familyId: string, at: string): Promise<void> {
  await db.updateTable('refresh_tokens').set({ revoked_at: at }).where('family_id', '=', familyId).where('revoked_at', 'is', null).execute();
}

/** Revokes every refresh token of a user (sign-out everywhere, password reset). */
export async function revokeRefreshTokensOfUser(db: Executor, userId: string, at: string): Promise<void> {
  await db.updateTable('refresh_tokens').set({ revoked_at: at }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
}

/** Housekeeping: drops tokens that expired before `before`. */
export async function deleteExpiredRefreshTokens(db: Executor, before: string): Promise<number> {
  const result = await db.deleteFrom('refresh_tokens').where('expires_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
