import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashAuditEvent } from '../../src/domain/audit.js';
import { parseODataFilter } from '../../src/http/odata-filter.js';
import { DIRECTORY_AUDIT_FILTER } from '../../src/http/routes/graph/audit-logs.js';
import { deleteAuditEventsUpTo, type AuditEvent } from '../../src/store/audit-events.js';
import { queryDirectoryAudits } from '../../src/store/audit-query.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { createTestDatabase, testDialects, type TestDatabase } from '../helpers/context.js';

/** Events written before migration 2026_11_26_0300_audit_query, in the columns that existed then. */
function oldEvent(seq: number, tenantId: string, upn: string | null, targets: { id: string; userPrincipalName: string | null }[]): AuditEvent {
  const body: Omit<AuditEvent, 'hash'> = {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    tenantId,
    seq,
    activityDateTime: `2026-11-0${seq}T00:00:00.000Z`,
    activityDisplayName: 'Reset password (self-service)',
    category: 'UserManagement',
    loggedByService: 'Self-service Password Management',
    operationType: 'Update',
    result: 'success',
    resultReason: '',
    correlationId: 'c',
    initiatedBy: upn ? { user: { id: `USER-${seq}`, displayName: `Ann ${seq}`, userPrincipalName: upn, ipAddress: null } } : {},
    targetResources: targets.map((t) => ({ ...t, displayName: null, type: 'User', modifiedProperties: [] })),
    additionalDetails: [],
    prevHash: '0'.repeat(64),
  };
  return { ...body, hash: hashAuditEvent(body) };
}

describe.each(testDialects())('audit query schema on %s', (dialect) => {
  let database: TestDatabase;
  let db: Db;
  let close: () => Promise<void>;
  const T = 'aaaaaaaa-0000-4000-8000-000000000001';

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const handle = openDatabase(database.url);
    db = handle.db;
    close = () => handle.close();
    const before = await new Migrator({ db, provider: migrationProvider }).migrateTo('2026_11_26_0200_authentication_operations');
    expect(before.error).toBeUndefined();
    const events = [
      oldEvent(1, T, 'Ann.Lee@Contoso.test', [{ id: 'T-1', userPrincipalName: 'Bob@Contoso.test' }, { id: 'T-2', userPrincipalName: null }]),
      oldEvent(2, T, null, []),
      oldEvent(3, T, 'carol@contoso.test', [{ id: 'T-1', userPrincipalName: 'Bob@Contoso.test' }]),
    ];
    for (const e of events) {
      await db
        .insertInto('audit_events')
        .values({
          id: e.id,
          tenant_id: e.tenantId,
          seq: e.seq,
          activity_date_time: e.activityDateTime,
          activity_display_name: e.activityDisplayName,
          category: e.category,
          logged_by_service: e.loggedByService,
          operation_type: e.operationType,
          result: e.result,
          result_reason: e.resultReason,
          correlation_id: e.correlationId,
          initiated_by: JSON.stringify(e.initiatedBy),
          target_resources: JSON.stringify(e.targetResources),
          additional_details: '[]',
          prev_hash: e.prevHash,
          hash: e.hash,
        })
        .execute();
    }
    await migrateToLatest(db);
  });
  afterAll(async () => {
    await close();
    await database.drop();
  });

  const ids = async (filter: string) =>
    (await queryDirectoryAudits(db, T, parseODataFilter(filter, DIRECTORY_AUDIT_FILTER), 'asc', 100)).events.map((e) => e.seq);

  it('brings events written before it up to date: initiator columns and target rows, lower-cased', async () => {
    const rows = await db.selectFrom('audit_events').select(['seq', 'initiator_user_id', 'initiator_upn', 'initiator_display_name', 'initiator_app_id']).orderBy('seq').execute();
    expect(rows.map((r) => ({ ...r, seq: Number(r.seq) }))).toEqual([
      { seq: 1, initiator_user_id: 'user-1', initiator_upn: 'ann.lee@contoso.test', initiator_display_name: 'ann 1', initiator_app_id: null },
      { seq: 2, initiator_user_id: null, initiator_upn: null, initiator_display_name: null, initiator_app_id: null },
      { seq: 3, initiator_user_id: 'user-3', initiator_upn: 'carol@contoso.test', initiator_display_name: 'ann 3', initiator_app_id: null },
    ]);
    const targets = await db.selectFrom('audit_event_targets').selectAll().orderBy('activity_date_time').orderBy('position').execute();
    expect(targets.map((t) => [t.event_id.slice(-1), Number(t.position), t.target_id, t.target_upn, t.activity_date_time, t.tenant_id])).toEqual([
      ['1', 0, 't-1', 'bob@contoso.test', '2026-11-01T00:00:00.000Z', T],
      ['1', 1, 't-2', null, '2026-11-01T00:00:00.000Z', T],
      ['3', 0, 't-1', 'bob@contoso.test', '2026-11-03T00:00:00.000Z', T],
    ]);
    expect(await ids("initiatedBy/user/userPrincipalName eq 'ANN.LEE@contoso.test'")).toEqual([1]);
    expect(await ids("targetResources/any(t: t/userPrincipalName eq 'bob@contoso.test')")).toEqual([1, 3]);
    expect(await ids("initiatedBy/user/id ne 'user-1'")).toEqual([2, 3]);
  });

  it('deleteAuditEventsUpTo removes the events and their target rows, and nothing of other tenants', async () => {
    expect(await deleteAuditEventsUpTo(db, 'bbbbbbbb-0000-4000-8000-000000000002', 5)).toBe(0);
    expect(await deleteAuditEventsUpTo(db, T, 1)).toBe(1);
    expect((await db.selectFrom('audit_event_targets').select('event_id').execute()).map((r) => r.event_id.slice(-1))).toEqual(['3']);
    expect(await ids("targetResources/any(t: t/id eq 'T-1')")).toEqual([3]);
    expect(await ids('activityDateTime ge 2026-01-01T00:00:00Z')).toEqual([2, 3]);
  });
});
