import { describe, expect, it } from 'vitest';
import { checkPasswordPolicy, DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from '../../src/domain/password-policy.js';
import { generateTemporaryPassword, TEMPORARY_PASSWORD_CLASSES, temporaryPasswordLength } from '../../src/domain/temporary-password.js';

const azure: PasswordPolicy = DEFAULT_PASSWORD_POLICY;
const nist: PasswordPolicy = { ...DEFAULT_PASSWORD_POLICY, profile: 'nist', minLength: 15 };
const long: PasswordPolicy = { ...DEFAULT_PASSWORD_POLICY, minLength: 40 };
const LOOK_ALIKES = /[Il1|O0o'"`,.;: ()[\]{}<>~\\/]/;

describe('generateTemporaryPassword', () => {
  it.each([
    ['azure', azure],
    ['nist', nist],
    ['azure with a 40-character minimum', long],
  ] as const)('1,000 passwords for the %s policy all pass the policy engine, all differ, none has a look-alike', (_name, policy) => {
    const seen = new Set<string>();
    const context = { tenantName: 'Contoso', givenName: 'Adele', surname: 'Vance' };
    for (let i = 0; i < 1000; i += 1) {
      const password = generateTemporaryPassword(policy, undefined, { context });
      expect(checkPasswordPolicy(policy, password, context)).toEqual([]);
      expect(password).not.toMatch(LOOK_ALIKES);
      expect(password).toHaveLength(temporaryPasswordLength(policy));
      for (const set of TEMPORARY_PASSWORD_CLASSES) expect([...password].some((c) => set.includes(c)), `${password} lacks one of ${set}`).toBe(true);
      seen.add(password);
    }
    expect(seen.size).toBe(1000);
  });

  it('is at least 16 characters and follows a longer tenant minimum', () => {
    expect(temporaryPasswordLength(azure)).toBe(16);
    expect(temporaryPasswordLength(nist)).toBe(16);
    expect(temporaryPasswordLength({ ...azure, minLength: 40 })).toBe(40);
    expect(temporaryPasswordLength({ ...azure, minLength: 8, maxLength: 12 })).toBe(12);
  });

  it('draws again when a draw is refused (here: it contains the user\'s name), using only the injected randomness', () => {
    // the first draw is "Aa2!" then all 'A' (it contains the given name "Aaaa"); later draws vary
    let calls = 0;
    const pinned = (max: number) => {
      calls += 1;
      return calls <= 40 ? 0 : (calls * 7) % max;
    };
    const context = { givenName: 'Aaaa' };
    expect(checkPasswordPolicy(azure, 'Aa2!AAAAAAAAAAAA', context).map((v) => v.code)).toEqual(['containsName']);
    const password = generateTemporaryPassword(azure, pinned, { context });
    expect(checkPasswordPolicy(azure, password, context)).toEqual([]);
    expect(calls).toBeGreaterThan(40);
  });

  it('gives up with an error, never a refused password, when no draw can pass', () => {
    expect(() => generateTemporaryPassword(azure, () => 0, { context: { givenName: 'Aaaa' } })).toThrow(/could not generate/);
  });
});
