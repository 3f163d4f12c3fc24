import { DirectoryRefusal, type RefusalReason } from '../target.js';

/**
 * Active Directory's refusals → RefusalReason. AD puts a Win32 code in front of its diagnostic
 * message ("0000052D: Constraint violation - …"), and a failed bind carries "data 52e" (wrong
 * password), "data 775" (locked), "data 533" (disabled), "data 773"/"data 532" (must change / expired).
 *
 * Texts Samba 4.17.12 actually answered on this machine (test/agent/ad-errors.test.ts feeds them back):
 *   reset/change, too short:   0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!
 *   not complex:               0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!
 *   history (change only):     0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!
 *   minimum age (change only): 0000052D: Constraint violation - check_password_restrictions: password is too young to change!
 *   wrong old password:        00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!
 *   bind, wrong password:      80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1
 *   bind, disabled:            … AcceptSecurityContext error, data 533, v1db1
 *   bind, must change:         … AcceptSecurityContext error, data 773, v1db1
 *   no such entry:             00002030: No such Base DN: CN=nobody,OU=PosternUsers,DC=postern,DC=test   (code 32)
 *   missing right:             error in module acl: insufficient access rights during LDB_MODIFY (50)       (code 50)
 *   policy hints control:      unavailableCriticalExtension (12), empty message — Samba 4.17 supports neither OID
 * Windows AD says the same things with other words ("0000052D: AtrErr: DSID-03191083, #1: 0: 0000052D: …"),
 * so the Win32 code decides where the text cannot: 0000052D alone is a policy refusal we cannot
 * narrow further, reported as notComplex (AD's own ERROR_PASSWORD_RESTRICTION covers all of them).
 */

const LDAP = { invalidCredentials: 49, constraintViolation: 19, noSuchObject: 32, insufficientAccess: 50, unwillingToPerform: 53, unavailableCriticalExtension: 12, busy: 51, unavailable: 52 } as const;

interface LdapLikeError {
  code?: unknown;
  message?: unknown;
  name?: unknown;
}

/** the server's words without ldapts' " Code: 0x13" suffix (never contains a password: AD does not echo it) */
export function directoryText(err: unknown): string {
  const message = (err as LdapLikeError | null)?.message;
  const raw = typeof message === 'string' ? message : typeof err === 'string' ? err : '';
  return raw.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
}

const TEXT_RULES: Array<[RegExp, RefusalReason]> = [
  [/too short|PASSWORD_TOO_SHORT|shorter than/i, 'tooShort'],
  [/already used|in history|password history|PASSWORD_IN_HISTORY/i, 'recentlyUsed'],
  [/too young|minimum password age|PASSWORD_TOO_YOUNG/i, 'tooYoung'],
  [/complexity|not complex|quality/i, 'notComplex'],
  [/old password.*(?:doesn't|does not|not) match|wrong old password/i, 'wrongPassword'],
];

/** the Win32 code after "data " in a bind error, lowercase hex (52e, 775, 533, 773, 532, 701) */
function bindDataCode(text: string): string | null {
  const m = /\bdata ([0-9a-f]{3,8})\b/i.exec(text);
  return m ? m[1]!.toLowerCase() : null;
}

/** Map any error thrown by ldapts during an AD operation. Already-mapped refusals pass through. */
export function mapAdError(err: unknown): DirectoryRefusal {
  if (err instanceof DirectoryRefusal) return err;
  const e = (err ?? {}) as LdapLikeError;
  const code = typeof e.code === 'number' ? e.code : null;
  const text = directoryText(err) || (typeof e.name === 'string' ? e.name : 'LDAP error');

  if (code === LDAP.invalidCredentials) {
    switch (bindDataCode(text)) {
      case '775':
        return new DirectoryRefusal('lockedOut', text);
      case '533':
      case '701': // account expired
        return new DirectoryRefusal('accountDisabled', text);
      case '773': // must change at next logon
      case '532': // password expired
        // the password was right, but AD allows no bind until it is changed
        return new DirectoryRefusal('other', `the password must be changed before it can be used (${text})`);
      default: // 52e, 525 (no such user: hide it like AD does), anything else
        return new DirectoryRefusal('wrongPassword', text);
    }
  }
  if (code === LDAP.noSuchObject || /^00002030\b/.test(text)) return new DirectoryRefusal('notFound', text);
  if (code === LDAP.insufficientAccess || /^00000005\b/.test(text) || /insufficient access/i.test(text)) return new DirectoryRefusal('accessDenied', text);
  if (code === LDAP.unavailableCriticalExtension) return new DirectoryRefusal('other', text || 'the directory does not support a control the operation needs');
  if (code === LDAP.constraintViolation || code === LDAP.unwillingToPerform || /\b0000052D\b|\b00000056\b/i.test(text)) {
    if (/^00000056\b/.test(text)) return new DirectoryRefusal('wrongPassword', text);
    for (const [pattern, reason] of TEXT_RULES) if (pattern.test(text)) return new DirectoryRefusal(reason, text);
    if (/\b0000052D\b/i.test(text)) return new DirectoryRefusal('notComplex', text);
    if (/\b00000056\b/i.test(text)) return new DirectoryRefusal('wrongPassword', text);
    return new DirectoryRefusal('other', text);
  }
  if (code === LDAP.busy || code === LDAP.unavailable) return new DirectoryRefusal('unreachable', text);
  if (code === null) {
    // no LDAP result code: a socket, TLS or timeout problem — or a local one (e.g. a filter ldapts cannot parse)
    if (typeof e.code === 'string' || /timed? ?out|socket|ECONN|EHOST|certificate|TLS|closed|connect/i.test(text)) return new DirectoryRefusal('unreachable', text);
    return new DirectoryRefusal('other', text);
  }
  return new DirectoryRefusal('other', text);
}
