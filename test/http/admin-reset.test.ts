import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { createApp } from '../../src/http/app.js';
import { insertRoleAssignment } from '../../src/store/role-assignments.js';
import { findUserById, findUserByUpn } from '../../src/store/users.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const BASE = 'http://localhost:8080';
const PW_ID = '28c10230-6103-485e-b985-444c60001490';
const ORIGINAL = 'Orig1nal-Kestrel-42';
const GIVEN = 'Tangerine-Quokka-93!';
const NEXT = 'N3w-Harbour-Lantern';
const BUILT_IN_CLIENT = '14d82eec-204b-4c2f-b7e8-296a70dab67e';

describe.each(testDialects())('administrator password reset on %s', (dialect) => {
  let ctx: TestContext;
  let app: FastifyInstance;
  const logLines: string[] = [];
  let admin: string;
  let n = 0;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    // every request of this suite goes through an app that logs at info into logLines
    app = await createApp(ctx.services, { logLevel: 'info', logStream: { write: (line: string) => logLines.push(line) } });
    await app.ready();
    admin = await ctx.userToken('admin@contoso.test');
  });
  afterAll(async () => {
    await app.close();
    await ctx.close();
  });

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token?: string, payload?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    app.inject({
      method,
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
  const reset = (key: string, token = admin, body: unknown = {}, collection = 'methods') => call('POST', `/v1.0/users/${key}/authentication/${collection}/${PW_ID}/resetPassword`, token, body);
  const poll = (location: string, token = admin) => call('GET', location.slice(BASE.length), token);

  async function newUser(extra: Record<string, unknown> = {}) {
    n += 1;
    return createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: `user${n}@contoso.test`,
      displayName: `User ${n}`,
      password: ORIGINAL,
      mail: `user${n}@mail.contoso.test`,
      ...extra,
    });
  }
  const hashOf = async (id: string) => (await findUserById(ctx.services.db, ctx.tenant.tenant.id, id))!.passwordHash!;
  const auditOf = async (activity: string, targetId: string) =>
    (await ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', '=', activity).orderBy('seq').execute()).filter((r) => r.target_resources.includes(targetId));
  const noticesTo = async (address: string) => ctx.services.db.selectFrom('outbox').selectAll().where('recipient', '=', address).where('template', '=', 'password-reset-by-admin').execute();
  const setSspr = async (sspr: Record<string, unknown>) => {
    const row = await ctx.services.db.selectFrom('tenants').select('settings').where('id', '=', ctx.tenant.tenant.id).executeTakeFirstOrThrow();
    const settings = JSON.parse(row.settings) as { sspr?: Record<string, unknown> };
    await ctx.services.db
      .updateTable('tenants')
      .set({ settings: JSON.stringify({ ...settings, sspr: { ...settings.sspr, ...sspr } }) })
      .where('id', '=', ctx.tenant.tenant.id)
      .execute();
  };
  const passwordGrant = (upn: string, password: string) =>
    app.inject({
      method: 'POST',
      url: '/contoso.test/oauth2/v2.0/token',
      payload: new URLSearchParams({ grant_type: 'password', client_id: BUILT_IN_CLIENT, username: upn, password, scope: 'https://graph.microsoft.com/.default' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  const webSignIn = (upn: string, password: string) => app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password } });

  it('202 with a Location from PUBLIC_URL, polled to succeeded; the generated password must be changed at sign-in and appears nowhere else', async () => {
    const user = await newUser();
    const token = await ctx.userToken(user.userPrincipalName);
    const web = await webSignIn(user.userPrincipalName, ORIGINAL);
    const cookie = web.cookies.find((c) => c.name === 'postern_session')!;
    expect(cookie).toBeDefined();
    ctx.clock.advance(5_000);

    const res = await call('POST', `/v1.0/users/${user.userPrincipalName}/authentication/methods/${PW_ID}/resetPassword`, admin, {}, { host: 'evil.example', 'x-forwarded-host': 'evil.example' });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.headers['cache-control']).toBe('no-store');
    const location = String(res.headers.location);
    expect(location).toMatch(new RegExp(`^${BASE}/v1\\.0/users/${user.id}/authentication/operations/[0-9a-f-]{36}$`));
    const body = res.json<{ '@odata.context': string; newPassword: string }>();
    expect(body['@odata.context']).toBe(`${BASE}/v1.0/$metadata#microsoft.graph.passwordResetResponse`);
    const generated = body.newPassword;
    expect(generated).toMatch(/^\S{16,}$/);

    const op = await poll(location);
    expect(op.statusCode, op.body).toBe(200);
    expect(op.json()).toMatchObject({ id: location.split('/').at(-1), status: 'succeeded', statusDetail: null, resourceLocation: `${BASE}/v1.0/users/${user.id}/authentication/passwordMethods/${PW_ID}` });
    expect(op.json().createdDateTime).toBe(ctx.clock.now().toISOString());

    // the target's sessions and tokens issued before the reset are dead
    expect((await call('GET', '/v1.0/me', token)).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/v1/session', cookies: { postern_session: cookie.value } })).statusCode).toBe(401);

    // the generated password signs in only as far as "change required"
    expect((await passwordGrant(user.userPrincipalName, ORIGINAL)).statusCode).toBe(400);
    expect((await passwordGrant(user.userPrincipalName, generated)).json()).toMatchObject({ error: 'invalid_grant', error_codes: [50055] });
    expect((await webSignIn(user.userPrincipalName, generated)).json().error.details.changeRequired).toBe(true);
    const changed = await app.inject({ method: 'POST', url: '/api/v1/session/password', payload: { userPrincipalName: user.userPrincipalName, currentPassword: generated, newPassword: NEXT } });
    expect(changed.statusCode, changed.body).toBe(200);
    expect((await passwordGrant(user.userPrincipalName, NEXT)).statusCode).toBe(200);

    // audited with Azure's names, actor and target, and never the password
    const [byAdmin] = await auditOf('Reset password (by admin)', user.id);
    expect(byAdmin).toMatchObject({ logged_by_service: 'Self-service Password Management', result: 'success', result_reason: '' });
    expect(JSON.parse(byAdmin!.initiated_by).user.id).toBe(ctx.tenant.admin.id);
    expect(JSON.parse(byAdmin!.target_resources)[0]).toMatchObject({ id: user.id, type: 'User' });
    expect(JSON.parse(byAdmin!.additional_details)).toEqual([{ key: 'OnPremisesAgent', value: 'None' }]);
    expect(await auditOf('Reset user password', user.id)).toHaveLength(1);

    const everywhere = [
      op.body,
      JSON.stringify(await ctx.services.db.selectFrom('audit_events').selectAll().execute()),
      JSON.stringify(await ctx.services.db.selectFrom('outbox').selectAll().execute()),
      JSON.stringify(await ctx.services.db.selectFrom('authentication_operations').selectAll().execute()),
      logLines.join(''),
    ];
    expect(logLines.join('')).toContain('resetPassword');
    for (const text of everywhere) expect(text).not.toContain(generated);
    const [notice] = await noticesTo(user.mail!);
    expect(notice).toBeDefined();
    expect(notice!.secret_data).toBeNull();
    expect(JSON.parse(notice!.data)).toEqual({ displayName: user.displayName, userPrincipalName: user.userPrincipalName, resetAt: expect.any(String), mustChange: true });
  });

  it('sets a given password under passwordMethods/, forcing a change; answers newPassword null', async () => {
    const user = await newUser();
    const res = await reset(user.id, admin, { newPassword: GIVEN }, 'passwordMethods');
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().newPassword).toBeNull();
    expect((await poll(String(res.headers.location))).json().status).toBe('succeeded');
    const after = await findUserById(ctx.services.db, ctx.tenant.tenant.id, user.id);
    expect(await ctx.services.hasher.verify(after!.passwordHash!, GIVEN)).toBe(true);
    expect(after!.forceChangePasswordNextSignIn).toBe(true);
    expect((await passwordGrant(user.userPrincipalName, GIVEN)).json().error_codes).toEqual([50055]);
    const listed = await call('GET', `/v1.0/users/${user.id}/authentication/passwordMethods`, admin);
    expect(listed.json().value).toEqual([{ '@odata.type': '#microsoft.graph.passwordAuthenticationMethod', id: PW_ID, password: null, createdDateTime: after!.lastPasswordChangeDateTime }]);
    expect((await call('GET', `/v1.0/users/${user.id}/authentication/passwordMethods/${PW_ID}`, admin)).json().password).toBeNull();
  });

  it('refuses a banned password with 400 and the rule, audits the failure, changes nothing', async () => {
    const user = await newUser();
    const before = await hashOf(user.id);
    const res = await reset(user.id, admin, { newPassword: 'Password123!' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.innerError.code).toBe('password.policy_violation');
    expect(res.json().error.details).toEqual([expect.objectContaining({ code: 'bannedPassword', target: 'password' })]);
    expect(await hashOf(user.id)).toBe(before);
    expect(await auditOf('Reset user password', user.id)).toHaveLength(0);
    const [failed] = await auditOf('Reset password (by admin)', user.id);
    expect(failed).toMatchObject({ result: 'failure', result_reason: 'FuzzyPolicyViolationInvalidPassword' });
    expect(await ctx.services.db.selectFrom('authentication_operations').select('id').where('user_id', '=', user.id).execute()).toHaveLength(0);
    expect((await ctx.services.db.selectFrom('outbox').select('id').where('recipient', '=', user.mail!).execute())).toHaveLength(0);
  });

  it('answers 404 for an unknown user, a deleted user and another tenant\'s user; 404 for another method id', async () => {
    const fabrikam = await createTenant(ctx.services, systemContext(ctx.services), { name: 'Fabrikam', domain: 'fabrikam.test', adminUpn: 'admin@fabrikam.test', adminPassword: ADMIN_PASSWORD });
    const foreign = await ctx.userToken('admin@fabrikam.test');
    const user = await newUser();
    const before = await hashOf(user.id);
    for (const key of [user.id, user.userPrincipalName]) {
      const res = await reset(key, foreign, { newPassword: GIVEN });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('Request_ResourceNotFound');
    }
    expect(await hashOf(user.id)).toBe(before);
    expect((await reset('00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    expect((await reset('nobody@contoso.test')).statusCode).toBe(404);
    expect((await call('DELETE', `/v1.0/users/${user.id}`, admin)).statusCode).toBe(204);
    expect((await reset(user.id)).statusCode).toBe(404);
    const other = await newUser();
    const wrongMethod = await call('POST', `/v1.0/users/${other.id}/authentication/methods/3179e48a-750b-4051-897c-87b9720928f7/resetPassword`, admin, {});
    expect(wrongMethod.statusCode).toBe(404);
    expect(fabrikam.tenant.id).not.toBe(ctx.tenant.tenant.id);
  });

  it('refuses the caller as target (403, both paths), a caller without a reset role, and a role the table forbids', async () => {
    for (const url of [`/v1.0/users/${ctx.tenant.admin.id}/authentication/methods/${PW_ID}/resetPassword`, `/v1.0/me/authentication/methods/${PW_ID}/resetPassword`]) {
      const res = await call('POST', url, admin, {});
      expect(res.statusCode, url).toBe(403);
      expect(res.json().error.message).toContain('your own password');
    }
    const plain = await newUser();
    const target = await newUser();
    const plainToken = await ctx.userToken(plain.userPrincipalName);
    expect((await reset(target.id, plainToken)).statusCode).toBe(403);
    await insertRoleAssignment(ctx.services.db, { id: `ra-helpdesk-${n}`, tenantId: ctx.tenant.tenant.id, principalId: plain.id, roleDefinitionId: ROLE.helpdeskAdministrator, directoryScopeId: '/', createdDateTime: '2026-11-25T12:00:00.000Z' });
    const helpdesk = await ctx.userToken(plain.userPrincipalName);
    const overAdmin = await reset(ctx.tenant.admin.id, helpdesk);
    expect(overAdmin.statusCode).toBe(403);
    expect(overAdmin.json().error.message).toContain('who can reset passwords');
    const allowed = await reset(target.id, helpdesk);
    expect(allowed.statusCode).toBe(202);
    // the operation of one user is not found under another, nor from another tenant's token
    const opId = String(allowed.headers.location).split('/').at(-1);
    expect((await call('GET', `/v1.0/users/${plain.id}/authentication/operations/${opId}`, admin)).statusCode).toBe(404);
    expect((await call('GET', `/v1.0/users/${target.id}/authentication/operations/${opId}`, await ctx.userToken('admin@fabrikam.test'))).statusCode).toBe(404);
    // roles are re-read per request: a user without a reset role cannot poll it either
    const nobody = await newUser();
    expect((await call('GET', `/v1.0/users/${target.id}/authentication/operations/${opId}`, await ctx.userToken(nobody.userPrincipalName))).statusCode).toBe(403);
    expect((await call('GET', `/v1.0/users/${target.id}/authentication/operations/${opId}`, helpdesk)).json().status).toBe('succeeded');
  });

  it('lets an app with UserAuthenticationMethod.ReadWrite.All reset; rejects extra fields', async () => {
    const user = await newUser();
    const appToken = await ctx.appToken(['UserAuthenticationMethod.ReadWrite.All']);
    expect((await reset(user.id, appToken, { newPassword: GIVEN, forceChange: false })).statusCode).toBe(400);
    const res = await reset(user.id, appToken);
    expect(res.statusCode).toBe(202);
    expect(typeof res.json().newPassword).toBe('string');
  });

  it('on-premises users: a password is required, writeback off is refused, writeback on fails the operation; nothing changes', async () => {
    const user = await newUser();
    await ctx.services.db.updateTable('users').set({ on_premises_sync_enabled: 1 }).where('id', '=', user.id).execute();
    const before = await hashOf(user.id);

    const noPassword = await reset(user.id);
    expect(noPassword.statusCode).toBe(400);
    expect(noPassword.json().error.innerError.code).toBe('password.onprem_password_required');

    const off = await reset(user.id, admin, { newPassword: GIVEN });
    expect(off.statusCode).toBe(409);
    expect(off.json().error.innerError.code).toBe('password.onprem_writeback_off');

    await setSspr({ writebackEnabled: true });
    try {
      const on = await reset(user.id, admin, { newPassword: GIVEN });
      expect(on.statusCode).toBe(202);
      expect(on.json().newPassword).toBeNull();
      const op = await poll(String(on.headers.location));
      expect(op.json()).toMatchObject({ status: 'failed' });
      expect(op.json().statusDetail).toContain('SSPR_0030');
      expect(op.body).not.toContain(GIVEN);
      const failures = await auditOf('Reset password (by admin)', user.id);
      expect(failures.map((e) => [e.result, e.result_reason])).toEqual([
        ['failure', 'PasswordWritebackNotEnabled'],
        ['failure', 'OnPremisesConnectivityFailure'],
      ]);
      expect(JSON.parse(failures[1]!.additional_details)).toEqual([{ key: 'OnPremisesAgent', value: 'Postern writeback agent' }]);
      // the PATCH path follows the same rules
      expect((await call('PATCH', `/v1.0/users/${user.id}`, admin, { passwordProfile: { password: GIVEN } })).statusCode).toBe(503);
    } finally {
      await setSspr({ writebackEnabled: false });
    }
    expect(await hashOf(user.id)).toBe(before);
    expect(await auditOf('Reset user password', user.id)).toHaveLength(0);
  });

  it('mails the user only when notifyUserOnReset is on, also for PATCH, whose given password follows its flag', async () => {
    const quiet = await newUser();
    await setSspr({ notifyUserOnReset: false });
    try {
      expect((await reset(quiet.id)).statusCode).toBe(202);
      expect(await noticesTo(quiet.mail!)).toHaveLength(0);
    } finally {
      await setSspr({ notifyUserOnReset: true });
    }
    const told = await newUser();
    const patched = await call('PATCH', `/v1.0/users/${told.id}`, admin, { passwordProfile: { password: GIVEN, forceChangePasswordNextSignIn: false } });
    expect(patched.statusCode).toBe(204);
    const notices = await noticesTo(told.mail!);
    expect(notices).toHaveLength(1);
    expect(JSON.parse(notices[0]!.data).mustChange).toBe(false);
    expect(notices[0]!.data).not.toContain(GIVEN);
    expect((await findUserByUpn(ctx.services.db, told.userPrincipalName))!.forceChangePasswordNextSignIn).toBe(false);
    expect(await auditOf('Reset password (by admin)', told.id)).toHaveLength(1);
  });
});
