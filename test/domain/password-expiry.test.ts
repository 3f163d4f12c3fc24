import { describe, expect, it } from 'vitest';
import { hasPasswordPolicy, passwordExpiry } from '../../src/domain/password-expiry.js';

const now = new Date('2026-11-25T12:00:00.000Z');
const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000).toISOString();
const user = (changedDaysAgo: number | null, passwordPolicies: string | null = null) => ({
  passwordPolicies,
  lastPasswordChangeDateTime: changedDaysAgo === null ? null : daysAgo(changedDaysAgo),
  createdDateTime: daysAgo(100),
});

describe('password expiry', () => {
  const ninety = { expiresAfterDays: 90, notificationWindowDays: 14 };

  it.each([
    ['never expires without a validity period', user(400), { expiresAfterDays: null, notificationWindowDays: 14 }, { expired: false, daysLeft: null, warn: false }],
    ['fresh password', user(0), ninety, { expired: false, daysLeft: 90, warn: false }],
    ['one day before the window', user(75), ninety, { expired: false, daysLeft: 15, warn: false }],
    ['first day of the window', user(76), ninety, { expired: false, daysLeft: 14, warn: true }],
    ['last day', user(89.5), ninety, { expired: false, daysLeft: 1, warn: true }],
    ['exactly at expiry', user(90), ninety, { expired: true, daysLeft: 0, warn: false }],
    ['long expired', user(365), ninety, { expired: true, daysLeft: 0, warn: false }],
    ['DisablePasswordExpiration exempts', user(365, 'DisablePasswordExpiration'), ninety, { expired: false, daysLeft: null, warn: false }],
    ['both policies, any order and case', user(365, 'disablestrongpassword, DISABLEPASSWORDEXPIRATION'), ninety, { expired: false, daysLeft: null, warn: false }],
    ['no change date counts from creation', user(null), ninety, { expired: true, daysLeft: 0, warn: false }],
  ])('%s', (_name, u, policy, expected) => {
    expect(passwordExpiry(u, policy, now)).toMatchObject(expected);
  });

  it('reads Graph passwordPolicies lists', () => {
    expect(hasPasswordPolicy(null, 'DisableStrongPassword')).toBe(false);
    expect(hasPasswordPolicy('None', 'DisableStrongPassword')).toBe(false);
    expect(hasPasswordPolicy('DisablePasswordExpiration, DisableStrongPassword', 'DisableStrongPassword')).toBe(true);
  });
});
