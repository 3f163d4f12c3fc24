import type { Executor } from './database.js';
import { fromBool, toBool } from './database.js';
import { precompiled } from './precompiled.js';

export type Edition = 'free' | 'basic' | 'premium';

export interface TenantSettings {
  lockoutThreshold: number;
  lockoutDurationSeconds: number;
}

export const DEFAULT_TENANT_SETTINGS: TenantSettings = { lockoutThreshold: 10, lockoutDurationSeconds: 60 };

export interface Tenant {
  id: string;
  displayName: string;
  edition: Edition;
  settings: TenantSettings;
  createdAt: string;
}

export interface TenantDomain {
  domain: string;
  tenantId: string;
  isVerified: boolean;
  isDefault: boolean;
}

export async function insertTenant(db: Executor, t: Tenant): Promise<void> {
  await db
    .insertInto('tenants')
    .values({ id: t.id, display_name: t.displayName, edition: t.edition, settings: JSON.stringify(t.settings), created_at: t.createdAt })
    .execute();
}

export async function insertDomain(db: Executor, d: TenantDomain, createdAt: string): Promise<void> {
  await db
    .insertInto('tenant_domains')
    .values({ domain: d.domain, tenant_id: d.tenantId, is_verified: toBool(d.isVerified), is_default: toBool(d.isDefault), created_at: createdAt })
    .execute();
}

// Both are read on every token request and sign-in: built once per dialect (src/store/precompiled.ts);
// Kysely's builder and compiler cost several times the keyed lookup (BENCHMARKS.md, sign-in).
export async function findTenantById(db: Executor, id: string): Promise<Tenant | undefined> {
  const [row] = await tenantById(db, id.toLowerCase());
  return row && toTenant(row);
}

export async function findTenantByDomain(db: Executor, domain: string): Promise<Tenant | undefined> {
  const [row] = await tenantByDomain(db, domain.toLowerCase());
  return row && toTenant(row);
}

const tenantById = precompiled((db: Executor, id: string) => db.selectFrom('tenants').selectAll().where('id', '=', id));
const tenantByDomain = precompiled((db: Executor, domain: string) =>
  db.selectFrom('tenant_domains').innerJoin('tenants', 'tenants.id', 'tenant_domains.tenant_id').selectAll('tenants').where('tenant_domains.domain', '=', domain),
);

export async function findDomain(db: Executor, domain: string): Promise<TenantDomain | undefined> {
  const row = await db.selectFrom('tenant_domains').selectAll().where('domain', '=', domain.toLowerCase()).executeTakeFirst();
  return row && { domain: row.domain, tenantId: row.tenant_id, isVerified: fromBool(row.is_verified), isDefault: fromBool(row.is_default) };
}

export async function listDomains(db: Executor, tenantId: string): Promise<TenantDomain[]> {
  const rows = await db.selectFrom('tenant_domains').selectAll().where('tenant_id', '=', tenantId).orderBy('domain').execute();
  return rows.map((row) => ({ domain: row.domain, tenantId: row.tenant_id, isVerified: fromBool(row.is_verified), isDefault: fromBool(row.is_default) }));
}

/**
 * Replaces the tenant's settings JSON. Settings hold several features' keys (lockout, password
 * policy, …): callers read the tenant in the same transaction, spread its settings and change only
 * their own keys, so the others survive.
 */
export async function updateTenantSettings(db: Executor, tenantId: string, settings: TenantSettings & Record<string, unknown>): Promise<void> {
  await db.updateTable('tenants').set({ settings: JSON.stringify(settings) }).where('id', '=', tenantId).execute();
}

export async function countTenants(db: Executor): Promise<number> {
  const row = await db.selectFrom('tenants').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

function toTenant(row: { id: string; display_name: string; edition: Edition; settings: string; created_at: string }): Tenant {
  return {
    id: row.id,
    displayName: row.display_name,
    edition: row.edition,
    settings: { ...DEFAULT_TENANT_SETTINGS, ...(JSON.parse(row.settings) as Partial<TenantSettings>) },
    createdAt: row.created_at,
  };
}
