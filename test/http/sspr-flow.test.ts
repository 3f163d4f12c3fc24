import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/domain/tenants.js';
import { setSsprPolicy } from './security-info-helpers.js';
import { assignRole } from '../../src/domain/role-assignments.js';
import { ROLE } from '../../src/domain/roles.js';
import { setLockoutState } from '../../src/store/users.js';
import { testDialects, type TestContext } from '../helpers/context.js';
import { startSsprHarness, type SsprHarness } from './sspr-harness.js';
import { NEW_PASSWORD, OLD_PASSWORD, post, SSPR, startFlow, userWithMethods } from './sspr-helpers.js';

describe.each(testDialects())('SSPR flow: reset and unlock over HTTP on %s', (dialect) => {
  let h: SsprHarness;
  let ctx: TestContext;
  beforeAll(async () => {
    h = await startSsprHarness(dialect, { phones: true });
    ctx = h.ctx;
  });
  afterAll(async () => h?.close());
  const mailedCode = (address: string) => h.mailedCode(address);
  const textedCode = (number: string) => h.textedCode(number);
  const signIn = (upn: string, password: string) =>
    ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password }, headers: { origin: 'http://localhost:8080' } });
  const activities = async (userId: string) =>
    (await ctx.services.db.selectFrom('audit_events').selectAll().where('target_resources', 'like', `%${userId}%`).orderBy('seq').execute()).map((r) => [r.activity_display_name, r.result_reason, r.logged_by_service]);

  it('resets with two gates (email and SMS), revokes the old password and sessions, mails only PUBLIC_URL links', async () => {
    await setSsprPolicy(ctx, { methodsRequired: 2 });
    const user = await userWithMethods(ctx);
    const oldToken = await ctx.userToken(user.userPrincipalName);
    const oldSession = (await signIn(user.userPrincipalName, OLD_PASSWORD)).cookies.find((c) => c.name === 'postern_session')!.value;
    ctx.clock.advance(5_000);

    const started = await startFlow(ctx, user.userPrincipalName);
    expect(started.statusCode).toBe(201);
    const flow = started.json<{ flowId: string; requiredVerifications: number; intents: string[]; methods: { method: string; target: string }[] }>();
    expect(flow.requiredVerifications).toBe(2);
    expect(flow.intents).toEqual(['reset', 'unlock']);
    expect(flow.methods).toEqual([
      { method: 'email', target: expect.stringMatching(/^r\*\*\*@example\.test$/) },
      { method: 'mobileSms', target: expect.stringMatching(/^\+1 •+ •+ \d{4}$/) },
    ]);
    const F = `${SSPR}/flows/${flow.flowId}`;

    // the password endpoint is closed until every gate is passed
    expect((await post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD })).json().error.code).toBe('sspr.not_verified');

    expect((await post(ctx, `${F}/verifications`, { method: 'email' })).statusCode).toBe(202);
    const first = await post(ctx, `${F}/verifications/email/complete`, { code: await mailedCode(user.address) });
    expect(first.json()).toEqual({ verified: ['email'], required: 2 });
    // the same method cannot count twice
    expect((await post(ctx, `${F}/verifications`, { method: 'email' })).json().error.code).toBe('sspr.method_unavailable');

    // a phone method needs the number on file typed in full
    const wrongNumber = await post(ctx, `${F}/verifications`, { method: 'mobileSms', phoneNumber: '+1 425 555 9999' });
    expect(wrongNumber.statusCode).toBe(400);
    expect(wrongNumber.json().error).toMatchObject({ code: 'sspr.phone_mismatch', details: { supportCode: wrongNumber.headers['request-id'] } });
    expect((await post(ctx, `${F}/verifications`, { method: 'mobileSms', phoneNumber: user.mobile })).statusCode).toBe(202);
    const second = await post(ctx, `${F}/verifications/mobileSms/complete`, { code: await textedCode(user.mobile) });
    expect(second.json()).toEqual({ verified: ['email', 'mobileSms'], required: 2 });

    const done = await post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD }, { host: 'evil.example', 'x-forwarded-host': 'evil.example' });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toEqual({ result: 'Succeeded' });
    // the flow is spent
    expect((await post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD })).json().error.code).toBe('sspr.flow_not_found');

    expect((await signIn(user.userPrincipalName, NEW_PASSWORD)).statusCode).toBe(200);
    expect((await signIn(user.userPrincipalName, OLD_PASSWORD)).statusCode).toBe(401);
    expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/me/security-info', headers: { authorization: `Bearer ${oldToken}` } })).statusCode).toBe(401);
    expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/session', cookies: { postern_session: oldSession } })).statusCode).toBe(401);

    await h.worker.runOnce();
    const notice = h.smtp.messages.filter((m) => m.envelopeTo.includes(user.userPrincipalName)).at(-1)!;
    expect(notice.subject).toBe('Your password was changed');
    const links = [...`${notice.text ?? ''} ${notice.html ?? ''}`.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(link.startsWith('http://localhost:8080')).toBe(true);
    expect(`${notice.text}${notice.html}`).not.toContain('evil.example');

    const names = await activities(user.id);
    expect(names).toContainEqual(['Self-service password reset flow activity progress', 'User submitted their user ID', 'Self-service Password Management']);
    expect(names).toContainEqual(['Self-service password reset flow activity progress', 'User completed the email verification option', 'Self-service Password Management']);
    expect(names).toContainEqual(['Self-service password reset flow activity progress', 'User completed the mobile SMS verification option', 'Self-service Password Management']);
    expect(names).toContainEqual(['Reset password (self-service)', '', 'Self-service Password Management']);
    expect(names).toContainEqual(['Self-service password reset flow activity progress', 'User successfully reset password', 'Self-service Password Management']);
    await setSsprPolicy(ctx, { methodsRequired: 1 });
  });

  it('unlock only: clears the lockout and leaves the password unchanged', async () => {
    const user = await userWithMethods(ctx);
    await setLockoutState(ctx.services.db, user.id, { failedSignInCount: 0, lockoutCount: 1, lockedUntil: new Date(ctx.clock.now().getTime() + 3_600_000).toISOString(), recentBadHashes: [] });
    expect((await signIn(user.userPrincipalName, OLD_PASSWORD)).statusCode).toBe(423);
    const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json().flowId}`;
    expect((await post(ctx, `${F}/unlock`)).json().error.code).toBe('sspr.not_verified');
    await post(ctx, `${F}/verifications`, { method: 'email' });
    expect((await post(ctx, `${F}/verifications/email/complete`, { code: await mailedCode(user.address) })).json()).toEqual({ verified: ['email'], required: 1 });
    const res = await post(ctx, `${F}/unlock`);
    expect(res.statusCode).toBe(200);
    expect((await signIn(user.userPrincipalName, OLD_PASSWORD)).statusCode).toBe(200);
    expect((await activities(user.id)).map((a) => a[0])).toContain('Unlock user account (self-service)');
  });

  it('an admin always needs two methods and is never offered security questions', async () => {
    await setSsprPolicy(ctx, { methods: ['email', 'mobileSms', 'securityQuestions'], methodsRequired: 1 });
    const admin = await userWithMethods(ctx, { prefix: 'admin' });
    await assignRole(ctx.services, systemContext(ctx.services), { tenantId: ctx.tenant.tenant.id, roleDefinitionId: ROLE.helpdeskAdministrator, principalId: admin.id, directoryScopeId: '/' });
    await ctx.services.db.insertInto('auth_security_answers').values([0, 1, 2].map((position) => ({ user_id: admin.id, position, question_id: null, custom_question: `q${position}`, answer_hash: 'x', created_at: ctx.clock.now().toISOString() }))).execute();
    const flow = (await startFlow(ctx, admin.userPrincipalName)).json<{ requiredVerifications: number; methods: { method: string }[] }>();
    expect(flow.requiredVerifications).toBe(2);
    // the admin policy is fixed (reference §1.9): its own methods, never the tenant's questions
    expect(flow.methods.map((m) => m.method)).toEqual(['email', 'mobileSms', 'mobileCall']);
    await setSsprPolicy(ctx, { methods: ['email', 'mobileSms', 'appCode'] });
  });

  it('twenty parallel completions of one code give exactly one success', async () => {
    const user = await userWithMethods(ctx);
    const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json().flowId}`;
    await post(ctx, `${F}/verifications`, { method: 'email' });
    const code = await mailedCode(user.address);
    const results = await Promise.all(Array.from({ length: 20 }, () => post(ctx, `${F}/verifications/email/complete`, { code })));
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode >= 400)).toHaveLength(19);
  });

  it('rejects arrays, duplicate keys and extra fields in flow bodies', async () => {
    const user = await userWithMethods(ctx);
    const captcha = 'x';
    const bodies = [
      JSON.stringify([{ userPrincipalName: user.userPrincipalName, captcha }]),
      `{"userPrincipalName":"${user.userPrincipalName}","userPrincipalName":"other@contoso.test","captcha":"x"}`,
      JSON.stringify({ userPrincipalName: user.userPrincipalName, captcha, extra: 1 }),
    ];
    const codes = [];
    for (const payload of bodies) {
      const res = await ctx.app.inject({ method: 'POST', url: `${SSPR}/flows`, payload, headers: { 'content-type': 'application/json' } });
      expect(res.statusCode).toBe(400);
      codes.push(res.json().error.code);
    }
    expect(codes).toEqual(['request.invalid', 'request.invalid_json', 'request.unknown_property']);
  });
});
