import { afterAll, describe, expect, it } from 'vitest';
import { upsertPhoneMethod } from '../../src/store/auth-methods.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { setSsprPolicy } from './security-info-helpers.js';
import { SSPR, startFlow, userWithMethods } from './sspr-helpers.js';

/** Each test runs on a context whose budgets come from the environment, as a deployment sets them. */
describe.each(testDialects())('SSPR flow: per-IP and per-country SMS budgets on %s', (dialect) => {
  const contexts: TestContext[] = [];
  let ctx: TestContext;
  async function useBudget(perIp: number, perPrefix: number): Promise<void> {
    ctx = await createTestContext(dialect, { env: { SSPR_SMS_PER_IP_PER_HOUR: String(perIp), SSPR_SMS_PER_PREFIX_PER_HOUR: String(perPrefix) } });
    contexts.push(ctx);
    await setSsprPolicy(ctx, { methods: ['email', 'mobileSms', 'mobileCall'], methodsRequired: 1 });
  }
  afterAll(async () => {
    for (const c of contexts) await c.close();
  });

  const texts = async () => (await ctx.services.db.selectFrom('outbox').select('id').where('channel', 'in', ['sms', 'voice']).execute()).length;
  /** A new user (so no per-account limit interferes) asks for a text to `number` from `ip`. */
  async function requestText(ip: string, number?: string, method: 'mobileSms' | 'mobileCall' = 'mobileSms') {
    const user = await userWithMethods(ctx, { prefix: 'budget' });
    const mobile = number ?? user.mobile;
    if (number) await upsertPhoneMethod(ctx.services.db, { userId: user.id, phoneType: 'mobile', number, verifiedAt: ctx.clock.now().toISOString(), createdAt: ctx.clock.now().toISOString() });
    const flowId = (await startFlow(ctx, user.userPrincipalName)).json<{ flowId: string }>().flowId;
    return ctx.app.inject({ method: 'POST', url: `${SSPR}/flows/${flowId}/verifications`, remoteAddress: ip, payload: { method, phoneNumber: mobile } });
  }

  it('refuses the text beyond the per-IP budget with 429 sspr.sms_budget, sends nothing; other addresses are unaffected', async () => {
    await useBudget(3, 100);
    const before = await texts();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await requestText('203.0.113.7', undefined, i === 2 ? 'mobileCall' : 'mobileSms')).statusCode);
    expect(statuses).toEqual([202, 202, 202]);
    expect(await texts()).toBe(before + 3);
    const over = await requestText('203.0.113.7');
    expect(over.statusCode).toBe(429);
    expect(over.json().error).toMatchObject({ code: 'sspr.sms_budget', details: { scope: 'ip', limit: 3, windowMinutes: 60 } });
    expect(over.json().error.message).toMatch(/from your network/);
    const metrics = await ctx.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/postern_sspr_sms_budget_refusals_total\{scope="ip"\} 1\b/);
    expect(await texts()).toBe(before + 3);
    expect((await requestText('198.51.100.9')).statusCode).toBe(202);
    // the window slides: an hour later the address may send again
    ctx.clock.advance(3_600_000 + 1_000);
    expect((await requestText('203.0.113.7')).statusCode).toBe(202);
  });

  it('refuses the text beyond the per-country-code budget whatever the address; other country codes are unaffected', async () => {
    await useBudget(100, 2);
    const before = await texts();
    expect((await requestText('192.0.2.1', '+442079460101')).statusCode).toBe(202);
    expect((await requestText('192.0.2.2', '+442079460102')).statusCode).toBe(202);
    const over = await requestText('192.0.2.3', '+442079460103');
    expect(over.statusCode).toBe(429);
    expect(over.json().error).toMatchObject({ code: 'sspr.sms_budget', details: { scope: 'prefix', limit: 2 } });
    expect(over.json().error.message).toMatch(/in your country/);
    expect(await texts()).toBe(before + 2);
    expect((await requestText('192.0.2.3', '+493090182011')).statusCode).toBe(202);
  });
});
