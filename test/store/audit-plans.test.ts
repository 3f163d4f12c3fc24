import SQLite from 'better-sqlite3';
import { Kysely, type CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDirectoryAudits } from '../../src/store/audit-query.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { LiteralLimitsSqliteDialect } from '../../src/store/literal-limits.js';
import { listEventPage } from '../../src/store/reports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/context.js';

/**
 * SQLite's plans for the two audit queries that once depended on planner statistics
 * (BENCHMARKS.md, audit-queries): the export's keyset page and targetResources/any. Each must plan
 * the same with and without ANALYZE statistics. The queries are the ones the store functions send
 * (captured through Kysely's log), explained on the same file.
 */

const T = 'aaaaaaaa-0000-4000-8000-000000000001';
const OTHER = 'bbbbbbbb-0000-4000-8000-000000000002';
const EVENTS = 3000;
const userId = (n: number) => `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('audit query plans on sqlite', () => {
  let database: TestDatabase;
  let raw: SQLite.Database;
  let db: Kysely<Database>;
  const sent: CompiledQuery[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    const handle = openDatabase(database.url);
    await migrateToLatest(handle.db);
    await handle.close();
    raw = new SQLite(database.url.slice('sqlite:'.length));
    const ev = raw.prepare(`insert into audit_events (id, tenant_id, seq, activity_date_time, activity_display_name, category, logged_by_service, operation_type, result, result_reason,
      correlation_id, initiated_by, target_resources, additional_details, prev_hash, hash, initiator_user_id) values (?, ?, ?, ?, 'Update user', 'UserManagement', 'Core Directory', 'Update', 'success', '', 'c', '{}', '[]', '[]', 'h', 'h', ?)`);
    const tg = raw.prepare(`insert into audit_event_targets (event_id, position, tenant_id, activity_date_time, target_id, target_upn) values (?, 0, ?, ?, ?, null)`);
    raw.transaction(() => {
      for (let i = 0; i < EVENTS; i++) {
        const tenant = i % 10 === 0 ? OTHER : T;
        const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
        const at = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
        ev.run(id, tenant, i + 1, at, userId(i % 50));
        tg.run(id, tenant, at, userId(i % 300));
      }
    })();
    db = new Kysely<Database>({ dialect: new LiteralLimitsSqliteDialect({ database: raw }), log: (e) => void sent.push(e.query) });
  });

  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  async function planOf(run: () => Promise<unknown>): Promise<string> {
    sent.length = 0;
    await run();
    const q = sent.at(-1)!;
    const rows = raw.prepare(`explain query plan ${q.sql}`).all(...(q.parameters as unknown[])) as { detail: string }[];
    return rows.map((r) => r.detail).join('\n');
  }

  const exportPage = () =>
    planOf(() => listEventPage(db, T, { from: '2026-01-01T00:00:00.000Z', after: { activityDateTime: '2026-01-02T12:00:00.000Z', seq: 2000 }, limit: 500 }));
  const targetPage = () =>
    planOf(() => queryDirectoryAudits(db, T, { kind: 'any', collection: 'targetResources', predicate: { kind: 'compare', field: 'id', op: 'eq', value: { type: 'string', value: userId(7) } } }, 'desc', 50));

  for (const state of ['without statistics', 'with ANALYZE statistics'] as const) {
    it(`plans the export's keyset page as one bounded range of the time index, ${state}`, async () => {
      if (state === 'without statistics') raw.exec('drop table if exists sqlite_stat1; drop table if exists sqlite_stat4;');
      else raw.exec('analyze');
      const plan = await exportPage();
      expect(plan).toMatch(/SEARCH audit_events USING INDEX audit_events_time \(tenant_id=\? AND activity_date_time>\? AND activity_date_time<\?\)/);
      expect(plan).not.toMatch(/MULTI-INDEX OR/);
      expect(plan).not.toMatch(/USE TEMP B-TREE FOR ORDER BY/);
    });

    it(`plans targetResources/any(t: t/id eq …) from the targets' index, ${state}`, async () => {
      if (state === 'without statistics') raw.exec('drop table if exists sqlite_stat1; drop table if exists sqlite_stat4;');
      else raw.exec('analyze');
      const plan = await targetPage();
      expect(plan).toMatch(/SEARCH audit_event_targets USING COVERING INDEX audit_event_targets_id \(tenant_id=\? AND target_id=\?\)/);
      expect(plan).toMatch(/SEARCH audit_events USING INDEX sqlite_autoindex_audit_events_1 \(id=\?\)/);
      expect(plan).not.toMatch(/audit_events_time|audit_events_chain|sqlite_autoindex_audit_events_2/);
    });
  }

  it('still answers the pinned target query exactly: the user\'s events of the tenant, newest first', async () => {
    const page = await queryDirectoryAudits(db, T, { kind: 'any', collection: 'targetResources', predicate: { kind: 'compare', field: 'id', op: 'eq', value: { type: 'string', value: userId(7) } } }, 'desc', 5);
    const expected = Array.from({ length: EVENTS }, (_, i) => i).filter((i) => i % 300 === 7 && i % 10 !== 0).reverse();
    expect(page.events.map((e) => e.seq)).toEqual(expected.slice(0, 5).map((i) => i + 1));
    expect(page.next).toBeDefined();
  });
});
