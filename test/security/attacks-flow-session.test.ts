import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { updateUser, type User } from '../../src/store/users.js';
import { ADMIN_PASSWORD, testDialects, type TestContext } from '../helpers/context.js';
import { setSsprPolicy } from '../http/security-info-helpers.js';
import { startSsprHarness, type SsprHarness } from '../http/sspr-harness.js';
import { NEW_PASSWORD, OLD_PASSWORD, post, SSPR, startFlow, userWithMethods } from '../http/sspr-helpers.js';

/**
 * reference/security-requirements.md §4, the cases about sessions around a reset: the sign-in half of
 * case 3 (enumeration by response), 15 (CSRF) and 16 (MFA bypass and surviving sessions through a
 * reset). One `describe` per case, through the front door (app.inject; web sessions with their
 * cookie and CSRF token; OAuth tokens from the token endpoint). The reset flow's own cases are in
 * attacks-flow-sspr.test.ts.
 */

const PUBLIC_ORIGIN = 'http://localhost:8080';
const GRAPH_CLI = '14d82eec-204b-4c2f-b7e8-296a70dab67e';
const PASSWORD_METHOD = '28c10230-6103-485e-b985-444c60001490';

describe.each(testDialects())('attack cases on sessions around the reset flow (%s)', (dialect) => {
  let h: SsprHarness;
  let ctx: TestContext;
  beforeAll(async () => {
    h = await startSsprHarness(dialect);
    ctx = h.ctx;
  });
  afterAll(async () => h?.close());

  const signIn = (upn: string, password: string, headers: Record<string, string> = {}) => ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password }, headers });
  async function session(upn: string, password: string): Promise<{ cookie: string; csrf: string }> {
    const res = await signIn(upn, password);
    expect(res.statusCode).toBe(200);
    return { cookie: res.cookies.find((c) => c.name === 'postern_session')!.value, csrf: res.json<{ csrfToken: string }>().csrfToken };
  }
  const tokenEndpoint = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    ctx.app.inject({
      method: 'POST',
      url: `/${ctx.tenant.tenant.id}/oauth2/v2.0/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams(form).toString(),
    });
  const passwordGrant = (username: string, password: string, scope = 'https://graph.microsoft.com/.default', headers: Record<string, string> = {}) =>
    tokenEndpoint({ grant_type: 'password', client_id: GRAPH_CLI, username, password, scope }, headers);
  const errorCode = (res: LightMyRequestResponse) => res.json<{ error: { code: string } }>().error.code;
  /** A flow verified by the emailed code: its path. */
  async function verifiedFlow(user: { userPrincipalName: string; address: string }): Promise<string> {
    const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json<{ flowId: string }>().flowId}`;
    expect((await post(ctx, `${F}/verifications`, { method: 'email' })).statusCode).toBe(202);
    expect((await post(ctx, `${F}/verifications/email/complete`, { code: await h.mailedCode(user.address) })).statusCode).toBe(200);
    return F;
  }
  /** Only the right password signs in: the one given, not OLD_PASSWORD (unless it is the one). */
  async function passwordIs(user: User, password: string): Promise<void> {
    expect((await signIn(user.userPrincipalName, password)).statusCode, 'the expected password').toBe(200);
    if (password !== OLD_PASSWORD) expect((await signIn(user.userPrincipalName, OLD_PASSWORD)).statusCode, 'the old password').toBe(401);
  }

  describe('3 User enumeration via response (sign-in errors)', () => {
    // The reset start and code requests: attacks-flow-sspr.test.ts. A LOCKED account answers
    // 50053 / auth.account_locked by design (SPEC 4.3, Azure's smart lockout) and is not compared here.
    const comparable = (res: LightMyRequestResponse): string => {
      const rid = String(res.headers['request-id']);
      const headers = Object.entries(res.headers).filter(([name]) => name !== 'request-id' && name !== 'date').sort(([a], [b]) => a.localeCompare(b));
      return JSON.stringify({ status: res.statusCode, headers, cookies: res.cookies, body: res.body.split(rid).join('<request-id>') });
    };

    it('a wrong password for an existing, an unknown and a disabled account answers alike on the OAuth and web sign-in', async () => {
      let n = 0;
      const make = async () => {
        n += 1;
        return createUser(ctx.services, systemContext(ctx.services), { tenantId: ctx.tenant.tenant.id, userPrincipalName: `enum.sign${n}@contoso.test`, displayName: `Sign ${n}`, password: OLD_PASSWORD });
      };
      const existing = await make();
      const disabled = await make();
      await updateUser(ctx.services.db, disabled.tenantId, disabled.id, { accountEnabled: false }, ctx.clock.now().toISOString());
      const names = [existing.userPrincipalName, 'enum.nobody@contoso.test', disabled.userPrincipalName];

      const oauth = [];
      const web = [];
      for (const upn of names) {
        oauth.push(comparable(await passwordGrant(upn, 'Wrong-Horse-Battery-1', undefined, { 'client-request-id': '0b7c2f34-5c61-4a45-9a8b-2f4f1f2b6d11' })));
        web.push(comparable(await signIn(upn, 'Wrong-Horse-Battery-1')));
      }
      expect(JSON.parse(oauth[0]!).body).toContain('"error_codes":[50126]');
      expect(JSON.parse(web[0]!).body).toContain('auth.invalid_credentials');
      expect(oauth).toEqual([oauth[0], oauth[0], oauth[0]]);
      expect(web).toEqual([web[0], web[0], web[0]]);
    });
  });

  describe('15 CSRF', () => {
    // Sign-out and login CSRF (foreign Origin, form posts): test/http/session.test.ts.
    const crossSite = (csrf: string, other: string): Record<string, string>[] => [
      {}, // no token
      { 'x-csrf-token': 'forged-token' },
      { 'x-csrf-token': other }, // a real token, of another session of the same user
      { 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' },
      { 'x-csrf-token': csrf, 'sec-fetch-site': 'same-site' },
      { 'x-csrf-token': csrf, origin: 'https://evil.example' },
    ];
    const sameOrigin = (csrf: string) => ({ 'x-csrf-token': csrf, 'sec-fetch-site': 'same-origin', origin: PUBLIC_ORIGIN });

    it('change password: 403 without the session-bound token or from another site; GET changes nothing', async () => {
      const user = await userWithMethods(ctx);
      const a = await session(user.userPrincipalName, OLD_PASSWORD);
      const b = await session(user.userPrincipalName, OLD_PASSWORD);
      const change = (headers: Record<string, string>) =>
        ctx.app.inject({ method: 'POST', url: '/v1.0/me/changePassword', cookies: { postern_session: a.cookie }, headers, payload: { currentPassword: OLD_PASSWORD, newPassword: NEW_PASSWORD } });
      for (const headers of crossSite(a.csrf, b.csrf)) {
        const res = await change(headers);
        expect(res.statusCode, JSON.stringify(headers)).toBe(403);
        expect(res.json<{ error: { innerError: { code: string } } }>().error.innerError.code).toBe('auth.csrf_failed');
      }
      const get = await ctx.app.inject({ method: 'GET', url: `/v1.0/me/changePassword?currentPassword=${OLD_PASSWORD}&newPassword=${NEW_PASSWORD}`, cookies: { postern_session: a.cookie } });
      expect(get.statusCode).toBeGreaterThanOrEqual(400);
      await passwordIs(user, OLD_PASSWORD);
      expect((await change(sameOrigin(a.csrf))).statusCode).toBe(204);
      await passwordIs(user, NEW_PASSWORD);
    });

    it('security info registration: 403 without the token or from another site, and no code is sent', async () => {
      const user = await userWithMethods(ctx, { email: false });
      const a = await session(user.userPrincipalName, OLD_PASSWORD);
      const b = await session(user.userPrincipalName, OLD_PASSWORD);
      const register = (headers: Record<string, string>) =>
        ctx.app.inject({ method: 'POST', url: '/api/v1/me/security-info/email', cookies: { postern_session: a.cookie }, headers, payload: { address: 'attacker@evil.example' } });
      const codes = async () => (await ctx.services.db.selectFrom('verification_codes').select('id').where('user_id', '=', user.id).execute()).length;
      for (const headers of crossSite(a.csrf, b.csrf)) {
        const res = await register(headers);
        expect(res.statusCode, JSON.stringify(headers)).toBe(403);
        expect(errorCode(res)).toBe('auth.csrf_failed');
      }
      const get = await ctx.app.inject({ method: 'GET', url: '/api/v1/me/security-info/email?address=attacker%40evil.example', cookies: { postern_session: a.cookie } });
      expect(get.statusCode).toBeGreaterThanOrEqual(400);
      expect(await codes()).toBe(0);
      expect((await register(sameOrigin(a.csrf))).statusCode).toBe(202);
      expect(await codes()).toBe(1);
    });

    it("an admin's reset of another user through the web session: 403 without the token or from another site", async () => {
      const user = await userWithMethods(ctx);
      const admin = await session('admin@contoso.test', ADMIN_PASSWORD);
      const other = await session('admin@contoso.test', ADMIN_PASSWORD);
      const url = `/v1.0/users/${user.id}/authentication/passwordMethods/${PASSWORD_METHOD}/resetPassword`;
      const reset = (headers: Record<string, string>) => ctx.app.inject({ method: 'POST', url, cookies: { postern_session: admin.cookie }, headers, payload: {} });
      const operations = async () => (await ctx.services.db.selectFrom('authentication_operations').select('id').where('user_id', '=', user.id).execute()).length;
      for (const headers of crossSite(admin.csrf, other.csrf)) {
        const res = await reset(headers);
        expect(res.statusCode, JSON.stringify(headers)).toBe(403);
        expect(res.json<{ error: { innerError: { code: string } } }>().error.innerError.code).toBe('auth.csrf_failed');
      }
      expect((await ctx.app.inject({ method: 'GET', url, cookies: { postern_session: admin.cookie } })).statusCode).toBeGreaterThanOrEqual(400);
      expect(await operations()).toBe(0);
      await passwordIs(user, OLD_PASSWORD);
      expect((await reset(sameOrigin(admin.csrf))).statusCode).toBe(202);
      expect(await operations()).toBe(1);
      expect((await signIn(user.userPrincipalName, OLD_PASSWORD)).statusCode).toBe(401);
    });

    it('reset confirm: the flow id is the only handle; a write from another site is refused, a GET changes nothing', async () => {
      const user = await userWithMethods(ctx);
      const F = await verifiedFlow(user);
      const confirm = (path: string, headers: Record<string, string>) => post(ctx, `${path}/password`, { newPassword: NEW_PASSWORD }, headers);
      for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://evil.example' }] as Record<string, string>[]) {
        const res = await confirm(F, headers);
        expect(res.statusCode, JSON.stringify(headers)).toBe(403);
        expect(errorCode(res)).toBe('auth.csrf_failed');
      }
      // a guessed handle is no handle
      const guessed = await confirm(`${SSPR}/flows/${'A'.repeat(43)}`, {});
      expect(guessed.statusCode).toBe(404);
      expect(errorCode(guessed)).toBe('sspr.flow_not_found');
      expect((await ctx.app.inject({ method: 'GET', url: `${F}/password?newPassword=${NEW_PASSWORD}` })).statusCode).toBe(404);
      await passwordIs(user, OLD_PASSWORD);
      expect((await confirm(F, { 'sec-fetch-site': 'same-origin', origin: PUBLIC_ORIGIN })).statusCode).toBe(200);
      await passwordIs(user, NEW_PASSWORD);
    });
  });

  describe('16 Reset used to bypass MFA or keep attacker sessions', () => {
    // An administrator always needs two methods and never security questions: test/http/sspr-flow.test.ts.

    it('a policy needing two methods still needs two: one verified method neither resets nor unlocks', async () => {
      await setSsprPolicy(ctx, { methodsRequired: 2 });
      try {
        const user = await userWithMethods(ctx);
        const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json<{ flowId: string }>().flowId}`;
        await post(ctx, `${F}/verifications`, { method: 'email' });
        const code = await h.mailedCode(user.address);
        expect((await post(ctx, `${F}/verifications/email/complete`, { code })).json()).toEqual({ verified: ['email'], required: 2 });
        for (const step of ['password', 'unlock']) {
          const res = await post(ctx, `${F}/${step}`, step === 'password' ? { newPassword: NEW_PASSWORD } : undefined);
          expect(res.statusCode, step).toBe(403);
          expect(errorCode(res)).toBe('sspr.not_verified');
        }
        // the same method twice is not two methods
        expect(errorCode(await post(ctx, `${F}/verifications`, { method: 'email' }))).toBe('sspr.method_unavailable');
        expect(errorCode(await post(ctx, `${F}/verifications/email/complete`, { code }))).toBe('sspr.method_unavailable');
        await passwordIs(user, OLD_PASSWORD);
      } finally {
        await setSsprPolicy(ctx, { methodsRequired: 1 });
      }
    });

    it('no automatic sign-in; every other web session, access token and refresh token of the user dies', async () => {
      const user = await userWithMethods(ctx);
      const webA = await session(user.userPrincipalName, OLD_PASSWORD);
      const webB = await session(user.userPrincipalName, OLD_PASSWORD);
      const granted = await passwordGrant(user.userPrincipalName, OLD_PASSWORD, 'openid offline_access User.Read');
      expect(granted.statusCode).toBe(200);
      const { access_token: access, refresh_token: refresh } = granted.json<{ access_token: string; refresh_token: string }>();
      ctx.clock.advance(5_000);

      const F = await verifiedFlow(user);
      const done = await post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD }, { cookie: `postern_session=${webA.cookie}` });
      expect(done.statusCode).toBe(200);
      expect(done.body).toBe('{"result":"Succeeded"}');
      expect(done.headers['set-cookie']).toBeUndefined();

      for (const web of [webA, webB]) expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/session', cookies: { postern_session: web.cookie } })).statusCode).toBe(401);
      expect((await ctx.app.inject({ method: 'GET', url: '/v1.0/me', headers: { authorization: `Bearer ${access}` } })).statusCode).toBe(401);
      const refreshed = await tokenEndpoint({ grant_type: 'refresh_token', client_id: GRAPH_CLI, refresh_token: refresh });
      expect(refreshed.statusCode).toBe(400);
      expect(refreshed.json<{ error: string }>().error).toBe('invalid_grant');
      // the user signs in as anyone does, with the new password
      await passwordIs(user, NEW_PASSWORD);
    });
  });
});
