import { CamelCasePlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/domain/users.js';
import { systemContext } from '../../src/domain/tenants.js';
import type { Executor } from '../../src/store/database.js';
import { precompiled } from '../../src/store/precompiled.js';
import { findTokenUser, findUserById, findUserByIdOrUpn, findUserByUpn } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

/** src/store/precompiled.ts: built once per dialect, the right values at the right places, in and out of transactions. */
describe.each(testDialects())('precompiled queries on %s', (dialect) => {
  let ctx: TestContext;
  let tenantId: string;
  const ids: string[] = [];

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    tenantId = ctx.tenant.tenant.id;
    for (const name of ['ada', 'grace', 'edsger']) {
      const user = await createUser(ctx.services, systemContext(ctx.services), { tenantId, userPrincipalName: `${name}@contoso.test`, displayName: name, password: 'Umber-Kestrel-Pivot-62' });
      ids.push(user.id);
    }
  });
  afterAll(async () => ctx.close());

  it('substitutes each argument at its own place, whatever the order of the conditions', async () => {
    // the arguments are given in the opposite order to their places in the SQL
    const byNameAndTenant = precompiled((db: Executor, displayName: string, tenant: string) =>
      db.selectFrom('users').select(['display_name', 'tenant_id']).where('tenant_id', '=', tenant).where('display_name', '=', displayName).where('account_enabled', '=', 1),
    );
    for (const name of ['grace', 'ada', 'edsger', 'grace']) {
      expect(await byNameAndTenant(ctx.services.db, name, tenantId)).toEqual([{ display_name: name, tenant_id: tenantId }]);
    }
    expect(await byNameAndTenant(ctx.services.db, 'grace', 'another-tenant')).toEqual([]);
  });

  it('runs inside a transaction and sees its uncommitted rows', async () => {
    const nameOf = precompiled((db: Executor, id: string) => db.selectFrom('users').select('display_name').where('id', '=', id));
    const id = ids[1]!;
    await ctx.services.db
      .transaction()
      .execute(async (trx) => {
        await trx.updateTable('users').set({ display_name: 'renamed in a transaction' }).where('id', '=', id).execute();
        expect(await nameOf(trx, id)).toEqual([{ display_name: 'renamed in a transaction' }]);
        throw new Error('roll back');
      })
      .catch((err: unknown) => {
        if ((err as Error).message !== 'roll back') throw err;
      });
    expect(await nameOf(ctx.services.db, id)).toEqual([{ display_name: 'grace' }]);
  });

  it("never reads another flow's uncommitted rows from outside its transaction", async () => {
    const nameOf = precompiled((db: Executor, id: string) => db.selectFrom('users').select('display_name').where('id', '=', id));
    const id = ids[2]!;
    let outside: Promise<unknown> | undefined;
    await ctx.services.db
      .transaction()
      .execute(async (trx) => {
        await trx.updateTable('users').set({ display_name: 'uncommitted' }).where('id', '=', id).execute();
        // a read on the root handle while the transaction is open: SQLite's one connection must wait
        // for the transaction to end, PostgreSQL's pool reads on another connection
        outside = nameOf(ctx.services.db, id);
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('roll back');
      })
      .catch((err: unknown) => {
        if ((err as Error).message !== 'roll back') throw err;
      });
    expect(await outside).toEqual([{ display_name: 'edsger' }]);
  });

  it("applies a plugin's result transformation, as Kysely's executeQuery does", async () => {
    const nameOf = precompiled((db: Executor, id: string) => db.selectFrom('users').select('display_name').where('id', '=', id));
    expect(await nameOf(ctx.services.db, ids[0]!)).toEqual([{ display_name: 'ada' }]);
    expect(await nameOf(ctx.services.db.withPlugin(new CamelCasePlugin()), ids[0]!)).toEqual([{ displayName: 'ada' }]);
  });

  it('refuses a query that does not use an argument exactly once as a value', async () => {
    const unused = precompiled((db: Executor, _tenant: string) => db.selectFrom('users').select('id'));
    await expect(unused(ctx.services.db, tenantId)).rejects.toThrow(/argument 0 must appear exactly once/);
    const twice = precompiled((db: Executor, tenant: string) => db.selectFrom('users').select('id').where('tenant_id', '=', tenant).where('id', '=', tenant));
    await expect(twice(ctx.services.db, tenantId)).rejects.toThrow(/argument 0 must appear exactly once/);
  });

  it('the user lookups built on it find by id, UPN and either, in any case', async () => {
    const [ada] = ids;
    expect((await findUserById(ctx.services.db, tenantId, ada!.toUpperCase()))?.userPrincipalName).toBe('ada@contoso.test');
    expect((await findUserByUpn(ctx.services.db, 'GRACE@contoso.test'))?.displayName).toBe('grace');
    expect((await findUserByIdOrUpn(ctx.services.db, tenantId, 'Edsger@Contoso.test'))?.displayName).toBe('edsger');
    expect((await findUserByIdOrUpn(ctx.services.db, tenantId, ada!))?.displayName).toBe('ada');
    expect(await findUserById(ctx.services.db, 'another-tenant', ada!)).toBeUndefined();
    expect(await findUserByUpn(ctx.services.db, 'nobody@contoso.test')).toBeUndefined();
    expect(await findTokenUser(ctx.services.db, tenantId, ada!.toUpperCase())).toEqual({ id: ada, userPrincipalName: 'ada@contoso.test', displayName: 'ada', accountEnabled: true, signInSessionsValidFrom: expect.any(String) as string });
    expect(await findTokenUser(ctx.services.db, 'another-tenant', ada!)).toBeUndefined();
  });
});
