import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createUser } from '../../src/domain/users.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

/**
 * src/store/literal-limits.ts: on SQLite a LIMIT / OFFSET is written into the statement, subqueries too (a bound one
 * made SQLite prepare the kept statement afresh on every run); on PostgreSQL it stays a parameter.
 * Either way the rows are the same.
 */
describe.each(testDialects())('LIMIT and OFFSET on %s', (dialect) => {
  let ctx: TestContext;
  let tenantId: string;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    tenantId = ctx.tenant.tenant.id;
    for (const name of ['a-ada', 'b-grace', 'c-edsger', 'd-barbara']) {
      await createUser(ctx.services, systemContext(ctx.services), { tenantId, userPrincipalName: `${name}@contoso.test`, displayName: name, password: 'Umber-Kestrel-Pivot-62' });
    }
  });
  afterAll(async () => ctx.close());

  const page = (limit: number, offset: number) =>
    ctx.services.db.selectFrom('users').select('display_name').where('tenant_id', '=', tenantId).where('display_name', 'like', '_-%').orderBy('display_name').limit(limit).offset(offset);

  it('writes integer limits into the SQL on SQLite only, and binds them on PostgreSQL', () => {
    const compiled = page(2, 1).compile();
    if (dialect === 'sqlite') {
      expect(compiled.sql).toMatch(/ limit 2 offset 1$/);
      expect(compiled.parameters).toEqual([tenantId, '_-%']);
    } else {
      expect(compiled.sql).toMatch(/ limit \$3 offset \$4$/);
      expect(compiled.parameters).toEqual([tenantId, '_-%', 2, 1]);
    }
  });

  it('returns the same rows for every limit and offset, run again and again', async () => {
    for (let round = 0; round < 2; round++) {
      expect((await page(2, 0).execute()).map((r) => r.display_name)).toEqual(['a-ada', 'b-grace']);
      expect((await page(2, 1).execute()).map((r) => r.display_name)).toEqual(['b-grace', 'c-edsger']);
      expect((await page(3, 2).execute()).map((r) => r.display_name)).toEqual(['c-edsger', 'd-barbara']);
      expect((await page(0, 0).execute()).map((r) => r.display_name)).toEqual([]);
    }
  });

  it('writes the limit of a subquery in too (SQLite)', async () => {
    const first = ctx.services.db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('display_name', 'like', '_-%').orderBy('display_name').limit(1);
    const query = ctx.services.db.selectFrom('users').select('display_name').where('id', 'in', first);
    const compiled = query.compile();
    if (dialect === 'sqlite') expect(compiled.sql).toMatch(/ limit 1\)$/);
    expect((await query.execute()).map((r) => r.display_name)).toEqual(['a-ada']);
  });

  it('leaves a limit that is not a plain integer value as it was', async () => {
    const expression = ctx.services.db.selectFrom('users').select('display_name').where('tenant_id', '=', tenantId).orderBy('display_name').limit(sql<number>`cast(${2} as integer) + cast(${1} as integer)`);
    const compiled = expression.compile();
    expect(compiled.parameters).toContain(2);
    expect(compiled.parameters).toContain(1);
    expect(await expression.execute()).toHaveLength(3);
    // a fractional or unsafe value is bound, never written into the SQL text
    const fractional = ctx.services.db.selectFrom('users').select('id').limit(1.5).compile();
    expect(fractional.sql).not.toMatch(/limit 1\.5/);
    expect(fractional.parameters).toContain(1.5);
  });
});
