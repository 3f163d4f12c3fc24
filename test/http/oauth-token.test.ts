import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApplication } from '../../src/domain/applications.js';
import { createArgon2Hasher } from '../../src/domain/hasher.js';
import { ROLE } from '../../src/domain/roles.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { setPasswordHash, updateUser, findUserByUpn } from '../../src/store/users.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const GRAPH_CLI = '14d82eec-204b-4c2f-b7e8-296a70dab67e';
const PASSWORD = 'Vq7#Lantern-Orbit';
interface TokenBody {
  access_token: string;
  refresh_token?: string;
  id_token: string;
}

const ERROR_KEYS = ['correlation_id', 'error', 'error_codes', 'error_description', 'timestamp', 'trace_id'];

describe.each(testDialects())('OAuth token endpoint on %s', (dialect) => {
  let ctx: TestContext;
  let tenantId: string;
  let userCount = 0;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    tenantId = ctx.tenant.tenant.id;
  });
  afterAll(async () => ctx.close());
  afterEach(() => vi.restoreAllMocks());

  function post(form: Record<string, string>, options: { tenant?: string; headers?: Record<string, string> } = {}) {
    return ctx.app.inject({
      method: 'POST',
      url: `/${options.tenant ?? tenantId}/oauth2/v2.0/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
      payload: new URLSearchParams(form).toString(),
    });
  }

  function passwordGrant(username: string, password: string, extra: Record<string, string> = {}, tenant?: string) {
    return post(
      { grant_type: 'password', client_id: GRAPH_CLI, username, password, scope: 'https://graph.microsoft.com/.default', ...extra },
      tenant === undefined ? {} : { tenant },
    );
  }

  async function newUser(overrides: { forceChangePasswordNextSignIn?: boolean } = {}) {
    userCount += 1;
    return createUser(ctx.services, systemContext(ctx.services), {
      tenantId,
      userPrincipalName: `user${userCount}@contoso.test`,
      displayName: `User ${userCount}`,
      password: PASSWORD,
      ...overrides,
    });
  }

  function expectOAuthError(res: Awaited<ReturnType<typeof post>>, status: number, error: string, code: number) {
    expect(res.statusCode).toBe(status);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json<Record<string, unknown>>();
    expect(Object.keys(body).sort()).toEqual(ERROR_KEYS);
    expect(body.error).toBe(error);
    expect(body.error_codes).toEqual([code]);
    expect(body.error_description).toMatch(new RegExp(`^AADSTS${code}: .+\\r\\nTrace ID: \\S+\\r\\nCorrelation ID: \\S+\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`));
    expect(body.trace_id).toBe(res.headers['request-id']);
    return body;
  }

  describe('password grant', () => {
    it('gives the admin a token through the built-in Graph CLI client, carrying the Global Administrator wid', async () => {
      const res = await passwordGrant('admin@contoso.test', ADMIN_PASSWORD, { scope: 'https://graph.microsoft.com/.default openid profile' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const body = res.json<TokenBody>();
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, scope: 'https://graph.microsoft.com/.default openid profile' });
      expect(body.refresh_token).toBeUndefined();

      const claims = await ctx.services.tokens.verify(body.access_token);
      expect(claims).toBeDefined();
      expect(claims!.tid).toBe(tenantId);
      expect(claims!.oid).toBe(ctx.tenant.admin.id);
      expect(claims!.azp).toBe(GRAPH_CLI);
      expect(claims!.wids).toContain(ROLE.globalAdministrator);
      expect(claims!.aud).toBe('https://graph.microsoft.com');

      const id = decodeJwt(body.id_token);
      expect(id.aud).toBe(GRAPH_CLI);
      expect(id.sub).toBe(ctx.tenant.admin.id);
      expect(id.preferred_username).toBe('admin@contoso.test');
      expect(id.iss).toBe(`http://localhost:8080/${tenantId}/v2.0`);
    });

    it('accepts a tenant domain in the path and a registered public client', async () => {
      const { application } = await createApplication(ctx.services, systemContext(ctx.services), { tenantId, name: 'native', permissions: [], isPublic: true });
      const res = await post(
        { grant_type: 'password', client_id: application.clientId, username: 'admin@contoso.test', password: ADMIN_PASSWORD, scope: 'User.Read' },
        { tenant: 'contoso.test' },
      );
      expect(res.statusCode).toBe(200);
      expect(decodeJwt(res.json<TokenBody>().access_token).scp).toBe('User.Read');
    });

    it('requires the secret of a confidential client', async () => {
      const { application, clientSecret } = await createApplication(ctx.services, systemContext(ctx.services), { tenantId, name: 'web', permissions: [] });
      const base = { grant_type: 'password', client_id: application.clientId, username: 'admin@contoso.test', password: ADMIN_PASSWORD, scope: 'openid' };
      expectOAuthError(await post(base), 401, 'invalid_client', 7000218);
      expectOAuthError(await post({ ...base, client_secret: 'wrong' }), 401, 'invalid_client', 7000215);
      expect((await post({ ...base, client_secret: clientSecret! })).statusCode).toBe(200);
    });

    it('answers a wrong password with 50126', async () => {
      const user = await newUser();
      expectOAuthError(await passwordGrant(user.userPrincipalName, 'Wr0ng-password'), 400, 'invalid_grant', 50126);
    });

    it('answers an unknown user exactly like a wrong password, and still spends a hash verification', async () => {
      const verify = vi.spyOn(ctx.services.hasher, 'verify');
      const body = expectOAuthError(await passwordGrant('nobody@contoso.test', 'Wr0ng-password'), 400, 'invalid_grant', 50126);
      expect(String(body.error_description)).toMatch(/^AADSTS50126: Error validating credentials due to invalid username or password\.\r\n/);
      expect(verify).toHaveBeenCalledTimes(1);
    });

    it('answers a disabled user with 50057 only after the right password', async () => {
      const user = await newUser();
      await updateUser(ctx.services.db, tenantId, user.id, { accountEnabled: false }, ctx.clock.now().toISOString());
      const verify = vi.spyOn(ctx.services.hasher, 'verify');
      expectOAuthError(await passwordGrant(user.userPrincipalName, 'Wr0ng-password'), 400, 'invalid_grant', 50126);
      expectOAuthError(await passwordGrant(user.userPrincipalName, PASSWORD), 400, 'invalid_grant', 50057);
      expect(verify).toHaveBeenCalledTimes(2);
    });

    it('does not complete the sign-in while the password must be changed (50055)', async () => {
      const user = await newUser({ forceChangePasswordNextSignIn: true });
      expectOAuthError(await passwordGrant(user.userPrincipalName, PASSWORD), 400, 'invalid_grant', 50055);
      expectOAuthError(await passwordGrant(user.userPrincipalName, 'Wr0ng-password'), 400, 'invalid_grant', 50126);
    });

    it('locks after 10 distinct wrong passwords, refuses even the right one, and lets in again after 60 s', async () => {
      const user = await newUser();
      for (let i = 0; i < 9; i += 1) {
        expectOAuthError(await passwordGrant(user.userPrincipalName, `Wr0ng-password-${i}`), 400, 'invalid_grant', 50126);
      }
      expectOAuthError(await passwordGrant(user.userPrincipalName, 'Wr0ng-password-9'), 400, 'invalid_grant', 50053);
      const verify = vi.spyOn(ctx.services.hasher, 'verify');
      const locked = expectOAuthError(await passwordGrant(user.userPrincipalName, PASSWORD), 400, 'invalid_grant', 50053);
      expect(String(locked.error_description)).toContain('temporarily locked');
      expect(verify).toHaveBeenCalledTimes(1); // locked answers cost the same as any other

      const row = await findUserByUpn(ctx.services.db, user.userPrincipalName);
      expect(row!.lockedUntil).toBe(new Date(ctx.clock.now().getTime() + 60_000).toISOString());
      expect(row!.recentBadHashes).toHaveLength(3);
      expect(row!.recentBadHashes.join()).not.toContain('Wr0ng');

      ctx.clock.advance(59_000);
      expectOAuthError(await passwordGrant(user.userPrincipalName, PASSWORD), 400, 'invalid_grant', 50053);
      ctx.clock.advance(1_000);
      expect((await passwordGrant(user.userPrincipalName, PASSWORD)).statusCode).toBe(200);
      const cleared = await findUserByUpn(ctx.services.db, user.userPrincipalName);
      expect(cleared).toMatchObject({ failedSignInCount: 0, lockoutCount: 0, lockedUntil: null, recentBadHashes: [] });
    });

    it('re-locks on the first failure after a lock expires, for longer', async () => {
      const user = await newUser();
      for (let i = 0; i < 10; i += 1) await passwordGrant(user.userPrincipalName, `Wr0ng-password-${i}`);
      ctx.clock.advance(60_000);
      expectOAuthError(await passwordGrant(user.userPrincipalName, 'Another-wr0ng'), 400, 'invalid_grant', 50053);
      ctx.clock.advance(60_000);
      expectOAuthError(await passwordGrant(user.userPrincipalName, PASSWORD), 400, 'invalid_grant', 50053);
      ctx.clock.advance(60_000);
      expect((await passwordGrant(user.userPrincipalName, PASSWORD)).statusCode).toBe(200);
    });

    it('does not lock when one wrong password is repeated 20 times', async () => {
      const user = await newUser();
      for (let i = 0; i < 20; i += 1) {
        expectOAuthError(await passwordGrant(user.userPrincipalName, 'Same-wr0ng-password'), 400, 'invalid_grant', 50126);
      }
      expect((await findUserByUpn(ctx.services.db, user.userPrincipalName))!.failedSignInCount).toBe(1);
      expect((await passwordGrant(user.userPrincipalName, PASSWORD)).statusCode).toBe(200);
    });

    it('rehashes a password made with old parameters on a successful sign-in', async () => {
      const user = await newUser();
      const old = await createArgon2Hasher({ memoryCost: 2048, timeCost: 1, parallelism: 1 }).hash(PASSWORD);
      await setPasswordHash(ctx.services.db, user.id, { passwordHash: old, changedAt: null });
      expect(ctx.services.hasher.needsRehash(old)).toBe(true);
      expect((await passwordGrant(user.userPrincipalName, PASSWORD)).statusCode).toBe(200);
      const stored = (await findUserByUpn(ctx.services.db, user.userPrincipalName))!.passwordHash!;
      expect(stored).not.toBe(old);
      expect(ctx.services.hasher.needsRehash(stored)).toBe(false);
      expect((await passwordGrant(user.userPrincipalName, PASSWORD)).statusCode).toBe(200);
    });

    it("refuses another tenant's user on this tenant's endpoint, like an unknown user", async () => {
      const other = await createTenant(ctx.services, systemContext(ctx.services), {
        name: 'Fabrikam',
        domain: `fabrikam-${dialect}.test`,
        adminUpn: `admin@fabrikam-${dialect}.test`,
        adminPassword: ADMIN_PASSWORD,
      });
      expectOAuthError(await passwordGrant(other.admin.userPrincipalName, ADMIN_PASSWORD), 400, 'invalid_grant', 50126);
      const own = await passwordGrant(other.admin.userPrincipalName, ADMIN_PASSWORD, {}, other.tenant.id);
      expect(own.statusCode).toBe(200);
      expect(decodeJwt(own.json<TokenBody>().access_token).tid).toBe(other.tenant.id);
    });
  });

  describe('client_credentials grant', () => {
    async function app() {
      return createApplication(ctx.services, systemContext(ctx.services), { tenantId, name: 'daemon', permissions: ['User.Read.All'] });
    }

    it('issues an app token for the Graph .default scope, with the secret in the body or in Basic auth', async () => {
      const { application, clientSecret } = await app();
      const res = await post({ grant_type: 'client_credentials', client_id: application.clientId, client_secret: clientSecret!, scope: 'https://graph.microsoft.com/.default' });
      expect(res.statusCode).toBe(200);
      const body = res.json<TokenBody>();
      expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'ext_expires_in', 'token_type']);
      const claims = await ctx.services.tokens.verify(body.access_token);
      expect(claims).toMatchObject({ idtyp: 'app', appid: application.clientId, roles: ['User.Read.All'], aud: 'https://graph.microsoft.com' });

      const basic = Buffer.from(`${application.clientId}:${encodeURIComponent(clientSecret!)}`).toString('base64');
      const viaBasic = await post({ grant_type: 'client_credentials', scope: 'http://localhost:8080/.default' }, { headers: { authorization: `Basic ${basic}` } });
      expect(viaBasic.statusCode).toBe(200);
      expect(decodeJwt(viaBasic.json<TokenBody>().access_token).aud).toBe('http://localhost:8080');
    });

    it('refuses a wrong secret with 401 invalid_client (7000215)', async () => {
      const { application } = await app();
      expectOAuthError(
        await post({ grant_type: 'client_credentials', client_id: application.clientId, client_secret: 'not-the-secret', scope: 'https://graph.microsoft.com/.default' }),
        401,
        'invalid_client',
        7000215,
      );
      const basic = Buffer.from(`${application.clientId}:nope`).toString('base64');
      const res = await post({ grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' }, { headers: { authorization: `Basic ${basic}` } });
      expectOAuthError(res, 401, 'invalid_client', 7000215);
      expect(res.headers['www-authenticate']).toContain('Basic');
    });

    it('refuses any other scope with invalid_scope (70011)', async () => {
      const { application, clientSecret } = await app();
      for (const scope of ['User.Read', 'https://graph.microsoft.com/User.Read.All', 'https://evil.example/.default']) {
        expectOAuthError(await post({ grant_type: 'client_credentials', client_id: application.clientId, client_secret: clientSecret!, scope }), 400, 'invalid_scope', 70011);
      }
    });

    it('refuses unknown clients (700016) and public clients', async () => {
      expectOAuthError(
        await post({ grant_type: 'client_credentials', client_id: '00000000-0000-0000-0000-000000000001', client_secret: 'x', scope: 'https://graph.microsoft.com/.default' }),
        400,
        'unauthorized_client',
        700016,
      );
      expectOAuthError(
        await post({ grant_type: 'client_credentials', client_id: GRAPH_CLI, scope: 'https://graph.microsoft.com/.default' }),
        400,
        'unauthorized_client',
        700025,
      );
    });
  });

  describe('refresh_token grant', () => {
    const refresh = (token: string, clientId = GRAPH_CLI) => post({ grant_type: 'refresh_token', client_id: clientId, refresh_token: token });

    it('rotates on every use; reusing an old token revokes the whole family', async () => {
      const user = await newUser();
      const first = await passwordGrant(user.userPrincipalName, PASSWORD, { scope: 'openid offline_access User.Read' });
      expect(first.statusCode).toBe(200);
      const rt1: string = first.json().refresh_token;
      expect(rt1).toMatch(/^[A-Za-z0-9_-]{40,}$/);

      const second = await refresh(rt1);
      expect(second.statusCode).toBe(200);
      const rt2: string = second.json().refresh_token;
      expect(rt2).not.toBe(rt1);
      expect(second.json().id_token).toBeDefined();
      expect((await ctx.services.tokens.verify(second.json<TokenBody>().access_token))!.oid).toBe(user.id);

      const rows = await ctx.services.db.selectFrom('refresh_tokens').selectAll().where('user_id', '=', user.id).execute();
      expect(rows).toHaveLength(2);
      expect(rows.map((r) => r.token_hash)).not.toContain(rt1);

      expectOAuthError(await refresh(rt1), 400, 'invalid_grant', 70008); // replay of a used token
      expectOAuthError(await refresh(rt2), 400, 'invalid_grant', 50173); // the family died with it
    });

    it('binds a refresh token to its client and tenant', async () => {
      const user = await newUser();
      const rt: string = (await passwordGrant(user.userPrincipalName, PASSWORD, { scope: 'offline_access' })).json().refresh_token;
      expectOAuthError(await refresh(rt, '04b07795-8ddb-461a-bbee-02f9e1bf7b46'), 400, 'invalid_grant', 9002313);
      expectOAuthError(await refresh('made-up-token'), 400, 'invalid_grant', 9002313);
      expect((await refresh(rt)).statusCode).toBe(200);
    });

    it('refuses tokens of disabled users and tokens older than a sessions revocation', async () => {
      const a = await newUser();
      const rtA: string = (await passwordGrant(a.userPrincipalName, PASSWORD, { scope: 'offline_access' })).json().refresh_token;
      await updateUser(ctx.services.db, tenantId, a.id, { accountEnabled: false }, ctx.clock.now().toISOString());
      expectOAuthError(await refresh(rtA), 400, 'invalid_grant', 50057);

      const b = await newUser();
      const rtB: string = (await passwordGrant(b.userPrincipalName, PASSWORD, { scope: 'offline_access' })).json().refresh_token;
      ctx.clock.advance(1000);
      await ctx.services.db.updateTable('users').set({ sign_in_sessions_valid_from: ctx.clock.now().toISOString() }).where('id', '=', b.id).execute();
      expectOAuthError(await refresh(rtB), 400, 'invalid_grant', 50173);
    });

    it('refuses an expired refresh token after 90 days', async () => {
      const user = await newUser();
      const rt: string = (await passwordGrant(user.userPrincipalName, PASSWORD, { scope: 'offline_access' })).json().refresh_token;
      ctx.clock.advance(90 * 86_400_000);
      expectOAuthError(await refresh(rt), 400, 'invalid_grant', 70008);
    });
  });

  describe('request errors', () => {
    it('names the missing parameter (900144)', async () => {
      const body = expectOAuthError(await post({ grant_type: 'password', client_id: GRAPH_CLI, username: 'admin@contoso.test', scope: 'openid' }), 400, 'invalid_request', 900144);
      expect(String(body.error_description)).toContain("'password'");
      expect(String(expectOAuthError(await post({}), 400, 'invalid_request', 900144).error_description)).toContain("'grant_type'");
    });

    it('refuses unsupported grants (70003) and unknown tenants (90002)', async () => {
      expectOAuthError(await post({ grant_type: 'authorization_code', client_id: GRAPH_CLI }), 400, 'unsupported_grant_type', 70003);
      expectOAuthError(await post({ grant_type: 'client_credentials' }, { tenant: 'nowhere.test' }), 400, 'invalid_request', 90002);
      expectOAuthError(await post({ grant_type: 'client_credentials' }, { tenant: '00000000-0000-0000-0000-000000000000' }), 400, 'invalid_request', 90002);
    });

    it('refuses JSON bodies and repeated parameters, and answers oversized bodies in the OAuth shape', async () => {
      const json = await ctx.app.inject({
        method: 'POST',
        url: `/${tenantId}/oauth2/v2.0/token`,
        headers: { 'content-type': 'application/json' },
        payload: { grant_type: 'client_credentials' },
      });
      expectOAuthError(json, 400, 'invalid_request', 900144);
      const repeated = await ctx.app.inject({
        method: 'POST',
        url: `/${tenantId}/oauth2/v2.0/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'grant_type=password&grant_type=client_credentials',
      });
      expectOAuthError(repeated, 400, 'invalid_request', 90015);
      const big = await post({ grant_type: 'password', client_id: GRAPH_CLI, username: 'admin@contoso.test', password: 'x'.repeat(100_000), scope: 'openid' });
      expect(big.statusCode).toBe(413);
      expect(big.json().error).toBe('invalid_request');
    });

    it('treats a password longer than any policy allows as wrong without hashing it', async () => {
      const verify = vi.spyOn(ctx.services.hasher, 'verify');
      const res = await passwordGrant('admin@contoso.test', `${ADMIN_PASSWORD}${'x'.repeat(2000)}`);
      expectOAuthError(res, 400, 'invalid_grant', 50126);
      expect(verify).toHaveBeenCalledTimes(1);
      expect(verify.mock.calls[0]?.[1]).toBe('');
    });
  });
});
