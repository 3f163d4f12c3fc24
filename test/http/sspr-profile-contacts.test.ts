import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects, type TestContext } from '../helpers/context.js';
import { startSsprHarness, type SsprHarness } from './sspr-harness.js';
import { setSsprPolicy } from './security-info-helpers.js';
import { NEW_PASSWORD, OLD_PASSWORD, post, SSPR, startFlow, userWithMethods } from './sspr-helpers.js';

/**
 * Reference F08/F09: an admin (or sync) fills a user's profile — mobilePhone, otherMails,
 * businessPhones — and the user can reset without ever registering; what the user registered wins.
 */
describe.each(testDialects())('SSPR with admin-populated profile contacts on %s', (dialect) => {
  let h: SsprHarness;
  let ctx: TestContext;
  let admin: string;
  beforeAll(async () => {
    h = await startSsprHarness(dialect, { phones: true });
    ctx = h.ctx;
    admin = await ctx.userToken('admin@contoso.test');
    await setSsprPolicy(ctx, { methods: ['email', 'mobileSms', 'officeCall'], methodsRequired: 1 });
  });
  afterAll(async () => h?.close());

  const setProfile = async (id: string, profile: Record<string, unknown>) => {
    const res = await ctx.app.inject({ method: 'PATCH', url: `/v1.0/users/${id}`, headers: { authorization: `Bearer ${admin}` }, payload: profile });
    expect(res.statusCode).toBe(204);
  };
  type Offered = { method: string; target: string | null }[];

  it('offers the profile mobile, office phone and alternate email to a user who registered nothing, and resets through them', async () => {
    const user = await userWithMethods(ctx, { prefix: 'profile', email: false, mobile: false });
    expect((await startFlow(ctx, user.userPrincipalName)).json().error.details.ssprCode).toBe('SSPR_0014');
    await setProfile(user.id, { mobilePhone: '+1 425 555 0123', businessPhones: ['+1 425 555 0199'], otherMails: ['pat.private@example.test'] });

    const started = await startFlow(ctx, user.userPrincipalName);
    expect(started.statusCode).toBe(201);
    const methods = started.json<{ methods: Offered }>().methods;
    expect(methods.map((m) => m.method)).toEqual(['email', 'mobileSms', 'officeCall']);
    expect(methods[0]!.target).toMatch(/^p\*+@example\.test$/);
    expect(methods[1]!.target).toMatch(/23$/);
    expect(methods[2]!.target).toMatch(/99$/);

    const F = `${SSPR}/flows/${started.json().flowId}`;
    // the typed number must be the profile's; the office call goes to businessPhones[0]
    expect((await post(ctx, `${F}/verifications`, { method: 'officeCall', phoneNumber: '+1 425 555 0123' })).json().error.code).toBe('sspr.phone_mismatch');
    expect((await post(ctx, `${F}/verifications`, { method: 'officeCall', phoneNumber: '+14255550199' })).statusCode).toBe(202);
    expect((await post(ctx, `${F}/verifications`, { method: 'email' })).statusCode).toBe(202);
    const code = await h.mailedCode('pat.private@example.test');
    expect(h.hooks!.received.some((r) => r.path === '/voice' && (r.json as { to: string }).to === '+14255550199')).toBe(true);
    expect((await post(ctx, `${F}/verifications/email/complete`, { code })).statusCode).toBe(200);
    expect((await post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD })).statusCode).toBe(200);
    const signIn = await ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: user.userPrincipalName, password: NEW_PASSWORD } });
    expect(signIn.statusCode).toBe(200);
    const old = await ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: user.userPrincipalName, password: OLD_PASSWORD } });
    expect(old.statusCode).toBe(401);
  });

  it('prefers registered methods over the profile, and ignores numbers that are not international', async () => {
    const user = await userWithMethods(ctx, { prefix: 'both' });
    await setProfile(user.id, { mobilePhone: '+1 425 555 0777', otherMails: ['zed.other@example.test'], businessPhones: ['425-555-0100'] });
    const methods = (await startFlow(ctx, user.userPrincipalName)).json<{ methods: Offered }>().methods;
    expect(methods.map((m) => m.method)).toEqual(['email', 'mobileSms']); // no office phone: "425-555-0100" has no country code
    expect(methods[0]!.target).toMatch(/^r\*+@example\.test$/); // the registered reset…@example.test, not zed.other
    expect(methods[1]!.target).toMatch(new RegExp(`${user.mobile.slice(-2)}$`));
    const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json().flowId}`;
    expect((await post(ctx, `${F}/verifications`, { method: 'mobileSms', phoneNumber: '+1 425 555 0777' })).json().error.code).toBe('sspr.phone_mismatch');
    expect((await post(ctx, `${F}/verifications`, { method: 'mobileSms', phoneNumber: user.mobile })).statusCode).toBe(202);
  });
});
