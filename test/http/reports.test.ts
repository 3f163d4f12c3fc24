import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepExpired } from '../../src/domain/housekeeping.js';
import { assignRole } from '../../src/domain/role-assignments.js';
import { ROLE } from '../../src/domain/roles.js';
import { SECURITY_QUESTIONS } from '../../src/domain/security-questions-catalog.js';
import { systemContext } from '../../src/domain/tenants.js';
import { testDialects, type TestContext } from '../helpers/context.js';
import { call as siCall, newUser, setSsprPolicy, SI } from './security-info-helpers.js';
import { startSsprHarness, type SsprHarness } from './sspr-harness.js';
import { NEW_PASSWORD, post, SSPR, startFlow, userWithMethods } from './sspr-helpers.js';

/**
 * The classic reports over real flows: every SSPR outcome the reset tests produce appears once in the
 * password reset activity report with Azure's result, the §5.2 details text and the methods used;
 * registrations appear with the data registered; filters and the cursor are exact.
 */
const PW_ID = '28c10230-6103-485e-b985-444c60001490';
const REPORT = '/api/v1/reports/passwordResetActivity';
const REG = '/api/v1/reports/registrationActivity';

interface Row {
  id: string;
  flowId: string | null;
  dateTime: string;
  user: { id: string; userPrincipalName: string };
  role: string;
  methods: string[];
  methodsUsed: string[];
  result: string;
  details: string;
  activity: string;
  initiatedBy: string | null;
}
type Page = { value: Row[]; nextCursor: string | null; nextLink: string | null };

