import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload, decodeProtectedHeader } from 'jose';
import type { Clock } from '../lib/clock.js';
import type { Random, SecretBox } from '../lib/crypto.js';
import type { Db } from '../store/database.js';
import { insertSigningKey, listPublishedKeys, retireOtherKeys, type SigningKeyRow } from '../store/signing-keys.js';

export const ACCESS_TOKEN_LIFETIME_SECONDS = 3600;
/** A signing key signs for this long before a new one replaces it. */
export const KEY_ROTATION_DAYS = 30;
const ALG = 'RS256';
const DAY = 86_400_000;
/** Verified tokens remembered by their exact string (≈ 2 KB each with the claims). */
const VERIFIED_CACHE_MAX = 4096;

/** The audiences we accept: tokens for our own resource and tokens asked for "Graph". */
export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';

export interface TokenDeps {
  db: Db;
  clock: Clock;
  random: Random;
  secretBox: SecretBox;
  publicUrl: string;
}

type JoseKey = Awaited<ReturnType<typeof importJWK>>;

export function issuerFor(publicUrl: string, tenantId: string): string {
  return `${publicUrl}/${tenantId}/v2.0`;
}

interface ActiveKey {
  kid: string;
  key: JoseKey;
  loadedAt: number;
  activeFrom: number;
}

/**
 * Signs and verifies access tokens with keys kept in the database (sealed with the secret key), so
 * every node of a cluster signs with the same key and publishes the same JWKS. A key signs for
 * KEY_ROTATION_DAYS; its successor is made on demand and the old key stays published until tokens
 * it signed have expired.
 */
export class TokenService {
  private active: ActiveKey | undefined;
  private loading: Promise<ActiveKey> | undefined;
  private readonly verifyKeys = new Map<string, JoseKey>();
  /**
   * Tokens whose signature, issuer and audience were checked, by their exact string, until they
   * expire. An RS256 verification is the largest cost of a Graph read (BENCHMARKS.md, graph-read);
   * a token's bytes cannot change, so only the time claims are checked again on a hit. What a token
   * grants is still decided per request (auth.ts re-reads the user, the roles and the app).
   */
  private readonly verified = new Map<string, Readonly<JWTPayload & { tid: string }>>();

  constructor(private readonly deps: TokenDeps) {}

