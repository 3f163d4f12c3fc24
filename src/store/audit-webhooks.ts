import type { Executor } from './database.js';
import { precompiled } from './precompiled.js';

export interface AuditWebhook {
  id: string;
  tenantId: string;
  url: string;
  /** SecretBox-sealed; opened only by the SIEM sender to sign a request */
  secretSealed: string;
  createdAt: string;
}

export async function listAuditWebhooks(db: Executor, tenantId: string): Promise<AuditWebhook[]> {
  const rows = await db.selectFrom('audit_webhooks').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute();
  return rows.map(toWebhook);
}

/** The ids only: answered from the audit_webhooks_tenant index, no table read. Once per audit event: built once. */
export async function listAuditWebhookIds(db: Executor, tenantId: string): Promise<string[]> {
  const rows = await webhookIds(db, tenantId);
  return rows.map((r) => r.id);
}
const webhookIds = precompiled((db: Executor, tenantId: string) => db.selectFrom('audit_webhooks').select('id').where('tenant_id', '=', tenantId));

export async function findAuditWebhook(db: Executor, id: string): Promise<AuditWebhook | undefined> {
  const row = await db.selectFrom('audit_webhooks').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toWebhook(row);
}

export async function insertAuditWebhook(db: Executor, w: AuditWebhook): Promise<void> {
  await db
    .insertInto('audit_webhooks')
    .values({ id: w.id, tenant_id: w.tenantId, url: w.url, secret_sealed: w.secretSealed, created_at: w.createdAt })
    .execute();
}

export async function updateAuditWebhook(db: Executor, tenantId: string, id: string, change: { url: string; secretSealed: string }): Promise<void> {
  await db
    .updateTable('audit_webhooks')
    .set({ url: change.url, secret_sealed: change.secretSealed })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

export async function deleteAuditWebhooks(db: Executor, tenantId: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.deleteFrom('audit_webhooks').where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
}

function toWebhook(r: { id: string; tenant_id: string; url: string; secret_sealed: string; created_at: string }): AuditWebhook {
  return { id: r.id, tenantId: r.tenant_id, url: r.url, secretSealed: r.secret_sealed, createdAt: r.created_at };
}
