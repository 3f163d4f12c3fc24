import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SMS_BUDGET, type SmsBudget } from '../../src/domain/sspr/limits.js';
import { upsertPhoneMethod } from '../../src/store/auth-methods.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { setSsprPolicy } from './security-info-helpers.js';
import { SSPR, startFlow, userWithMethods } from './sspr-helpers.js';

describe.each(testDialects())('SSPR flow: per-IP and per-country SMS budgets on %s', (dialect) => {
  let ctx: TestContext;
  const defaults: SmsBudget = { ...SMS_BUDGET };
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    await setSsprPolicy(ctx, { methods: ['email', 'mobileSms', 'mobileCall'], methodsRequired: 1 });
  });
  afterEach(() => {
    Object.assign(SMS_BUDGET, defaults);
    ctx.clock.advance(2 * 3_600_000); // every test starts with empty windows
  });
  afterAll(async () => {
    await ctx?.close();
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
    Object.assign(SMS_BUDGET, { perIp: 3, perPrefix: 100 });
    const before = await texts();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await requestText('203.0.113.7', undefined, i === 2 ? 'mobileCall' : 'mobileSms')).statusCode);
    expect(statuses).toEqual([202, 202, 202]);
    expect(await texts()).toBe(before + 3);
    const over = await requestText('203.0.113.7');
    expect(over.statusCode).toBe(429);
    expect(over.json().error).toMatchObject({ code: 'sspr.sms_budget', details: { scope: 'ip', limit: 3, windowMinutes: 60 } });
    expect(over.json().error.message).toMatch(/from your network/);
    expect(await texts()).toBe(before + 3);
    expect((await requestText('198.51.100.9')).statusCode).toBe(202);
    // the window slides: an hour later the address may send again
    ctx.clock.advance(3_600_000 + 1_000);
    expect((await requestText('203.0.113.7')).statusCode).toBe(202);
  });

  it('refuses the text beyond the per-country-code budget whatever the address; other country codes are unaffected', async () => {
    Object.assign(SMS_BUDGET, { perIp: 100, perPrefix: 2 });
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
