/**
 * The seam for the password policy engine. This issue ships the basic length rule; the full engine
 * (profiles, character classes, banned lists, history) replaces checkPasswordPolicy's body and keeps
 * its shape: violations as codes plus a sentence a user understands.
 */
export interface PasswordViolation {
  readonly code: 'tooShort' | 'tooLong' | 'empty';
  readonly message: string;
}

export interface PasswordPolicyInput {
  readonly minLength: number;
  readonly maxLength: number;
}

export const BASIC_POLICY: PasswordPolicyInput = { minLength: 8, maxLength: 256 };

/** Hard ceiling checked before anything else touches a candidate (so 1 MB passwords cost nothing). */
export const MAX_PASSWORD_CODE_POINTS = 256;

export function countCodePoints(value: string): number {
  let n = 0;
  for (const _ of value) n += 1;
  return n;
}

export function checkPasswordPolicy(policy: PasswordPolicyInput, candidate: string): PasswordViolation[] {
  // Cheap guard first: a string longer than 4×max UTF-16 units is certainly over the limit.
  const length = candidate.length > policy.maxLength * 4 ? Number.POSITIVE_INFINITY : countCodePoints(candidate);
  if (length === 0) return [{ code: 'empty', message: 'Enter a password.' }];
  if (length > policy.maxLength) {
    return [{ code: 'tooLong', message: `Your password can be at most ${policy.maxLength} characters long.` }];
  }
  if (length < policy.minLength) {
    return [{ code: 'tooShort', message: `Your password must be at least ${policy.minLength} characters long.` }];
  }
  return [];
}
