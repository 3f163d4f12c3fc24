import { createPrivateKey, sign as signBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK, type JWTPayload, decodeProtectedHeader } from 'jose';
import type { Clock } from '../lib/clock.js';
import type { Random, SecretBox } from '../lib/crypto.js';
import type { Db } from '../store/database.js';
import { insertSigningKey, listPublishedKeys, retireOtherKeys, type SigningKeyRow } from '../store/signing-keys.js';

export const ACCESS_TOKEN_LIFETIME_SECONDS = 3600;
/** A signing key signs for this long before a new one replaces it. */
export const KEY_ROTATION_DAYS = 30;
/**
 * Access tokens are signed with ES256 by default: only Postern checks them (clients treat them as
 * opaque, as Microsoft tells Graph clients to), and an RS256 signature costs ≈ 1 ms of CPU against
 * ES256's ≈ 0.17 ms — the largest cost of a sign-in beside the password hash (BENCHMARKS.md,
 * sign-in). ACCESS_TOKEN_ALG=RS256 signs them as Azure does. ID tokens are always RS256, the
 * algorithm OpenID Connect requires every provider to offer.
 */
export type SigningAlg = 'ES256' | 'RS256';
export const SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'RS256'];
export const ID_TOKEN_ALG: SigningAlg = 'RS256';
const KEY_OPTIONS: Record<SigningAlg, { extractable: true; modulusLength?: number; crv?: string }> = {
  ES256: { extractable: true, crv: 'P-256' },
  RS256: { extractable: true, modulusLength: 2048 },
};
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
  /** what access tokens are signed with (ID tokens: ID_TOKEN_ALG); default ES256 */
  accessTokenAlg?: SigningAlg;
}

type JoseKey = Awaited<ReturnType<typeof importJWK>>;

export function issuerFor(publicUrl: string, tenantId: string): string {
  return `${publicUrl}/${tenantId}/v2.0`;
}

interface ActiveKey {
  kid: string;
  alg: SigningAlg;
  key: KeyObject;
  /** base64url of the protected header, `{"alg":…,"kid":…,"typ":"JWT"}`, the same for every token of the key */
  header: string;
  loadedAt: number;
  activeFrom: number;
}

/**
 * node:crypto's signature parameters per algorithm (RFC 7518 §3.3, §3.4): ECDSA signatures are r‖s
 * (IEEE P1363), not DER.
 */
const SIGN_OPTIONS: Record<SigningAlg, { dsaEncoding?: 'ieee-p1363' }> = { ES256: { dsaEncoding: 'ieee-p1363' }, RS256: {} };

/**
 * Signs and verifies access tokens with keys kept in the database (sealed with the secret key), so
 * every node of a cluster signs with the same key and publishes the same JWKS. A key signs for
 * KEY_ROTATION_DAYS; its successor is made on demand and the old key stays published until tokens
 * it signed have expired.
 */
export class TokenService {
  private readonly active = new Map<SigningAlg, ActiveKey>();
  private readonly loading = new Map<SigningAlg, Promise<ActiveKey>>();
  private readonly verifyKeys = new Map<string, { key: JoseKey; alg: SigningAlg }>();
  /** what access tokens are signed with */
  readonly accessTokenAlg: SigningAlg;
  /**
   * Tokens whose signature, issuer and audience were checked, by their exact string, until they
   * expire. An RS256 verification is the largest cost of a Graph read (BENCHMARKS.md, graph-read);
   * a token's bytes cannot change, so only the time claims are checked again on a hit. What a token
   * grants is still decided per request (auth.ts re-reads the user, the roles and the app).
   */
  private readonly verified = new Map<string, Readonly<JWTPayload & { tid: string }>>();

  constructor(private readonly deps: TokenDeps) {
    this.accessTokenAlg = deps.accessTokenAlg ?? 'ES256';
  }

