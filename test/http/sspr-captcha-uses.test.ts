import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepExpired } from '../../src/domain/housekeeping.js';
import { CAPTCHA_TTL_MS } from '../../src/domain/sspr/captcha.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { post, solvedCaptcha, SSPR, userWithMethods } from './sspr-helpers.js';

/**
 * A spent CAPTCHA solution is a row of sspr_captcha_uses until it has expired; the housekeeping sweep
 * removes it then (a spend no longer scans the table for expired rows, src/store/sspr.ts useCaptcha).
 */
describe.each(testDialects())('used CAPTCHA solutions on %s', (dialect) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => ctx.close());

  const uses = async () => (await ctx.services.db.selectFrom('sspr_captcha_uses').select(['hash', 'expires_at']).execute()).length;

  it('is accepted once, refused on every replay (before and after its expiry), and swept once expired', async () => {
    const user = await userWithMethods(ctx);
    const before = await uses();
    const captcha = await solvedCaptcha(ctx);
    const start = () => post(ctx, `${SSPR}/flows`, { userPrincipalName: user.userPrincipalName, captcha });
    expect((await start()).statusCode).toBe(201);
    expect(await uses()).toBe(before + 1);
    expect((await start()).json().error.code).toBe('sspr.captcha_invalid');

    // a concurrent replay: exactly one of several simultaneous spends of one fresh solution wins
    const other = await userWithMethods(ctx);
    const fresh = await solvedCaptcha(ctx);
    const answers = await Promise.all(Array.from({ length: 4 }, () => post(ctx, `${SSPR}/flows`, { userPrincipalName: other.userPrincipalName, captcha: fresh })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 400, 400, 400]);

    // not swept while it is still live
    await sweepExpired(ctx.services);
    expect(await uses()).toBe(before + 2);
    ctx.clock.advance(CAPTCHA_TTL_MS + 1000);
    expect((await start()).json().error.code).toBe('sspr.captcha_invalid');
    const swept = await sweepExpired(ctx.services);
    expect(swept.ssprRows).toBeGreaterThanOrEqual(2);
    expect(await uses()).toBe(0);
  });
});
