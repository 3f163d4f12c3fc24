import { describe, expect, it, vi } from 'vitest';

/**
 * src/domain/hasher.ts's semaphore, with argon2 replaced by a stand-in that counts how many
 * verifications run at once: never more than the limit, however callers arrive, and in arrival order.
 */
const state = vi.hoisted(() => ({ running: 0, most: 0, order: [] as string[], gates: new Map<string, () => void>() }));
vi.mock('@node-rs/argon2', () => ({
  hash: () => Promise.resolve('$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA'),
  verify: async (_encoded: string, password: string) => {
    state.running += 1;
    state.most = Math.max(state.most, state.running);
    state.order.push(password);
    // 'gated-…' verifications end when the test opens their gate, the rest after a millisecond
    await new Promise<void>((ok) => (password.startsWith('gated') ? state.gates.set(password, ok) : setTimeout(ok, 1)));
    state.running -= 1;
    if (password === 'throws') throw new Error('malformed');
    return password.startsWith('right');
  },
}));
const { createArgon2Hasher } = await import('../../src/domain/hasher.js');

describe('hasher semaphore', () => {
  it('never runs more verifications at once than its limit, also when a caller arrives as a slot frees', async () => {
    state.most = 0;
    const hasher = createArgon2Hasher({ memoryCost: 8, timeCost: 1, parallelism: 1 }, 2);
    // chains that ask again the moment an answer is in (as sign-ins do), beside a queue of single callers
    const chain = async (name: string) => {
      for (let i = 0; i < 20; i++) expect(await hasher.verify('$argon2id$x', `right-${name}-${i}`)).toBe(true);
    };
    const singles = Array.from({ length: 30 }, (_, i) => hasher.verify('$argon2id$x', `wrong-${i}`).then((ok) => Promise.resolve(ok).then((v) => v)));
    const answers = await Promise.all([chain('a'), chain('b'), chain('c'), ...singles]);
    expect(answers.slice(3)).toEqual(Array.from({ length: 30 }, () => false));
    expect(state.most).toBe(2);
    await hasher.close?.();
  });

  it('hands a freed slot to the caller that waited, not to one arriving a few promise turns later', async () => {
    // the arrival is tried at each point of the hand-off: with a slot freed first and taken later, a
    // newcomer landing in between would run beside the waiter and make two at once on a limit of one
    for (let turns = 0; turns < 12; turns++) {
      state.most = 0;
      const hasher = createArgon2Hasher({ memoryCost: 8, timeCost: 1, parallelism: 1 }, 1);
      const first = hasher.verify('$argon2id$x', 'gated-first');
      const waiter = hasher.verify('$argon2id$x', 'right-waiter');
      await vi.waitFor(() => expect(state.gates.has('gated-first')).toBe(true));
      state.gates.get('gated-first')!();
      state.gates.delete('gated-first');
      let later: Promise<unknown> = Promise.resolve();
      for (let i = 0; i < turns; i++) later = later.then(() => undefined);
      const newcomer = later.then(() => hasher.verify('$argon2id$x', 'right-newcomer'));
      expect(await Promise.all([first, waiter, newcomer])).toEqual([false, true, true]);
      expect(state.most, `newcomer after ${turns} turns`).toBe(1);
      await hasher.close?.();
    }
  });

  it('starts waiting verifications in the order they were asked for, and a failure frees its slot', async () => {
    state.order = [];
    const hasher = createArgon2Hasher({ memoryCost: 8, timeCost: 1, parallelism: 1 }, 1);
    const names = ['right-1', 'throws', 'wrong-2', 'right-3'];
    const answers = await Promise.all(names.map((n) => hasher.verify('$argon2id$x', n)));
    expect(answers).toEqual([true, false, false, true]);
    expect(state.order).toEqual(names);
    await hasher.close?.();
  });
});
