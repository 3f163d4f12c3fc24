import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditRetentionScheduler, trimTenantAuditLog } from '../../src/domain/audit-retention.js';
import { listAuditEvents, type AuditEvent } from '../../src/store/audit-events.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const DAY = 86_400_000;

/** Retention (issue 6 item 6): old events go in batches, the chain stays verifiable from its anchor. */
describe.each(testDialects())('audit retention on %s', (dialect) => {
  let ctx: TestContext;
  let tenantId: string;
  let admin: string;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    tenantId = ctx.tenant.tenant.id;
  });
  afterAll(async () => ctx.close());

  const events = (): Promise<AuditEvent[]> => listAuditEvents(ctx.services.db, tenantId, 0, 10_000);
  const addUsers = async (...names: string[]) => {
    const token = await ctx.appToken(['User.ReadWrite.All']);
    for (const name of names) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/v1.0/users',
        headers: { authorization: `Bearer ${token}` },
        payload: { accountEnabled: true, displayName: name, mailNickname: name, userPrincipalName: `${name}@contoso.test`, passwordProfile: { password: 'Plinth-Quokka-Vortex-8' } },
      });
      expect(res.statusCode).toBe(201);
    }
  };
  const verify = async () => {
    const reader = await ctx.appToken(['AuditLog.Read.All']);
    const res = await ctx.app.inject({ method: 'GET', url: '/api/v1/audit/verify', headers: { authorization: `Bearer ${reader}` } });
    expect(res.statusCode).toBe(200);
    return res.json<{ ok: boolean; count: number; start: { seq: number; removedCount: number; removedThrough: string | null }; head: { seq: number } }>();
  };
  const anchor = () => ctx.services.db.selectFrom('audit_anchors').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  const detail = (e: AuditEvent, key: string) => e.additionalDetails.find((d) => d.key === key)?.value;

  it('keeps retentionDays in a policy that is audited with old and new values and refuses values out of range', async () => {
    admin = await ctx.appToken(['Policy.ReadWrite.AuthenticationMethod']);
    const call = (method: 'GET' | 'PATCH', payload?: Record<string, unknown>) =>
      ctx.app.inject({ method, url: '/api/v1/policies/audit', headers: { authorization: `Bearer ${admin}` }, ...(payload ? { payload } : {}) });
    expect((await call('GET')).json()).toEqual({ retentionDays: 365, siemWebhooks: [] });
    for (const bad of [29, 3651, 60.5, '90']) {
      const res = await call('PATCH', { retentionDays: bad });
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain('retentionDays');
    }
    expect((await call('PATCH', { retentionDays: 400 })).json()).toEqual({ retentionDays: 400, siemWebhooks: [] });
    const before = (await events()).length;
    expect((await call('PATCH', { retentionDays: 400 })).statusCode).toBe(200);
    expect((await events()).length).toBe(before); // no change, no event
    expect((await call('PATCH', { retentionDays: 365 })).json()).toMatchObject({ retentionDays: 365 });
    const changes = (await events()).filter((e) => e.activityDisplayName === 'Update audit log policy');
    expect(changes.map((e) => e.targetResources[0]!.modifiedProperties)).toEqual([
      [{ displayName: 'retentionDays', oldValue: '365', newValue: '400' }],
      [{ displayName: 'retentionDays', oldValue: '400', newValue: '365' }],
    ]);
    const reader = await ctx.appToken(['AuditLog.Read.All']);
    expect((await ctx.app.inject({ method: 'PATCH', url: '/api/v1/policies/audit', headers: { authorization: `Bearer ${reader}` }, payload: { retentionDays: 30 } })).statusCode).toBe(403);
  });

  it('removes events older than retention in batches, anchors the chain, records what it removed, and does it once', async () => {
    await addUsers('adele', 'bianca', 'carlos', 'diego', 'emily');
    const old = await events();
    const oldCount = old.length;
    expect(oldCount).toBeGreaterThanOrEqual(12);
    ctx.clock.advance(366 * DAY);
    await addUsers('farah', 'gita');
    const young = (await events()).slice(oldCount);

    const scheduler = createAuditRetentionScheduler(ctx.services, 'node-a', { batchSize: 5 });
    const run = await scheduler.runOnce();
    const batches = Math.ceil(oldCount / 5);
    expect(run).toEqual({ ran: true, removed: oldCount, batches });

    const kept = await events();
    const retention = kept.filter((e) => e.activityDisplayName === 'Audit log retention');
    // exactly the young events survive, followed by one retention event per batch
    expect(kept.map((e) => e.id)).toEqual([...young.map((e) => e.id), ...retention.map((e) => e.id)]);
    expect(retention).toHaveLength(batches);
    expect(retention.map((e) => [detail(e, 'RemovedFromSeq'), detail(e, 'RemovedThroughSeq'), detail(e, 'RemovedCount')])).toEqual(
      Array.from({ length: batches }, (_, i) => [String(i * 5 + 1), String(Math.min(oldCount, i * 5 + 5)), String(Math.min(5, oldCount - i * 5))]),
    );
    expect(detail(retention[0]!, 'OldestRemoved')).toBe(old[0]!.activityDateTime);
    expect(detail(retention[batches - 1]!, 'NewestRemoved')).toBe(old[oldCount - 1]!.activityDateTime);
    expect(retention[0]).toMatchObject({ category: 'DirectoryManagement', operationType: 'Delete', initiatedBy: {} });

    expect(await anchor()).toMatchObject({ seq: oldCount + 1, prev_hash: old[oldCount - 1]!.hash, removed_count: oldCount, removed_through: old[oldCount - 1]!.activityDateTime });
    const v = await verify(); // minting its token adds one event
    expect(v).toMatchObject({ ok: true, count: kept.length + 1, start: { seq: oldCount + 1, removedCount: oldCount } });
    kept.push(...(await events()).slice(kept.length));

    // a second run finds nothing: no removal, no event, same anchor
    const again = await scheduler.runOnce();
    expect(again).toEqual({ ran: true, removed: 0, batches: 0 });
    expect((await events()).map((e) => e.id)).toEqual(kept.map((e) => e.id));
    expect((await events()).filter((e) => e.activityDisplayName === 'Audit log retention')).toHaveLength(batches);
    expect(Number((await anchor())!.removed_count)).toBe(oldCount);
    await scheduler.stop();
  });

  it('removes once when two nodes run at the same time, with or without the lease', async () => {
    ctx.clock.advance(366 * DAY);
    const before = await events();
    const firstSeq = before[0]!.seq;
    const [a, b] = await Promise.all([
      createAuditRetentionScheduler(ctx.services, 'node-a', { batchSize: 4 }).runOnce(),
      createAuditRetentionScheduler(ctx.services, 'node-b', { batchSize: 4 }).runOnce(),
    ]);
    expect([a.ran, b.ran].sort()).toEqual([false, true]);
    // everything is old: the first batch's own record becomes the head, so the second takes the rest
    expect(a.removed + b.removed).toBe(before.length);
    let v = await verify();
    expect(v).toMatchObject({ ok: true, start: { seq: firstSeq + before.length } });
    const removedBefore = Number((await anchor())!.removed_count);

    // past the lease: even racing trims (two nodes, chain lock only) remove each event once
    ctx.clock.advance(366 * DAY);
    const now = await events();
    const [x, y] = await Promise.all([trimTenantAuditLog(ctx.services, tenantId, 365, 3), trimTenantAuditLog(ctx.services, tenantId, 365, 3)]);
    const after = await events();
    const left = new Set(after.map((e) => e.id));
    expect(x.removed + y.removed).toBe(now.filter((e) => !left.has(e.id)).length);
    expect(Number((await anchor())!.removed_count)).toBe(removedBefore + x.removed + y.removed);
    v = await verify();
    expect(v.ok).toBe(true);
    // the chain goes on from its anchor: seqs never restart
    expect(after.map((e) => e.seq)).toEqual(Array.from({ length: after.length }, (_, i) => v.start.seq + i));

    // one batch covering every event keeps the newest: it is the head the retention event links to
    ctx.clock.advance(366 * DAY);
    const last = await events();
    expect(await trimTenantAuditLog(ctx.services, tenantId, 365, 1000)).toEqual({ removed: last.length - 1, batches: 1 });
    expect((await events()).map((e) => e.seq)).toEqual([last[last.length - 1]!.seq, last[last.length - 1]!.seq + 1]);
    expect((await verify()).ok).toBe(true);
  });

  it('names tampering inside the removed range in its retention event, since verify can no longer see it', async () => {
    ctx.clock.advance(366 * DAY);
    await addUsers('hana', 'ines');
    const all = await events();
    const gone = all[all.length - 2]!;
    await ctx.services.db.deleteFrom('audit_events').where('id', '=', gone.id).execute();
    ctx.clock.advance(366 * DAY);
    await addUsers('jonas');
    const r = await trimTenantAuditLog(ctx.services, tenantId, 365, 1000);
    expect(r).toEqual({ removed: all.length - 1, batches: 1 });
    const retention = (await events()).filter((e) => e.activityDisplayName === 'Audit log retention');
    expect(detail(retention[retention.length - 1]!, 'ChainCheck')).toBe(`missing event ${gone.seq}`);
    expect(retention.slice(0, -1).every((e) => detail(e, 'ChainCheck') === 'ok')).toBe(true);
  });
});
