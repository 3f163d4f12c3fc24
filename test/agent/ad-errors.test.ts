import { describe, expect, it } from 'vitest';
import { BusyError, ConstraintViolationError, InsufficientAccessError, InvalidCredentialsError, NoSuchObjectError, UnavailableCriticalExtensionError, UnwillingToPerformError } from 'ldapts';
import { DirectoryRefusal } from '../../agent/target.js';
import { choosePolicyHintsOid, PolicyHintsControl, POLICY_HINTS_DEPRECATED_OID, POLICY_HINTS_OID } from '../../agent/targets/ad-controls.js';
import { directoryText, mapAdError } from '../../agent/targets/ad-errors.js';
import { anchorToGuid, guidToAnchor, guidToString } from '../../agent/targets/ad-guid.js';
import { complexityProblem, intervalToSeconds, preflight, type AdPolicy } from '../../agent/targets/ad-policy.js';
import { fileTimeToIso, scopeFilter } from '../../agent/targets/ad-sync.js';

/** The AD error mapper, fed the errors ldapts builds from the texts Samba 4.17 actually sent (and Windows forms). */
describe('mapAdError', () => {
  const cases: Array<[string, Error, string]> = [
    ['too short', new ConstraintViolationError('0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!'), 'tooShort'],
    ['not complex', new ConstraintViolationError('0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!'), 'notComplex'],
    ['history', new ConstraintViolationError('0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!'), 'recentlyUsed'],
    ['minimum age', new ConstraintViolationError('0000052D: Constraint violation - check_password_restrictions: password is too young to change!'), 'tooYoung'],
    ['wrong old password (change)', new ConstraintViolationError("00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!"), 'wrongPassword'],
    ['bind 52e', new InvalidCredentialsError('80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1'), 'wrongPassword'],
    ['bind 775 locked', new InvalidCredentialsError('80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1'), 'lockedOut'],
    ['bind 533 disabled', new InvalidCredentialsError('80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 533, v1db1'), 'accountDisabled'],
    ['bind 773 must change', new InvalidCredentialsError('80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 773, v1db1'), 'other'],
    ['no such object', new NoSuchObjectError('00002030: No such Base DN: CN=nobody,OU=PosternUsers,DC=postern,DC=test'), 'notFound'],
    ['insufficient access', new InsufficientAccessError('error in module acl: insufficient access rights during LDB_MODIFY (50)'), 'accessDenied'],
    ['hints control refused', new UnavailableCriticalExtensionError(''), 'other'],
    // Windows Server words the same refusals differently; the Win32 code still decides
    ['Windows reset refusal', new UnwillingToPerformError('0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0'), 'notComplex'],
    ['Windows wrong old password', new ConstraintViolationError('00000056: AtrErr: DSID-03190F80, #1:\n\t0: 00000056: DSID-03190F80, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)'), 'wrongPassword'],
    ['busy', new BusyError('busy'), 'unreachable'],
    ['socket', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:636'), { code: 'ECONNREFUSED' }), 'unreachable'],
    ['timeout', new Error('BindRequest: Operation timed out'), 'unreachable'],
    ['local filter error', new Error('Invalid attribute name: (=x)'), 'other'],
  ];

  it.each(cases)('%s', (_label, err, reason) => {
    const refusal = mapAdError(err);
    expect(refusal).toBeInstanceOf(DirectoryRefusal);
    expect(refusal.reason).toBe(reason);
    expect(refusal.detail).not.toMatch(/Code: 0x/); // ldapts' suffix is dropped, the DC's words are kept
    if (err.message.trim() !== 'Code: 0xc') expect(refusal.detail).toContain(directoryText(err).slice(0, 20));
  });

  it('passes an existing refusal through unchanged', () => {
    const r = new DirectoryRefusal('protectedAccount', 'x');
    expect(mapAdError(r)).toBe(r);
  });
});

describe('policy hints control', () => {
  it('prefers the current OID, falls back to the deprecated one, else none (Samba 4.17)', () => {
    expect(choosePolicyHintsOid(['1.2.840.113556.1.4.319', POLICY_HINTS_DEPRECATED_OID, POLICY_HINTS_OID])).toBe(POLICY_HINTS_OID);
    expect(choosePolicyHintsOid([POLICY_HINTS_DEPRECATED_OID])).toBe(POLICY_HINTS_DEPRECATED_OID);
    expect(choosePolicyHintsOid(['1.2.840.113556.1.4.319', '1.2.840.113556.1.4.2064'])).toBeNull();
  });

  it('is critical and carries SEQUENCE { INTEGER 1 } as its value', () => {
    const calls: unknown[][] = [];
    const writer = new Proxy({}, { get: (_t, method: string) => (...args: unknown[]) => calls.push([method, ...args]) });
    new PolicyHintsControl().write(writer as never);
    expect(calls).toEqual([['startSequence'], ['writeString', POLICY_HINTS_OID], ['writeBoolean', true], ['writeBuffer', Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]), 0x04], ['endSequence']]);
  });
});

