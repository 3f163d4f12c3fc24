import { createCipheriv, createDecipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
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

export interface EcPublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/** Seals `plaintext` to each recipient (general JSON); `aad` is bound in as the JWE AAD. */
export function sealJwe(plaintext: string, aad: string, protectedHeader: Record<string, string>, recipients: readonly { kid: string; key: KeyObject }[]): GeneralJWE {
  const cek = randomBytes(32);
  const sealedRecipients = recipients.map(({ kid, key }) => {
    const ephemeral = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kek = concatKdf(diffieHellman({ privateKey: ephemeral.privateKey, publicKey: key }), KEY_ALG);
    const { x, y } = ephemeral.publicKey.export({ format: 'jwk' });
    const wrap = createCipheriv('id-aes256-wrap', kek, KW_IV);
    const epk: EcPublicJwk = { kty: 'EC', crv: 'P-256', x: x!, y: y! };
    return { header: { alg: KEY_ALG, kid, epk }, encrypted_key: Buffer.concat([wrap.update(cek), wrap.final()]).toString('base64url') };
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
 * encryption, critical or repeated header parameters, a bad length, a point off the curve (node:crypto
 * refuses it on import), a wrapped key or tag that does not check.
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
  const ephemeral = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: epk['x'], y: epk['y'] }, format: 'jwk' });
  const apu = typeof header['apu'] === 'string' ? b64(header['apu'], 'apu') : Buffer.alloc(0);
  const apv = typeof header['apv'] === 'string' ? b64(header['apv'], 'apv') : Buffer.alloc(0);
  const kek = concatKdf(diffieHellman({ privateKey: key, publicKey: ephemeral }), KEY_ALG, apu, apv);
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
