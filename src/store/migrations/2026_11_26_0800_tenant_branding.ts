import type { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

/**
 * Tenant branding (issue 8 item 3): one row per tenant that has changed anything. A missing row or a
 * null column means "the default": the tenant's own display name, Postern's colour, no logo, no text.
 * The logo is PNG or JPEG bytes as base64 text (at most 100 KB decoded; SVG is never stored, it can
 * carry script). The help-desk link is not here: it lives in the SSPR policy (helpdeskUrl/helpdeskEmail).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenant_branding')
    .addColumn('tenant_id', 'varchar(36)', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('display_name', 'varchar(256)')
    .addColumn('logo', 'text')
    .addColumn('logo_type', 'varchar(16)')
    .addColumn('primary_color', 'varchar(7)')
    .addColumn('sign_in_text', 'text')
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('tenant_branding').execute();
}
