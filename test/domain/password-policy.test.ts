import { describe, expect, it, vi } from 'vitest';
import { buildBannedTermIndex } from '../../src/domain/banned-passwords.js';
import type { Hasher } from '../../src/domain/hasher.js';
import {
  auditReasonFor,
  checkPasswordPolicy,
  DEFAULT_PASSWORD_POLICY,
  type PasswordContext,
  type PasswordPolicy,
  type PasswordViolationCode,
} from '../../src/domain/password-policy.js';
import { assertPasswordAllowed } from '../../src/domain/password-rules.js';
import { AppError } from '../../src/errors.js';
import type { Db } from '../../src/store/database.js';
import { DEFAULT_TENANT_SETTINGS, type Tenant } from '../../src/store/tenants.js';

// A small injected global list keeps these tables about the rules, not about zxcvbn's dictionary.
const GLOBAL = buildBannedTermIndex(['blank', 'password', 'dragon', 'abcdef']);
const azure: PasswordPolicy = DEFAULT_PASSWORD_POLICY;
const nist: PasswordPolicy = { ...DEFAULT_PASSWORD_POLICY, profile: 'nist', minLength: 15 };
const customContoso: PasswordPolicy = { ...azure, customBannedPasswords: ['contoso'], enforceCustomBannedPasswords: true };
const premium: PasswordContext = { edition: 'premium', tenantName: 'Fabrikam' };

const codes = (policy: PasswordPolicy, candidate: string, context: PasswordContext = premium): PasswordViolationCode[] =>
  checkPasswordPolicy(policy, candidate, context, { globalTerms: GLOBAL }).map((v) => v.code);

describe('length: 256 code points at most, never truncated', () => {
  it.each<[string, string, PasswordViolationCode[]]>([
    ['empty', '', ['empty']],
    ['7 characters', 'Aa1!xyz', ['tooShort']],
    ['8 characters', 'Aa1!xyzw', []],
    ['256 characters', `Aa1!${'x'.repeat(252)}`, []],
    ['257 characters', `Aa1!${'x'.repeat(253)}`, ['tooLong']],
    ['10,000 characters', 'Aa1!'.repeat(2500), ['tooLong']],
    ['1 MB', 'x'.repeat(1_000_000), ['tooLong']],
  ])('azure, %s', (_name, candidate, expected) => {
    expect(codes(azure, candidate)).toEqual(expected);
  });

  it('counts an emoji as one code point (nist: 256 emoji pass, 257 do not; 14 plus one letter is too short)', () => {
    expect(codes(nist, '😀'.repeat(256))).toEqual([]);
    expect(codes(nist, '😀'.repeat(257))).toEqual(['tooLong']);
    expect(codes(nist, `${'😀'.repeat(13)}a`)).toEqual(['tooShort']);
    expect(codes(nist, `${'😀'.repeat(14)}a`)).toEqual([]);
  });

  it('a raised minimum applies, and its message names the number', () => {
    const violations = checkPasswordPolicy({ ...azure, minLength: 12 }, 'Xy7!qwzk', premium, { globalTerms: GLOBAL });
    expect(violations).toEqual([{ code: 'tooShort', message: 'Your password must be at least 12 characters long.' }]);
  });
});

describe('malformed input gets its own violation', () => {
  it.each<[string, string, PasswordViolationCode[]]>([
    ['NUL byte', 'Aa1!xyzw\u0000q', ['nulByte']],
    ['lone high surrogate', 'Aa1!xyzw\uD83D', ['invalidUnicode']],
    ['lone low surrogate', '\uDE00Aa1!xyzw', ['invalidUnicode']],
    ['a proper pair is fine (nist)', `${'😀'.repeat(15)}`, []],
  ])('%s', (_name, candidate, expected) => {
    expect(codes(candidate.includes('😀') ? nist : azure, candidate)).toEqual(expected);
  });
});

describe('azure profile: allowed characters and 3 of 4 classes', () => {
  it.each<[string, PasswordViolationCode[], boolean?]>([
    ['Xy7!qwzk', []],
    ['xy7!qwzk', []], // lower, digit, symbol
    ['XY7QWZKM', ['notComplexEnough']],
    ['xyzqwzkm', ['notComplexEnough']],
    ['xy7qwzkm', ['notComplexEnough']],
    ['Xy7 qwzk', []], // the blank space is allowed and counts as a symbol
    ['Xy7<qwzk>', []],
    ['Xy7!qwzkë', ['invalidCharacters']],
    ['Xy7!qwzk😀', ['invalidCharacters']],
    ['Xy7\tqwzk', ['invalidCharacters']],
    ['xyzqwzkm', [], true], // DisableStrongPassword: no class rule
    ['xyzq', ['tooShort'], true], // … but the length rule stays
    ['xyzqwzkë', ['invalidCharacters'], true], // … and the character set
  ])('%s → %j (DisableStrongPassword: %s)', (candidate, expected, disableStrongPassword = false) => {
    expect(codes(azure, candidate, { ...premium, disableStrongPassword })).toEqual(expected);
  });

  it('every symbol of Azure\'s list is allowed', () => {
    for (const symbol of '@#$%^&*-_!+=[]{}|\\:\',.?/`~"();<> ') expect(codes(azure, `Xy7qwzk${symbol}`)).toEqual([]);
  });
});

