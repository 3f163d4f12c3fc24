import { createCipheriv, createDecipheriv, createECDH, createHash, createPublicKey, randomBytes, type ECDH, type KeyObject } from 'node:crypto';
import type { FlattenedJWE, GeneralJWE } from 'jose';

/**
 * The one JWE profile writeback jobs use, both ways: RFC 7516 JSON serialisation, RFC 7518's
 * ECDH-ES+A256KW (P-256, an ephemeral key per recipient, Concat KDF with SHA-256, AES-256 key wrap) and
 * A256GCM, written with node:crypto's synchronous primitives. jose does the same through Web Crypto, one
 * threadpool round trip per step (queued behind password hashes): ≈ 2 ms to seal and ≈ 1 ms to open a
 * job against ≈ 0.3 ms here (BENCHMARKS.md, writeback). The output is standard: jose opens what this
 * seals and this opens what jose seals (test/writeback/seal.test.ts).
 */
export const KEY_ALG = 'ECDH-ES+A256KW';
export const CONTENT_ENC = 'A256GCM';
const KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
const CURVE = 'prime256v1';

export interface EcPublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/**
 * The key agreement of one fresh ephemeral key with one recipient: the point that goes into the header
 * and the key-encryption key it agreed (Concat KDF output, no PartyUInfo / PartyVInfo). The ephemeral
 * private key is dropped as soon as the KEK exists. Single use: `take()` hands the KEK out once and
 * throws after, because two CEKs wrapped under one KEK would publish the same epk twice and let a
 * reader of one job's key material open the other.
 */
export class EphemeralAgreement {
  #kek: Buffer | null;
  constructor(
    readonly key: KeyObject,
    readonly epk: EcPublicJwk,
    kek: Buffer,
  ) {
    this.#kek = kek;
  }

  get used(): boolean {
    return this.#kek === null;
  }

  take(): Buffer {
    const kek = this.#kek;
    if (kek === null) throw new Error('an ephemeral key agreement is used once');
    this.#kek = null;
    return kek;
  }
}

/** A fresh ephemeral P-256 key agreed with `key` (the ECDH and KDF of one seal, done now). */
export function agreeEphemeral(key: KeyObject): EphemeralAgreement {
  // node:crypto's ECDH on raw points: a third cheaper than a generated KeyObject pair, diffieHellman()
  // and a JWK export (BENCHMARKS.md, writeback); the same P-256 ECDH, the recipient's point checked
  const ephemeral = createECDH(CURVE);
  const point = ephemeral.generateKeys();
  const kek = concatKdf(ephemeral.computeSecret(rawPublicPoint(key)), KEY_ALG);
  const epk: EcPublicJwk = { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') };
  return new EphemeralAgreement(key, epk, kek);
}

/**
 * Seals `plaintext` to each recipient (general JSON); `aad` is bound in as the JWE AAD. A recipient may
 * bring an agreement made ahead of time for its key (src/writeback/seal.ts); it is used up here. Without
 * one the agreement is made inline.
 */
export function sealJwe(plaintext: string, aad: string, protectedHeader: Record<string, string>, recipients: readonly { kid: string; key: KeyObject; agreement?: EphemeralAgreement | undefined }[]): GeneralJWE {
  const cek = randomBytes(32);
  const sealedRecipients = recipients.map(({ kid, key, agreement }) => {
    if (agreement !== undefined && agreement.key !== key) throw new Error('the ephemeral key agreement is for another recipient key');
    const { epk } = (agreement ??= agreeEphemeral(key));
    const kek = agreement.take();
    const wrap = createCipheriv('id-aes256-wrap', kek, KW_IV);
    const encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()]).toString('base64url');
    kek.fill(0);
    return { header: { alg: KEY_ALG, kid, epk }, encrypted_key: encryptedKey };
  });
  const protectedB64 = Buffer.from(JSON.stringify({ ...protectedHeader, enc: CONTENT_ENC })).toString('base64url');
  const aadB64 = Buffer.from(aad, 'utf8').toString('base64url');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cek, iv);
  // RFC 7516 5.1 step 14: ASCII(BASE64URL(protected header) || '.' || BASE64URL(JWE AAD))
  cipher.setAAD(Buffer.from(`${protectedB64}.${aadB64}`, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { protected: protectedB64, aad: aadB64, iv: iv.toString('base64url'), ciphertext: ciphertext.toString('base64url'), tag: cipher.getAuthTag().toString('base64url'), recipients: sealedRecipients };
}

/** A recipient's public key from its JWK: only a public P-256 EC key. */
export function publicKeyFromJwk(jwk: Record<string, unknown>): KeyObject {
  if (jwk['kty'] !== 'EC' || jwk['crv'] !== 'P-256' || 'd' in jwk || typeof jwk['x'] !== 'string' || typeof jwk['y'] !== 'string') {
    throw new Error('an agent key must be a public P-256 EC key');
  }
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk['x'], y: jwk['y'] }, format: 'jwk' });
}