describe('AD value conversions', () => {
  const guid = Buffer.from('9cad4df6db8e1543a590ea80f8ffea48', 'hex');

  it('anchors are the base64 of the 16 objectGUID bytes; anything else is not an anchor', () => {
    const anchor = guidToAnchor(guid);
    expect(anchor).toBe('nK1N9tuOFUOlkOqA+P/qSA==');
    expect(anchorToGuid(anchor)).toEqual(guid);
    expect(guidToString(guid)).toBe('f64dad9c-8edb-4315-a590-ea80f8ffea48');
    for (const bad of ['', '*)(objectClass=*', 'nK1N9tuOFUOlkOqA', 'nK1N9tuOFUOlkOqA+P/qSA']) expect(anchorToGuid(bad)).toBeNull();
  });

  it('FILETIME and intervals', () => {
    expect(fileTimeToIso('0')).toBeNull();
    expect(fileTimeToIso('9223372036854775807')).toBeNull();
    expect(fileTimeToIso('116444736000000000')).toBe('1970-01-01T00:00:00.000Z');
    expect(fileTimeToIso('133000000000000000')).toBe('2022-06-18T04:26:40.000Z');
    expect(intervalToSeconds('-864000000000')).toBe(86_400);
    expect(intervalToSeconds('-9223372036854775808')).toBe(0);
    expect(intervalToSeconds('0')).toBe(0);
  });

  it('the admin sync filter must be one balanced parenthesised filter', () => {
    expect(scopeFilter({ baseDn: 'x', userFilter: '(department=Sales)' }, '(objectClass=user)')).toBe('(&(objectClass=user)(department=Sales))');
    expect(scopeFilter({ baseDn: 'x', userFilter: null }, '(objectClass=user)')).toBe('(&(objectClass=user))');
    for (const bad of ['department=Sales', '(a=b))(|(c=d)', '(a=b']) expect(() => scopeFilter({ baseDn: 'x', userFilter: bad }, '(objectClass=user)')).toThrow(DirectoryRefusal);
  });
});

describe('pre-flight', () => {
  const domain: AdPolicy = { minLength: 7, historyLength: 24, minAgeSeconds: 0, complexity: true, source: 'domain policy', authoritative: true };

  it('complexity counts AD character classes, non-ASCII letters included', () => {
    expect(complexityProblem('Abcdef12')).toBeNull();
    expect(complexityProblem('Éé1aaaaaaa')).toBeNull(); // Samba 4.17 accepted this one
    expect(complexityProblem('abcdef12')).toMatch(/2 of the character classes/);
    expect(complexityProblem('abcdef-!')).toMatch(/2 of/);
    expect(complexityProblem('abcdef-€')).toBeNull(); // Samba counts a non-ASCII symbol as a class of its own
  });

  it('refuses too short and not complex with the rule and its source; length in UTF-16 units', () => {
    expect(() => preflight(domain, 'Ab1!xy')).toThrow(expect.objectContaining({ reason: 'tooShort', detail: 'the password must be at least 7 characters long (domain policy)' }));
    expect(() => preflight(domain, 'abcdefgh')).toThrow(expect.objectContaining({ reason: 'notComplex' }));
    expect(() => preflight({ ...domain, complexity: false }, 'abcdefgh')).not.toThrow();
    // length in UTF-16 code units, as the DC counts (Samba accepted "Ab1😀😀" at minimum 7 and refused "Ab1ééé")
    expect(() => preflight({ ...domain, minLength: 7 }, 'Ab1\u{1F600}\u{1F600}')).not.toThrow();
    expect(() => preflight({ ...domain, minLength: 7 }, 'Ab1ééé')).toThrow(expect.objectContaining({ reason: 'tooShort' }));
    expect(() => preflight({ ...domain, authoritative: false }, 'a')).not.toThrow(); // an unreadable PSO: the DC decides
  });
});