describe('nist profile: 15 code points, any Unicode, NFKC, no composition rules', () => {
  it.each<[string, PasswordViolationCode[]]>([
    ['horsebatterycup', []], // 15 lower-case letters, no classes needed
    ['horsebatterycu', ['tooShort']],
    ['ünïcødé-wörds-ok', []],
    ['ﬁﬁﬁﬁﬁﬁﬁﬁ', []], // each ligature is two letters after NFKC: 16
    ['ﬁﬁﬁﬁﬁﬁﬁ', ['tooShort']], // 14 after NFKC
    ['Pässw0rd-blank!', ['bannedPassword']], // banned check applies to nist too (ä→a is one substitution): 1+1+3
    ['Pässw0rd-blank!!', []], // … and one more character makes it 5
  ])('%s → %j', (candidate, expected) => {
    expect(codes(nist, candidate)).toEqual(expected);
  });
});

describe("banned passwords: Azure's evaluation (§7.3)", () => {
  it.each<[string, string, PasswordPolicy, PasswordContext, PasswordViolationCode[]]>([
    // Azure's worked examples: custom "contoso", global "blank"
    ['C0ntos0Blank12 scores 4', 'C0ntos0Blank12', customContoso, premium, ['customBanned']],
    ['ContoS0Bl@nkf9! scores 5', 'ContoS0Bl@nkf9!', customContoso, premium, []],
    ['user Poll cannot use p0LL23fb', 'p0LL23fb', azure, { ...premium, givenName: 'Poll' }, ['containsName']],
    ['surname matched too', 'xx-Nakamura-77!', azure, { ...premium, surname: 'Nakamura' }, ['containsName']],
    ['tenant name matched (after normalisation)', 'F@brikam-Rocks-9', azure, premium, ['containsName']],
    ['a name shorter than 4 is not matched', 'Xy7!Bo-qwzk', azure, { ...premium, givenName: 'Bo' }, []],
    ['normalisation: P@ssw0rd', 'P@ssw0rd', azure, premium, ['bannedPassword']],
    ['fuzzy: substitution (Passw0rb)', 'Passw0rb!', azure, premium, ['bannedPassword']],
    ['fuzzy: deletion (abcde)', 'abcde-X9', azure, premium, ['bannedPassword']],
    ['fuzzy: inner insertion (abcxdef)', 'abcxdef-9', azure, premium, ['bannedPassword']],
    ['fuzzy: end insertion is term + 1 character (abcdefg!1 = 1+3)', 'abcdefg!1', azure, premium, ['bannedPassword']],
    ['term + 4 other characters = 5: accepted', 'Dragon-7x!', azure, premium, []],
    ['term + 3 other characters = 4: rejected', 'Dragon7x!', azure, premium, ['bannedPassword']],
    ['two terms + 3 = 5: accepted', 'Dragon-Blank7!', azure, premium, []],
    ['custom list not enforced: only the global list counts', 'C0ntos0Blank12', { ...customContoso, enforceCustomBannedPasswords: false }, premium, []],
    ['custom list needs premium', 'C0ntos0Blank12', customContoso, { ...premium, edition: 'basic' }, []],
    ['custom terms are case-insensitive', 'CONTOSO-Blank', { ...customContoso, customBannedPasswords: ['ConToso'] }, premium, ['customBanned']],
  ])('%s', (_name, candidate, policy, context, expected) => {
    expect(codes(policy, candidate, context)).toEqual(expected);
  });

  it("uses Azure's wording", () => {
    const [global] = checkPasswordPolicy(azure, 'P@ssw0rd', premium, { globalTerms: GLOBAL });
    expect(global?.message).toBe('Unfortunately, your password contains a word, phrase, or pattern that makes your password easily guessable. Please try again with a different password.');
    const [custom] = checkPasswordPolicy(customContoso, 'C0ntos0Blank12', premium, { globalTerms: GLOBAL });
    expect(custom?.message).toContain('blocked by your administrator');
  });

  it('maps banned-list refusals to FuzzyPolicyViolationInvalidPassword', () => {
    expect(auditReasonFor([{ code: 'bannedPassword', message: '' }])).toBe('FuzzyPolicyViolationInvalidPassword');
    expect(auditReasonFor([{ code: 'customBanned', message: '' }])).toBe('FuzzyPolicyViolationInvalidPassword');
    expect(auditReasonFor([{ code: 'containsName', message: '' }])).toBe('FuzzyPolicyViolationInvalidPassword');
    expect(auditReasonFor([{ code: 'tooShort', message: '' }])).toBe('PasswordPolicyViolation');
  });

  it('with the shipped global list: common passwords are refused, strong ones pass', () => {
    const check = (p: string) => checkPasswordPolicy(azure, p, { tenantName: 'Contoso', edition: 'free' }).map((v) => v.code);
    expect(check('Passw0rd!')).toEqual(['bannedPassword']);
    expect(check('Dragon2024!')).toEqual(['bannedPassword']);
    expect(check('Summer2024!')).toEqual(['bannedPassword']);
    expect(check('Zephyr-Marmot-Quill-47')).toEqual([]);
    expect(check('xWwvJ]6NMw+bWH-d')).toEqual([]);
  });
});

