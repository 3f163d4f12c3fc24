import { createHash } from 'node:crypto';
import { createChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, sha256Short, solvePow } from '../../web/src/lib/pow.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

/**
 * The reset CAPTCHA's solver (web/src/lib/pow.ts, run by the page's Web Worker) against the server:
 * its one-block SHA-256 equals node's; it finds the counter of challenges altcha-lib makes (the fast
 * path and the WebCrypto path); and the payload the widget builds from a real GET
 * /api/v1/sspr/captcha is accepted by POST /api/v1/sspr/flows, once.
 */
describe('the CAPTCHA proof-of-work solver', () => {
  it('computes SHA-256 like node for every length it takes', () => {
    for (let n = 0; n <= 55; n++) {
      const msg = new Uint8Array(Array.from({ length: n }, (_, i) => (i * 37 + n * 11) & 0xff));
      expect(bytesToHex(sha256Short(msg))).toBe(createHash('sha256').update(msg).digest('hex'));
    }
    expect(() => sha256Short(new Uint8Array(56))).toThrow(RangeError);
  });

  it.each([
    ['SHA-256', 1],
    ['SHA-256', 3],
    ['SHA-384', 1],
  ] as const)('finds the secret counter of an altcha-lib %s challenge of cost %i', async (algorithm, cost) => {
    const counter = 1234;
    const challenge = await createChallenge({ algorithm, cost, counter, deriveKey, hmacSignatureSecret: 'test-secret' });
    const solution = await solvePow(challenge.parameters);
    expect(solution?.counter).toBe(counter);
    expect(solution?.derivedKey.startsWith(challenge.parameters.keyPrefix)).toBe(true);
  });

  it('gives up after maxCounter', async () => {
    const challenge = await createChallenge({ algorithm: 'SHA-256', cost: 1, counter: 5000, deriveKey, hmacSignatureSecret: 'test-secret' });
    expect(await solvePow(challenge.parameters as never, { maxCounter: 100 })).toBeNull();
  });
});

describe('a payload from the solver starts a flow', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext('sqlite');
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('is accepted once by POST /api/v1/sspr/flows', async () => {
    const challenge = (await ctx.app.inject({ method: 'GET', url: '/api/v1/sspr/captcha' })).json<Challenge>();
    const solution = await solvePow(challenge.parameters);
    expect(solution).not.toBeNull();
    // what Captcha.tsx sends: base64 of the JSON {challenge, solution}
    const captcha = Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
    const start = () => ctx.app.inject({ method: 'POST', url: '/api/v1/sspr/flows', payload: { userPrincipalName: 'nobody@contoso.test', captcha } });
    const first = await start();
    expect(first.statusCode).toBe(201);
    expect(first.json()).toHaveProperty('flowId');
    const again = await start();
    expect(again.statusCode).toBe(400);
    expect(again.json().error.code).toBe('sspr.captcha_invalid');
  });
});
