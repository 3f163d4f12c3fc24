import { randomInt } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { hmac, safeEqual, type Random, type SecretBox } from '../lib/crypto.js';
import type { Executor } from '../store/database.js';
import {
  countCodesSince,
  countWrongEntry,
  findVerificationCode,
  insertVerificationCode,
  lockUserCodes,
  markCodeUsed,
  voidLiveCodes,
  type VerificationCodeRecord,
} from '../store/verification-codes.js';
import { enqueueMessage, type Channel } from './messages.js';

/**
 * One-time codes sent to an address or phone (SPEC 3.4 limits): 8 digits, valid 5 minutes, dead
 * after 5 wrong entries; a resend voids the live code and carries its failure count over; at most 5
 * codes per user and purpose per hour. Every counter is a row, so several nodes agree. Codes are
 * stored as an HMAC bound to the row id; the clear code exists only in the sealed outbox row.
 */
export const CODE_DIGITS = 8;
export const CODE_TTL_MS = 5 * 60_000;
export const MAX_WRONG_ENTRIES = 5;
export const CODES_PER_HOUR = 5;

export type CodePurpose = 'register-email' | 'register-phone' | `sspr-${string}`;

export interface CodeDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly secretBox: SecretBox;
}

export interface IssueCodeInput {
  tenantId: string;
  userId: string;
  flowId?: string | null;
  purpose: CodePurpose;
  channel: Channel;
  /** email address or E.164 number */
  target: string;
  /** what the code confirms beyond the target (the phone type) */
  detail?: string | null;
  /** template variables besides the code */
  displayName: string;
  locale?: string | null;
  /**
   * Codes of this purpose one user may be sent per hour (CODES_PER_HOUR by default); null when the
   * caller enforces its own limit (self-service reset emails: 10 per 10 minutes, then a 24-hour block).
   */
  maxPerHour?: number | null;
}

export interface IssuedCode {
  id: string;
  expiresAt: string;
}

/** A fresh code (never from the pinned test Random: codes must be unpredictable). */
export function generateCode(): string {
  return String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');
}

function codeHash(secretBox: SecretBox, id: string, code: string): string {
  return hmac(secretBox.derive('verification-code'), `${id}:${code}`);
}

/**
 * Issues a code and queues the message carrying it, inside the caller's transaction. Throws
 * verification.too_many_codes when the hourly budget is spent (nothing is written then).
 */
export async function issueVerificationCode(trx: Executor, deps: CodeDeps, input: IssueCodeInput): Promise<IssuedCode> {
  await lockUserCodes(trx, input.userId);
  const now = deps.clock.now();
  const at = now.toISOString();
  const limit = input.maxPerHour === undefined ? CODES_PER_HOUR : input.maxPerHour;
  if (limit !== null) {
    const sent = await countCodesSince(trx, input.userId, input.purpose, new Date(now.getTime() - 3_600_000).toISOString());
    if (sent >= limit) {
      throw new AppError('verification.too_many_codes', {
        message: `You have requested ${limit} codes in the last hour. Wait a while, then request a new code.`,
        data: { limit, windowMinutes: 60 },
      });
    }
  }
  const carried = await voidLiveCodes(trx, input.userId, input.purpose, input.flowId ?? null, at);
  const id = deps.random.uuid();
  const code = generateCode();
  const expiresAt = new Date(now.getTime() + CODE_TTL_MS).toISOString();
  const record: VerificationCodeRecord = {
    id,
    tenantId: input.tenantId,
    userId: input.userId,
    flowId: input.flowId ?? null,
    purpose: input.purpose,
    channel: input.channel,
    target: input.target,
    detail: input.detail ?? null,
    codeHash: codeHash(deps.secretBox, id, code),
    attempts: carried,
    expiresAt,
    voidedAt: null,
    usedAt: null,
    createdAt: at,
  };
  await insertVerificationCode(trx, record);
  await enqueueMessage(trx, deps, {
    tenantId: input.tenantId,
    channel: input.channel,
    to: input.target,
    template: 'verification-code',
    locale: input.locale ?? null,
    data: { displayName: input.displayName, minutes: CODE_TTL_MS / 60_000 },
    secretData: { code },
  });
  return { id, expiresAt };
}

export type CodeCheck =
  | { ok: true; record: VerificationCodeRecord }
  | { ok: false; reason: 'not_found' | 'wrong' | 'expired' | 'dead'; attemptsRemaining: number };

/**
 * Checks a code the user typed. Run it in a transaction that COMMITS on failure too (return the
 * failure from the transaction callback, throw after it): a wrong entry must be counted even though
 * the caller's change does not happen. Exactly one of any number of concurrent correct entries wins.
 */
export async function checkVerificationCode(
  trx: Executor,
  deps: CodeDeps,
  input: { id: string; userId: string; purpose: CodePurpose; flowId?: string | null; code: string },
): Promise<CodeCheck> {
  const record = await findVerificationCode(trx, input.id);
  if (!record || record.userId !== input.userId || record.purpose !== input.purpose || record.flowId !== (input.flowId ?? null)) {
    return { ok: false, reason: 'not_found', attemptsRemaining: 0 };
  }
  const at = deps.clock.now().toISOString();
  const remaining = Math.max(0, MAX_WRONG_ENTRIES - record.attempts);
  if (record.usedAt !== null || record.voidedAt !== null || record.expiresAt <= at) return { ok: false, reason: 'expired', attemptsRemaining: remaining };
  if (remaining === 0) return { ok: false, reason: 'dead', attemptsRemaining: 0 };
  if (!/^\d{8}$/.test(input.code) || !safeEqual(codeHash(deps.secretBox, record.id, input.code), record.codeHash)) {
    const counted = await countWrongEntry(trx, record.id, MAX_WRONG_ENTRIES);
    const left = counted ? remaining - 1 : 0;
    return { ok: false, reason: left === 0 ? 'dead' : 'wrong', attemptsRemaining: left };
  }
  if (!(await markCodeUsed(trx, record.id, MAX_WRONG_ENTRIES, at))) return { ok: false, reason: 'expired', attemptsRemaining: 0 };
  return { ok: true, record: { ...record, usedAt: at } };
}

/** The error a failed check answers with; never says more than the user needs. */
export function codeCheckError(check: Exclude<CodeCheck, { ok: true }>): AppError {
  switch (check.reason) {
    case 'not_found':
      return new AppError('request.not_found', { message: 'The verification does not exist. Request a new code.' });
    case 'wrong':
      return new AppError('verification.code_invalid', { data: { attemptsRemaining: check.attemptsRemaining } });
    case 'dead':
      return new AppError('verification.code_dead');
    case 'expired':
      return new AppError('verification.code_expired');
  }
}
