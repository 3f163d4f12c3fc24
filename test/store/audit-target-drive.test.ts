import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashAuditEvent } from '../../src/domain/audit.js';
import { insertAuditEvents, type AuditEvent } from '../../src/store/audit-events.js';
import { queryDirectoryAudits, type AuditPosition, type FilterNode } from '../../src/store/audit-query.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { createTestDatabase, testDialects, type TestDatabase } from '../helpers/context.js';

/**
 * targetResources/any on one target id or UPN: PostgreSQL walks that target's index rows and joins
 * the events (src/store/audit-query.ts queryDrivenByTarget), SQLite reads through the `in` subquery.
 * Either way every matching event comes once, in order, across pages — also events that name the
 * same target twice, or two targets with one UPN.
 */
const T = 'aaaaaaaa-0000-4000-8000-000000000001';
const OTHER = 'bbbbbbbb-0000-4000-8000-000000000002';

function event(n: number, tenantId: string, activity: string, targets: { id: string; userPrincipalName: string | null }[], at = n): AuditEvent {
  const body: Omit<AuditEvent, 'hash'> = {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    tenantId,
    seq: n,
    activityDateTime: new Date(Date.UTC(2026, 10, 1) + at * 1000).toISOString(),
    activityDisplayName: activity,
    category: 'UserManagement',
    loggedByService: 'Core Directory',
    operationType: 'Update',
    result: n % 3 === 0 ? 'failure' : 'success',
    resultReason: '',
    correlationId: 'c',
    initiatedBy: {},
    targetResources: targets.map((t) => ({ ...t, displayName: null, type: 'User', modifiedProperties: [] })),
    additionalDetails: [],
    prevHash: '0'.repeat(64),
  };
  return { ...body, hash: hashAuditEvent(body) };
}

const any = (field: 'id' | 'userPrincipalName', value: string): FilterNode => ({ kind: 'any', collection: 'targetResources', predicate: { kind: 'compare', field, op: 'eq', value: { type: 'string', value } } });

describe.each(testDialects())('targetResources/any driven by one target on %s', (dialect) => {
  let database: TestDatabase;
  let db: Db;
  let close: () => Promise<void>;
  const events: AuditEvent[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const handle = openDatabase(database.url);
    db = handle.db;
    close = () => handle.close();
    await migrateToLatest(db);
    for (let n = 1; n <= 40; n++) {
      const targets: { id: string; userPrincipalName: string | null }[] = [{ id: `User-${n % 4}`, userPrincipalName: `u${n % 4}@contoso.test` }];
      if (n % 5 === 0) targets.push({ id: `USER-${n % 4}`, userPrincipalName: null }); // the same id twice (case differs)
      if (n % 7 === 0) targets.push({ id: `other-${n}`, userPrincipalName: `U${n % 4}@Contoso.test` }); // another target, same UPN
      // pairs of events at one instant, to page through ties
      events.push(event(n, n % 10 === 9 ? OTHER : T, n % 2 === 0 ? 'Update user' : 'Reset user password', targets, Math.floor(n / 2)));
    }
    await insertAuditEvents(db, events);
  });
  afterAll(async () => {
    await close();
    await database.drop();
  });

  const expected = (match: (e: AuditEvent) => boolean, order: 'asc' | 'desc') =>
    events
      .filter((e) => e.tenantId === T && match(e))
      .sort((a, b) => (a.activityDateTime === b.activityDateTime ? a.id.localeCompare(b.id) : a.activityDateTime.localeCompare(b.activityDateTime)) * (order === 'asc' ? 1 : -1))
      .map((e) => e.id);

  async function all(filter: FilterNode, order: 'asc' | 'desc', top: number): Promise<string[]> {
    const ids: string[] = [];
    let after: AuditPosition | undefined;
    for (let i = 0; i < 100; i++) {
      const page = await queryDirectoryAudits(db, T, filter, order, top, after);
      ids.push(...page.events.map((e) => e.id));
      if (!page.next) return ids;
      after = page.next;
    }
    throw new Error('paging did not end');
  }

  const hasId = (id: string) => (e: AuditEvent) => e.targetResources.some((t) => t.id.toLowerCase() === id.toLowerCase());
  const hasUpn = (upn: string) => (e: AuditEvent) => e.targetResources.some((t) => t.userPrincipalName?.toLowerCase() === upn.toLowerCase());

  it.each([
    ['desc', 1],
    ['desc', 3],
    ['asc', 2],
    ['asc', 50],
  ] as const)('by id, %s, pages of %i: each event once, in order', async (order, top) => {
    const want = expected(hasId('user-1'), order);
    expect(want.length).toBeGreaterThan(5);
    expect(await all(any('id', 'USER-1'), order, top)).toEqual(want);
  });

  it('by UPN: an event whose two targets share the UPN comes once', async () => {
    const want = expected(hasUpn('u0@contoso.test'), 'desc');
    const sharing = (id: string) => events.find((e) => e.id === id)!.targetResources.filter((t) => t.userPrincipalName?.toLowerCase() === 'u0@contoso.test').length;
    expect(want.some((id) => sharing(id) === 2)).toBe(true);
    expect(await all(any('userPrincipalName', 'U0@contoso.TEST'), 'desc', 2)).toEqual(want);
  });

  it('with other conjuncts on either side', async () => {
    const activity: FilterNode = { kind: 'compare', field: 'activityDisplayName', op: 'eq', value: { type: 'string', value: 'Update user' } };
    const failure: FilterNode = { kind: 'compare', field: 'result', op: 'eq', value: { type: 'string', value: 'failure' } };
    const want = expected((e) => hasId('user-2')(e) && e.activityDisplayName === 'Update user' && e.result === 'failure', 'desc');
    expect(want.length).toBeGreaterThan(0);
    expect(await all({ kind: 'and', left: activity, right: { kind: 'and', left: any('id', 'user-2'), right: failure } }, 'desc', 1)).toEqual(want);
    expect(await all({ kind: 'and', left: { kind: 'and', left: failure, right: any('id', 'user-2') }, right: activity }, 'desc', 2)).toEqual(want);
  });

  it('an id that repeats in one event is indexed once; its second target still carries its UPN when that is new', async () => {
    const rows = await db.selectFrom('audit_event_targets').selectAll().where('event_id', '=', events[6]!.id).orderBy('position').execute(); // n = 7: User-3, other-7 (same UPN)
    expect(rows.map((r) => [r.position, r.target_id, r.target_upn])).toEqual([
      [0, 'user-3', 'u3@contoso.test'],
      [1, 'other-7', null],
    ]);
    const twice = await db.selectFrom('audit_event_targets').selectAll().where('event_id', '=', events[4]!.id).orderBy('position').execute(); // n = 5: User-1, USER-1
    expect(twice.map((r) => [r.position, r.target_id, r.target_upn])).toEqual([[0, 'user-1', 'u1@contoso.test']]);
  });
});
