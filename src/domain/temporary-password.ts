import { randomInt } from 'node:crypto';
import { checkPasswordPolicy, PROFILE_MIN_LENGTH, type PasswordContext, type PolicyCheckOptions, type PolicyForCheck } from './password-policy.js';

/**
 * System-generated temporary passwords for administrator resets (reference §4.2: "a temporary
 * password is auto-generated for the user"). Every character comes from node:crypto's randomInt
 * (a CSPRNG, unbiased), the password has all four character classes, and it is checked with the
 * same engine that checks typed passwords, so a draw that happens to spell a banned word or the
 * user's name is drawn again. The caller shows it once and never stores it.
 */

/** A uniform integer in [0, maxExclusive); node:crypto's randomInt unless a test pins it. */
export type RandomIndex = (maxExclusive: number) => number;

/**
 * The alphabet avoids characters that are easy to misread when the admin reads the password out or
 * the user types it from a note: I l 1 | O o 0, quotes and back-quote, brackets, comma, dot, colon,
 * semicolon and the space. Every character is in Azure's allowed set.
 */
export const TEMPORARY_PASSWORD_CLASSES: readonly string[] = Object.freeze([
  'ABCDEFGHJKLMNPQRSTUVWXYZ',
  'abcdefghijkmnpqrstuvwxyz',
  '23456789',
  '!#$%*+-=?@^_',
]);

/** Long enough that guessing it is hopeless (16 × ~6 bits) even where the policy asks for less. */
export const TEMPORARY_PASSWORD_MIN_LENGTH = 16;
const MAX_DRAWS = 32;

const cryptoIndex: RandomIndex = (maxExclusive) => randomInt(maxExclusive);

export interface TemporaryPasswordOptions {
  /** the owner's names and the tenant's, so the password never contains them */
  context?: PasswordContext;
  /** the engine's options (tests inject a small global banned list) */
  check?: PolicyCheckOptions;
}

/** The length the policy needs: at least 16, at least the profile's and the tenant's minimum, at most its maximum. */
export function temporaryPasswordLength(policy: Pick<PolicyForCheck, 'profile' | 'minLength' | 'maxLength'>): number {
  const wanted = Math.max(TEMPORARY_PASSWORD_MIN_LENGTH, PROFILE_MIN_LENGTH[policy.profile], policy.minLength);
  return Math.max(TEMPORARY_PASSWORD_CLASSES.length, Math.min(wanted, policy.maxLength));
}

/**
 * A password that passes `policy` for the owner described by `options.context`. Throws only when
 * no draw passes in 32 tries, which a policy the API accepts cannot cause.
 */
export function generateTemporaryPassword(policy: PolicyForCheck, random: RandomIndex = cryptoIndex, options: TemporaryPasswordOptions = {}): string {
  const length = temporaryPasswordLength(policy);
  for (let draw = 0; draw < MAX_DRAWS; draw += 1) {
    const candidate = drawPassword(length, random);
    if (checkPasswordPolicy(policy, candidate, options.context ?? {}, options.check ?? {}).length === 0) return candidate;
  }
  throw new Error('could not generate a temporary password that meets the password policy');
}

function drawPassword(length: number, random: RandomIndex): string {
  const all = TEMPORARY_PASSWORD_CLASSES.join('');
  // one of each class first (Azure's complexity rule), the rest from the whole alphabet
  const chars = TEMPORARY_PASSWORD_CLASSES.map((set) => pick(set, random));
  while (chars.length < length) chars.push(pick(all, random));
  // Fisher–Yates, so the class of a position says nothing about the character in it
  for (let i = chars.length - 1; i > 0; i -= 1) {
    const j = random(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

function pick(set: string, random: RandomIndex): string {
  const c = set[random(set.length)];
  if (c === undefined) throw new Error('random index out of range');
  return c;
}
