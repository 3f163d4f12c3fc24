import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createUser } from '../../src/domain/users.js';
import { systemContext } from '../../src/domain/tenants.js';
import { findUserByUpn, updateUser } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const ORIGINAL = 'Orig1nal-Kestrel-42';
const NEXT = 'N3w-Harbour-Lantern';
const BUILT_IN_CLIENT = '14d82eec-204b-4c2f-b7e8-296a70dab67e';
const DAY = 86_400_000;

describe.each(testDialects())('expiry and forced change on %s', (dialect) => {
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

  const passwordGrant = (password: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/contoso.test/oauth2/v2.0/token',
      payload: new URLSearchParams({ grant_type: 'password', client_id: BUILT_IN_CLIENT, username: upn, password, scope: 'https://graph.microsoft.com/.default' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  const sessionSignIn = (password: string) => ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password } });
  const changeStep = (currentPassword: string, newPassword: string, who = upn) =>
    ctx.app.inject({ method: 'POST', url: '/api/v1/session/password', payload: { userPrincipalName: who, currentPassword, newPassword } });
  const setSettings = async (settings: Record<string, unknown>) => {
    const row = await ctx.services.db.selectFrom('tenants').select('settings').where('id', '=', ctx.tenant.tenant.id).executeTakeFirstOrThrow();
    await ctx.services.db
      .updateTable('tenants')
      .set({ settings: JSON.stringify({ ...(JSON.parse(row.settings) as object), ...settings }) })
      .where('id', '=', ctx.tenant.tenant.id)
      .execute();
  };
  const user = async () => (await findUserByUpn(ctx.services.db, upn))!;

  it('forceChangePasswordNextSignIn: the token endpoint answers 50055, the web answers "change required", and only the change step completes', async () => {
    const u = await user();
    await updateUser(ctx.services.db, u.tenantId, u.id, { forceChangePasswordNextSignIn: true }, new Date().toISOString());

    expect((await passwordGrant(ORIGINAL)).json()).toMatchObject({ error: 'invalid_grant', error_codes: [50055] });
    const web = await sessionSignIn(ORIGINAL);
    expect(web.statusCode).toBe(403);
    expect(web.json().error).toMatchObject({ code: 'auth.password_expired', details: { changeRequired: true, changeEndpoint: '/api/v1/session/password' } });
    expect(web.cookies).toHaveLength(0);

    // the change step needs the current password and a new one that passes the policy
    expect((await changeStep('Not-The-Password-1', NEXT)).statusCode).toBe(400);
    expect((await changeStep(ORIGINAL, 'short')).statusCode).toBe(400);
    expect((await changeStep(ORIGINAL, NEXT, 'nobody@contoso.test')).json().error.code).toBe('auth.invalid_credentials');

    const done = await changeStep(ORIGINAL, NEXT);
    expect(done.statusCode, done.body).toBe(200);
    expect(done.cookies.find((c) => c.name === 'postern_session')).toBeDefined();
    expect((await user()).forceChangePasswordNextSignIn).toBe(false);
    expect((await passwordGrant(NEXT)).statusCode).toBe(200);
  });

  it('expired passwords stop sign-in the same way; users are told the days left inside the window', async () => {
    await setSettings({ expiresAfterDays: 90, notificationWindowDays: 14 });
    try {
      const fresh = await sessionSignIn(ORIGINAL);
      expect(fresh.statusCode).toBe(200);
      expect(fresh.json()).not.toHaveProperty('passwordExpiresInDays');

      ctx.clock.advance(80 * DAY);
      const warned = await sessionSignIn(ORIGINAL);
      expect(warned.json()).toMatchObject({ passwordExpiresInDays: 10 });

      ctx.clock.advance(10 * DAY);
      expect((await passwordGrant(ORIGINAL)).json().error_codes).toEqual([50055]);
      expect((await sessionSignIn(ORIGINAL)).json().error.details.changeRequired).toBe(true);

      const done = await changeStep(ORIGINAL, NEXT);
      expect(done.statusCode, done.body).toBe(200);
      expect(done.json()).not.toHaveProperty('passwordExpiresInDays');
      expect((await passwordGrant(NEXT)).statusCode).toBe(200);
    } finally {
      await setSettings({ expiresAfterDays: null });
    }
  });

  it('DisablePasswordExpiration exempts a user', async () => {
    const u = await user();
    await updateUser(ctx.services.db, u.tenantId, u.id, { passwordPolicies: 'DisablePasswordExpiration' }, new Date().toISOString());
    await setSettings({ expiresAfterDays: 30 });
    try {
      ctx.clock.advance(365 * DAY);
      expect((await passwordGrant(ORIGINAL)).statusCode).toBe(200);
      expect((await sessionSignIn(ORIGINAL)).json()).not.toHaveProperty('passwordExpiresInDays');
    } finally {
      await setSettings({ expiresAfterDays: null });
    }
  });
});
