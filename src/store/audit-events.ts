import { PostgresAdapter, sql, type Selectable } from 'kysely';
import type { AuditEventsTable, Executor } from './database.js';
import { precompiled } from './precompiled.js';

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

// Every audited change runs the head read and the inserts below once per event (five events per
// self-service reset): they are built once (src/store/precompiled.ts), not per call.
const chainHead = precompiled((trx: Executor, tenantId: string) =>
  trx.selectFrom('audit_events').select(['seq', 'hash']).where('tenant_id', '=', tenantId).orderBy('seq', 'desc').limit(1),
);

export async function findChainHead(trx: Executor, tenantId: string): Promise<{ seq: number; hash: string } | undefined> {
  const [row] = await chainHead(trx, tenantId);
  return row && { seq: Number(row.seq), hash: row.hash };
}

/** Longest indexed copy of a filterable string; Postern validates names and UPNs well below it. */
const KEY_LENGTH = 256;

/** The form filters compare: lower-cased in TypeScript, so both dialects fold case alike. */
export function auditKey(value: string | null | undefined): string | null {
  return typeof value === 'string' ? value.toLowerCase().slice(0, KEY_LENGTH) : null;
}

/** Writes the event and its indexable copies (initiator columns, one target row per target). */
export async function insertAuditEvent(trx: Executor, e: AuditEvent): Promise<void> {
  await insertAuditEvents(trx, [e]);
}

/**
 * Writes events (already chained by the caller) with their indexable copies, in statements of at
 * most 100 events / 500 target rows: SQLite binds at most 32,766 parameters per statement. A
 * directory sync batch writes up to a few thousand events at once.
 */
export async function insertAuditEvents(trx: Executor, events: readonly AuditEvent[]): Promise<void> {
  const targets = events.flatMap(targetRowsOf);
  if (events.length === 1) {
    // the common case, one event with its target rows: statements of one row each, built once
    const r = auditEventRow(events[0]!);
    await insertOneEvent(trx, r.id, r.tenant_id, r.seq, r.activity_date_time, r.activity_display_name, r.category, r.logged_by_service, r.operation_type, r.result, r.result_reason, r.correlation_id, r.initiated_by, r.target_resources, r.additional_details, r.prev_hash, r.hash, r.initiator_user_id, r.initiator_upn, r.initiator_display_name, r.initiator_app_id);
    for (const t of targets) await insertOneTarget(trx, t.event_id, t.position, t.tenant_id, t.activity_date_time, t.target_id, t.target_upn);
    return;
  }
  for (let i = 0; i < events.length; i += 100) {
    await trx.insertInto('audit_events').values(events.slice(i, i + 100).map(auditEventRow)).execute();
  }
  for (let i = 0; i < targets.length; i += 500) {
    await trx.insertInto('audit_event_targets').values(targets.slice(i, i + 500)).execute();
  }
}

const insertOneEvent = precompiled(
  (
    trx: Executor,
    id: string,
    tenantId: string,
    seq: number,
    activityDateTime: string,
    activityDisplayName: string,
    category: string,
    loggedByService: string,
    operationType: string,
    result: AuditEvent['result'],
    resultReason: string,
    correlationId: string,
    initiatedBy: string,
    targetResources: string,
    additionalDetails: string,
    prevHash: string,
    hash: string,
    initiatorUserId: string | null,
    initiatorUpn: string | null,
    initiatorDisplayName: string | null,
    initiatorAppId: string | null,
  ) =>
    trx.insertInto('audit_events').values({
      id,
      tenant_id: tenantId,
      seq,
      activity_date_time: activityDateTime,
      activity_display_name: activityDisplayName,
      category,
      logged_by_service: loggedByService,
      operation_type: operationType,
      result,
      result_reason: resultReason,
      correlation_id: correlationId,
      initiated_by: initiatedBy,
      target_resources: targetResources,
      additional_details: additionalDetails,
      prev_hash: prevHash,
      hash,
      initiator_user_id: initiatorUserId,
      initiator_upn: initiatorUpn,
      initiator_display_name: initiatorDisplayName,
      initiator_app_id: initiatorAppId,
    }),
);

const insertOneTarget = precompiled(
  (trx: Executor, eventId: string, position: number, tenantId: string, activityDateTime: string, targetId: string, targetUpn: string | null) =>
    trx.insertInto('audit_event_targets').values({ event_id: eventId, position, tenant_id: tenantId, activity_date_time: activityDateTime, target_id: targetId, target_upn: targetUpn }),
);

/**
 * The indexable copies of an event's targets. A target id, and a UPN, appears at most once per event
 * (a repeat is written as '' / null), so a query driven by one target's rows meets each event once
 * (src/store/audit-query.ts); the event's own JSON keeps every target as given.
 */
function targetRowsOf(e: AuditEvent) {
  const ids = new Set<string>();
  const upns = new Set<string>();
  const rows = [];
  for (const [position, t] of e.targetResources.entries()) {
    const idKey = auditKey(t.id) ?? '';
    const upnKey = auditKey(t.userPrincipalName) ?? null;
    const id = idKey !== '' && !ids.has(idKey) ? idKey : '';
    const upn = upnKey !== null && !upns.has(upnKey) ? upnKey : null;
    if (id !== '') ids.add(id);
    if (upn !== null) upns.add(upn);
    if (id === '' && upn === null && idKey !== '') continue; // a plain repeat of a target already indexed
    rows.push({ event_id: e.id, position, tenant_id: e.tenantId, activity_date_time: e.activityDateTime, target_id: id, target_upn: upn });
  }
  return rows;
}

function auditEventRow(e: AuditEvent) {
  return {
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
    initiator_user_id: auditKey(e.initiatedBy.user?.id),
    initiator_upn: auditKey(e.initiatedBy.user?.userPrincipalName),
    initiator_display_name: auditKey(e.initiatedBy.user?.displayName),
    initiator_app_id: auditKey(e.initiatedBy.app?.appId),
  };
}

/**
 * Retention: removes a tenant's events with seq ≤ `seq` and their target rows (explicitly, so it
 * does not depend on the dialect enforcing the cascade). Returns how many events went.
 */
export async function deleteAuditEventsUpTo(trx: Executor, tenantId: string, seq: number): Promise<number> {
  await trx
    .deleteFrom('audit_event_targets')
    .where('event_id', 'in', (eb) => eb.selectFrom('audit_events').select('id').where('tenant_id', '=', tenantId).where('seq', '<=', seq))
    .execute();
  const r = await trx.deleteFrom('audit_events').where('tenant_id', '=', tenantId).where('seq', '<=', seq).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** One event by id, within the tenant. */
export async function findAuditEvent(db: Executor, tenantId: string, id: string): Promise<AuditEvent | undefined> {
  const row = await db.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return row && auditEventFromRow(row);
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
  return rows.map(auditEventFromRow);
}

export function auditEventFromRow(r: Selectable<AuditEventsTable>): AuditEvent {
  return {
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
  };
}
