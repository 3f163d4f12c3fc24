import {
  customBannedTerms,
  findNames,
  globalBannedTerms,
  normalizeForBannedCheck,
  scoreBannedPassword,
  type BannedTermIndex,
} from './banned-passwords.js';
import type { Edition } from '../store/tenants.js';

/**
 * The password policy engine (SPEC 3.1, reference §7.1–7.3): one pure function that every path that
 * sets a password runs before hashing. It returns violations (a code plus a sentence a user
 * understands, the same on the API and the pages); it never throws and never does I/O.
 */

export type PasswordProfile = 'azure' | 'nist';

/** The tenant's password policy, exactly the shape of GET /api/v1/policies/password (SPEC 4.5). */
export interface PasswordPolicy {
  readonly profile: PasswordProfile;
  readonly minLength: number;
  readonly maxLength: number;
  /** null: passwords never expire */
  readonly expiresAfterDays: number | null;
  readonly notificationWindowDays: number;
  /** how many earlier passwords a change may not reuse (beyond Azure; 0 = only the current one) */
  readonly historyCount: number;
  readonly customBannedPasswords: readonly string[];
  readonly enforceCustomBannedPasswords: boolean;
  readonly lockoutThreshold: number;
  readonly lockoutDurationSeconds: number;
  /** days before expiry at which a reminder goes out, descending */
  readonly expiryReminderDays: readonly number[];
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = Object.freeze({
  profile: 'azure',
  minLength: 8,
  maxLength: 256,
  expiresAfterDays: null,
  notificationWindowDays: 14,
  historyCount: 0,
  customBannedPasswords: Object.freeze([]),
  enforceCustomBannedPasswords: false,
  lockoutThreshold: 10,
  lockoutDurationSeconds: 60,
  expiryReminderDays: Object.freeze([14, 7, 3, 1]),
});

/** Hard ceiling checked before anything else touches a candidate (so 1 MB passwords cost nothing). */
export const MAX_PASSWORD_CODE_POINTS = 256;
/** The shortest minimum each profile allows (NIST SP 800-63B: 15 without MFA). */
export const PROFILE_MIN_LENGTH: Record<PasswordProfile, number> = { azure: 8, nist: 15 };

export type PasswordViolationCode =
  | 'empty'
  | 'tooShort'
  | 'tooLong'
  | 'nulByte'
  | 'invalidUnicode'
  | 'invalidCharacters'
  | 'notComplexEnough'
  | 'containsName'
  | 'bannedPassword'
  | 'customBanned'
  | 'sameAsCurrent'
  | 'recentlyUsed';

export interface PasswordViolation {
  readonly code: PasswordViolationCode;
  readonly message: string;
}

/** Who the password is for: names are banned inside it, DisableStrongPassword relaxes classes. */
export interface PasswordContext {
  readonly givenName?: string | null | undefined;
  readonly surname?: string | null | undefined;
  readonly tenantName?: string | null | undefined;
  readonly disableStrongPassword?: boolean | undefined;
  readonly edition?: Edition | undefined;
}

export interface PolicyCheckOptions {
  /** the global banned list; tests inject a small one, production uses the shipped list */
  readonly globalTerms?: BannedTermIndex;
}

export type PolicyForCheck = Pick<PasswordPolicy, 'profile' | 'minLength' | 'maxLength' | 'customBannedPasswords' | 'enforceCustomBannedPasswords'>;

/** Azure's allowed set (Entra, §7.1): A–Z a–z 0–9, these symbols, and the blank space. */
const AZURE_SYMBOLS = '@#$%^&*-_!+=[]{}|\\:\',.?/`~"();<> ';
const AZURE_ALLOWED = /^[A-Za-z0-9@#$%^&*\-_!+=[\]{}|\\:',.?/`~"();<> ]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const VIOLATION_MESSAGES = {
  empty: 'Enter a password.',
  tooShort: (n: number) => `Your password must be at least ${n} characters long.`,
  tooLong: (n: number) => `Your password can be at most ${n} characters long.`,
  nulByte: 'Your password cannot contain a NUL (zero) character.',
  invalidUnicode: 'Your password contains a broken character (an unpaired UTF-16 surrogate). Type it again.',
  invalidCharacters: `Your password can only contain letters A–Z and a–z, digits 0–9, spaces and these symbols: ${AZURE_SYMBOLS.trim().split('').join(' ')}`,
  notComplexEnough: 'Your password must contain at least three of these four: lower-case letters, upper-case letters, digits and symbols.',
  containsName: "Your password can't contain your first name, your last name or your organization's name.",
  bannedPassword: 'Unfortunately, your password contains a word, phrase, or pattern that makes your password easily guessable. Please try again with a different password.',
  customBanned:
    "Unfortunately, you can't use that password because it contains words or characters that have been blocked by your administrator. Please try again with a different password.",
  sameAsCurrent: 'Your new password must be different from your current password.',
  recentlyUsed: "You've used that password recently. Choose a password you haven't used before.",
} as const;

export function countCodePoints(value: string): number {
  let n = 0;
  for (const _ of value) n += 1;
  return n;
}

/**
 * The checks that need no policy and no I/O: empty, longer than the ceiling (decided from the
 * UTF-16 length alone when it can be, so a 1 MB string is never iterated), NUL bytes, lone
 * surrogates. Callers run it before anything expensive, such as verifying a current password.
 */
export function checkPasswordShape(candidate: string, maxLength: number = MAX_PASSWORD_CODE_POINTS): PasswordViolation[] {
  const ceiling = Math.min(MAX_PASSWORD_CODE_POINTS, maxLength);
  if (candidate.length > MAX_PASSWORD_CODE_POINTS * 2) return [{ code: 'tooLong', message: VIOLATION_MESSAGES.tooLong(ceiling) }];
  if (candidate.length === 0) return [{ code: 'empty', message: VIOLATION_MESSAGES.empty }];
  const malformed: PasswordViolation[] = [];
  if (candidate.includes('\u0000')) malformed.push({ code: 'nulByte', message: VIOLATION_MESSAGES.nulByte });
  if (LONE_SURROGATE.test(candidate)) malformed.push({ code: 'invalidUnicode', message: VIOLATION_MESSAGES.invalidUnicode });
  // Never truncated: what is hashed is exactly what was typed, so the ceiling applies to it as typed.
  if (countCodePoints(candidate) > ceiling) malformed.push({ code: 'tooLong', message: VIOLATION_MESSAGES.tooLong(ceiling) });
  return malformed;
}

/**
 * Checks `candidate` against `policy`. Order matters for cost: the length ceiling is decided from
 * the UTF-16 length alone when it can be (more than 2·256 units is more than 256 code points), so
 * a 1 MB string is refused without being iterated; malformed input (NUL, lone surrogates) stops the
 * check; the banned-list search runs only on a password that passed every structural rule.
 */
export function checkPasswordPolicy(
  policy: PolicyForCheck,
  candidate: string,
  context: PasswordContext = {},
  options: PolicyCheckOptions = {},
): PasswordViolation[] {
  const malformed = checkPasswordShape(candidate, policy.maxLength);
  if (malformed.length > 0) return malformed;

  const violations = policy.profile === 'nist' ? nistRules(policy, candidate) : azureRules(policy, candidate, context);
  if (violations.length > 0) return violations;
  return bannedRules(policy, candidate, context, options);
}

function azureRules(policy: PolicyForCheck, candidate: string, context: PasswordContext): PasswordViolation[] {
  const out: PasswordViolation[] = [];
  const min = Math.max(PROFILE_MIN_LENGTH.azure, policy.minLength);
  if (countCodePoints(candidate) < min) out.push({ code: 'tooShort', message: VIOLATION_MESSAGES.tooShort(min) });
  if (!AZURE_ALLOWED.test(candidate)) {
    out.push({ code: 'invalidCharacters', message: VIOLATION_MESSAGES.invalidCharacters });
  } else if (!context.disableStrongPassword) {
    const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(candidate)).length;
    if (classes < 3) out.push({ code: 'notComplexEnough', message: VIOLATION_MESSAGES.notComplexEnough });
  }
  return out;
}

