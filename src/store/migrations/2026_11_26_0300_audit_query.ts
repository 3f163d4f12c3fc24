import { sql, type Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

/**
 * Indexable copies of what `GET /v1.0/auditLogs/directoryAudits?$filter=…` compares, so a filtered
 * first page is an index range scan instead of a walk over JSON (issue 6 item 1).
 * - audit_events gains initiator_user_id, initiator_upn, initiator_display_name, initiator_app_id:
 *   lower-cased in TypeScript (Unicode-aware; SQLite's lower() only folds ASCII) and cut to 256
 *   characters; null when the event has no such initiator.
 * - audit_event_targets: one row per targetResources entry, for targetResources/any(t: …); it
 *   repeats tenant_id and activity_date_time so its indexes can serve a tenant's time-ordered page.
 * - Indexes lead with tenant_id, then the filtered column, then (activity_date_time, id), the keyset
 *   every page is ordered and continued by. The fixed-vocabulary columns (activity, service,
 *   correlation id) are compared as lower(column), so they are indexed on that expression.
 * Existing rows are brought up to date by parsing their JSON here, in batches.
 */

const KEY_LENGTH = 256;
const BATCH = 500;

const key = (value: unknown): string | null => (typeof value === 'string' ? value.toLowerCase().slice(0, KEY_LENGTH) : null);

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('audit_events')
    .addColumn('initiator_user_id', 'varchar(256)')
    .execute();
  await db.schema.alterTable('audit_events').addColumn('initiator_upn', 'varchar(256)').execute();
  await db.schema.alterTable('audit_events').addColumn('initiator_display_name', 'varchar(256)').execute();
  await db.schema.alterTable('audit_events').addColumn('initiator_app_id', 'varchar(256)').execute();

  await db.schema
    .createTable('audit_event_targets')
    .addColumn('event_id', 'varchar(36)', (c) => c.notNull().references('audit_events.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('activity_date_time', 'varchar(32)', (c) => c.notNull())
    .addColumn('target_id', 'varchar(256)', (c) => c.notNull())
    .addColumn('target_upn', 'varchar(256)')
    .addPrimaryKeyConstraint('audit_event_targets_pk', ['event_id', 'position'])
    .execute();

  await backfill(db);

  // the plain time index becomes the keyset index (tenant, time, id); every page is ordered by it
  await db.schema.dropIndex('audit_events_time').execute();
  await db.schema.createIndex('audit_events_time').on('audit_events').columns(['tenant_id', 'activity_date_time', 'id']).execute();
  for (const [name, column] of [
    ['audit_events_initiator_user', 'initiator_user_id'],
    ['audit_events_initiator_upn', 'initiator_upn'],
    ['audit_events_initiator_app', 'initiator_app_id'],
  ] as const) {
    await db.schema.createIndex(name).on('audit_events').columns(['tenant_id', column, 'activity_date_time', 'id']).execute();
  }
  for (const [name, column] of [
    ['audit_events_activity', 'activity_display_name'],
    ['audit_events_service', 'logged_by_service'],
    ['audit_events_correlation', 'correlation_id'],
  ] as const) {
    await sql`create index ${sql.id(name)} on audit_events (tenant_id, lower(${sql.id(column)}), activity_date_time, id)`.execute(db);
  }
  await db.schema.createIndex('audit_event_targets_id').on('audit_event_targets').columns(['tenant_id', 'target_id', 'activity_date_time', 'event_id']).execute();
  await db.schema.createIndex('audit_event_targets_upn').on('audit_event_targets').columns(['tenant_id', 'target_upn', 'activity_date_time', 'event_id']).execute();
}

async function backfill(db: Kysely<any>): Promise<void> {
  let after = '';
  for (;;) {
    const rows: { id: string; tenant_id: string; activity_date_time: string; initiated_by: string; target_resources: string }[] = await db
      .selectFrom('audit_events')
      .select(['id', 'tenant_id', 'activity_date_time', 'initiated_by', 'target_resources'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(BATCH)
      .execute();
    if (rows.length === 0) return;
    for (const r of rows) {
      const by = JSON.parse(r.initiated_by) as { user?: Record<string, unknown> | null; app?: Record<string, unknown> | null };
      await db
        .updateTable('audit_events')
        .set({
          initiator_user_id: key(by.user?.id),
          initiator_upn: key(by.user?.userPrincipalName),
          initiator_display_name: key(by.user?.displayName),
          initiator_app_id: key(by.app?.appId),
        })
        .where('id', '=', r.id)
        .execute();
      const targets = JSON.parse(r.target_resources) as { id?: unknown; userPrincipalName?: unknown }[];
      if (targets.length > 0) {
        await db
          .insertInto('audit_event_targets')
          .values(
            targets.map((t, position) => ({
              event_id: r.id,
              position,
              tenant_id: r.tenant_id,
              activity_date_time: r.activity_date_time,
              target_id: key(t.id) ?? '',
              target_upn: key(t.userPrincipalName),
            })),
          )
          .execute();
      }
    }
    after = rows.at(-1)!.id;
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const name of ['audit_events_initiator_user', 'audit_events_initiator_upn', 'audit_events_initiator_app', 'audit_events_activity', 'audit_events_service', 'audit_events_correlation']) {
    await db.schema.dropIndex(name).execute();
  }
  await db.schema.dropTable('audit_event_targets').execute();
  for (const column of ['initiator_user_id', 'initiator_upn', 'initiator_display_name', 'initiator_app_id']) {
    await db.schema.alterTable('audit_events').dropColumn(column).execute();
  }
}
