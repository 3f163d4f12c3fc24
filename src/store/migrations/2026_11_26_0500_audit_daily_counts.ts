import { sql, type Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

/**
 * Summary tables for the insights (issue 6 item 4), so a per-day aggregate over any range reads a
 * few hundred summary rows instead of every event of the range.
 * - audit_daily_counts: events per (tenant, UTC day, activity, result, result reason cut to 200
 *   characters, service). recordAudit adds 1 in the transaction that writes the event.
 * - audit_daily_facets: what lives only in an event's JSON details, counted the same way: the
 *   methods of each successful self-service reset or unlock (`Methods`, facet 'method') and the
 *   classic result of each reset-flow outcome (`Result`, facet 'outcome').
 * Retention deletes old events but never these counts: insights outlive the raw log.
 * Existing events are counted here: the counts by one GROUP BY, the facets by reading the JSON of
 * the few activities that carry them, in batches.
 */

const REASON_LENGTH = 200;
const BATCH = 1000;
const METHOD_ACTIVITIES = ['Reset password (self-service)', 'Unlock user account (self-service)'];
const OUTCOME_ACTIVITY = 'Self-service password reset flow activity progress';

const cut = (s: string): string => Array.from(s).slice(0, REASON_LENGTH).join('');

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_daily_counts')
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('day', 'varchar(10)', (c) => c.notNull())
    .addColumn('activity_display_name', 'varchar(128)', (c) => c.notNull())
    .addColumn('result', 'varchar(16)', (c) => c.notNull())
    .addColumn('result_reason', 'varchar(200)', (c) => c.notNull())
    .addColumn('logged_by_service', 'varchar(64)', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    // leads with (tenant, day): the insights read one tenant's day range
    .addPrimaryKeyConstraint('audit_daily_counts_pk', ['tenant_id', 'day', 'activity_display_name', 'result', 'result_reason', 'logged_by_service'])
    .execute();
  await db.schema
    .createTable('audit_daily_facets')
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('day', 'varchar(10)', (c) => c.notNull())
    .addColumn('activity_display_name', 'varchar(128)', (c) => c.notNull())
    .addColumn('facet', 'varchar(32)', (c) => c.notNull())
    .addColumn('value', 'varchar(200)', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_daily_facets_pk', ['tenant_id', 'day', 'facet', 'activity_display_name', 'value'])
    .execute();

  // substr counts characters on both dialects, as cut() does
  await sql`
    insert into audit_daily_counts (tenant_id, day, activity_display_name, result, result_reason, logged_by_service, count)
    select tenant_id, substr(activity_date_time, 1, 10), activity_display_name, result, substr(result_reason, 1, ${sql.lit(REASON_LENGTH)}), logged_by_service, count(*)
    from audit_events
    group by tenant_id, substr(activity_date_time, 1, 10), activity_display_name, result, substr(result_reason, 1, ${sql.lit(REASON_LENGTH)}), logged_by_service
  `.execute(db);

  await backfillFacets(db);
}

async function backfillFacets(db: Kysely<any>): Promise<void> {
  const counts = new Map<string, { tenant_id: string; day: string; activity_display_name: string; facet: string; value: string; count: number }>();
  const add = (tenantId: string, day: string, activity: string, facet: string, value: string) => {
    const k = JSON.stringify([tenantId, day, activity, facet, value]);
    const row = counts.get(k);
    if (row) row.count += 1;
    else counts.set(k, { tenant_id: tenantId, day, activity_display_name: activity, facet, value, count: 1 });
  };
  let after = '';
  for (;;) {
    const rows: { id: string; tenant_id: string; activity_date_time: string; activity_display_name: string; result: string; additional_details: string }[] = await db
      .selectFrom('audit_events')
      .select(['id', 'tenant_id', 'activity_date_time', 'activity_display_name', 'result', 'additional_details'])
      .where('activity_display_name', 'in', [...METHOD_ACTIVITIES, OUTCOME_ACTIVITY])
      .where('id', '>', after)
      .orderBy('id')
      .limit(BATCH)
      .execute();
    if (rows.length === 0) break;
    for (const r of rows) {
      const details = JSON.parse(r.additional_details) as { key: string; value: string }[];
      const day = r.activity_date_time.slice(0, 10);
      if (METHOD_ACTIVITIES.includes(r.activity_display_name) && r.result === 'success') {
        const methods = details.find((d) => d.key === 'Methods')?.value ?? '';
        for (const m of new Set(methods.split(',').map((s) => s.trim()).filter((s) => s !== ''))) add(r.tenant_id, day, r.activity_display_name, 'method', cut(m));
      }
      if (r.activity_display_name === OUTCOME_ACTIVITY) {
        const outcome = details.find((d) => d.key === 'Result')?.value;
        if (outcome) add(r.tenant_id, day, r.activity_display_name, 'outcome', cut(outcome));
      }
    }
    after = rows.at(-1)!.id;
  }
  const all = [...counts.values()];
  for (let i = 0; i < all.length; i += 200) await db.insertInto('audit_daily_facets').values(all.slice(i, i + 200)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_daily_facets').execute();
  await db.schema.dropTable('audit_daily_counts').execute();
}
