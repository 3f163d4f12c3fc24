import { createChallenge, solveChallenge, verifySolution, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPTCHA_TTL_MS } from '../../src/domain/sspr/captcha.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { post, SSPR } from './sspr-helpers.js';

/**
 * Postern makes and checks its ALTCHA challenges with node:crypto (src/domain/sspr/captcha.ts), not
 * through altcha-lib: the two must agree both ways — altcha-lib (the widget's and the solver's side)
 * accepts our challenges, and we accept altcha-lib's made with our secrets — and both refuse a
 * tampered challenge or a wrong solution.
 */
describe('SSPR CAPTCHA format', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext('sqlite');
  });
  afterAll(async () => ctx.close());

  const secrets = () => ({ hmacSignatureSecret: ctx.services.secretBox.derive('altcha').toString('hex'), hmacKeySignatureSecret: ctx.services.secretBox.derive('altcha-key').toString('hex') });
  const ours = async () => (await ctx.app.inject({ method: 'GET', url: `${SSPR}/captcha` })).json<Challenge>();
  const theirs = () =>
    createChallenge({ algorithm: 'SHA-256', cost: 1, counter: 1234, deriveKey, data: { exp: new Date(ctx.clock.now().getTime() + CAPTCHA_TTL_MS).toISOString() }, ...secrets() });
  const payload = (challenge: Challenge, solution: unknown) => Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
  /** the flow start's answer to a CAPTCHA: 201 (a decoy flow for an unknown name) or the error code */
  const start = async (captcha: string) => {
    const res = await post(ctx, `${SSPR}/flows`, { userPrincipalName: `nobody${Math.random()}@contoso.test`, captcha });
    return res.statusCode === 201 ? 201 : res.json<{ error: { code: string } }>().error.code;
  };

  it('makes challenges in altcha-lib’s shape that altcha-lib solves and verifies', async () => {
    const challenge = await ours();
    const reference = await theirs();
    expect(Object.keys(challenge)).toEqual(Object.keys(reference));
    expect(Object.keys(challenge.parameters)).toEqual(Object.keys(reference.parameters));
    expect(challenge.parameters).toMatchObject({ algorithm: 'SHA-256', cost: 1, keyLength: 32 });
    expect(challenge.parameters.keyPrefix).toMatch(/^[0-9a-f]{32}$/);
    const solution = await solveChallenge({ challenge, deriveKey });
    expect(solution).not.toBeNull();
    expect((await verifySolution({ challenge, solution: solution!, deriveKey, ...secrets() })).verified).toBe(true);
    expect(await start(payload(challenge, solution))).toBe(201);
  });

  it('accepts a challenge altcha-lib made with its secrets, once', async () => {
    const challenge = await theirs();
    const solution = await solveChallenge({ challenge, deriveKey });
    const captcha = payload(challenge, solution);
    expect(await start(captcha)).toBe(201);
    expect(await start(captcha)).toBe('sspr.captcha_invalid');
  });

  it('refuses what altcha-lib refuses: tampered parameters, another secret, a wrong or malformed key, a missing key signature', async () => {
    const challenge = await ours();
    const solution = (await solveChallenge({ challenge, deriveKey }))!;
    const cases: [string, Challenge, unknown][] = [
      ['tampered prefix', { ...challenge, parameters: { ...challenge.parameters, keyPrefix: '00' } }, solution],
      ['later expiry', { ...challenge, parameters: { ...challenge.parameters, data: { exp: new Date(ctx.clock.now().getTime() + 10 * CAPTCHA_TTL_MS).toISOString() } } }, solution],
      ['extra member', { ...challenge, parameters: { ...challenge.parameters, extra: 1 } as Challenge['parameters'] }, solution],
      ['no key signature', { ...challenge, parameters: { ...challenge.parameters, keySignature: undefined } }, solution],
      ['bad signature', { ...challenge, signature: challenge.signature!.replace(/^./, (c) => (c === '0' ? '1' : '0')) }, solution],
      ['wrong key', challenge, { ...solution, derivedKey: solution.derivedKey.replace(/^./, (c) => (c === '0' ? '1' : '0')) }],
      ['upper-case key', challenge, { ...solution, derivedKey: solution.derivedKey.toUpperCase() }],
      ['odd-length key', challenge, { ...solution, derivedKey: solution.derivedKey.slice(1) }],
    ];
    for (const [name, c, s] of cases) {
      const verdict = await verifySolution({ challenge: c, solution: s as typeof solution, deriveKey, ...secrets() }).catch(() => ({ verified: false }));
      expect(verdict.verified, `altcha-lib: ${name}`).toBe(false);
      expect(await start(payload(c, s)), name).toBe('sspr.captcha_invalid');
    }
    // signed with other secrets
    const foreign = await createChallenge({ algorithm: 'SHA-256', cost: 1, counter: 7, deriveKey, data: { exp: challenge.parameters.data!['exp'] as string }, hmacSignatureSecret: 'a'.repeat(64), hmacKeySignatureSecret: 'b'.repeat(64) });
    expect(await start(payload(foreign, await solveChallenge({ challenge: foreign, deriveKey })))).toBe('sspr.captcha_invalid');
    // the untouched one still works
    expect(await start(payload(challenge, solution))).toBe(201);
  });
});