describe.each(testDialects())('reports: password reset and registration activity on %s', (dialect) => {
  let h: SsprHarness;
  let ctx: TestContext;
  let admin: string;
  const users: Record<string, { id: string; userPrincipalName: string; address: string }> = {};
  beforeAll(async () => {
    h = await startSsprHarness(dialect);
    ctx = h.ctx;
    admin = await ctx.userToken('admin@contoso.test');
  });
  afterAll(async () => h?.close());

  const get = (url: string, token = admin) => ctx.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  const report = async (query: string, path = REPORT): Promise<Page> => {
    const res = await get(`${path}?${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Page>();
  };
  const rowsOf = async (upn: string) =>
    (await report(`user=${encodeURIComponent(upn)}&top=1000`)).value.map((r) => ({ result: r.result, details: r.details, methodsUsed: r.methodsUsed, activity: r.activity }));
  const F = (flowId: string) => `${SSPR}/flows/${flowId}`;
  const emailGate = async (flowId: string, address: string) => {
    expect((await post(ctx, `${F(flowId)}/verifications`, { method: 'email' })).statusCode).toBe(202);
    expect((await post(ctx, `${F(flowId)}/verifications/email/complete`, { code: await h.mailedCode(address) })).statusCode).toBe(200);
  };
  const started = async (name: string, opts: { email?: boolean; mobile?: boolean } = {}) => {
    const u = await userWithMethods(ctx, { prefix: name, ...opts });
    users[name] = u;
    return u;
  };
  const progress = 'Self-service password reset flow activity progress';

  it('drives every SSPR outcome through the HTTP API', async () => {
    // Succeeded (reset)
    const ok = await started('succeeded');
    const okFlow = (await startFlow(ctx, ok.userPrincipalName)).json().flowId as string;
    await emailGate(okFlow, ok.address);
    expect((await post(ctx, `${F(okFlow)}/password`, { newPassword: NEW_PASSWORD })).statusCode).toBe(200);
    // Succeeded (unlock only)
    const un = await started('unlocked');
    const unFlow = (await startFlow(ctx, un.userPrincipalName)).json().flowId as string;
    await emailGate(unFlow, un.address);
    expect((await post(ctx, `${F(unFlow)}/unlock`)).statusCode).toBe(200);
    // Blocked: the sixth wrong phone number in an hour
    const bl = await started('blocked');
    const blFlow = (await startFlow(ctx, bl.userPrincipalName)).json().flowId as string;
    for (let i = 0; i < 6; i++) await post(ctx, `${F(blFlow)}/verifications`, { method: 'mobileSms', phoneNumber: '+1 425 555 0000' });
    // Cancelled before passing the gates
    const ca = await started('cancelled');
    const caFlow = (await startFlow(ctx, ca.userPrincipalName)).json().flowId as string;
    expect((await ctx.app.inject({ method: 'DELETE', url: F(caFlow) })).statusCode).toBe(204);
    // Abandoned after starting the email option (ended by the sweep below)
    const ab = await started('abandoned');
    const abFlow = (await startFlow(ctx, ab.userPrincipalName)).json().flowId as string;
    expect((await post(ctx, `${F(abFlow)}/verifications`, { method: 'email' })).statusCode).toBe(202);
    // Contacted Admin after trying email; the flow then lapses, which adds no second row
    const co = await started('contacted');
    const coFlow = (await startFlow(ctx, co.userPrincipalName)).json().flowId as string;
    expect((await post(ctx, `${F(coFlow)}/verifications`, { method: 'email' })).statusCode).toBe(202);
    expect((await post(ctx, `${F(coFlow)}/contact-admin`)).statusCode).toBe(200);
    // Failed: nothing registered, refused at the start (no flow is made)
    const fa = await started('failed', { email: false, mobile: false });
    expect((await startFlow(ctx, fa.userPrincipalName)).json().error.code).toBe('sspr.not_enough_methods');
    // A rejected new password: no outcome yet; it lapses as "abandoned while selecting a new password"
    const pw = await started('badpassword');
    const pwFlow = (await startFlow(ctx, pw.userPrincipalName)).json().flowId as string;
    await emailGate(pwFlow, pw.address);
    expect((await post(ctx, `${F(pwFlow)}/password`, { newPassword: 'password' })).json().error.code).toBe('password.policy_violation');
    expect(await rowsOf(pw.userPrincipalName)).toEqual([]);
    // an admin reset
    const ad = await started('adminreset');
    expect((await ctx.app.inject({ method: 'POST', url: `/v1.0/users/${ad.id}/authentication/methods/${PW_ID}/resetPassword`, headers: { authorization: `Bearer ${admin}` }, payload: { newPassword: NEW_PASSWORD } })).statusCode).toBe(202);

    ctx.clock.advance(16 * 60_000);
    expect((await sweepExpired(ctx.services)).abandonedFlows).toBeGreaterThanOrEqual(3);
  });

  it('lists each outcome once, with Azure result, §5.2 details and the methods used', async () => {
    const expected: Record<string, unknown[]> = {
      succeeded: [{ result: 'Succeeded', details: 'User successfully reset password', methodsUsed: ['Alternate Email'], activity: progress }],
      unlocked: [{ result: 'Succeeded', details: 'User successfully unlocked their account', methodsUsed: ['Alternate Email'], activity: progress }],
      blocked: [{ result: 'Blocked', details: 'User tried to verify a phone number too many times and is blocked for 24 hours', methodsUsed: [], activity: progress }],
      cancelled: [{ result: 'Cancelled', details: 'User cancelled before passing the required authentication methods', methodsUsed: [], activity: progress }],
      abandoned: [{ result: 'Abandoned', details: 'User abandoned after starting the email verification option', methodsUsed: ['Alternate Email'], activity: progress }],
      contacted: [{ result: 'Contacted Admin', details: 'User contacted an admin after trying the email verification option', methodsUsed: ['Alternate Email'], activity: progress }],
      failed: [{ result: 'Failed', details: "User's account has insufficient authentication methods defined. Add authentication info to resolve this", methodsUsed: [], activity: progress }],
      badpassword: [{ result: 'Abandoned', details: 'User abandoned while selecting a new password', methodsUsed: ['Alternate Email'], activity: progress }],
      adminreset: [{ result: 'Succeeded', details: 'Password reset by administrator admin@contoso.test', methodsUsed: [], activity: 'Reset password (by admin)' }],
    };
    for (const [name, rows] of Object.entries(expected)) expect({ name, rows: await rowsOf(users[name]!.userPrincipalName) }).toEqual({ name, rows });

    const all = (await report('top=1000')).value;
    const ok = all.find((r) => r.user.id === users.succeeded!.id)!;
    expect(ok).toMatchObject({ role: 'User', methods: ['email'], user: { userPrincipalName: users.succeeded!.userPrincipalName }, initiatedBy: users.succeeded!.userPrincipalName });
    expect(ok.flowId).toMatch(/^[0-9a-f-]{36}$/);
    // the flow id is the row's, never the client's token
    expect(all.find((r) => r.user.id === users.failed!.id)!.flowId).toBeNull();
  });

  it('shows the user’s current roles, or User', async () => {
    await assignRole(ctx.services, systemContext(ctx.services), { tenantId: ctx.tenant.tenant.id, roleDefinitionId: ROLE.reportsReader, principalId: users.failed!.id, directoryScopeId: '/' });
    const rows = (await report(`user=${users.failed!.id}`)).value;
    expect(rows.map((r) => r.role)).toEqual(['Reports Reader']);
  });

  it('filters by result, method, user and date range, exactly', async () => {
    const all = (await report('top=1000')).value;
    const byResult = (await report('result=Abandoned&top=1000')).value;
    expect(byResult).toEqual(all.filter((r) => r.result === 'Abandoned'));
    expect(byResult.length).toBeGreaterThanOrEqual(2);
    const byMethod = (await report('method=email&top=1000')).value;
    expect(byMethod).toEqual(all.filter((r) => r.methods.includes('email')));
    expect((await report(`user=${users.contacted!.userPrincipalName.toUpperCase()}`)).value.map((r) => r.result)).toEqual(['Contacted Admin']);
    const now = ctx.clock.now();
    expect((await report(`from=${now.toISOString().slice(0, 10)}&top=1000`)).value).toEqual(all);
    // the sweep's events are the only ones after the clock moved
    const late = (await report(`from=${new Date(now.getTime() - 60_000).toISOString()}&top=1000`)).value;
    expect(late.map((r) => r.result).sort()).toEqual(all.filter((r) => r.dateTime >= new Date(now.getTime() - 60_000).toISOString()).map((r) => r.result).sort());
    expect(late.every((r) => r.result === 'Abandoned')).toBe(true);
    expect((await report('to=2026-11-24')).value).toEqual([]);
  });

  it('pages with an opaque cursor: the pages together are the whole list, in order', async () => {
    const all = (await report('top=1000')).value;
    const seen: Row[] = [];
    let url: string | null = `${REPORT}?top=2`;
    let pages = 0;
    while (url) {
      const res = await get(url);
      const page: Page = res.json<Page>();
      seen.push(...page.value);
      url = page.nextLink ? page.nextLink.slice('http://localhost:8080'.length) : null;
      if (url) expect(page.nextLink!.startsWith(`http://localhost:8080${REPORT}?`)).toBe(true);
      pages += 1;
    }
    expect(seen).toEqual(all);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(all.length / 2));
    // a new event does not move later pages: it is newer than every cursor
    const first = (await report('top=3')).nextCursor!;
    const before = (await report(`top=3&cursor=${first}`)).value;
    await startFlow(ctx, 'nobody@contoso.test');
    await startFlow(ctx, users.failed!.userPrincipalName);
    expect((await report(`top=3&cursor=${first}`)).value).toEqual(before);
  });

  it('refuses bad input with 400 naming it, and readers without the permission with 403', async () => {
    const first = (await report('top=1')).nextCursor!;
    const cases: [string, string][] = [
      [`${REPORT}?cursor=not-a-cursor`, 'request.invalid'],
      [`${REPORT}?top=1&result=Failed&cursor=${first}`, 'request.invalid'], // a cursor of other filters
      [`${REPORT}?result=Won`, 'request.invalid'],
      [`${REPORT}?from=yesterday`, 'request.invalid'],
      [`${REPORT}?from=2026-12-01&to=2026-11-01`, 'request.invalid'],
      [`${REPORT}?top=0`, 'request.invalid'],
      [`${REPORT}?$filter=result eq 'Failed'`, 'request.unknown_property'],
      [`${REG}?method=carrierPigeon`, 'request.invalid'],
    ];
    for (const [url, code] of cases) {
      const res = await get(url);
      expect({ url, status: res.statusCode, code: res.json().error?.code }).toEqual({ url, status: 400, code });
    }
    const plain = await newUser(ctx, 'plainreader');
    expect((await get(REPORT, plain.token)).statusCode).toBe(403);
    expect((await get(`${REPORT}.csv`, plain.token)).statusCode).toBe(403);
    expect((await get(REPORT, await ctx.appToken(['AuditLog.Read.All']))).statusCode).toBe(200);
    expect((await ctx.app.inject({ method: 'GET', url: REG })).statusCode).toBe(401);
  });

  it('registration activity: user and admin registrations with the data registered', async () => {
    const [q1, q2, q3] = SECURITY_QUESTIONS.map((q) => q.id);
    await setSsprPolicy(ctx, { methods: ['email', 'securityQuestions'], methodsRequired: 1, securityQuestions: { toRegister: 3, toReset: 3, custom: [] } });
    const { user, token } = await newUser(ctx, 'registrant');
    const answers = [
      { questionId: q1, answer: 'Lindenschule' },
      { questionId: q2, answer: 'Rex' },
      { questionId: q3, answer: 'Dark green' },
    ];
    expect((await siCall(ctx, token, 'PUT', `${SI}/security-questions`, { answers })).statusCode).toBe(204);
    const added = await ctx.app.inject({ method: 'POST', url: `/v1.0/users/${user.id}/authentication/phoneMethods`, headers: { authorization: `Bearer ${admin}` }, payload: { phoneNumber: '+1 4255550123', phoneType: 'mobile' } });
    expect(added.statusCode).toBe(201);
    const rows = (await report(`user=${user.userPrincipalName}`, REG)).value as unknown as { dataRegistered: string; activity: string; initiatedBy: string; role: string }[];
    expect(rows.map((r) => [r.activity, r.dataRegistered, r.initiatedBy, r.role])).toEqual([
      ['Admin registered security info', 'Mobile Phone', 'admin@contoso.test', 'User'],
      ['User registered for self-service password reset', 'Security Questions', user.userPrincipalName, 'User'],
      ['User registered security info', 'Security Questions', user.userPrincipalName, 'User'],
    ]);
    const phones = (await report(`user=${user.id}&method=mobilePhone`, REG)).value as unknown as { activity: string }[];
    expect(phones.map((r) => r.activity)).toEqual(['Admin registered security info']);
    await setSsprPolicy(ctx, { methods: ['email', 'mobileSms', 'appCode'], securityQuestions: { toRegister: 3, toReset: 3, custom: [] } });
  });
});
