import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { lockoutPolicyOf } from '../../src/domain/lockout.js';
import { insertRoleAssignment } from '../../src/store/role-assignments.js';
import { findTenantById } from '../../src/store/tenants.js';
import { findUserById } from '../../src/store/users.js';
import { assertPasswordAllowed } from '../../src/domain/password-rules.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const URL = '/api/v1/policies/password';
const PASSWORD = 'Zephyr-Marmot-Quill-47';

const DEFAULTS = {
  profile: 'azure',
  minLength: 8,
  maxLength: 256,
  expiresAfterDays: null,
  notificationWindowDays: 14,
  historyCount: 0,
  customBannedPasswords: [],
  enforceCustomBannedPasswords: false,
  lockoutThreshold: 10,
  lockoutDurationSeconds: 60,
  expiryReminderDays: [14, 7, 3, 1],
};

describe.each(testDialects())('password policy API on %s', (dialect) => {
  let ctx: TestContext;
  let admin: string;
  let n = 0;

  const call = (method: 'GET' | 'PATCH', token: string, payload?: unknown): Promise<LightMyRequestResponse> =>
    ctx.app.inject({ method, url: URL, headers: { authorization: `Bearer ${token}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });

  async function userWithRole(role: string | null): Promise<string> {
    n += 1;
    const user = await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: `policy${n}@contoso.test`,
      displayName: `Policy ${n}`,
      password: PASSWORD,
    });
    if (role) {
      await insertRoleAssignment(ctx.services.db, { id: `ra-policy-${n}`, tenantId: ctx.tenant.tenant.id, principalId: user.id, roleDefinitionId: role, directoryScopeId: '/', createdDateTime: '2026-11-25T12:00:00.000Z' });
    }
    return ctx.userToken(user.userPrincipalName);
  }

  const auditRows = () =>
    ctx.services.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', ctx.tenant.tenant.id).where('activity_display_name', '=', 'Update password policy').orderBy('seq').execute();

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    admin = await ctx.userToken('admin@contoso.test');
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('GET answers the defaults of a new tenant, in the SPEC shape', async () => {
    const res = await call('GET', admin);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual(DEFAULTS);
  });

  it('PATCH merges, answers the whole policy, and audits old and new values of each changed field', async () => {
    const before = (await auditRows()).length;
    const res = await call('PATCH', admin, { expiresAfterDays: 90, historyCount: 3, lockoutThreshold: 5, customBannedPasswords: ['Fabrikam', 'fabrikam', 'Qxvortul'] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ...DEFAULTS, expiresAfterDays: 90, historyCount: 3, lockoutThreshold: 5, customBannedPasswords: ['Fabrikam', 'Qxvortul'] });
    expect((await call('GET', admin)).json()).toMatchObject({ expiresAfterDays: 90, historyCount: 3, profile: 'azure' });

    const rows = await auditRows();
    expect(rows).toHaveLength(before + 1);
    const event = rows.at(-1)!;
    expect(event).toMatchObject({ category: 'Policy', logged_by_service: 'Core Directory', operation_type: 'Update', result: 'success' });
    const [target] = JSON.parse(event.target_resources) as { type: string; modifiedProperties: { displayName: string; oldValue: string; newValue: string }[] }[];
    expect(target!.type).toBe('Policy');
    expect(target!.modifiedProperties).toEqual([
      { displayName: 'expiresAfterDays', oldValue: 'null', newValue: '90' },
      { displayName: 'historyCount', oldValue: '0', newValue: '3' },
      { displayName: 'customBannedPasswords', oldValue: '[]', newValue: '["Fabrikam","Qxvortul"]' },
      { displayName: 'lockoutThreshold', oldValue: '10', newValue: '5' },
    ]);
    expect(JSON.parse(event.initiated_by)).toMatchObject({ user: { userPrincipalName: 'admin@contoso.test' } });

    // the lockout code reads the same keys
    const tenant = await findTenantById(ctx.services.db, ctx.tenant.tenant.id);
    expect(lockoutPolicyOf(tenant!.settings).threshold).toBe(5);
  });

  it('a PATCH that changes nothing records nothing', async () => {
    const before = (await auditRows()).length;
    expect((await call('PATCH', admin, { historyCount: 3 })).statusCode).toBe(200);
    expect((await call('PATCH', admin, {})).statusCode).toBe(200);
    expect(await auditRows()).toHaveLength(before);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['profile', { profile: 'strict' }, 'profile'],
    ['minLength below 8', { minLength: 7 }, 'minLength'],
    ['minLength above 256', { minLength: 257 }, 'minLength'],
    ['minLength not an integer', { minLength: 9.5 }, 'minLength'],
    ['nist without a minimum of 15', { profile: 'nist' }, 'minLength'],
    ['maxLength above 256', { maxLength: 300 }, 'maxLength'],
    ['maxLength below minLength', { minLength: 20, maxLength: 16 }, 'maxLength'],
    ['expiresAfterDays 0', { expiresAfterDays: 0 }, 'expiresAfterDays'],
    ['expiresAfterDays 731', { expiresAfterDays: 731 }, 'expiresAfterDays'],
    ['notificationWindowDays 31', { notificationWindowDays: 31 }, 'notificationWindowDays'],
    ['notificationWindowDays longer than the validity', { expiresAfterDays: 10, notificationWindowDays: 14 }, 'notificationWindowDays'],
    ['historyCount 25', { historyCount: 25 }, 'historyCount'],
    ['a custom term of 3 characters', { customBannedPasswords: ['abc'] }, 'customBannedPasswords'],
    ['a custom term of 17 characters', { customBannedPasswords: ['a'.repeat(17)] }, 'customBannedPasswords'],
    ['1001 custom terms', { customBannedPasswords: Array.from({ length: 1001 }, (_, i) => `term${i}`) }, 'customBannedPasswords'],
    ['enforce not a boolean', { enforceCustomBannedPasswords: 'yes' }, 'enforceCustomBannedPasswords'],
    ['lockoutThreshold 0', { lockoutThreshold: 0 }, 'lockoutThreshold'],
    ['lockoutThreshold 101', { lockoutThreshold: 101 }, 'lockoutThreshold'],
    ['lockoutDurationSeconds 4', { lockoutDurationSeconds: 4 }, 'lockoutDurationSeconds'],
    ['lockoutDurationSeconds 86401', { lockoutDurationSeconds: 86_401 }, 'lockoutDurationSeconds'],
    ['expiryReminderDays ascending', { expiryReminderDays: [1, 3, 7] }, 'expiryReminderDays'],
    ['expiryReminderDays repeated', { expiryReminderDays: [7, 7] }, 'expiryReminderDays'],
    ['expiryReminderDays 31', { expiryReminderDays: [31] }, 'expiryReminderDays'],
  ])('400 naming the field: %s', async (_name, body, field) => {
    const res = await call('PATCH', admin, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('request.invalid');
    expect(res.json().error.message).toContain(`'${field}`);
  });

  it('an unknown property is refused by name', async () => {
    const res = await call('PATCH', admin, { minimumLength: 10 });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('minimumLength');
  });

  it('accepts the nist profile with a minimum of 15', async () => {
    const res = await call('PATCH', admin, { profile: 'nist', minLength: 15 });
    expect(res.json()).toMatchObject({ profile: 'nist', minLength: 15 });
    await call('PATCH', admin, { profile: 'azure', minLength: 8 });
  });

  it('enforcing the custom list needs the premium edition', async () => {
    const basic = await createTenant(ctx.services, systemContext(ctx.services), {
      name: 'Basic Tenant',
      domain: `basic-${dialect}.test`,
      adminUpn: `admin@basic-${dialect}.test`,
      adminPassword: ADMIN_PASSWORD,
      edition: 'basic',
    });
    const token = await ctx.userToken(basic.admin.userPrincipalName);
    const res = await call('PATCH', token, { enforceCustomBannedPasswords: true, customBannedPasswords: ['fabrikam'] });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'policy.premium_required', details: { field: 'enforceCustomBannedPasswords' } });
    expect(res.json().error.message).toContain('premium');
    // … while storing the list alone is fine, and this tenant's policy is its own
    expect((await call('PATCH', token, { customBannedPasswords: ['fabrikam'] })).json().customBannedPasswords).toEqual(['fabrikam']);
    expect((await call('GET', admin)).json().customBannedPasswords).toEqual(['Fabrikam', 'Qxvortul']);
    expect((await call('GET', token)).json().historyCount).toBe(0);
  });

  it('admins only: Security Administrator may, a Helpdesk Administrator and a plain user may not', async () => {
    expect((await call('GET', await userWithRole(ROLE.securityAdministrator))).statusCode).toBe(200);
    for (const token of [await userWithRole(ROLE.helpdeskAdministrator), await userWithRole(null)]) {
      const res = await call('PATCH', token, { historyCount: 1 });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('auth.forbidden');
      expect((await call('GET', token)).statusCode).toBe(403);
    }
    expect((await ctx.app.inject({ method: 'GET', url: URL })).statusCode).toBe(401);
  });

  it('an app needs Policy.ReadWrite.AuthenticationMethod', async () => {
    const allowed = await ctx.appToken(['Policy.ReadWrite.AuthenticationMethod']);
    const res = await call('PATCH', allowed, { lockoutDurationSeconds: 120 });
    expect(res.statusCode).toBe(200);
    expect(res.json().lockoutDurationSeconds).toBe(120);
    expect((await call('GET', await ctx.appToken(['User.ReadWrite.All']))).statusCode).toBe(403);
  });

  it('works with the session cookie and its CSRF token', async () => {
    const signIn = await ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: 'admin@contoso.test', password: ADMIN_PASSWORD } });
    expect(signIn.statusCode).toBe(200);
    const cookies = { postern_session: signIn.cookies.find((c) => c.name === 'postern_session')!.value };
    const csrf = signIn.json().csrfToken as string;
    const without = await ctx.app.inject({ method: 'PATCH', url: URL, cookies, payload: { notificationWindowDays: 10 } });
    expect(without.statusCode).toBe(403);
    const withToken = await ctx.app.inject({ method: 'PATCH', url: URL, cookies, headers: { 'x-csrf-token': csrf }, payload: { notificationWindowDays: 10 } });
    expect(withToken.statusCode).toBe(200);
    expect(withToken.json().notificationWindowDays).toBe(10);
  });

  describe('the policy applies to every path that sets a password', () => {
    const graph = (method: 'POST' | 'PATCH', url: string, payload: unknown) =>
      ctx.app.inject({ method, url, headers: { authorization: `Bearer ${admin}` }, payload: payload as object });

    it('creating a user with a banned password gets 400 with the violation', async () => {
      for (const password of ['P@ssw0rd2024', 'Qwerty-12345']) {
        const res = await graph('POST', '/v1.0/users', {
          accountEnabled: true,
          displayName: 'Banned',
          mailNickname: 'banned',
          userPrincipalName: 'banned@contoso.test',
          passwordProfile: { password },
        });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.innerError.code).toBe('password.policy_violation');
        expect(res.json().error.message).toMatch(/^Unfortunately, your password contains a word/);
      }
      // "Qxvortul97!" passes the global list (1 + 2 + …), but Qxvortul is on the custom list: once
      // enforced (this tenant is premium) it scores 1 + 3 = 4
      const custom = () =>
        graph('POST', '/v1.0/users', {
          accountEnabled: true,
          displayName: 'Custom',
          mailNickname: 'custom',
          userPrincipalName: `custom${(n += 1)}@contoso.test`,
          passwordProfile: { password: 'Qxvortul97!' },
        });
      expect((await custom()).statusCode).toBe(201);
      await call('PATCH', admin, { enforceCustomBannedPasswords: true });
      const refused = await custom();
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.message).toContain('blocked by your administrator');
      await call('PATCH', admin, { enforceCustomBannedPasswords: false });
      // the user's own name is refused too
      const named = await graph('POST', '/v1.0/users', {
        accountEnabled: true,
        displayName: 'Isaiah Langer',
        givenName: 'Isaiah',
        mailNickname: 'isaiah',
        userPrincipalName: 'isaiah@contoso.test',
        passwordProfile: { password: 'Isaiah-Quokka-Vortex-8' },
      });
      expect(named.statusCode).toBe(400);
      expect(named.json().error.message).toContain('your first name');
    });

    it('an admin reset is checked against the policy and recorded in the history', async () => {
      const created = await graph('POST', '/v1.0/users', {
        accountEnabled: true,
        displayName: 'History',
        mailNickname: 'history',
        userPrincipalName: 'history@contoso.test',
        passwordProfile: { password: PASSWORD },
      });
      expect(created.statusCode).toBe(201);
      const id = created.json().id as string;
      const history = () => ctx.services.db.selectFrom('password_history').selectAll().where('user_id', '=', id).orderBy('seq').execute();
      // historyCount is 3 (set above): the initial password is the first entry
      expect(await history()).toHaveLength(1);

      const weak = await graph('PATCH', `/v1.0/users/${id}`, { passwordProfile: { password: 'short' } });
      expect(weak.statusCode).toBe(400);
      expect(weak.json().error.message).toContain('at least 8 characters');

      for (const password of ['Plinth-Quokka-Vortex-8', 'Umber-Kestrel-Pivot-62', 'Tangerine-Quokka-93!']) {
        expect((await graph('PATCH', `/v1.0/users/${id}`, { passwordProfile: { password } })).statusCode).toBe(204);
      }
      const rows = await history();
      expect(rows.map((r) => r.seq)).toEqual([2, 3, 4]); // only the newest 3 are kept
      const user = await ctx.services.db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow();
      expect(rows.at(-1)!.password_hash).toBe(user.password_hash);
      expect(await ctx.services.hasher.verify(rows[0]!.password_hash, 'Plinth-Quokka-Vortex-8')).toBe(true);

      // a change (the self-service path calls the same gate) may reuse neither the current nor a recent one
      const owner = await findUserById(ctx.services.db, ctx.tenant.tenant.id, id);
      const change = (candidate: string) => assertPasswordAllowed(ctx.services, { tenant: ctx.tenant.tenant.id, user: owner, candidate, purpose: 'change' });
      await expect(change('Tangerine-Quokka-93!')).rejects.toMatchObject({ data: { violations: [{ code: 'sameAsCurrent' }] } });
      await expect(change('Plinth-Quokka-Vortex-8')).rejects.toMatchObject({ data: { violations: [{ code: 'recentlyUsed' }] } });
      await expect(change(PASSWORD)).resolves.toMatchObject({ historyCount: 3 }); // pushed out of the last 3
    });
  });
});
