import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { verify as argon2Verify } from '@node-rs/argon2';
import type { CryptVerifier } from './crypt-pool.js';

/**
 * Verification of password hashes imported from OpenLDAP's userPassword (password hash sync,
 * SPEC 3.6): `{SCHEME}value` as slapd and its modules write them. Postern never creates these; it
 * only checks a typed password against one, so a directory's users can sign in with their directory
 * password. Every comparison is constant-time; a malformed value is a failed verification.
 *
 *   {SHA} {SHA256} {SHA384} {SHA512}            base64(H(pw))
 *   {SSHA} {SSHA256} {SSHA384} {SSHA512}        base64(H(pw ‖ salt) ‖ salt)
 *   {ARGON2}$argon2id$… / $argon2i$…            PHC string (slapd's argon2 module)
 *   {PBKDF2[-SHA1|-SHA256|-SHA512]}<iter>$<salt>$<dk>   contrib pw-pbkdf2, "adapted" base64 ('.' for '+', no '=')
 *   {CRYPT}$6$… $5$… $1$…                       sha512-crypt, sha256-crypt (Drepper), md5-crypt
 */

const pbkdf2Async = promisify(pbkdf2);

/** Work factors beyond these are refused rather than run: an imported value must not stall sign-in. */
const MAX_PBKDF2_ITERATIONS = 2_000_000;

const DIGESTS: Record<string, { algorithm: string; length: number; salted: boolean }> = {
  SHA: { algorithm: 'sha1', length: 20, salted: false },
  SSHA: { algorithm: 'sha1', length: 20, salted: true },
  SHA256: { algorithm: 'sha256', length: 32, salted: false },
  SSHA256: { algorithm: 'sha256', length: 32, salted: true },
  SHA384: { algorithm: 'sha384', length: 48, salted: false },
  SSHA384: { algorithm: 'sha384', length: 48, salted: true },
  SHA512: { algorithm: 'sha512', length: 64, salted: false },
  SSHA512: { algorithm: 'sha512', length: 64, salted: true },
};

const PBKDF2_DIGESTS: Record<string, string> = { PBKDF2: 'sha1', 'PBKDF2-SHA1': 'sha1', 'PBKDF2-SHA256': 'sha256', 'PBKDF2-SHA512': 'sha512' };

/** `{SCHEME}` and the rest, or undefined when the value has no scheme prefix. The scheme is upper-cased (slapd ignores its case). */
export function splitScheme(encoded: string): { scheme: string; value: string } | undefined {
  const match = /^\{([A-Za-z0-9-]{1,32})\}/.exec(encoded);
  if (!match?.[1]) return undefined;
  return { scheme: match[1].toUpperCase(), value: encoded.slice(match[0].length) };
}

/** True when Postern can verify passwords against this imported value (plaintext and unknown schemes are not). */
export function isSupportedLdapHash(encoded: string): boolean {
  const parts = splitScheme(encoded);
  if (!parts) return false;
  if (parts.scheme in DIGESTS || parts.scheme in PBKDF2_DIGESTS) return true;
  if (parts.scheme === 'ARGON2') return /^\$argon2(id|i|d)\$/.test(parts.value);
  if (parts.scheme === 'CRYPT') return /^\$(1|5|6)\$/.test(parts.value);
  return false;
}

/**
 * Checks `password` against an imported `{SCHEME}…` value. {CRYPT} is computed in JS, so it goes to
 * a worker pool (`crypt`: the Hasher's own); the others already run off the event loop.
 */
export async function verifyLdapHash(encoded: string, password: string, crypt: CryptVerifier): Promise<boolean> {
  const parts = splitScheme(encoded);
  if (!parts) return false;
  try {
    const digest = DIGESTS[parts.scheme];
    if (digest) return verifyDigest(digest, parts.value, password);
    const pbkdf2Digest = PBKDF2_DIGESTS[parts.scheme];
    if (pbkdf2Digest) return await verifyPbkdf2(pbkdf2Digest, parts.value, password);
    if (parts.scheme === 'ARGON2') return /^\$argon2(id|i|d)\$/.test(parts.value) && (await argon2Verify(parts.value, password));
    if (parts.scheme === 'CRYPT') return /^\$(1|5|6)\$/.test(parts.value) && (await crypt.verify(parts.value, password));
    return false;
  } catch {
    return false; // malformed: a failed verification, never a crash
  }
}

function verifyDigest(d: { algorithm: string; length: number; salted: boolean }, value: string, password: string): boolean {
  const raw = strictBase64(value);
  if (!raw || raw.length < d.length || (!d.salted && raw.length !== d.length)) return false;
  const expected = raw.subarray(0, d.length);
  const salt = raw.subarray(d.length);
  const actual = createHash(d.algorithm).update(Buffer.from(password, 'utf8')).update(salt).digest();
  return timingSafeEqual(actual, expected);
}

async function verifyPbkdf2(algorithm: string, value: string, password: string): Promise<boolean> {
  const match = /^(\d{1,10})\$([A-Za-z0-9./+]+)\$([A-Za-z0-9./+]+)$/.exec(value);
  if (!match?.[1] || !match[2] || !match[3]) return false;
  const iterations = Number(match[1]);
  if (iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) return false;
  const salt = adaptedBase64(match[2]);
  const expected = adaptedBase64(match[3]);
  if (!salt || !expected || expected.length === 0 || expected.length > 64) return false;
  // crypto.pbkdf2 runs on libuv's threadpool, off the event loop.
  const actual = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, expected.length, algorithm);
  return timingSafeEqual(actual, expected);
}

/** RFC 4648 base64 with padding, as slapd writes it; anything else is malformed. */
function strictBase64(value: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value)) return undefined;
  return Buffer.from(value, 'base64');
}

/** pw-pbkdf2's "adapted base64" (passlib's ab64): '.' for '+', padding dropped. */
function adaptedBase64(value: string): Buffer | undefined {
  const std = value.replace(/\./g, '+');
  if (std.length % 4 === 1) return undefined;
  return Buffer.from(std, 'base64');
}
