/**
 * The password rules the server enforces (src/domain/password-policy.ts), evaluated in the browser
 * for live hints. The rules come from the public GET /api/v1/password-policy/hints; this module
 * repeats the server's structural checks exactly (test/web/password-hints.test.ts compares the two on
 * many samples). What only the server can check — the banned lists, names, history — is not here.
 * Keep it free of the DOM and of imports, so that test runs it in node.
 */

export type PasswordProfile = 'azure' | 'nist';
export type CharacterClass = 'lower' | 'upper' | 'digit' | 'symbol';

/** The answer of GET /api/v1/password-policy/hints: no secrets, only what a user must know. */
export interface PasswordHints {
  profile: PasswordProfile;
  /** the effective minimum in characters (code points; after NFKC for nist) */
  minLength: number;
  /** the effective maximum in characters (code points) */
  maxLength: number;
  /** how many of `classes` a password needs (0 for nist) */
  requiredClasses: number;
  classes: CharacterClass[];
  /** 'azure': letters A–Z a–z, digits, space and AZURE_SYMBOLS only; 'any': any Unicode */
  allowedCharacters: 'azure' | 'any';
  /** how many earlier passwords a change may not reuse (0 = only the current one) */
  historyCount: number;
  /** the server also refuses common and banned passwords and the user's or organisation's name */
  bannedListChecked: boolean;
}

/** The same codes as the server's PasswordViolationCode, minus the ones only the server decides. */
export type ClientViolation = 'empty' | 'tooShort' | 'tooLong' | 'nulByte' | 'invalidUnicode' | 'invalidCharacters' | 'notComplexEnough';

export const MAX_PASSWORD_CODE_POINTS = 256;
export const AZURE_SYMBOLS = '@#$%^&*-_!+=[]{}|\\:\',.?/`~"();<> ';
const AZURE_ALLOWED = /^[A-Za-z0-9@#$%^&*\-_!+=[\]{}|\\:',.?/`~"();<> ]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CLASS_RE: Record<CharacterClass, RegExp> = { lower: /[a-z]/, upper: /[A-Z]/, digit: /[0-9]/, symbol: /[^A-Za-z0-9]/ };

/** What the client assumes before the server answered (the server's default policy). */
export const DEFAULT_HINTS: PasswordHints = {
  profile: 'azure',
  minLength: 8,
  maxLength: 256,
  requiredClasses: 3,
  classes: ['lower', 'upper', 'digit', 'symbol'],
  allowedCharacters: 'azure',
  historyCount: 0,
  bannedListChecked: true,
};

export function countCodePoints(value: string): number {
  let n = 0;
  for (const _ of value) n += 1;
  return n;
}

export function classesIn(candidate: string): CharacterClass[] {
  return (Object.keys(CLASS_RE) as CharacterClass[]).filter((c) => CLASS_RE[c].test(candidate));
}

/** The violations the server would report for `candidate`, before its banned-list and name checks, in its order. */
export function clientViolations(hints: PasswordHints, candidate: string): ClientViolation[] {
  const ceiling = Math.min(MAX_PASSWORD_CODE_POINTS, hints.maxLength);
  if (candidate.length > MAX_PASSWORD_CODE_POINTS * 2) return ['tooLong'];
  if (candidate.length === 0) return ['empty'];
  const malformed: ClientViolation[] = [];
  if (candidate.includes('\u0000')) malformed.push('nulByte');
  if (LONE_SURROGATE.test(candidate)) malformed.push('invalidUnicode');
  if (countCodePoints(candidate) > ceiling) malformed.push('tooLong');
  if (malformed.length > 0) return malformed;

  if (hints.profile === 'nist') return countCodePoints(candidate.normalize('NFKC')) < hints.minLength ? ['tooShort'] : [];
  const out: ClientViolation[] = [];
  if (countCodePoints(candidate) < hints.minLength) out.push('tooShort');
  if (hints.allowedCharacters === 'azure' && !AZURE_ALLOWED.test(candidate)) out.push('invalidCharacters');
  else if (hints.requiredClasses > 0 && classesIn(candidate).length < hints.requiredClasses) out.push('notComplexEnough');
  return out;
}

export type HintRule = 'length' | 'classes' | 'characters';

export interface HintCheck {
  rule: HintRule;
  met: boolean;
}

/** The checklist shown under the new-password field: one line per rule of the policy, met or not. */
export function hintChecklist(hints: PasswordHints, candidate: string): HintCheck[] {
  const violations = new Set(clientViolations(hints, candidate));
  const lengthOk = candidate !== '' && !violations.has('tooShort') && !violations.has('tooLong') && !violations.has('empty');
  const out: HintCheck[] = [{ rule: 'length', met: lengthOk }];
  out.push({ rule: 'characters', met: candidate !== '' && !violations.has('invalidCharacters') && !violations.has('nulByte') && !violations.has('invalidUnicode') });
  if (hints.profile === 'azure' && hints.requiredClasses > 0) {
    out.push({ rule: 'classes', met: candidate !== '' && classesIn(candidate).length >= hints.requiredClasses && !violations.has('invalidCharacters') });
  }
  return out;
}
