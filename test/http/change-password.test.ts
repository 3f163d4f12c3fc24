import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createUser } from '../../src/domain/users.js';
import { systemContext } from '../../src/domain/tenants.js';
import { findUserByUpn } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const ORIGINAL = 'Orig1nal-Kestrel-42';
const NEXT = 'N3w-Harbour-Lantern';
const BUILT_IN_CLIENT = '14d82eec-204b-4c2f-b7e8-296a70dab67e';

describe.each(testDialects())('changing one\'s own password on %s', (dialect) => {
  let ctx: TestContext;
  let n = 0;
  let upn: string;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => ctx.close());
  beforeEach(async () => {
    n += 1;
    upn = `user${n}@contoso.test`;
    await createUser(ctx.services, systemContext(ctx.services), { tenantId: ctx.tenant.tenant.id, userPrincipalName: upn, displayName: `User ${n}`, password: ORIGINAL });
  });

  const passwordGrant = (password: string, scope = 'https://graph.microsoft.com/.default') =>
    ctx.app.inject({
      method: 'POST',
      url: '/contoso.test/oauth2/v2.0/token',
      payload: new URLSearchParams({ grant_type: 'password', client_id: BUILT_IN_CLIENT, username: upn, password, scope }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  const change = async (body: unknown, token?: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      payload: JSON.stringify(body),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? (await ctx.userToken(upn))}` },
    });
  const sessionSignIn = (password: string) => ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password } });
  const auditRows = () =>
    ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', '=', 'Change password (self-service)').orderBy('seq').execute();
  const setSettings = async (settings: Record<string, unknown>) => {
    const row = await ctx.services.db.selectFrom('tenants').select('settings').where('id', '=', ctx.tenant.tenant.id).executeTakeFirstOrThrow();
    await ctx.services.db
      .updateTable('tenants')
      .set({ settings: JSON.stringify({ ...(JSON.parse(row.settings) as object), ...settings }) })
      .where('id', '=', ctx.tenant.tenant.id)
      .execute();
  };

  it('changes the password (204): the new one signs in, the old one no longer does, and it is audited', async () => {
    const before = (await auditRows()).length;
    const res = await change({ currentPassword: ORIGINAL, newPassword: NEXT });
    expect(res.statusCode, res.body).toBe(204);
    expect((await passwordGrant(NEXT)).statusCode).toBe(200);
    expect((await passwordGrant(ORIGINAL)).json().error_codes).toEqual([50126]);
    const rows = await auditRows();
    expect(rows).toHaveLength(before + 1);
    expect(rows.at(-1)).toMatchObject({ result: 'success', logged_by_service: 'Self-service Password Management', category: 'UserManagement' });
    expect(JSON.stringify(rows.at(-1))).not.toContain(NEXT);
    const user = await findUserByUpn(ctx.services.db, upn);
    expect(user?.lastPasswordChangeDateTime).toBe(ctx.clock.now().toISOString());
  });

  it('refuses a wrong current password with a Graph error, audits it, and counts it towards lockout', async () => {
    await setSettings({ lockoutThreshold: 5 });
    try {
      for (let i = 0; i < 4; i += 1) {
        const res = await change({ currentPassword: `Wrong-${i}-Password`, newPassword: NEXT });
        expect(res.statusCode).toBe(400);
        expect(res.json().error).toMatchObject({ code: 'Request_BadRequest', message: 'Your current password is incorrect.' });
      }
      expect((await auditRows()).at(-1)).toMatchObject({ result: 'failure', result_reason: 'InvalidCurrentPassword' });
      const fifth = await change({ currentPassword: 'Wrong-5-Password', newPassword: NEXT });
      expect(fifth.statusCode).toBe(423);
      // locked now: even the right current password is refused, and so is sign-in
      expect((await change({ currentPassword: ORIGINAL, newPassword: NEXT })).statusCode).toBe(423);
      expect((await passwordGrant(ORIGINAL)).json().error_codes).toEqual([50053]);
    } finally {
      await setSettings({ lockoutThreshold: 10 });
    }
  });

  it('refuses a new password that breaks the policy or repeats the current one, naming why', async () => {
    const short = await change({ currentPassword: ORIGINAL, newPassword: 'short' });
    expect(short.statusCode).toBe(400);
    expect(short.json().error.message).toContain('at least');
    const same = await change({ currentPassword: ORIGINAL, newPassword: ORIGINAL });
    expect(same.statusCode).toBe(400);
    expect(same.json().error.message).toBe('Your new password must be different from your current password.');
    expect((await passwordGrant(ORIGINAL)).statusCode).toBe(200);
  });

  it('audits a banned new password as FuzzyPolicyViolationInvalidPassword and names the rule', async () => {
    const res = await change({ currentPassword: ORIGINAL, newPassword: 'P@ssw0rd1!' });
    expect(res.statusCode).toBe(400);
    expect((res.json<{ error: { details: { code: string }[] } }>()).error.details.map((d) => d.code)).toEqual(['bannedPassword']);
    expect((await auditRows()).at(-1)).toMatchObject({ result: 'failure', result_reason: 'FuzzyPolicyViolationInvalidPassword' });
  });

  it('rejects a 10,000-character new password without hashing anything', async () => {
    const token = await ctx.userToken(upn);
    const hash = vi.spyOn(ctx.services.hasher, 'hash');
    const verify = vi.spyOn(ctx.services.hasher, 'verify');
    try {
      const res = await change({ currentPassword: ORIGINAL, newPassword: 'x'.repeat(4000) }, token);
      expect(res.statusCode).toBe(400);
      expect(hash).not.toHaveBeenCalled();
      expect(verify).not.toHaveBeenCalled();
      const huge = await change({ currentPassword: ORIGINAL, newPassword: 'x'.repeat(10_000) }, token);
      expect(huge.statusCode).toBe(400);
      expect(verify).not.toHaveBeenCalled();
    } finally {
      hash.mockRestore();
      verify.mockRestore();
    }
  });

  it.each([
    [{ currentPassword: ORIGINAL, newPassword: 12345678 }],
    [{ currentPassword: ORIGINAL, newPassword: null }],
    [{ currentPassword: ORIGINAL }],
    [{ currentPassword: ORIGINAL, newPassword: NEXT, extra: true }],
    [[ORIGINAL, NEXT]],
  ])('answers a malformed body %j with 400', async (body) => {
    const res = await change(body);
    expect(res.statusCode).toBe(400);
  });

  it.each([
    ['a NUL byte', 'Valid-Looking\u0000Pass-1'],
    ['a lone surrogate', 'Valid-Looking\ud800Pass-1'],
  ])('refuses a new password with %s (400) naming the problem', async (_name, newPassword) => {
    const res = await change({ currentPassword: ORIGINAL, newPassword });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].code).toMatch(/nulByte|invalidUnicode/);
  });

  it('is for signed-in users only: an application token gets 403', async () => {
    const appToken = await ctx.appToken(['User.ReadWrite.All']);
    const res = await change({ currentPassword: ORIGINAL, newPassword: NEXT }, appToken);
    expect(res.statusCode).toBe(403);
  });

  it('keeps the session it was made from and ends the others and every refresh token', async () => {
    const a = await sessionSignIn(ORIGINAL);
    const b = await sessionSignIn(ORIGINAL);
    const cookieA = `postern_session=${a.cookies[0]!.value}`;
    const cookieB = `postern_session=${b.cookies[0]!.value}`;
    const grant = await passwordGrant(ORIGINAL, 'https://graph.microsoft.com/.default offline_access');
    const refreshToken = grant.json().refresh_token as string;

    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      payload: { currentPassword: ORIGINAL, newPassword: NEXT },
      headers: { cookie: cookieA, 'x-csrf-token': a.json().csrfToken as string },
    });
    expect(res.statusCode, res.body).toBe(204);
    expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: cookieA } })).statusCode).toBe(200);
    expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: cookieB } })).statusCode).toBe(401);
    const refreshed = await ctx.app.inject({
      method: 'POST',
      url: '/contoso.test/oauth2/v2.0/token',
      payload: new URLSearchParams({ grant_type: 'refresh_token', client_id: BUILT_IN_CLIENT, refresh_token: refreshToken }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(refreshed.statusCode).toBe(400);
  });

  it('needs the CSRF token when called with a session cookie', async () => {
    const a = await sessionSignIn(ORIGINAL);
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      payload: { currentPassword: ORIGINAL, newPassword: NEXT },
      headers: { cookie: `postern_session=${a.cookies[0]!.value}` },
    });
    expect(res.statusCode).toBe(403);
    expect((await passwordGrant(ORIGINAL)).statusCode).toBe(200);
  });
});
