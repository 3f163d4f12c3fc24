import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/domain/users.js';
import { systemContext } from '../../src/domain/tenants.js';
import { findTenantByDomain, findTenantById, listDomains } from '../../src/store/tenants.js';
import { findUserByIdOrUpn, listUsers, updateUser } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

describe.each(testDialects())('user and tenant store on %s', (dialect) => {
  let ctx: TestContext;
  let tenantId: string;
  const names = ['Alice Adams', 'alan Turing', 'Bob 100%', 'Bob_1 under', 'Bobby', 'Zoë Ünicode'];

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    tenantId = ctx.tenant.tenant.id;
    const deps = ctx.services;
    for (const [i, displayName] of names.entries()) {
      await createUser(deps, systemContext(deps), {
        tenantId,
        userPrincipalName: `user${i}@contoso.test`,
        displayName,
        password: 'Umber-Kestrel-Pivot-62',
      });
    }
  });
  afterAll(async () => ctx.close());

  it('finds tenants by id (any case) and by domain (any case)', async () => {
    expect((await findTenantById(ctx.services.db, tenantId.toUpperCase()))?.displayName).toBe('Contoso');
    expect((await findTenantByDomain(ctx.services.db, 'CONTOSO.test'))?.id).toBe(tenantId);
    expect(await findTenantByDomain(ctx.services.db, 'fabrikam.test')).toBeUndefined();
    expect(await listDomains(ctx.services.db, tenantId)).toEqual([{ domain: 'contoso.test', tenantId, isVerified: true, isDefault: true }]);
  });

  it('matches startswith case-insensitively and treats % and _ literally', async () => {
    const starts = async (value: string) =>
      (await listUsers(ctx.services.db, tenantId, { filters: [{ field: 'displayName', op: 'startswith', value }], limit: 50 })).users
        .map((u) => u.displayName)
        .sort();
    expect(await starts('a')).toEqual(['Alice Adams', 'alan Turing']);
    expect(await starts('Bob 100%')).toEqual(['Bob 100%']);
    expect(await starts('Bob_')).toEqual(['Bob_1 under']);
    expect(await starts('bob%')).toEqual([]);
  });

  it('matches eq case-insensitively and on booleans', async () => {
    const eq = await listUsers(ctx.services.db, tenantId, { filters: [{ field: 'userPrincipalName', op: 'eq', value: 'USER2@CONTOSO.TEST' }], limit: 10 });
    expect(eq.users.map((u) => u.displayName)).toEqual(['Bob 100%']);
    const user3 = await findUserByIdOrUpn(ctx.services.db, tenantId, 'user3@contoso.test');
    await updateUser(ctx.services.db, tenantId, user3!.id, { accountEnabled: false }, new Date().toISOString());
    const disabled = await listUsers(ctx.services.db, tenantId, { filters: [{ field: 'accountEnabled', op: 'eq', value: false }], limit: 10 });
    expect(disabled.users.map((u) => u.userPrincipalName)).toEqual(['user3@contoso.test']);
  });

  it('pages by id without gaps or repeats', async () => {
    const seen: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await listUsers(ctx.services.db, tenantId, { filters: [], afterId, limit: 2 });
      seen.push(...page.users.map((u) => u.id));
      if (!page.more) break;
      afterId = page.users.at(-1)!.id;
    }
    expect(seen).toHaveLength(names.length + 1);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(seen);
  });

  it('round-trips every stored property', async () => {
    const user = await findUserByIdOrUpn(ctx.services.db, tenantId, 'USER5@contoso.test');
    expect(user).toMatchObject({
      displayName: 'Zoë Ünicode',
      accountEnabled: true,
      otherMails: [],
      businessPhones: [],
      forceChangePasswordNextSignIn: false,
      passwordSource: 'cloud',
      failedSignInCount: 0,
      lockedUntil: null,
      onPremisesSyncEnabled: null,
    });
    await updateUser(ctx.services.db, tenantId, user!.id, { otherMails: ['z@example.org'], businessPhones: ['+1 425 555 0100'], mobilePhone: '+14255550101' }, user!.updatedDateTime);
    const again = await findUserByIdOrUpn(ctx.services.db, tenantId, user!.id);
    expect(again).toMatchObject({ otherMails: ['z@example.org'], businessPhones: ['+1 425 555 0100'], mobilePhone: '+14255550101' });
  });
});
