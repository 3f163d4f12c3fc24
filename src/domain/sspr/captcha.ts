import { randomInt } from 'node:crypto';
import { createChallenge, verifySolution, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
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

function secrets(box: SecretBox): { hmacSignatureSecret: string; hmacKeySignatureSecret: string } {
  return { hmacSignatureSecret: box.derive('altcha').toString('hex'), hmacKeySignatureSecret: box.derive('altcha-key').toString('hex') };
}

export async function createCaptcha(deps: CaptchaDeps): Promise<Challenge> {
  const exp = new Date(deps.clock.now().getTime() + CAPTCHA_TTL_MS).toISOString();
  return createChallenge({
    algorithm: 'SHA-256',
    cost: 1,
    counter: randomInt(0, deps.captchaMaxNumber),
    deriveKey,
    data: { exp },
    ...secrets(deps.secretBox),
  });
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
 * signature check (Web Crypto, on the threadpool) runs before the write: on SQLite a transaction
 * holds the one connection, and every other request's queries would wait for the threadpool behind it.
 */
export async function spendCaptcha(db: Db, deps: CaptchaDeps, captcha: string): Promise<void> {
  const invalid = new AppError('sspr.captcha_invalid');
  let decoded: unknown;
  try {
    const text = captcha.trimStart().startsWith('{') ? captcha : Buffer.from(captcha, 'base64').toString('utf8');
    decoded = JSON.parse(text);
  } catch {
    throw invalid;
  }
  const parsed = payloadSchema.safeParse(decoded);
  if (!parsed.success) throw invalid;
  const { challenge, solution } = parsed.data;
  const exp = (challenge.parameters.data as Record<string, unknown> | undefined)?.exp;
  const now = deps.clock.now();
  if (typeof exp !== 'string' || !(Date.parse(exp) > now.getTime())) throw invalid;
  const result = await verifySolution({ challenge, solution, deriveKey, ...secrets(deps.secretBox) });
  if (!result.verified) throw invalid;
  const key = sha256(`altcha:${challenge.signature}`);
  if (!(await useCaptcha(db, key, exp))) throw invalid;
}