describe('assertPasswordAllowed', () => {
  const tenant: Tenant = { id: 't', displayName: 'Fabrikam', edition: 'premium', settings: { ...DEFAULT_TENANT_SETTINGS }, createdAt: '2026-01-01T00:00:00.000Z' };
  const hasherSpy = (matches: boolean) => {
    const hash = vi.fn(async () => 'h');
    const verify = vi.fn(async () => matches);
    const hasher: Hasher = { hash, verify, needsRehash: () => false };
    return Object.assign(hasher, { spies: { hash, verify } });
  };
  // the history table is not reached in these cases (historyCount 0); a db that is touched fails the test
  const db = new Proxy({}, { get: () => { throw new Error('no database expected'); } }) as unknown as Db;
  const user = { id: 'u', givenName: 'Megan', surname: 'Bowen', passwordPolicies: null, passwordHash: 'current-hash' };

  it('refuses a 10,000-character password without calling the hasher', async () => {
    const hasher = hasherSpy(false);
    const err = await assertPasswordAllowed({ db, hasher }, { tenant, user, candidate: 'Aa1!'.repeat(2500), purpose: 'change' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('password.policy_violation');
    expect((err as AppError).data?.violations).toEqual([{ code: 'tooLong', message: 'Your password can be at most 256 characters long.' }]);
    expect(hasher.spies.verify).not.toHaveBeenCalled();
    expect(hasher.spies.hash).not.toHaveBeenCalled();
  });

  it("refuses the user's own name, and a banned password, before any hashing", async () => {
    const hasher = hasherSpy(false);
    for (const candidate of ['Megan-Rocks-2026!', 'P@ssw0rd']) {
      await expect(assertPasswordAllowed({ db, hasher }, { tenant, user, candidate, purpose: 'change' })).rejects.toMatchObject({ code: 'password.policy_violation' });
    }
    expect(hasher.spies.verify).not.toHaveBeenCalled();
  });

  it('on change refuses the current password (sameAsCurrent); on reset it may be reused', async () => {
    const candidate = 'Zephyr-Marmot-Quill-47';
    const err = await assertPasswordAllowed({ db, hasher: hasherSpy(true) }, { tenant, user, candidate, purpose: 'change' }).catch((e: unknown) => e);
    expect((err as AppError).data?.violations).toEqual([{ code: 'sameAsCurrent', message: 'Your new password must be different from your current password.' }]);
    await expect(assertPasswordAllowed({ db, hasher: hasherSpy(true) }, { tenant, user, candidate, purpose: 'reset' })).resolves.toMatchObject({ profile: 'azure' });
  });

  it("reads the tenant's policy from its settings and DisableStrongPassword from the user", async () => {
    const nistTenant: Tenant = { ...tenant, settings: { ...tenant.settings, profile: 'nist', minLength: 15 } as Tenant['settings'] };
    await expect(assertPasswordAllowed({ db, hasher: hasherSpy(false) }, { tenant: nistTenant, user, candidate: 'Xy7!qwzk-Lumo', purpose: 'create' })).rejects.toMatchObject({
      message: 'Your password must be at least 15 characters long.',
    });
    const weakOk = { ...user, passwordPolicies: 'DisablePasswordExpiration, DisableStrongPassword' };
    await expect(assertPasswordAllowed({ db, hasher: hasherSpy(false) }, { tenant, user: weakOk, candidate: 'plinthquokkavortex', purpose: 'create' })).resolves.toBeDefined();
    await expect(assertPasswordAllowed({ db, hasher: hasherSpy(false) }, { tenant, user, candidate: 'plinthquokkavortex', purpose: 'create' })).rejects.toMatchObject({
      data: { violations: [{ code: 'notComplexEnough' }] },
    });
  });
});
