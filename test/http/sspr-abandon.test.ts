import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepExpired } from '../../src/domain/housekeeping.js';
import { testDialects, type TestContext } from '../helpers/context.js';
import { startSsprHarness, type SsprHarness } from './sspr-harness.js';
import { setSsprPolicy } from './security-info-helpers.js';
import { post, SSPR, startFlow, userWithMethods } from './sspr-helpers.js';

/**
 * Flows nobody finished end as Azure's "Abandoned" with the step where the user stopped, exactly once
 * whether a request or the hourly sweep finds them lapsed; the sweep then clears rows that can no
 * longer matter.
 */
describe.each(testDialects())('SSPR: abandoned flows and housekeeping on %s', (dialect) => {
  let h: SsprHarness;
  let ctx: TestContext;
  beforeAll(async () => {
    h = await startSsprHarness(dialect);
    ctx = h.ctx;
  });
  afterAll(async () => h?.close());
  const mailedCode = (address: string) => h.mailedCode(address);

  const progress = async (userId: string) =>
    (
      await ctx.services.db
        .selectFrom('audit_events')
        .select(['result_reason', 'additional_details'])
        .where('activity_display_name', '=', 'Self-service password reset flow activity progress')
        .where('target_resources', 'like', `%${userId}%`)
        .orderBy('activity_date_time')
        .orderBy('id')
        .execute()
    ).filter((e) => e.result_reason.startsWith('User abandoned'));

  it('the sweep ends lapsed flows with the step where each user stopped, once', async () => {
    const idle = await userWithMethods(ctx, { prefix: 'idle' });
    const starter = await userWithMethods(ctx, { prefix: 'starter' });
    const verifier = await userWithMethods(ctx, { prefix: 'verifier' });
    expect((await startFlow(ctx, idle.userPrincipalName)).statusCode).toBe(201);
    const f2 = `${SSPR}/flows/${(await startFlow(ctx, starter.userPrincipalName)).json().flowId}`;
    expect((await post(ctx, `${f2}/verifications`, { method: 'email' })).statusCode).toBe(202);
    const f3 = `${SSPR}/flows/${(await startFlow(ctx, verifier.userPrincipalName)).json().flowId}`;
    expect((await post(ctx, `${f3}/verifications`, { method: 'email' })).statusCode).toBe(202);
    const done = await post(ctx, `${f3}/verifications/email/complete`, { code: await mailedCode(verifier.address) });
    expect(done.statusCode).toBe(200);
    const decoy = await startFlow(ctx, 'ghost.user@contoso.test');
    expect(decoy.statusCode).toBe(201);

    expect((await sweepExpired(ctx.services)).abandonedFlows).toBe(0); // nothing has lapsed yet
    ctx.clock.advance(15 * 60_000 + 1000);
    expect((await sweepExpired(ctx.services)).abandonedFlows).toBeGreaterThanOrEqual(4);
    expect((await progress(idle.id)).map((e) => e.result_reason)).toEqual(['User abandoned after entering their user ID']);
    expect((await progress(starter.id)).map((e) => e.result_reason)).toEqual(['User abandoned after starting the email verification option']);
    const verified = await progress(verifier.id);
    // one method is required by default, so this user passed every gate
    expect(verified.map((e) => e.result_reason)).toEqual(['User abandoned before selecting a new password']);
    expect(JSON.parse(verified[0]!.additional_details)).toContainEqual({ key: 'Result', value: 'Abandoned' });
    // a second pass and a late request find nothing left to end
    expect((await sweepExpired(ctx.services)).abandonedFlows).toBe(0);
    expect((await post(ctx, `${f2}/verifications`, { method: 'email' })).json().error.code).toBe('sspr.flow_not_found');
    expect(await progress(starter.id)).toHaveLength(1);
  });

  it('a request that finds its flow lapsed ends it as abandoned; a refused password is "while selecting"', async () => {
    await setSsprPolicy(ctx, { methodsRequired: 2 });
    const half = await userWithMethods(ctx, { prefix: 'half' });
    const H = `${SSPR}/flows/${(await startFlow(ctx, half.userPrincipalName)).json().flowId}`;
    expect((await post(ctx, `${H}/verifications`, { method: 'email' })).statusCode).toBe(202);
    expect((await post(ctx, `${H}/verifications/email/complete`, { code: await mailedCode(half.address) })).statusCode).toBe(200);
    const user = await userWithMethods(ctx, { prefix: 'late' });
    const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json().flowId}`;
    expect((await post(ctx, `${F}/verifications`, { method: 'email' })).statusCode).toBe(202);
    expect((await post(ctx, `${F}/verifications/email/complete`, { code: await mailedCode(user.address) })).statusCode).toBe(200);
    expect((await post(ctx, `${F}/verifications`, { method: 'mobileSms', phoneNumber: user.mobile })).statusCode).toBe(202);
    ctx.clock.advance(16 * 60_000);
    expect((await post(ctx, `${F}/verifications/mobileSms/complete`, { code: '12345678' })).json().error.code).toBe('sspr.flow_not_found');
    expect((await progress(user.id)).map((e) => e.result_reason)).toEqual(['User abandoned after starting the mobile SMS verification option']);
    expect((await sweepExpired(ctx.services)).abandonedFlows).toBe(1); // the other one, found by the sweep
    expect((await progress(half.id)).map((e) => e.result_reason)).toEqual(['User abandoned after completing the email verification option']);
    await setSsprPolicy(ctx, { methodsRequired: 1 });

    const one = await userWithMethods(ctx, { prefix: 'picky', mobile: false });
    const G = `${SSPR}/flows/${(await startFlow(ctx, one.userPrincipalName)).json().flowId}`;
    expect((await post(ctx, `${G}/verifications`, { method: 'email' })).statusCode).toBe(202);
    expect((await post(ctx, `${G}/verifications/email/complete`, { code: await mailedCode(one.address) })).statusCode).toBe(200);
    expect((await post(ctx, `${G}/password`, { newPassword: 'password1' })).statusCode).toBe(400);
    ctx.clock.advance(16 * 60_000);
    expect((await sweepExpired(ctx.services)).abandonedFlows).toBe(1);
    expect((await progress(one.id)).map((e) => e.result_reason)).toEqual(['User abandoned while selecting a new password']);
  });

  it('after a week the sweep deletes ended flows, old counters, spent blocks and codes, and keeps live ones', async () => {
    const count = async (table: 'sspr_flows' | 'sspr_attempts' | 'verification_codes' | 'sspr_blocks') =>
      Number((await ctx.services.db.selectFrom(table).select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow()).n);
    expect(await count('sspr_flows')).toBeGreaterThan(0);
    expect(await count('sspr_attempts')).toBeGreaterThan(0);
    expect(await count('verification_codes')).toBeGreaterThan(0);
    ctx.clock.advance(8 * 24 * 3_600_000);
    const fresh = await userWithMethods(ctx, { prefix: 'fresh' });
    expect((await startFlow(ctx, fresh.userPrincipalName)).statusCode).toBe(201);
    const swept = await sweepExpired(ctx.services);
    expect(swept.ssprRows).toBeGreaterThan(0);
    expect(await count('sspr_flows')).toBe(1); // the live one
    expect(await count('sspr_attempts')).toBe(1); // its "flow" counter
    expect(await count('verification_codes')).toBe(0);
    expect(await count('sspr_blocks')).toBe(0);
  });
});