  async sign(claims: JWTPayload & { tid: string }, lifetimeSeconds = ACCESS_TOKEN_LIFETIME_SECONDS): Promise<string> {
    const key = await this.signingKey();
    const now = Math.floor(this.deps.clock.now().getTime() / 1000);
    return new SignJWT({ ver: '2.0', ...claims })
      .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
      .setIssuer(issuerFor(this.deps.publicUrl, claims.tid))
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + lifetimeSeconds)
      .setJti(this.deps.random.uuid())
      .sign(key.key);
  }

  /** Verifies signature, expiry and audience; returns the payload or undefined. Never throws. */
  async verify(token: string): Promise<Readonly<JWTPayload & { tid: string }> | undefined> {
    const hit = this.verified.get(token);
    if (hit) {
      // jose's own rule with no clock tolerance: valid while nbf <= now < exp, in whole seconds
      const now = Math.floor(this.deps.clock.now().getTime() / 1000);
      if ((hit.nbf === undefined || hit.nbf <= now) && hit.exp !== undefined && hit.exp > now) return hit;
      this.verified.delete(token);
      return undefined;
    }
    try {
      const { kid } = decodeProtectedHeader(token);
      if (typeof kid !== 'string') return undefined;
      const key = await this.verificationKey(kid);
      if (!key) return undefined;
      const { payload } = await jwtVerify(token, key, {
        algorithms: [ALG],
        audience: [GRAPH_AUDIENCE, this.deps.publicUrl],
        currentDate: this.deps.clock.now(),
      });
      if (typeof payload.tid !== 'string' || payload.iss !== issuerFor(this.deps.publicUrl, payload.tid)) return undefined;
      const claims = Object.freeze(payload as JWTPayload & { tid: string });
      if (typeof claims.exp === 'number') {
        // the oldest entry makes room (tokens come and go in about the order they were issued)
        if (this.verified.size >= VERIFIED_CACHE_MAX) this.verified.delete(this.verified.keys().next().value!);
        this.verified.set(token, claims);
      }
      return claims;
    } catch {
      return undefined;
    }
  }

  /** The JWKS document: every published key. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const rows = await listPublishedKeys(this.deps.db, this.deps.clock.now().toISOString());
    return { keys: rows.map((r) => ({ ...(JSON.parse(r.publicJwk) as JWK), kid: r.kid, use: 'sig', alg: r.alg })) };
  }

  /** Makes a new signing key now; the previous ones stop signing and stay published for a while. */
  async rotate(): Promise<string> {
    const now = this.deps.clock.now();
    const { publicKey, privateKey } = await generateKeyPair(ALG, { extractable: true, modulusLength: 2048 });
    const kid = this.deps.random.token(16);
    const row: SigningKeyRow = {
      kid,
      alg: ALG,
      publicJwk: JSON.stringify(await exportJWK(publicKey)),
      privateJwkSealed: this.deps.secretBox.seal(JSON.stringify(await exportJWK(privateKey))),
      createdAt: now.toISOString(),
      activeFrom: now.toISOString(),
      retiredAt: null,
      expiresAt: null,
    };
    // Old keys must outlive every token they signed (plus clock skew), then drop out of the JWKS.
    const oldExpire = new Date(now.getTime() + 2 * ACCESS_TOKEN_LIFETIME_SECONDS * 1000).toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await insertSigningKey(trx, row);
      await retireOtherKeys(trx, kid, now.toISOString(), oldExpire);
    });
    this.active = undefined;
    return kid;
  }

  private signingKey(): Promise<ActiveKey> {
    const nowMs = this.deps.clock.now().getTime();
    // Re-read at most once a minute so another node's rotation is picked up.
    if (this.active && nowMs - this.active.loadedAt < 60_000 && nowMs - this.active.activeFrom < KEY_ROTATION_DAYS * DAY) {
      return Promise.resolve(this.active);
    }
    // One load at a time: sign-ins arriving together would otherwise each read, unseal and import
    // the key, and on a fresh database each generate (and retire) a new RSA key.
    this.loading ??= this.loadSigningKey(nowMs).finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async loadSigningKey(nowMs: number): Promise<ActiveKey> {
    const rows = await listPublishedKeys(this.deps.db, new Date(nowMs).toISOString());
    let current = rows.find((r) => r.retiredAt === null && Date.parse(r.activeFrom) <= nowMs);
    if (!current || nowMs - Date.parse(current.activeFrom) >= KEY_ROTATION_DAYS * DAY) {
      await this.rotate();
      const fresh = await listPublishedKeys(this.deps.db, new Date(nowMs).toISOString());
      current = fresh.find((r) => r.retiredAt === null);
      if (!current) throw new Error('no signing key after rotation');
    }
    const jwk = JSON.parse(this.deps.secretBox.open(current.privateJwkSealed)) as JWK;
    this.active = { kid: current.kid, key: await importJWK(jwk, ALG), loadedAt: nowMs, activeFrom: Date.parse(current.activeFrom) };
    return this.active;
  }

  private async verificationKey(kid: string): Promise<JoseKey | undefined> {
    const cached = this.verifyKeys.get(kid);
    if (cached) return cached;
    const rows = await listPublishedKeys(this.deps.db, this.deps.clock.now().toISOString());
    const row = rows.find((r) => r.kid === kid);
    if (!row) return undefined;
    const key = await importJWK(JSON.parse(row.publicJwk) as JWK, ALG);
    this.verifyKeys.set(kid, key);
    return key;
  }
}
