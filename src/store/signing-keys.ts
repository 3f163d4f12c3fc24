import type { Executor } from './database.js';

export interface SigningKeyRow {
  kid: string;
  alg: string;
  publicJwk: string;
  privateJwkSealed: string;
  createdAt: string;
  activeFrom: string;
  retiredAt: string | null;
  expiresAt: string | null;
}

export async function insertSigningKey(db: Executor, k: SigningKeyRow): Promise<void> {
  await db
    .insertInto('signing_keys')
    .values({
      kid: k.kid,
      alg: k.alg,
      public_jwk: k.publicJwk,
      private_jwk_sealed: k.privateJwkSealed,
      created_at: k.createdAt,
      active_from: k.activeFrom,
      retired_at: k.retiredAt,
      expires_at: k.expiresAt,
    })
    .execute();
}

/** Keys still published (not past expires_at), newest first. */
export async function listPublishedKeys(db: Executor, now: string): Promise<SigningKeyRow[]> {
  const rows = await db
    .selectFrom('signing_keys')
    .selectAll()
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((r) => ({
    kid: r.kid,
    alg: r.alg,
    publicJwk: r.public_jwk,
    privateJwkSealed: r.private_jwk_sealed,
    createdAt: r.created_at,
    activeFrom: r.active_from,
    retiredAt: r.retired_at,
    expiresAt: r.expires_at,
  }));
}

/** Retires every signing key of `alg` but `keepKid`: they stop signing now and stay published until `expiresAt`. */
export async function retireOtherKeys(db: Executor, keepKid: string, alg: string, at: string, expiresAt: string): Promise<void> {
  await db
    .updateTable('signing_keys')
    .set({ retired_at: at, expires_at: expiresAt })
    .where('kid', '!=', keepKid)
    .where('alg', '=', alg)
    .where('retired_at', 'is', null)
    .execute();
}
