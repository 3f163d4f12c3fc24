import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { createApp } from '../../src/http/app.js';
import { authenticate } from '../../src/http/auth.js';
import { sha256 } from '../../src/lib/crypto.js';
import { updateUser } from '../../src/store/users.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const PASSWORD = 'Vq7#Lantern-Orbit';

function sessionCookie(res: LightMyRequestResponse) {
  return res.cookies.find((c) => c.name === 'postern_session');
}

describe.each(testDialects())('web sessions on %s', (dialect) => {
  let ctx: TestContext;
  let probe: FastifyInstance;
  let userCount = 0;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    // A second app on the same services with one route behind authenticate(), to test the
    // cookie-or-bearer rule and CSRF on writes independently of any resource.
    probe = await createApp(ctx.services, { logger: false });
    for (const method of ['GET', 'POST'] as const) {
      probe.route({
        method,
        url: '/api/v1/probe',
        handler: async (request) => {
          const p = await authenticate(ctx.services, request);
          return p.kind === 'user' ? { kind: p.kind, userId: p.userId, roles: p.roles, clientId: p.clientId, scopes: p.scopes } : { kind: p.kind };
        },
      });
    }
    await probe.ready();
  });
  afterAll(async () => {
    await probe.close();
    await ctx.close();
  });

  const signIn = (userPrincipalName: string, password: string, headers: Record<string, string> = {}) =>
    ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName, password }, headers });

  async function newUser(overrides: { forceChangePasswordNextSignIn?: boolean } = {}) {
    userCount += 1;
    return createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: `web${userCount}@contoso.test`,
      displayName: `Web ${userCount}`,
      password: PASSWORD,
      ...overrides,
    });
  }

  async function signedIn(upn: string, password: string) {
    const res = await signIn(upn, password);
    expect(res.statusCode).toBe(200);
    return { cookie: sessionCookie(res)!.value, csrf: res.json().csrfToken as string };
  }

  it('signs in with an HttpOnly, SameSite=Lax, Path=/ cookie (not Secure on http) and stores only hashes', async () => {
    const res = await signIn('admin@contoso.test', ADMIN_PASSWORD);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json<{ user: unknown; roles: unknown; csrfToken: string }>();
    expect(body.user).toEqual({ id: ctx.tenant.admin.id, userPrincipalName: 'admin@contoso.test', displayName: 'Global Administrator', tenantId: ctx.tenant.tenant.id });
    // the portals offer the admin pages from this; the API still decides every request
    expect(body.roles).toEqual([{ id: ROLE.globalAdministrator, displayName: 'Global Administrator' }]);
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{40,}$/);

    const cookie = sessionCookie(res)!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookie.secure).toBeFalsy();
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{40,}$/);

    const rows = await ctx.services.db.selectFrom('sessions').selectAll().where('user_id', '=', ctx.tenant.admin.id).execute();
    const row = rows.find((r) => r.id_hash === sha256(cookie.value));
    expect(row).toBeDefined();
    expect(row!.csrf_token_hash).toBe(sha256(body.csrfToken));
    expect(JSON.stringify(rows)).not.toContain(cookie.value);
    expect(JSON.stringify(rows)).not.toContain(body.csrfToken);
  });

  it('shows the current session and its CSRF token; without a cookie answers 401', async () => {
    const { cookie, csrf } = await signedIn('admin@contoso.test', ADMIN_PASSWORD);
    const res = await ctx.app.inject({ method: 'GET', url: '/api/v1/session', cookies: { postern_session: cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ user: { userPrincipalName: 'admin@contoso.test' }, csrfToken: csrf });

    const none = await ctx.app.inject({ method: 'GET', url: '/api/v1/session' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('auth.session_required');
    const bogus = await ctx.app.inject({ method: 'GET', url: '/api/v1/session', cookies: { postern_session: 'forged' } });
    expect(bogus.statusCode).toBe(401);
  });

  it('signs out only with the CSRF token (and our own Origin), then the cookie is dead', async () => {
    const { cookie, csrf } = await signedIn('admin@contoso.test', ADMIN_PASSWORD);
    const del = (headers: Record<string, string>) => ctx.app.inject({ method: 'DELETE', url: '/api/v1/session', cookies: { postern_session: cookie }, headers });

    const noToken = await del({});
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json().error.code).toBe('auth.csrf_failed');
    expect((await del({ 'x-csrf-token': 'wrong' })).statusCode).toBe(403);
    const foreign = await del({ 'x-csrf-token': csrf, origin: 'https://evil.example' });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.code).toBe('auth.csrf_failed');

    const ok = await del({ 'x-csrf-token': csrf, origin: 'http://localhost:8080' });
    expect(ok.statusCode).toBe(204);
    const cleared = sessionCookie(ok)!;
    expect(cleared.value).toBe('');
    expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/session', cookies: { postern_session: cookie } })).statusCode).toBe(401);
  });

  it('maps sign-in failures to API error codes', async () => {
    const wrong = await signIn('admin@contoso.test', 'Wr0ng-password');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('auth.invalid_credentials');
    expect(sessionCookie(wrong)).toBeUndefined();

    const unknown = await signIn('nobody@contoso.test', 'Wr0ng-password');
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().error).toMatchObject({ code: 'auth.invalid_credentials', message: wrong.json().error.message });

    const forced = await newUser({ forceChangePasswordNextSignIn: true });
    const expired = await signIn(forced.userPrincipalName, PASSWORD);
    expect(expired.statusCode).toBe(403);
    expect(expired.json().error).toMatchObject({ code: 'auth.password_expired', details: { changeRequired: true } });
    expect(sessionCookie(expired)).toBeUndefined();

    const disabled = await newUser();
    await updateUser(ctx.services.db, disabled.tenantId, disabled.id, { accountEnabled: false }, ctx.clock.now().toISOString());
    const off = await signIn(disabled.userPrincipalName, PASSWORD);
    expect(off.statusCode).toBe(403);
    expect(off.json().error.code).toBe('auth.account_disabled');

    const locked = await newUser();
    for (let i = 0; i < 10; i += 1) await signIn(locked.userPrincipalName, `Wr0ng-${i}-password`);
    const res = await signIn(locked.userPrincipalName, PASSWORD);
    expect(res.statusCode).toBe(423);
    expect(res.json().error.code).toBe('auth.account_locked');
    ctx.clock.advance(60_000);
    expect((await signIn(locked.userPrincipalName, PASSWORD)).statusCode).toBe(200);
  });

  it('refuses form posts, unknown fields and foreign origins on sign-in (login CSRF)', async () => {
    const form = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ userPrincipalName: 'admin@contoso.test', password: ADMIN_PASSWORD }).toString(),
    });
    expect(form.statusCode).toBe(415);
    const extra = await ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: 'admin@contoso.test', password: ADMIN_PASSWORD, admin: true } });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().error.code).toBe('request.unknown_property');
    const foreign = await signIn('admin@contoso.test', ADMIN_PASSWORD, { origin: 'https://evil.example' });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.code).toBe('auth.csrf_failed');
    const missing = await ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: 'admin@contoso.test' } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.message).toContain('password');
  });

  it('ends the session when the user is disabled or their sessions are revoked', async () => {
    const a = await newUser();
    const sa = await signedIn(a.userPrincipalName, PASSWORD);
    await updateUser(ctx.services.db, a.tenantId, a.id, { accountEnabled: false }, ctx.clock.now().toISOString());
    const res = await ctx.app.inject({ method: 'GET', url: '/api/v1/session', cookies: { postern_session: sa.cookie } });
    expect(res.statusCode).toBe(401);
    await updateUser(ctx.services.db, a.tenantId, a.id, { accountEnabled: true }, ctx.clock.now().toISOString());
    // deleted on sight: re-enabling the user does not bring the session back
    expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/session', cookies: { postern_session: sa.cookie } })).statusCode).toBe(401);

    const b = await newUser();
    const sb = await signedIn(b.userPrincipalName, PASSWORD);
    ctx.clock.advance(1000);
    await ctx.services.db.updateTable('users').set({ sign_in_sessions_valid_from: ctx.clock.now().toISOString() }).where('id', '=', b.id).execute();
    expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/session', cookies: { postern_session: sb.cookie } })).statusCode).toBe(401);
  });

  it('slides the 8-hour lifetime with use and ends it after 8 idle hours', async () => {
    const { cookie } = await signedIn('admin@contoso.test', ADMIN_PASSWORD);
    const get = () => ctx.app.inject({ method: 'GET', url: '/api/v1/session', cookies: { postern_session: cookie } });
    ctx.clock.advance(7 * 3600_000);
    expect((await get()).statusCode).toBe(200);
    ctx.clock.advance(7 * 3600_000);
    expect((await get()).statusCode).toBe(200);
    ctx.clock.advance(8 * 3600_000);
    expect((await get()).statusCode).toBe(401);
  });

  describe('authenticate()', () => {
    it('accepts the session cookie as a user principal with roles re-read, and checks CSRF on writes only', async () => {
      const { cookie, csrf } = await signedIn('admin@contoso.test', ADMIN_PASSWORD);
      const get = await probe.inject({ method: 'GET', url: '/api/v1/probe', cookies: { postern_session: cookie } });
      expect(get.statusCode).toBe(200);
      expect(get.json()).toEqual({ kind: 'user', userId: ctx.tenant.admin.id, roles: [ROLE.globalAdministrator], clientId: null, scopes: [] });

      const noCsrf = await probe.inject({ method: 'POST', url: '/api/v1/probe', cookies: { postern_session: cookie }, payload: {} });
      expect(noCsrf.statusCode).toBe(403);
      expect(noCsrf.json().error.code).toBe('auth.csrf_failed');
      const withCsrf = await probe.inject({ method: 'POST', url: '/api/v1/probe', cookies: { postern_session: cookie }, headers: { 'x-csrf-token': csrf }, payload: {} });
      expect(withCsrf.statusCode).toBe(200);
      const otherOrigin = await probe.inject({
        method: 'POST',
        url: '/api/v1/probe',
        cookies: { postern_session: cookie },
        headers: { 'x-csrf-token': csrf, origin: 'http://localhost:8081' },
        payload: {},
      });
      expect(otherOrigin.statusCode).toBe(403);
    });

    it('does not CSRF-check Bearer requests, and prefers the Bearer token over a cookie', async () => {
      const token = await ctx.userToken('admin@contoso.test');
      const res = await probe.inject({ method: 'POST', url: '/api/v1/probe', headers: { authorization: `Bearer ${token}` }, cookies: { postern_session: 'forged' }, payload: {} });
      expect(res.statusCode).toBe(200);
      expect(res.json().clientId).toBe('14d82eec-204b-4c2f-b7e8-296a70dab67e');
      const none = await probe.inject({ method: 'GET', url: '/api/v1/probe' });
      expect(none.statusCode).toBe(401);
      expect(none.json().error.code).toBe('auth.session_required');
    });
  });
});

describe.each(testDialects())('web sessions behind https on %s', (dialect) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(dialect, { env: { PUBLIC_URL: 'https://postern.example' } });
  });
  afterAll(async () => ctx.close());

  it('marks the cookie Secure and checks Origin against the https origin', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: { origin: 'https://postern.example' },
      payload: { userPrincipalName: 'admin@contoso.test', password: ADMIN_PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    expect(sessionCookie(res)).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax' });
    const http = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: { origin: 'http://postern.example' },
      payload: { userPrincipalName: 'admin@contoso.test', password: ADMIN_PASSWORD },
    });
    expect(http.statusCode).toBe(403);
  });
});
