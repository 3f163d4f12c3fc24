import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { findUserById, setLockoutState } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { auditOf, caller, PASSWORD, userWithRoles } from './admin-helpers.js';

const GRAPH_CLI = '14d82eec-204b-4c2f-b7e8-296a70dab67e';

describe.each(testDialects())('Admin unlock and revokeSignInSessions on %s', (dialect) => {
  let ctx: TestContext;
  let call: ReturnType<typeof caller>;
  let admin: string;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    call = caller(ctx);
    admin = await ctx.userToken('admin@contoso.test');
  });
  afterAll(async () => ctx?.close());

  const signIn = (upn: string, password: string) =>
    ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password }, headers: { origin: 'http://localhost:8080' } });
  const tokenGrant = (form: Record<string, string>) =>
    ctx.app.inject({
      method: 'POST',
      url: `/${ctx.tenant.tenant.id}/oauth2/v2.0/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ client_id: GRAPH_CLI, ...form }).toString(),
    });
  const unlock = (key: string, token?: string) => call('POST', `/api/v1/users/${key}/unlock`, token);
  const lockedUntil = async (id: string) => (await findUserById(ctx.services.db, ctx.tenant.tenant.id, id))!.lockedUntil;
  const lockNow = (id: string) =>
    setLockoutState(ctx.services.db, id, { failedSignInCount: 0, lockoutCount: 1, lockedUntil: new Date(ctx.clock.now().getTime() + 3_600_000).toISOString(), recentBadHashes: [] });

  it('unlocks a user locked by smart lockout, who then signs in; a second unlock is a 204 that records nothing', async () => {
    const { user } = await userWithRoles(ctx, 'locked');
    for (let i = 0; i < 10; i += 1) await signIn(user.userPrincipalName, `Wr0ng-${i}-password`);
    expect((await signIn(user.userPrincipalName, PASSWORD)).statusCode).toBe(423);

    const res = await unlock(user.userPrincipalName, admin);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await signIn(user.userPrincipalName, PASSWORD)).statusCode).toBe(200);

    const events = await auditOf(ctx, 'Unlock user account (by admin)', user.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ category: 'UserManagement', result: 'success', operation_type: 'Update' });
    expect(JSON.parse(events[0]!.initiated_by).user.userPrincipalName).toBe('admin@contoso.test');

    expect((await unlock(user.id, admin)).statusCode).toBe(204);
    expect(await auditOf(ctx, 'Unlock user account (by admin)', user.id)).toHaveLength(1);
  });

  it('unlock: 404 for unknown users, 403 by role, by the table and for apps without the permission', async () => {
    const missing = await unlock('nobody@contoso.test', admin);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('user.not_found');

    const { user: target } = await userWithRoles(ctx, 'lockedb');
    await lockNow(target.id);
    const { token: peer } = await userWithRoles(ctx, 'peer');
    const refused = await unlock(target.id, peer);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('auth.forbidden');
    expect(await lockedUntil(target.id)).not.toBeNull();

    // a Helpdesk Administrator unlocks a plain user but not a Global Administrator
    const { token: helpdesk } = await userWithRoles(ctx, 'helpdesk', [ROLE.helpdeskAdministrator]);
    await lockNow(ctx.tenant.admin.id);
    const onGlobal = await unlock(ctx.tenant.admin.id, helpdesk);
    expect(onGlobal.statusCode).toBe(403);
    expect(onGlobal.json().error.message).toMatch(/Helpdesk Administrator.*cannot unlock a user who holds Global Administrator.*who can reset passwords/);
    expect(await lockedUntil(ctx.tenant.admin.id)).not.toBeNull();
    expect(await auditOf(ctx, 'Unlock user account (by admin)', ctx.tenant.admin.id)).toEqual([]);
    await setLockoutState(ctx.services.db, ctx.tenant.admin.id, { failedSignInCount: 0, lockoutCount: 0, lockedUntil: null, recentBadHashes: [] });

    expect((await unlock(target.id, await ctx.appToken(['User.Read.All']))).statusCode).toBe(403);
    expect(await lockedUntil(target.id)).not.toBeNull();
    expect((await unlock(target.id, helpdesk)).statusCode).toBe(204);
    expect(await lockedUntil(target.id)).toBeNull();

    await lockNow(target.id);
    expect((await unlock(target.id, await ctx.appToken(['User-PasswordProfile.ReadWrite.All']))).statusCode).toBe(204);
    expect(await lockedUntil(target.id)).toBeNull();
    expect(await auditOf(ctx, 'Unlock user account (by admin)', target.id)).toHaveLength(2);
    expect((await unlock(target.id)).statusCode).toBe(401);
  });

  it('revokes refresh tokens, access tokens and web sessions, answers Edm.Boolean and audits StsRefreshTokensValidFrom', async () => {
    const { user } = await userWithRoles(ctx, 'revoked');
    const granted = await tokenGrant({ grant_type: 'password', username: user.userPrincipalName, password: PASSWORD, scope: 'openid offline_access User.Read' });
    expect(granted.statusCode).toBe(200);
    const { access_token: accessToken, refresh_token: refreshToken } = granted.json<{ access_token: string; refresh_token: string }>();
    const cookie = (await signIn(user.userPrincipalName, PASSWORD)).cookies.find((c) => c.name === 'postern_session')!.value;
    const session = () => ctx.app.inject({ method: 'GET', url: '/api/v1/session', cookies: { postern_session: cookie } });
    expect((await call('GET', '/v1.0/me', accessToken)).statusCode).toBe(200);
    expect((await session()).statusCode).toBe(200);
    ctx.clock.advance(2_000);

    const res = await call('POST', `/v1.0/users/${user.id}/revokeSignInSessions`, admin);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ '@odata.context': 'http://localhost:8080/v1.0/$metadata#Edm.Boolean', value: true });

    const refused = await tokenGrant({ grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toBe('invalid_grant');
    expect((await call('GET', '/v1.0/me', accessToken)).statusCode).toBe(401);
    expect((await session()).statusCode).toBe(401);
    // signing in again works
    expect((await signIn(user.userPrincipalName, PASSWORD)).statusCode).toBe(200);

    const [event] = await auditOf(ctx, 'Update user', user.id);
    expect(event).toMatchObject({ logged_by_service: 'Core Directory', category: 'UserManagement', operation_type: 'Update' });
    expect(JSON.parse(event!.target_resources)[0].modifiedProperties).toEqual([
      { displayName: 'StsRefreshTokensValidFrom', oldValue: JSON.stringify([user.signInSessionsValidFrom]), newValue: JSON.stringify([ctx.clock.now().toISOString()]) },
    ]);
  });

  it('lets a user revoke their own sessions through /me and /users/{own upn}; refuses /me to apps', async () => {
    const { user, token } = await userWithRoles(ctx, 'self');
    ctx.clock.advance(2_000);
    expect((await call('POST', `/v1.0/users/${user.userPrincipalName.toUpperCase()}/revokeSignInSessions`, token)).statusCode).toBe(200);
    expect((await call('GET', '/v1.0/me', token)).statusCode).toBe(401);
    const fresh = await ctx.userToken(user.userPrincipalName);
    ctx.clock.advance(2_000);
    const me = await call('POST', '/v1.0/me/revokeSignInSessions', fresh);
    expect(me.statusCode).toBe(200);
    expect(me.json().value).toBe(true);
    expect((await call('GET', '/v1.0/me', fresh)).statusCode).toBe(401);
    expect(await auditOf(ctx, 'Update user', user.id)).toHaveLength(2);
    expect((await call('POST', '/v1.0/me/revokeSignInSessions', await ctx.appToken(['User.RevokeSessions.All']))).statusCode).toBe(403);
  });

  it('revoke: refuses by role, by the table and by app permission; 404 for unknown users', async () => {
    const { user: target } = await userWithRoles(ctx, 'rtarget');
    const url = `/v1.0/users/${target.id}/revokeSignInSessions`;
    const { token: peer } = await userWithRoles(ctx, 'rpeer');
    expect((await call('POST', url, peer)).statusCode).toBe(403);
    const { token: helpdesk } = await userWithRoles(ctx, 'rhelpdesk', [ROLE.helpdeskAdministrator]);
    const onGlobal = await call('POST', `/v1.0/users/${ctx.tenant.admin.id}/revokeSignInSessions`, helpdesk);
    expect(onGlobal.statusCode).toBe(403);
    expect(onGlobal.json().error).toMatchObject({ code: 'Authorization_RequestDenied', message: expect.stringMatching(/cannot revoke the sign-in sessions of a user who holds Global Administrator/) });
    expect(await auditOf(ctx, 'Update user', ctx.tenant.admin.id)).toEqual([]);
    expect(await auditOf(ctx, 'Update user', target.id)).toEqual([]);

    for (const permission of ['User.Read.All', 'UserAuthenticationMethod.ReadWrite.All']) {
      expect((await call('POST', url, await ctx.appToken([permission]))).statusCode, permission).toBe(403);
    }
    for (const permission of ['User.RevokeSessions.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All']) {
      expect((await call('POST', url, await ctx.appToken([permission]))).statusCode, permission).toBe(200);
    }
    expect((await call('POST', url, helpdesk)).statusCode).toBe(200);
    expect(await auditOf(ctx, 'Update user', target.id)).toHaveLength(4);
    expect((await call('POST', '/v1.0/users/nobody@contoso.test/revokeSignInSessions', admin)).statusCode).toBe(404);
    // the actions take no parameters
    const withBody = await call('POST', url, admin, { everywhere: true });
    expect(withBody.statusCode).toBe(400);
    expect(withBody.json().error.message).toContain('everywhere');
    expect((await call('POST', url, admin, {})).statusCode).toBe(200);
    expect((await call('POST', `/api/v1/users/${target.id}/unlock`, admin, { force: true })).statusCode).toBe(400);
  });
});