/**
 * Opens a flattened or general JWE sealed with this profile by the recipient whose kid `keyFor` knows
 * (without a kid: keyFor(undefined)). Anything else is refused with an error: another algorithm or
 * encryption, critical or repeated header parameters, a bad length, a point off the curve (ECDH's
 * computeSecret refuses it), a wrapped key or tag that does not check.
 */
export function openJwe(sealed: FlattenedJWE | GeneralJWE, keyFor: (kid: string | undefined) => KeyObject | undefined): { plaintext: Buffer; aad: Buffer | undefined } {
  const recipients = 'recipients' in sealed ? sealed.recipients : [{ header: sealed.header, encrypted_key: sealed.encrypted_key }];
  if (!Array.isArray(recipients) || recipients.length === 0) throw new Error('the JWE has no recipient');
  const protectedHeader = sealed.protected === undefined ? {} : parseHeader(sealed.protected);
  let lastError: Error = new Error('no recipient of the JWE is for a key this agent holds');
  for (const recipient of recipients) {
    const header = joinHeaders(protectedHeader, sealed.unprotected, recipient.header);
    const kid = typeof header['kid'] === 'string' ? header['kid'] : undefined;
    const key = keyFor(kid);
    if (!key) continue;
    try {
      return { plaintext: openFor(sealed, header, recipient.encrypted_key, key), aad: sealed.aad === undefined ? undefined : b64(sealed.aad, 'aad') };
    } catch (err) {
      lastError = err instanceof Error ? err : new Error('the JWE could not be opened');
    }
  }
  throw lastError;
}

function openFor(sealed: FlattenedJWE | GeneralJWE, header: Record<string, unknown>, encryptedKey: string | undefined, key: KeyObject): Buffer {
  if (header['alg'] !== KEY_ALG) throw new Error(`unsupported key management algorithm ${String(header['alg'])}`);
  if (header['enc'] !== CONTENT_ENC) throw new Error(`unsupported content encryption ${String(header['enc'])}`);
  if ('crit' in header) throw new Error('critical header parameters are not supported');
  if ('zip' in header) throw new Error('compressed JWEs are not accepted');
  const epk = header['epk'] as Record<string, unknown> | undefined;
  if (typeof epk !== 'object' || epk === null || epk['kty'] !== 'EC' || epk['crv'] !== 'P-256' || typeof epk['x'] !== 'string' || typeof epk['y'] !== 'string') {
    throw new Error('the ephemeral key is not a P-256 EC key');
  }
  const x = b64(epk['x'], 'epk x');
  const y = b64(epk['y'], 'epk y');
  if (x.length !== 32 || y.length !== 32) throw new Error('the ephemeral key is not a P-256 point');
  const apu = typeof header['apu'] === 'string' ? b64(header['apu'], 'apu') : Buffer.alloc(0);
  const apv = typeof header['apv'] === 'string' ? b64(header['apv'], 'apv') : Buffer.alloc(0);
  // computeSecret refuses a point off the curve (the uncompressed form can never be the point at infinity)
  const kek = concatKdf(privateEcdh(key).computeSecret(Buffer.concat([UNCOMPRESSED, x, y])), KEY_ALG, apu, apv);
  const wrapped = b64(encryptedKey ?? '', 'encrypted_key');
  if (wrapped.length !== 40) throw new Error('the wrapped key has the wrong length');
  const unwrap = createDecipheriv('id-aes256-wrap', kek, KW_IV);
  const cek = Buffer.concat([unwrap.update(wrapped), unwrap.final()]);
  const iv = b64(sealed.iv ?? '', 'iv');
  const tag = b64(sealed.tag ?? '', 'tag');
  if (iv.length !== 12 || tag.length !== 16) throw new Error('the iv or tag has the wrong length');
  const decipher = createDecipheriv('aes-256-gcm', cek, iv, { authTagLength: 16 });
  decipher.setAuthTag(tag);
  decipher.setAAD(Buffer.from(sealed.aad === undefined ? (sealed.protected ?? '') : `${sealed.protected ?? ''}.${sealed.aad}`, 'ascii'));
  return Buffer.concat([decipher.update(b64(sealed.ciphertext, 'ciphertext')), decipher.final()]);
}

