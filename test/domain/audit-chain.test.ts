import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashAuditEvent } from '../../src/domain/audit.js';
import { verifyAuditChain } from '../../src/domain/audit-verify.js';
import { createGroup } from '../../src/domain/groups.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { listAuditEvents } from '../../src/store/audit-events.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

describe.each(testDialects())('audit hash chain verification on %s', (dialect) => {
  let ctx: TestContext;
  let tenantId: string;

  beforeEach(async () => {
    // createTenant already wrote "Add tenant", "Add user" and "Add member to role"
    ctx = await createTestContext(dialect);
    tenantId = ctx.tenant.tenant.id;
    const deps = ctx.services;
    const sys = systemContext(deps);
    await createUser(deps, sys, { tenantId, userPrincipalName: 'alice@contoso.test', displayName: 'Alice', password: 'Umber-Kestrel-Pivot-62' });
    await createGroup(deps, sys, { tenantId, displayName: 'Team', mailEnabled: false, mailNickname: 'team', securityEnabled: true });
    await createUser(deps, sys, { tenantId, userPrincipalName: 'bob@contoso.test', displayName: 'Bob', password: 'Umber-Kestrel-Pivot-62' });
  });
  afterEach(async () => ctx.close());

  const rawDb = () => ctx.services.db;

  it('verifies an intact chain and reports its head', async () => {
    const result = await verifyAuditChain(ctx.services.db, tenantId);
    const events = await listAuditEvents(ctx.services.db, tenantId);
    expect(events.length).toBe(6);
    expect(result).toEqual({ ok: true, count: 6, head: { seq: 6, id: events[5]!.id, hash: events[5]!.hash } });
    expect(events[0]!.activityDisplayName).toBe('Add tenant');
  });

  it('names the first altered event when a field is edited in the database', async () => {
    const third = (await listAuditEvents(ctx.services.db, tenantId))[2]!;
    await rawDb().updateTable('audit_events').set({ result_reason: 'nothing to see here' }).where('tenant_id', '=', tenantId).where('seq', '=', 3).execute();
    const result = await verifyAuditChain(ctx.services.db, tenantId);
    expect(result).toMatchObject({ ok: false, count: 2, firstBad: { seq: 3, id: third.id, problem: 'altered' } });
  });

  it('catches an edit of the JSON columns too (targets)', async () => {
    const row = await rawDb().selectFrom('audit_events').select('target_resources').where('tenant_id', '=', tenantId).where('seq', '=', 5).executeTakeFirstOrThrow();
    await rawDb()
      .updateTable('audit_events')
      .set({ target_resources: row.target_resources.replace('Team', 'Tean') })
      .where('tenant_id', '=', tenantId)
      .where('seq', '=', 5)
      .execute();
    expect(await verifyAuditChain(ctx.services.db, tenantId)).toMatchObject({ ok: false, firstBad: { seq: 5, problem: 'altered' } });
  });

  it('names the missing position when a middle event is deleted', async () => {
    await rawDb().deleteFrom('audit_events').where('tenant_id', '=', tenantId).where('seq', '=', 4).execute();
    const result = await verifyAuditChain(ctx.services.db, tenantId);
    expect(result).toMatchObject({ ok: false, count: 3, firstBad: { seq: 4, id: null, problem: 'missing' } });
    if (!result.ok) expect(result.firstBad.detail).toContain('jumps from 3 to 5');
  });

  it('reports a broken link when a forger rewrites a row and recomputes its own hash', async () => {
    const events = await listAuditEvents(ctx.services.db, tenantId);
    const victim = events[3]!;
    const { hash: _old, ...body } = victim;
    const forged = { ...body, prevHash: 'f'.repeat(64), resultReason: 'forged' };
    await rawDb()
      .updateTable('audit_events')
      .set({ prev_hash: forged.prevHash, result_reason: forged.resultReason, hash: hashAuditEvent(forged) })
      .where('id', '=', victim.id)
      .execute();
    expect(await verifyAuditChain(ctx.services.db, tenantId)).toMatchObject({ ok: false, count: 3, firstBad: { seq: 4, id: victim.id, problem: 'broken-link' } });
  });

  it('is per tenant: tampering with one tenant leaves the other verifiable; an empty tenant is ok', async () => {
    const other = await createTenant(ctx.services, systemContext(ctx.services), {
      name: 'Fabrikam',
      domain: 'fabrikam.test',
      adminUpn: 'admin@fabrikam.test',
      adminPassword: ADMIN_PASSWORD,
    });
    await rawDb().updateTable('audit_events').set({ result_reason: 'x' }).where('tenant_id', '=', tenantId).where('seq', '=', 1).execute();
    expect((await verifyAuditChain(ctx.services.db, tenantId)).ok).toBe(false);
    expect(await verifyAuditChain(ctx.services.db, other.tenant.id)).toMatchObject({ ok: true, count: 3 });
    expect(await verifyAuditChain(ctx.services.db, '00000000-0000-4000-8000-000000000000')).toEqual({ ok: true, count: 0, head: null });
  });

  it('keeps one unbroken chain under 20 concurrent group creations', async () => {
    const token = await ctx.appToken(['Group.ReadWrite.All']);
    const before = (await verifyAuditChain(ctx.services.db, tenantId)) as { count: number };
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ctx.app.inject({
          method: 'POST',
          url: '/v1.0/groups',
          headers: { authorization: `Bearer ${token}` },
          payload: { displayName: `Concurrent ${i}`, mailEnabled: false, mailNickname: `concurrent${i}`, securityEnabled: true },
        }),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array.from({ length: 20 }, () => 201));
    const result = await verifyAuditChain(ctx.services.db, tenantId);
    expect(result).toMatchObject({ ok: true, count: before.count + 20 });
    const events = await listAuditEvents(ctx.services.db, tenantId);
    expect(events.filter((e) => e.activityDisplayName === 'Add group')).toHaveLength(21);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
  });

  it('pages through chains longer than one read page', async () => {
    const deps = ctx.services;
    const sys = systemContext(deps);
    for (let i = 0; i < 1005; i += 1) {
      await createGroup(deps, sys, { tenantId, displayName: `Bulk ${i}`, mailEnabled: false, mailNickname: `bulk${i}`, securityEnabled: true });
    }
    expect(await verifyAuditChain(ctx.services.db, tenantId)).toMatchObject({ ok: true, count: 1011 });
    await rawDb().deleteFrom('audit_events').where('tenant_id', '=', tenantId).where('seq', '=', 1001).execute();
    expect(await verifyAuditChain(ctx.services.db, tenantId)).toMatchObject({ ok: false, count: 1000, firstBad: { seq: 1001, problem: 'missing' } });
  }, 60_000);
});
