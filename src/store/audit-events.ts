import { PostgresAdapter, sql } from 'kysely';
import type { Executor } from './database.js';

export interface AuditInitiator {
  user?: { id: string; displayName: string | null; userPrincipalName: string | null; ipAddress: string | null };
  app?: { appId: string; displayName: string | null; servicePrincipalId: string | null; servicePrincipalName: string | null };
}

export interface AuditTarget {
  id: string;
  displayName: string | null;
  type: 'User' | 'Group' | 'Role' | 'Application' | 'Directory' | 'Policy' | 'Other';
  userPrincipalName: string | null;
  groupType?: string | null;
  modifiedProperties: { displayName: string; oldValue: string | null; newValue: string | null }[];
}

export interface AuditEvent {
  id: string;
  tenantId: string;
  seq: number;
  activityDateTime: string;
  activityDisplayName: string;
  category: string;
  loggedByService: string;
  operationType: string;
  result: 'success' | 'failure' | 'timeout';
  resultReason: string;
  correlationId: string;
  initiatedBy: AuditInitiator;
  targetResources: AuditTarget[];
  additionalDetails: { key: string; value: string }[];
  prevHash: string;
  hash: string;
}

/**
 * Serialises writers of one tenant's chain until the transaction ends. SQLite transactions are
 * already serial; PostgreSQL takes a transaction-scoped advisory lock keyed by the tenant.
 */
export async function lockAuditChain(trx: Executor, tenantId: string): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_advisory_xact_lock(hashtext(${`audit:${tenantId}`}))`.execute(trx);
  }
}

export async function findChainHead(trx: Executor, tenantId: string): Promise<{ seq: number; hash: string } | undefined> {
  const row = await trx
    .selectFrom('audit_events')
    .select(['seq', 'hash'])
    .where('tenant_id', '=', tenantId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && { seq: Number(row.seq), hash: row.hash };
}

export async function insertAuditEvent(trx: Executor, e: AuditEvent): Promise<void> {
  await trx
    .insertInto('audit_events')
    .values({
      id: e.id,
      tenant_id: e.tenantId,
      seq: e.seq,
      activity_date_time: e.activityDateTime,
      activity_display_name: e.activityDisplayName,
      category: e.category,
      logged_by_service: e.loggedByService,
      operation_type: e.operationType,
      result: e.result,
      result_reason: e.resultReason,
      correlation_id: e.correlationId,
      initiated_by: JSON.stringify(e.initiatedBy),
      target_resources: JSON.stringify(e.targetResources),
      additional_details: JSON.stringify(e.additionalDetails),
      prev_hash: e.prevHash,
      hash: e.hash,
    })
    .execute();
}

/** A tenant's events in chain order (for verification and, later, the query APIs). */
export async function listAuditEvents(db: Executor, tenantId: string, afterSeq = 0, limit = 1000): Promise<AuditEvent[]> {
  const rows = await db
    .selectFrom('audit_events')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    seq: Number(r.seq),
    activityDateTime: r.activity_date_time,
    activityDisplayName: r.activity_display_name,
    category: r.category,
    loggedByService: r.logged_by_service,
    operationType: r.operation_type,
    result: r.result,
    resultReason: r.result_reason,
    correlationId: r.correlation_id,
    initiatedBy: JSON.parse(r.initiated_by) as AuditInitiator,
    targetResources: JSON.parse(r.target_resources) as AuditTarget[],
    additionalDetails: JSON.parse(r.additional_details) as { key: string; value: string }[],
    prevHash: r.prev_hash,
    hash: r.hash,
  }));
}
