import { describe, expect, it } from 'vitest';
import {
  applyFailure,
  badPasswordFingerprint,
  CLEARED_LOCKOUT,
  isLocked,
  lockDurationSeconds,
  lockoutPolicyOf,
  type LockoutPolicy,
} from '../../src/domain/lockout.js';
import type { LockoutState } from '../../src/store/users.js';

const policy: LockoutPolicy = { threshold: 10, durationSeconds: 60, maxDurationSeconds: 3600 };
const now = new Date('2026-11-25T12:00:00.000Z');
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000).toISOString();
const state = (s: Partial<LockoutState>): LockoutState => ({ ...CLEARED_LOCKOUT, ...s });

describe('applyFailure', () => {
  const cases: {
    name: string;
    before: LockoutState;
    fingerprint: string;
    counted: boolean;
    locked: boolean;
    after: Partial<LockoutState>;
  }[] = [
    {
      name: 'first failure counts',
      before: state({}),
      fingerprint: 'a',
      counted: true,
      locked: false,
      after: { failedSignInCount: 1, recentBadHashes: ['a'], lockedUntil: null, lockoutCount: 0 },
    },
    {
      name: 'a repeated bad password does not count again',
      before: state({ failedSignInCount: 3, recentBadHashes: ['x', 'a', 'y'] }),
      fingerprint: 'a',
      counted: false,
      locked: false,
      after: { failedSignInCount: 3, recentBadHashes: ['x', 'a', 'y'] },
    },
    {
      name: 'only the last three bad passwords are remembered',
      before: state({ failedSignInCount: 3, recentBadHashes: ['a', 'b', 'c'] }),
      fingerprint: 'd',
      counted: true,
      locked: false,
      after: { failedSignInCount: 4, recentBadHashes: ['b', 'c', 'd'] },
    },
    {
      name: 'the threshold-th failure locks for the base duration and resets the counter',
      before: state({ failedSignInCount: 9, recentBadHashes: ['a', 'b', 'c'] }),
      fingerprint: 'd',
      counted: true,
      locked: true,
      after: { failedSignInCount: 0, lockoutCount: 1, lockedUntil: at(60) },
    },
    {
      name: 'one below the threshold does not lock',
      before: state({ failedSignInCount: 8 }),
      fingerprint: 'z',
      counted: true,
      locked: false,
      after: { failedSignInCount: 9, lockoutCount: 0, lockedUntil: null },
    },
    {
      name: 'while locked nothing is counted',
      before: state({ lockoutCount: 1, lockedUntil: at(30), recentBadHashes: ['a'] }),
      fingerprint: 'q',
      counted: false,
      locked: true,
      after: { lockoutCount: 1, lockedUntil: at(30), recentBadHashes: ['a'] },
    },
    {
      name: 'after an expired lock the next new failure locks again, twice as long',
      before: state({ lockoutCount: 1, lockedUntil: at(-1), recentBadHashes: ['a'] }),
      fingerprint: 'q',
      counted: true,
      locked: true,
      after: { lockoutCount: 2, lockedUntil: at(120), failedSignInCount: 0, recentBadHashes: ['a', 'q'] },
    },
    {
      name: 'after an expired lock a repeated bad password does not re-lock',
      before: state({ lockoutCount: 1, lockedUntil: at(-1), recentBadHashes: ['a'] }),
      fingerprint: 'a',
      counted: false,
      locked: false,
      after: { lockoutCount: 1, lockedUntil: at(-1) },
    },
    {
      name: 'the growing duration is capped',
      before: state({ lockoutCount: 12, lockedUntil: at(-1) }),
      fingerprint: 'q',
      counted: true,
      locked: true,
      after: { lockoutCount: 13, lockedUntil: at(3600) },
    },
  ];

  it.each(cases)('$name', ({ before, fingerprint, counted, locked, after }) => {
    const outcome = applyFailure(before, fingerprint, policy, now);
    expect(outcome.counted).toBe(counted);
    expect(outcome.locked).toBe(locked);
    expect(outcome.state).toMatchObject(after);
    expect(isLocked(outcome.state, now)).toBe(locked);
  });

  it('ten distinct failures lock; twenty repeats of one password do not', () => {
    let s: LockoutState = CLEARED_LOCKOUT;
    for (let i = 0; i < 20; i += 1) s = applyFailure(s, 'same', policy, now).state;
    expect(isLocked(s, now)).toBe(false);
    expect(s.failedSignInCount).toBe(1);
    for (let i = 0; i < 9; i += 1) s = applyFailure(s, `p${i}`, policy, now).state;
    expect(isLocked(s, now)).toBe(true);
    expect(isLocked(s, new Date(now.getTime() + 60_000))).toBe(false);
  });
});

describe('lockDurationSeconds', () => {
  it.each([
    [0, 60],
    [1, 120],
    [2, 240],
    [5, 1920],
    [6, 3600],
    [1000, 3600],
  ])('after %i lockouts locks for %i s', (count, seconds) => {
    expect(lockDurationSeconds(policy, count)).toBe(seconds);
  });
});

describe('lockoutPolicyOf', () => {
  it('takes threshold and duration from tenant settings and never caps below the duration', () => {
    expect(lockoutPolicyOf({ lockoutThreshold: 5, lockoutDurationSeconds: 7200 })).toEqual({ threshold: 5, durationSeconds: 7200, maxDurationSeconds: 7200 });
    expect(lockoutPolicyOf({ lockoutThreshold: 10, lockoutDurationSeconds: 60 })).toEqual(policy);
  });
});

describe('badPasswordFingerprint', () => {
  const key = Buffer.alloc(32, 7);
  it('is keyed, bound to the user, and never contains the password', () => {
    const f = badPasswordFingerprint(key, 'user-1', 'Secret123!');
    expect(f).not.toContain('Secret123!');
    expect(badPasswordFingerprint(key, 'user-1', 'Secret123!')).toBe(f);
    expect(badPasswordFingerprint(key, 'user-2', 'Secret123!')).not.toBe(f);
    expect(badPasswordFingerprint(Buffer.alloc(32, 8), 'user-1', 'Secret123!')).not.toBe(f);
  });
});
