import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { USER_SELECTABLE } from '../../src/http/graph-views.js';
import { findGraphUser, listGraphUsers } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

/**
 * The Graph user routes read only the columns of what Graph may show (src/store/users.ts, GraphUser):
 * their answers must be exactly what the full user row gives. `GET /v1.0/me` still reads the full
 * row, so it is the reference for every selectable property.
 */
describe.each(testDialects())('Graph user reads from the narrow columns on %s', (dialect) => {
  let ctx: TestContext;
  let token: string;
  let id: string;
  const everything = USER_SELECTABLE.join(',');

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    const user = await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: 'Lidia.Holloway@contoso.test',
      displayName: 'Lidia Holloway',
      password: 'Harbour-Quince-Tundra-47',
      givenName: 'Lidia',
      surname: 'Holloway',
      mail: 'lidia@contoso.test',
      otherMails: ['lidia@fabrikam.test'],
      mobilePhone: '+1 425 555 0100',
      businessPhones: ['+1 425 555 0109', '+1 425 555 0110'],
      jobTitle: 'Product Manager',
      passwordPolicies: 'DisablePasswordExpiration',
      onPremisesImmutableId: 'bGlkaWE=',
      forceChangePasswordNextSignInWithMfa: true,
    });
    id = user.id;
    token = await ctx.userToken('lidia.holloway@contoso.test');
  });
  afterAll(async () => ctx?.close());

  const get = async (url: string) => {
    const res = await ctx.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode, url).toBe(200);
    return res.json<Record<string, unknown>>();
  };
  const withoutContext = ({ '@odata.context': _, ...rest }: Record<string, unknown>) => rest;

  it('answers every selectable property as the full row does (by id, by UPN, and in a list)', async () => {
    const reference = withoutContext(await get(`/v1.0/me?$select=${everything}`));
    expect(reference).toMatchObject({ id, otherMails: ['lidia@fabrikam.test'], passwordPolicies: 'DisablePasswordExpiration', onPremisesImmutableId: 'bGlkaWE=' });
    expect(reference['passwordProfile']).toEqual({ password: null, forceChangePasswordNextSignIn: false, forceChangePasswordNextSignInWithMfa: true });
    expect(reference['lastPasswordChangeDateTime']).toBe('2026-11-25T12:00:00.000Z');
    expect(withoutContext(await get(`/v1.0/users/${id}?$select=${everything}`))).toEqual(reference);
    expect(withoutContext(await get(`/v1.0/users/LIDIA.holloway@contoso.test?$select=${everything}`))).toEqual(reference);
    const list = await get(`/v1.0/users?$filter=${encodeURIComponent(`id eq '${id}'`)}&$select=${everything}`);
    expect(list['value']).toEqual([reference]);
  });

  it('answers the default properties as the full row does (by id, by UPN, and in a list)', async () => {
    const reference = withoutContext(await get('/v1.0/me'));
    expect(reference).toEqual({
      id,
      userPrincipalName: 'Lidia.Holloway@contoso.test',
      displayName: 'Lidia Holloway',
      givenName: 'Lidia',
      surname: 'Holloway',
      mail: 'lidia@contoso.test',
      mobilePhone: '+1 425 555 0100',
      businessPhones: ['+1 425 555 0109', '+1 425 555 0110'],
      jobTitle: 'Product Manager',
      officeLocation: null,
      preferredLanguage: null,
    });
    expect(withoutContext(await get(`/v1.0/users/${id}`))).toEqual(reference);
    expect(withoutContext(await get('/v1.0/users/lidia.holloway@CONTOSO.test'))).toEqual(reference);
    const list = await get(`/v1.0/users?$filter=${encodeURIComponent("startswith(displayName,'Lidia')")}`);
    expect(list['value']).toEqual([reference]);
  });

  it('never reads the password hash, lockout state or session bounds for Graph', async () => {
    const visible = [
      'id',
      'userPrincipalName',
      'displayName',
      'givenName',
      'surname',
      'mail',
      'mobilePhone',
      'businessPhones',
      'jobTitle',
      'otherMails',
      'accountEnabled',
      'passwordPolicies',
      'forceChangePasswordNextSignIn',
      'forceChangePasswordNextSignInWithMfa',
      'lastPasswordChangeDateTime',
      'onPremisesSyncEnabled',
      'onPremisesImmutableId',
      'createdDateTime',
    ];
    const tenantId = ctx.tenant.tenant.id;
    const all = await findGraphUser(ctx.services.db, tenantId, id, 'all');
    expect(Object.keys(all!).sort()).toEqual([...visible].sort());
    const defaults = await findGraphUser(ctx.services.db, tenantId, 'lidia.holloway@contoso.test', 'defaults');
    expect(Object.keys(defaults!).sort()).toEqual(visible.slice(0, 9).sort());
    const page = await listGraphUsers(ctx.services.db, tenantId, { filters: [], limit: 10 }, 'all');
    for (const u of page.users) expect(Object.keys(u).sort()).toEqual([...visible].sort());
    expect(JSON.stringify(page)).not.toContain('argon2');
    // a key with a NUL (refused by PostgreSQL in a text parameter) is simply not found
    expect(await findGraphUser(ctx.services.db, tenantId, `${id}\u0000`, 'defaults')).toBeUndefined();
  });

  it('answers an unknown or over-long key with Graph\'s not-found error', async () => {
    for (const key of ['00000000-0000-0000-0000-000000000000', 'nobody@contoso.test', `${'a'.repeat(250)}@contoso.test`]) {
      const res = await ctx.app.inject({ method: 'GET', url: `/v1.0/users/${key}`, headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode, key).toBe(404);
      expect(res.json().error.code).toBe('Request_ResourceNotFound');
    }
  });
});
