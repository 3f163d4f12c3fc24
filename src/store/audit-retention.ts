import type { Executor } from './database.js';

export interface AuditAnchor {
  tenantId: string;
  /** the first kept event */
  seq: number;
  /** the hash of the last removed event, which the event at `seq` links to */
  prevHash: string;
  removedCount: number;
  removedThrough: string;
  createdAt: string;
}

export async function findAuditAnchor(db: Executor, tenantId: string): Promise<AuditAnchor | undefined> {
  const r = await db.selectFrom('audit_anchors').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  return (
    r && {
      tenantId: r.tenant_id,
      seq: Number(r.seq),
      prevHash: r.prev_hash,
      removedCount: Number(r.removed_count),
      removedThrough: r.removed_through,
      createdAt: r.created_at,
    }
  );
}

export async function saveAuditAnchor(db: Executor, a: AuditAnchor): Promise<void> {
  const values = { seq: a.seq, prev_hash: a.prevHash, removed_count: a.removedCount, removed_through: a.removedThrough, created_at: a.createdAt };
  await db
    .insertInto('audit_anchors')
    .values({ tenant_id: a.tenantId, ...values })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
    .execute();
}
