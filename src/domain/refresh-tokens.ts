import { sha256 } from '../lib/crypto.js';
import type { Executor } from '../store/database.js';
import {
  findRefreshTokenForUpdate,
  insertRefreshToken,
  markRefreshTokenUsed,
  revokeRefreshTokenFamily,
  type RefreshTokenRecord,
} from '../store/refresh-tokens.js';
import { findUserById, type User } from '../store/users.js';
import type { DomainDeps } from './deps.js';

export const REFRESH_TOKEN_LIFETIME_DAYS = 90;
const DAY = 86_400_000;

export interface NewRefreshToken {
  tenantId: string;
  userId: string;
  clientId: string;
  scope: string;
  /** continue this family (rotation); omitted: a new family (a new sign-in) */
  familyId?: string;
}

/** Issues a refresh token and stores only its hash. Returns the token, to be shown once. */
export async function issueRefreshToken(deps: Pick<DomainDeps, 'clock' | 'random'>, db: Executor, input: NewRefreshToken): Promise<string> {
  const token = deps.random.token(32);
  const now = deps.clock.now();
  const id = deps.random.uuid();
  await insertRefreshToken(db, {
    id,
    tokenHash: sha256(token),
    familyId: input.familyId ?? id,
    tenantId: input.tenantId,
    userId: input.userId,
    clientId: input.clientId.toLowerCase(),
    scope: input.scope,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + REFRESH_TOKEN_LIFETIME_DAYS * DAY).toISOString(),
    usedAt: null,
    revokedAt: null,
  });
  return token;
}

/**
 * Why a refresh token was refused:
 * - `invalid`: unknown, malformed, or issued to another tenant or client
 * - `expired`: past its 90 days
 * - `reused`: already redeemed once; the whole family was revoked just now (a stolen copy is in play)
 * - `revoked`: its family was revoked, or the user's sessions were revoked after it was issued
 * - `user_disabled`: the user is disabled or deleted
 */
export type RefreshFailure = 'invalid' | 'expired' | 'reused' | 'revoked' | 'user_disabled';

export type RefreshResult =
  | { readonly ok: true; readonly user: User; readonly scope: string; readonly refreshToken: string }
  | { readonly ok: false; readonly reason: RefreshFailure };

/**
 * Redeems a refresh token with rotation: the presented token is marked used and a new one of the
 * same family is returned. Presenting a used token again revokes the whole family, so whichever of
 * the thief and the user comes second is refused and the other's copy dies with it. The revocation
 * commits even though the answer is a refusal (results are returned, not thrown).
 */
export async function redeemRefreshToken(
  deps: Pick<DomainDeps, 'db' | 'clock' | 'random'>,
  input: { tenantId: string; clientId: string; refreshToken: string },
): Promise<RefreshResult> {
  const now = deps.clock.now();
  const nowIso = now.toISOString();
  return deps.db.transaction().execute(async (trx): Promise<RefreshResult> => {
    const record = await findRefreshTokenForUpdate(trx, sha256(input.refreshToken));
    if (!record || record.tenantId !== input.tenantId || record.clientId !== input.clientId.toLowerCase()) {
      return { ok: false, reason: 'invalid' };
    }
    if (record.revokedAt !== null) return { ok: false, reason: 'revoked' };
    if (record.usedAt !== null) {
      await revokeRefreshTokenFamily(trx, record.familyId, nowIso);
      return { ok: false, reason: 'reused' };
    }
    if (Date.parse(record.expiresAt) <= now.getTime()) return { ok: false, reason: 'expired' };

    const user = await findUserById(trx, record.tenantId, record.userId);
    if (!user || !user.accountEnabled) return { ok: false, reason: 'user_disabled' };
    if (revokedBySessionReset(record, user)) {
      await revokeRefreshTokenFamily(trx, record.familyId, nowIso);
      return { ok: false, reason: 'revoked' };
    }

    await markRefreshTokenUsed(trx, record.id, nowIso);
    const refreshToken = await issueRefreshToken(deps, trx, {
      tenantId: record.tenantId,
      userId: record.userId,
      clientId: record.clientId,
      scope: record.scope,
      familyId: record.familyId,
    });
    return { ok: true, user, scope: record.scope, refreshToken };
  });
}

/** sign_in_sessions_valid_from moved past the family's sign-in: a password reset or "revoke sessions". */
function revokedBySessionReset(record: RefreshTokenRecord, user: User): boolean {
  return Date.parse(user.signInSessionsValidFrom) > Date.parse(record.createdAt);
}
