import { AppError } from '../errors.js';

/**
 * A directory refusal in the user's words. The reasons come from the agent's mapping of AD extended
 * errors and ppolicy errors (agent/target.ts); the message never carries the password, and `detail`
 * (the directory's own words) goes only to the audit, not to the user.
 */
const MESSAGES: Record<string, string> = {
  tooShort: "Your new password is too short for your organisation's on-premises password policy. Choose a longer one.",
  recentlyUsed: 'Your new password is one of your recent passwords. Choose a password you have not used before.',
  tooYoung: 'Your password was changed too recently to change it again. Try again later.',
  notComplex: "Your new password is not complex enough for your organisation's on-premises password policy. Mix upper and lower case letters, digits and symbols.",
  accountDisabled: 'Your account is disabled in the on-premises directory. Contact your admin.',
  notFound: 'Your account was not found in the on-premises directory. Contact your admin.',
  protectedAccount: 'Protected accounts (members of administrative groups on-premises) cannot be reset here. Contact your admin.',
  wrongPassword: 'Your current password is incorrect.',
  lockedOut: 'Your account is locked in the on-premises directory. Try again later, or contact your admin.',
  accessDenied: 'The writeback agent is not allowed to change this account on-premises. Contact your admin.',
  other: 'Your on-premises directory refused the password. Contact your admin.',
};

/**
 * Azure gives its SSPR_00xx codes to configuration and connectivity failures only (reference §2.4):
 * a policy refusal is the user's to fix and has none; a refusal the admin must fix is SSPR_0029.
 */
const ADMIN_ACTION = new Set(['protectedAccount', 'accessDenied', 'other']);

export function refusalError(reason: string | null): AppError {
  if (reason === 'unreachable') return new AppError('sspr.onprem_unreachable', { data: { ssprCode: 'SSPR_0030' } });
  const key = reason && reason in MESSAGES ? reason : 'other';
  return new AppError('writeback.refused', { message: MESSAGES[key], data: { reason: key, ssprCode: ADMIN_ACTION.has(key) ? 'SSPR_0029' : null } });
}

export function unreachableError(): AppError {
  return new AppError('sspr.onprem_unreachable', { data: { ssprCode: 'SSPR_0030' } });
}