  /**
   * Signs an access token (kind 'access', the default) or an ID token with that kind's algorithm and
   * current key. The compact JWS is built here, byte for byte what jose's SignJWT made (header
   * `{alg, kid, typ}`; claims `ver`, the caller's, then iss, iat, nbf, exp, jti): jose signs through
   * Web Crypto, a job on libuv's pool with its promise and key checks, ≈ 0.29 ms of CPU per ES256
   * token against ≈ 0.06 ms for node:crypto's one-shot sign (BENCHMARKS.md, sign-in). ES256 signs on
   * the event loop (cheaper than the hand-off); RS256 (≈ 1 ms) on the pool, as before.
   */
  async sign(claims: JWTPayload & { tid: string }, lifetimeSeconds = ACCESS_TOKEN_LIFETIME_SECONDS, kind: 'access' | 'id' = 'access'): Promise<string> {
    const key = await this.signingKey(kind === 'id' ? ID_TOKEN_ALG : this.accessTokenAlg);
    const now = Math.floor(this.deps.clock.now().getTime() / 1000);
    const exp = now + lifetimeSeconds;
    if (!Number.isFinite(exp)) throw new TypeError('"exp" claim must be a finite number');
    const payload = { ver: '2.0', ...claims, iss: issuerFor(this.deps.publicUrl, claims.tid), iat: now, nbf: now, exp, jti: this.deps.random.uuid() };
    const input = `${key.header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const options = { key: key.key, ...SIGN_OPTIONS[key.alg] };
    const signature =
      key.alg === 'ES256'
        ? signBytes('sha256', Buffer.from(input), options)
        : await new Promise<Buffer>((resolve, reject) => signBytes('sha256', Buffer.from(input), options, (err, sig) => (err ? reject(err) : resolve(sig))));
    return `${input}.${signature.toString('base64url')}`;
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
      const found = await this.verificationKey(kid);
      if (!found) return undefined;
      // the key's own algorithm only: a token cannot choose how it is checked
      const { payload } = await jwtVerify(token, found.key, {
        algorithms: [found.alg],
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

  /**
   * Makes a new signing key of `alg` (default: the access tokens') now; the previous keys of that
   * algorithm stop signing and stay published for a while.
   */
  async rotate(alg: SigningAlg = this.accessTokenAlg): Promise<string> {
    const now = this.deps.clock.now();
    const { publicKey, privateKey } = await generateKeyPair(alg, KEY_OPTIONS[alg]);
    const kid = this.deps.random.token(16);
    const row: SigningKeyRow = {
      kid,
      alg,
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
      await retireOtherKeys(trx, kid, alg, now.toISOString(), oldExpire);
    });
    this.active.delete(alg);
    return kid;
  }

  private signingKey(alg: SigningAlg): Promise<ActiveKey> {
    const nowMs = this.deps.clock.now().getTime();
    const active = this.active.get(alg);
    // Re-read at most once a minute so another node's rotation is picked up.
    if (active && nowMs - active.loadedAt < 60_000 && nowMs - active.activeFrom < KEY_ROTATION_DAYS * DAY) {
      return Promise.resolve(active);
    }
    // One load at a time: sign-ins arriving together would otherwise each read, unseal and import
    // the key, and on a fresh database each generate (and retire) a new key.
    let loading = this.loading.get(alg);
    if (!loading) {
      loading = this.loadSigningKey(alg, nowMs).finally(() => this.loading.delete(alg));
      this.loading.set(alg, loading);
    }
    return loading;
  }

  private async loadSigningKey(alg: SigningAlg, nowMs: number): Promise<ActiveKey> {
    const rows = (await listPublishedKeys(this.deps.db, new Date(nowMs).toISOString())).filter((r) => r.alg === alg);
    let current = rows.find((r) => r.retiredAt === null && Date.parse(r.activeFrom) <= nowMs);
    if (!current || nowMs - Date.parse(current.activeFrom) >= KEY_ROTATION_DAYS * DAY) {
      await this.rotate(alg);
      const fresh = await listPublishedKeys(this.deps.db, new Date(nowMs).toISOString());
      current = fresh.find((r) => r.retiredAt === null && r.alg === alg);
      if (!current) throw new Error('no signing key after rotation');
    }
    const jwk = JSON.parse(this.deps.secretBox.open(current.privateJwkSealed)) as JWK;
    const key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    const header = Buffer.from(JSON.stringify({ alg, kid: current.kid, typ: 'JWT' })).toString('base64url');
    const loaded: ActiveKey = { kid: current.kid, alg, key, header, loadedAt: nowMs, activeFrom: Date.parse(current.activeFrom) };
    this.active.set(alg, loaded);
    return loaded;
  }

  private async verificationKey(kid: string): Promise<{ key: JoseKey; alg: SigningAlg } | undefined> {
    const cached = this.verifyKeys.get(kid);
    if (cached) return cached;
    const rows = await listPublishedKeys(this.deps.db, this.deps.clock.now().toISOString());
    const row = rows.find((r) => r.kid === kid);
    if (!row || !isSigningAlg(row.alg)) return undefined;
    const found = { key: await importJWK(JSON.parse(row.publicJwk) as JWK, row.alg), alg: row.alg };
    this.verifyKeys.set(kid, found);
    return found;
  }
}

function isSigningAlg(alg: string): alg is SigningAlg {
  return (SIGNING_ALGS as readonly string[]).includes(alg);
}
