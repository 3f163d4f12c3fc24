import type { Executor, TenantBrandingTable } from './database.js';

/** A tenant's stored branding; null fields mean "the default". */
export interface StoredBranding {
  tenantId: string;
  displayName: string | null;
  logo: { contentType: 'image/png' | 'image/jpeg'; base64: string } | null;
  primaryColor: string | null;
  signInText: string | null;
  updatedAt: string;
}

export async function findBranding(db: Executor, tenantId: string): Promise<StoredBranding | undefined> {
  const row = await db.selectFrom('tenant_branding').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  return row && toBranding(row);
}

/**
 * The stored logos of these tenants (tenants without one are absent), for the outbox worker: read
 * when a batch is sent, so a logo changed or removed after a message was queued is never stale.
 */
export async function findLogos(db: Executor, tenantIds: readonly string[]): Promise<Map<string, NonNullable<StoredBranding['logo']>>> {
  const ids = [...new Set(tenantIds)];
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('tenant_branding')
    .select(['tenant_id', 'logo', 'logo_type'])
    .where('tenant_id', 'in', ids)
    .where('logo', 'is not', null)
    .where('logo_type', 'is not', null)
    .execute();
  const logos = new Map<string, NonNullable<StoredBranding['logo']>>();
  for (const r of rows) if (r.logo !== null && r.logo_type !== null) logos.set(r.tenant_id, { contentType: r.logo_type, base64: r.logo });
  return logos;
}

/** Writes the whole row (insert or replace): the caller read the old one in the same transaction and merged. */
export async function saveBranding(db: Executor, b: StoredBranding): Promise<void> {
  const values = {
    display_name: b.displayName,
    logo: b.logo?.base64 ?? null,
    logo_type: b.logo?.contentType ?? null,
    primary_color: b.primaryColor,
    sign_in_text: b.signInText,
    updated_at: b.updatedAt,
  };
  await db
    .insertInto('tenant_branding')
    .values({ tenant_id: b.tenantId, ...values })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
    .execute();
}

/** Up to two tenant ids: enough to tell "exactly one tenant" from "several". */
export async function firstTenantIds(db: Executor): Promise<string[]> {
  const rows = await db.selectFrom('tenants').select('id').orderBy('id').limit(2).execute();
  return rows.map((r) => r.id);
}

function toBranding(row: TenantBrandingTable): StoredBranding {
  return {
    tenantId: row.tenant_id,
    displayName: row.display_name,
    logo: row.logo !== null && row.logo_type !== null ? { contentType: row.logo_type, base64: row.logo } : null,
    primaryColor: row.primary_color,
    signInText: row.sign_in_text,
    updatedAt: row.updated_at,
  };
}
