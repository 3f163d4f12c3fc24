import type { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

/**
 * Audit retention and SIEM streaming (issue 6 items 6 and 7).
 * - audit_anchors: one row per tenant whose oldest events were removed by retention. The chain now
 *   starts at `seq`, whose event must link to `prev_hash` (the hash of the last removed event), so the
 *   rest stays verifiable. A tenant without a row starts at seq 1 and the genesis hash.
 * - audit_webhooks: where each tenant's events are POSTed; the HMAC secret is SecretBox-sealed.
 * Existing rows need nothing: no tenant has had events removed yet (no anchor = start at genesis),
 * and no tenant has webhooks. Retention days live in tenants.settings and default when absent.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_anchors')
    .addColumn('tenant_id', 'varchar(36)', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('prev_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('removed_count', 'integer', (c) => c.notNull())
    .addColumn('removed_through', 'varchar(32)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('audit_webhooks')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('url', 'varchar(2048)', (c) => c.notNull())
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  // recordAudit asks "does this tenant stream?" on every event: an index-only lookup
  await db.schema.createIndex('audit_webhooks_tenant').on('audit_webhooks').columns(['tenant_id', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_webhooks').execute();
  await db.schema.dropTable('audit_anchors').execute();
}