const UNCOMPRESSED = Buffer.from([4]);

/** A recipient's public point (uncompressed SEC 1), taken from its key object once. */
const rawPoints = new WeakMap<KeyObject, Buffer>();
function rawPublicPoint(key: KeyObject): Buffer {
  let point = rawPoints.get(key);
  if (!point) {
    const { crv, x, y } = key.export({ format: 'jwk' });
    if (key.asymmetricKeyType !== 'ec' || crv !== 'P-256' || !x || !y) throw new Error('a recipient key must be a P-256 EC key');
    rawPoints.set(key, (point = Buffer.concat([UNCOMPRESSED, Buffer.from(x, 'base64url'), Buffer.from(y, 'base64url')])));
  }
  return point;
}

/** The ECDH state of a private key, made once per key object (the agent imports each key once). */
const privateStates = new WeakMap<KeyObject, ECDH>();
function privateEcdh(key: KeyObject): ECDH {
  let ecdh = privateStates.get(key);
  if (!ecdh) {
    const { crv, d } = key.export({ format: 'jwk' });
    if (key.type !== 'private' || key.asymmetricKeyType !== 'ec' || crv !== 'P-256' || !d) throw new Error('the key is not a private P-256 EC key');
    ecdh = createECDH(CURVE);
    ecdh.setPrivateKey(Buffer.from(d, 'base64url'));
    privateStates.set(key, ecdh);
  }
  return ecdh;
}

/** RFC 7518 4.6.2 Concat KDF (SHA-256, one round: a 256-bit key). */
function concatKdf(z: Buffer, algorithmId: string, apu: Buffer = Buffer.alloc(0), apv: Buffer = Buffer.alloc(0)): Buffer {
  const prefixed = (data: Buffer): Buffer => Buffer.concat([uint32(data.length), data]);
  return createHash('sha256')
    .update(uint32(1))
    .update(z)
    .update(prefixed(Buffer.from(algorithmId, 'ascii')))
    .update(prefixed(apu))
    .update(prefixed(apv))
    .update(uint32(256))
    .digest();
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function b64(text: string, what: string): Buffer {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) throw new Error(`the JWE's ${what} is not base64url`);
  return Buffer.from(text, 'base64url');
}

function parseHeader(b64url: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(b64(b64url, 'protected header').toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('the protected header is not an object');
  return parsed as Record<string, unknown>;
}

/** RFC 7516 7.2.1: the protected, shared and per-recipient headers must not name a parameter twice. */
function joinHeaders(...headers: (Record<string, unknown> | undefined)[]): Record<string, unknown> {
  const joined: Record<string, unknown> = {};
  for (const header of headers) {
    if (header === undefined) continue;
    for (const [name, value] of Object.entries(header)) {
      if (Object.hasOwn(joined, name)) throw new Error(`the JWE names the header parameter ${name} twice`);
      joined[name] = value;
    }
  }
  return joined;
}