/** NIST SP 800-63B: length only, any Unicode, compared after NFKC (so look-alike forms count once). */
function nistRules(policy: PolicyForCheck, candidate: string): PasswordViolation[] {
  const min = Math.max(PROFILE_MIN_LENGTH.nist, policy.minLength);
  if (countCodePoints(candidate.normalize('NFKC')) < min) return [{ code: 'tooShort', message: VIOLATION_MESSAGES.tooShort(min) }];
  return [];
}

function bannedRules(policy: PolicyForCheck, candidate: string, context: PasswordContext, options: PolicyCheckOptions): PasswordViolation[] {
  const normalized = normalizeForBannedCheck(candidate);
  if (findNames(normalized, [context.givenName, context.surname, context.tenantName]).length > 0) {
    return [{ code: 'containsName', message: VIOLATION_MESSAGES.containsName }];
  }
  // The custom list is a premium feature: stored on any edition, enforced only on premium.
  const useCustom = policy.enforceCustomBannedPasswords && (context.edition ?? 'free') === 'premium' && policy.customBannedPasswords.length > 0;
  const result = scoreBannedPassword(normalized, {
    global: options.globalTerms ?? globalBannedTerms(),
    custom: useCustom ? customBannedTerms(policy.customBannedPasswords) : undefined,
  });
  if (result.accepted) return [];
  return result.matches.some((m) => m.list === 'custom')
    ? [{ code: 'customBanned', message: VIOLATION_MESSAGES.customBanned }]
    : [{ code: 'bannedPassword', message: VIOLATION_MESSAGES.bannedPassword }];
}

/** Azure's audit result reason for a refused password (§7.3); banned-list refusals are "fuzzy policy". */
export function auditReasonFor(violations: readonly PasswordViolation[]): string {
  if (violations.some((v) => v.code === 'bannedPassword' || v.code === 'customBanned' || v.code === 'containsName')) return 'FuzzyPolicyViolationInvalidPassword';
  if (violations.some((v) => v.code === 'sameAsCurrent' || v.code === 'recentlyUsed')) return 'PasswordReuse';
  return 'PasswordPolicyViolation';
}
