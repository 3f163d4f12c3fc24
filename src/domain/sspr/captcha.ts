import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Challenge } from 'altcha-lib';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { sha256, type SecretBox } from '../../lib/crypto.js';
import type { Db } from '../../store/database.js';
import { useCaptcha } from '../../store/sspr.js';

/**
 * The proof-of-work CAPTCHA in front of the reset flow (ALTCHA, self-hosted, no third party). The
 * challenge is signed with a key derived from POSTERN_SECRET_KEY; its expiry travels signed in
 * `data.exp` and is checked against our clock (altcha-lib's own expiresAt uses the wall clock, which
 * the tests pin). Each solved challenge is accepted once: its signature's hash is stored until expiry.
 */
export const CAPTCHA_TTL_MS = 10 * 60_000;

export interface CaptchaDeps {
  clock: Clock;
  secretBox: SecretBox;
  /** the secret counter is drawn from [0, maxNumber): the expected work is maxNumber / 2 SHA-256 runs */
  captchaMaxNumber: number;
}

/** Production difficulty (about 0.1–0.3 s in a browser); tests use a small one so solving is instant. */
export function captchaMaxNumberFor(nodeEnv: string): number {
  return nodeEnv === 'test' ? 2_000 : 250_000;
}

const derived = new WeakMap<SecretBox, { hmacSignatureSecret: string; hmacKeySignatureSecret: string }>();

/** The two signing secrets, derived once per secret box. */
function secrets(box: SecretBox): { hmacSignatureSecret: string; hmacKeySignatureSecret: string } {
  let found = derived.get(box);
  if (!found) {
    found = { hmacSignatureSecret: box.derive('altcha').toString('hex'), hmacKeySignatureSecret: box.derive('altcha-key').toString('hex') };
    derived.set(box, found);
  }
  return found;
}

/**
 * ALTCHA v2 challenges, made and checked here with node:crypto, exactly as altcha-lib's
 * createChallenge / verifySolution make and check them for our options (SHA-256, cost 1, a known
 * counter, both signature secrets): altcha-lib signs through Web Crypto — a key import and a job on
 * libuv's pool per HMAC, ≈ 0.47 ms of CPU to make a challenge and ≈ 0.35 ms to check one; making
 * one here costs ≈ 0.12 ms (bench/sspr-reset.ts makes and checks one per reset). The widget and
 * altcha-lib's solver see the same format (test/http/sspr-captcha-format.test.ts checks both ways).
 */
const KEY_LENGTH = 32;
const hmacHex = (secret: string, data: string | Buffer): string => createHmac('sha256', Buffer.from(secret, 'utf8')).update(data).digest('hex');

/** JSON with every object's keys sorted and undefined members dropped (altcha-lib's canonicalJSON / sortKeys). */
function sortKeys(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const source = value as Record<string, unknown>;
  // entries, not assignments: a "__proto__" key stays a member, as in altcha-lib
  return Object.fromEntries(Object.keys(source).sort().flatMap((key) => (source[key] === undefined ? [] : [[key, sortKeys(source[key])]])));
}

export async function createCaptcha(deps: CaptchaDeps): Promise<Challenge> {
  const exp = new Date(deps.clock.now().getTime() + CAPTCHA_TTL_MS).toISOString();
  const nonce = randomBytes(16);
  const salt = randomBytes(16);
  // the solver's password: the nonce, then the counter as a big-endian uint32; the key is one SHA-256
  // (cost 1) of salt ‖ password, and its first half is the prefix the solver must find
  const password = Buffer.alloc(nonce.length + 4);
  nonce.copy(password);
  password.writeUInt32BE(randomInt(0, deps.captchaMaxNumber), nonce.length);
  const derivedKey = createHash('sha256').update(salt).update(password).digest().subarray(0, KEY_LENGTH);
  const { hmacSignatureSecret, hmacKeySignatureSecret } = secrets(deps.secretBox);
  const parameters = sortKeys({
    algorithm: 'SHA-256',
    nonce: nonce.toString('hex'),
    salt: salt.toString('hex'),
    cost: 1,
    keyLength: KEY_LENGTH,
    keyPrefix: derivedKey.subarray(0, KEY_LENGTH / 2).toString('hex'),
    data: { exp },
    keySignature: hmacHex(hmacKeySignatureSecret, derivedKey),
  }) as Challenge['parameters'];
  return { parameters, signature: hmacHex(hmacSignatureSecret, JSON.stringify(parameters)) };
}

/** Constant-time comparison of two hex strings (false when the lengths differ). */
function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * altcha-lib's verifySolution for our challenges: the parameters' signature, then the solution's
 * key against the key signature. Every challenge we make carries a key signature, so one without is
 * refused (altcha-lib would re-derive the key for it).
 */
function verifySolution(challenge: { parameters: Record<string, unknown>; signature: string }, solution: { counter: number; derivedKey: string }, box: SecretBox): boolean {
  const { hmacSignatureSecret, hmacKeySignatureSecret } = secrets(box);
  const expiresAt = challenge.parameters.expiresAt;
  if (expiresAt && (expiresAt as number) < Date.now() / 1000) return false;
  if (!challenge.signature) return false;
  if (!sameHex(challenge.signature, hmacHex(hmacSignatureSecret, JSON.stringify(sortKeys(challenge.parameters))))) return false;
  if (!/^(?:[0-9a-f]{2})+$/.test(solution.derivedKey) || !Number.isInteger(solution.counter) || solution.counter < 0 || solution.counter > 0xffff_ffff) return false;
  const keySignature = challenge.parameters.keySignature;
  if (typeof keySignature !== 'string' || keySignature === '') return false;
  return sameHex(keySignature, hmacHex(hmacKeySignatureSecret, Buffer.from(solution.derivedKey, 'hex')));
}

const payloadSchema = z.object({
  challenge: z.object({
    parameters: z.looseObject({ algorithm: z.string(), nonce: z.string(), salt: z.string(), cost: z.number(), keyLength: z.number(), keyPrefix: z.string() }),
    signature: z.string().max(256),
  }),
  solution: z.object({ counter: z.number().int().nonnegative(), derivedKey: z.string().max(256), time: z.number().optional() }),
});

/**
 * Decodes the widget's payload (base64 JSON, or the JSON itself), verifies it and spends it. The
 * check runs before the write, outside any transaction (it once ran on the threadpool, and on SQLite
 * a transaction holds the one connection).
 */
export async function spendCaptcha(db: Db, deps: CaptchaDeps, captcha: string): Promise<void> {
  // made when thrown: an Error captures its stack when constructed (≈ 7 µs), and most calls succeed
  const invalid = (): AppError => new AppError('sspr.captcha_invalid');
  let decoded: unknown;
  try {
    const text = captcha.trimStart().startsWith('{') ? captcha : Buffer.from(captcha, 'base64').toString('utf8');
    decoded = JSON.parse(text);
  } catch {
    throw invalid();
  }
  const parsed = payloadSchema.safeParse(decoded);
  if (!parsed.success) throw invalid();
  const { challenge, solution } = parsed.data;
  const exp = (challenge.parameters.data as Record<string, unknown> | undefined)?.exp;
  const now = deps.clock.now();
  if (typeof exp !== 'string' || !(Date.parse(exp) > now.getTime())) throw invalid();
  if (!verifySolution(challenge, solution, deps.secretBox)) throw invalid();
  const key = sha256(`altcha:${challenge.signature}`);
  if (!(await useCaptcha(db, key, exp))) throw invalid();
}
