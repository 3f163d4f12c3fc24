import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { post, SSPR, solvedCaptcha, startFlow, userWithMethods } from './sspr-helpers.js';

/**
 * The response floor: every answer about a reset flow — a real account's, a decoy's, a refusal, a bad
 * body — takes at least SSPR_MIN_RESPONSE_MS. Only the lower bound is asserted (a timer never fires
 * early); how close the two sides come is bench/sspr-decoy.ts's figure, not a test's.
 */
const FLOOR_MS = 120;

describe.each(testDialects())('SSPR flow: even pacing on %s', (dialect) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(dialect, { env: { SSPR_MIN_RESPONSE_MS: String(FLOOR_MS) } });
  });
  afterAll(async () => ctx?.close());

  async function timed(run: () => Promise<{ statusCode: number }>): Promise<{ status: number; ms: number }> {
    const t0 = performance.now();
    const res = await run();
    return { status: res.statusCode, ms: performance.now() - t0 };
  }

  it('holds real, decoy, refused and malformed answers to the floor', async () => {
    const user = await userWithMethods(ctx);
    const realCaptcha = await solvedCaptcha(ctx);
    const decoyCaptcha = await solvedCaptcha(ctx);
    const real = await timed(() => post(ctx, `${SSPR}/flows`, { userPrincipalName: user.userPrincipalName, captcha: realCaptcha }));
    const decoy = await timed(() => post(ctx, `${SSPR}/flows`, { userPrincipalName: 'nobody.at.all@contoso.test', captcha: decoyCaptcha }));
    const malformed = await timed(() => post(ctx, `${SSPR}/flows`, { userPrincipalName: ['x'], captcha: 'y' }));
    const unknownFlow = await timed(() => post(ctx, `${SSPR}/flows/${'x'.repeat(43)}/verifications`, { method: 'email' }));
    const flowId = (await startFlow(ctx, user.userPrincipalName)).json<{ flowId: string }>().flowId;
    const send = await timed(() => post(ctx, `${SSPR}/flows/${flowId}/verifications`, { method: 'email' }));
    const cancel = await timed(() => ctx.app.inject({ method: 'DELETE', url: `${SSPR}/flows/${flowId}` }));
    expect([real.status, decoy.status, malformed.status, unknownFlow.status, send.status, cancel.status]).toEqual([201, 201, 400, 404, 202, 204]);
    for (const r of [real, decoy, malformed, unknownFlow, send, cancel]) expect(r.ms).toBeGreaterThanOrEqual(FLOOR_MS - 2);
  });
});
