import { PostgresAdapter, sql, type RawBuilder, type SqlBool } from 'kysely';
import { AppError } from '../errors.js';
import { auditEventFromRow, auditKey, type AuditEvent } from './audit-events.js';
import type { Executor } from './database.js';

// ---- the $filter AST (produced by src/http/odata-filter.ts) -----------------------------------

export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type FilterValue =
  | { type: 'string'; value: string }
  /**
   * `value` is the instant as toISOString() (millisecond precision, the precision stored). `exact`
   * is false when the literal had finer precision: `value` is then the literal rounded down.
   */
  | { type: 'dateTimeOffset'; value: string; exact: boolean };

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; field: string; op: CompareOp; value: FilterValue }
  | { kind: 'startswith'; field: string; value: string }
  /** `collection/any(v: predicate)`; field names in the predicate are relative to the element */
  | { kind: 'any'; collection: string; predicate: FilterNode | null };

// ---- compiling it for audit_events ------------------------------------------------------------

/**
 * How each Graph property is stored. `lowered`: the column holds a lower-cased copy (compare with
 * the lower-cased literal); `folded`: compare lower(column), which an expression index serves;
 * `exact`: the stored value is already canonical lower case (ids, result). Nullable columns are
 * compared null-safely, so `ne` and `not` keep OData's meaning for events without that initiator.
 */
interface Column {
  ref: string;
  mode: 'lowered' | 'folded' | 'exact';
  nullable: boolean;
}

const EVENT_COLUMNS: Readonly<Record<string, Column>> = {
  id: { ref: 'audit_events.id', mode: 'exact', nullable: false },
  activityDisplayName: { ref: 'audit_events.activity_display_name', mode: 'folded', nullable: false },
  loggedByService: { ref: 'audit_events.logged_by_service', mode: 'folded', nullable: false },
  category: { ref: 'audit_events.category', mode: 'folded', nullable: false },
  result: { ref: 'audit_events.result', mode: 'exact', nullable: false },
  correlationId: { ref: 'audit_events.correlation_id', mode: 'folded', nullable: false },
  'initiatedBy/user/id': { ref: 'audit_events.initiator_user_id', mode: 'lowered', nullable: true },
  'initiatedBy/user/userPrincipalName': { ref: 'audit_events.initiator_upn', mode: 'lowered', nullable: true },
  'initiatedBy/user/displayName': { ref: 'audit_events.initiator_display_name', mode: 'lowered', nullable: true },
  'initiatedBy/app/appId': { ref: 'audit_events.initiator_app_id', mode: 'lowered', nullable: true },
};

const TARGET_COLUMNS: Readonly<Record<string, Column>> = {
  id: { ref: 'audit_event_targets.target_id', mode: 'lowered', nullable: false },
  userPrincipalName: { ref: 'audit_event_targets.target_upn', mode: 'lowered', nullable: true },
};

const TIME = 'audit_events.activity_date_time';
const TRUE = sql<SqlBool>`1 = 1`;
const FALSE = sql<SqlBool>`1 = 0`;

const unsupported = (message: string, data: Record<string, unknown>) => new AppError('request.unsupported_query', { message, data });

/** The SQL condition for a filter on audit_events (with targetResources/any over audit_event_targets). */
export function compileAuditFilter(node: FilterNode, tenantId: string): RawBuilder<SqlBool> {
  return compile(node, EVENT_COLUMNS, tenantId, true);
}

function compile(node: FilterNode, columns: Readonly<Record<string, Column>>, tenantId: string, top: boolean): RawBuilder<SqlBool> {
  switch (node.kind) {
    case 'and':
      return sql<SqlBool>`(${compile(node.left, columns, tenantId, top)} and ${compile(node.right, columns, tenantId, top)})`;
    case 'or':
      return sql<SqlBool>`(${compile(node.left, columns, tenantId, top)} or ${compile(node.right, columns, tenantId, top)})`;
    case 'not':
      return sql<SqlBool>`(not ${compile(node.operand, columns, tenantId, top)})`;
    case 'any': {
      if (!top || node.collection !== 'targetResources') {
        throw unsupported(`Lambda operators are only supported on targetResources.`, { property: node.collection });
      }
      const where = node.predicate ? sql<SqlBool>` and ${compile(node.predicate, TARGET_COLUMNS, tenantId, false)}` : sql``;
      // `in`, not a correlated exists: a selective target filter can drive the plan from its index
      return sql<SqlBool>`audit_events.id in (select audit_event_targets.event_id from audit_event_targets where audit_event_targets.tenant_id = ${tenantId}${where})`;
    }
    case 'startswith': {
      const c = column(columns, node.field);
      const pattern = `${literalFor(c, node.value).replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      return nullSafe(c, sql<SqlBool>`${target(c)} like ${pattern} escape '\\'`);
    }
    case 'compare':
      if (node.value.type === 'dateTimeOffset') {
        if (!top || node.field !== 'activityDateTime') throw unsupported(`'${node.field}' cannot be compared with a date and time.`, { property: node.field });
        return compareTime(node.op, node.value.value, node.value.exact);
      }
      return compareString(column(columns, node.field), node.op, node.value.value, node.field);
  }
}

function column(columns: Readonly<Record<string, Column>>, field: string): Column {
  const c = columns[field];
  if (!c) throw unsupported(`Filtering on property '${field}' is not supported.`, { property: field });
  return c;
}

function target(c: Column): RawBuilder<string> {
  return c.mode === 'folded' ? sql<string>`lower(${sql.ref(c.ref)})` : sql<string>`${sql.ref(c.ref)}`;
}

function literalFor(c: Column, value: string): string {
  return c.mode === 'lowered' ? (auditKey(value) ?? '') : value.toLowerCase();
}

/** A nullable column's condition is false (never SQL null) where the column is null, so `not` inverts it exactly. */
function nullSafe(c: Column, condition: RawBuilder<SqlBool>): RawBuilder<SqlBool> {
  return c.nullable ? sql<SqlBool>`(${sql.ref(c.ref)} is not null and ${condition})` : condition;
}

function compareString(c: Column, op: CompareOp, value: string, field: string): RawBuilder<SqlBool> {
  const v = literalFor(c, value);
  if (op === 'eq') return nullSafe(c, sql<SqlBool>`${target(c)} = ${v}`);
  if (op === 'ne') return c.nullable ? sql<SqlBool>`(${sql.ref(c.ref)} is null or ${target(c)} <> ${v})` : sql<SqlBool>`${target(c)} <> ${v}`;
  throw unsupported(`The operator '${op}' is not supported on property '${field}'; use eq, ne or startswith.`, { property: field, operator: op });
}

/**
 * Stored instants have millisecond precision. A finer literal x lies strictly between two stored
 * values, so with f = floor(x): s ≥ x ⟺ s > f, s < x ⟺ s ≤ f, s = x never holds.
 */
function compareTime(op: CompareOp, value: string, exact: boolean): RawBuilder<SqlBool> {
  const t = sql.ref(TIME);
  if (!exact) {
    if (op === 'eq') return FALSE;
    if (op === 'ne') return TRUE;
    if (op === 'ge') op = 'gt';
    else if (op === 'lt') op = 'le';
  }
  const operator = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
  return sql<SqlBool>`${t} ${sql.raw(operator)} ${value}`;
}

// ---- the query ----------------------------------------------------------------------------------

export type AuditOrder = 'asc' | 'desc';

/** Where a page ends: the keyset every page is ordered and continued by. */
export interface AuditPosition {
  activityDateTime: string;
  id: string;
}

export interface AuditPage {
  events: AuditEvent[];
  /** set when more events match after the last one returned */
  next: AuditPosition | undefined;
}

/**
 * A page of a tenant's events matching `filter`, ordered by (activityDateTime, id) in `order`,
 * starting after `after`. Keyset paging: events that arrive while a client pages never shift
 * the pages that follow (in desc order they are newer than any cursor; in asc they come last).
 */
export async function queryDirectoryAudits(
  db: Executor,
  tenantId: string,
  filter: FilterNode | null,
  order: AuditOrder,
  top: number,
  after?: AuditPosition,
): Promise<AuditPage> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const drive = postgres && filter !== null ? drivingTarget(filter) : undefined;
  if (drive) return queryDrivenByTarget(db, tenantId, drive, order, top, after);
  const pinToTargets = filter !== null && !postgres && hasSelectiveTargetConjunct(filter);
  // SQLite, driven from the targets: `+column` keeps the tenant's indexes out of the plan (see below)
  const tenant = pinToTargets ? sql`+${sql.ref('audit_events.tenant_id')}` : sql.ref('audit_events.tenant_id');
  let query = db.selectFrom('audit_events').selectAll('audit_events').where(sql<SqlBool>`${tenant} = ${tenantId}`);
  if (filter) query = query.where(compileAuditFilter(filter, tenantId));
  if (after) query = query.where(afterPosition(sql.ref(TIME), sql.ref('audit_events.id'), order, after));
  const time = pinToTargets ? sql`+${sql.ref(TIME)}` : sql.ref(TIME);
  return pageOf(await query.orderBy(time, order).orderBy('audit_events.id', order).limit(top + 1).execute(), top);
}

/** The keyset condition of the page after `after`: the first conjunct alone bounds the index range, the second breaks ties at that instant. */
function afterPosition(t: RawBuilder<unknown>, id: RawBuilder<unknown>, order: AuditOrder, after: AuditPosition): RawBuilder<SqlBool> {
  return order === 'desc'
    ? sql<SqlBool>`${t} <= ${after.activityDateTime} and (${t} < ${after.activityDateTime} or ${id} < ${after.id})`
    : sql<SqlBool>`${t} >= ${after.activityDateTime} and (${t} > ${after.activityDateTime} or ${id} > ${after.id})`;
}

/** `top + 1` rows read: the first `top` are the page, the extra one says whether another follows. */
function pageOf(rows: Parameters<typeof auditEventFromRow>[0][], top: number): AuditPage {
  const events = rows.slice(0, top).map(auditEventFromRow);
  const last = events.at(-1);
  return { events, next: rows.length > top && last ? { activityDateTime: last.activityDateTime, id: last.id } : undefined };
}

/** A top-level `targetResources/any(t: t/id eq X)` (or `t/userPrincipalName eq X`) and the rest of the filter. */
interface DrivingTarget {
  column: 'target_id' | 'target_upn';
  value: string;
  rest: FilterNode | null;
}

function drivingTarget(node: FilterNode): DrivingTarget | undefined {
  if (node.kind === 'and') {
    const left = drivingTarget(node.left);
    if (left) return { ...left, rest: left.rest ? { kind: 'and', left: left.rest, right: node.right } : node.right };
    const right = drivingTarget(node.right);
    if (right) return { ...right, rest: right.rest ? { kind: 'and', left: node.left, right: right.rest } : node.left };
    return undefined;
  }
  if (node.kind !== 'any' || node.collection !== 'targetResources' || node.predicate?.kind !== 'compare') return undefined;
  const p = node.predicate;
  if (p.op !== 'eq' || p.value.type !== 'string' || (p.field !== 'id' && p.field !== 'userPrincipalName')) return undefined;
  const value = literalFor(TARGET_COLUMNS[p.field]!, p.value.value);
  // '' is what an event without a target id stores; it is not unique per event (see insertAuditEvents)
  return value === '' ? undefined : { column: p.field === 'id' ? 'target_id' : 'target_upn', value, rest: null };
}

/**
 * PostgreSQL, when a conjunct picks one target: walk that target's rows of audit_event_targets in
 * (time, event id) order on its index and join each event, stopping at the page's end. Planned from
 * audit_events instead (the `in` subquery of compileAuditFilter), PostgreSQL fetched every event of
 * the target and sorted them: ~2,000 random heap reads for a busy group at 10 M events, 150 ms to 1 s
 * on a cold cache; this reads one page's worth (bench/audit-queries.ts, BENCHMARKS.md). The driving
 * conjunct is left out of the remaining filter — as a redundant `in` it misled the row estimate back to
 * the sort plan. A target id (or UPN) is written at most once per event, so the join never repeats one.
 */
async function queryDrivenByTarget(db: Executor, tenantId: string, drive: DrivingTarget, order: AuditOrder, top: number, after?: AuditPosition): Promise<AuditPage> {
  const t = sql.ref('drive.activity_date_time');
  const id = sql.ref('drive.event_id');
  let query = db
    .selectFrom('audit_event_targets as drive')
    .innerJoin('audit_events', 'audit_events.id', 'drive.event_id')
    .selectAll('audit_events')
    .where('drive.tenant_id', '=', tenantId)
    .where(`drive.${drive.column}`, '=', drive.value)
    .where('audit_events.tenant_id', '=', tenantId);
  if (drive.rest) query = query.where(compileAuditFilter(drive.rest, tenantId));
  if (after) query = query.where(afterPosition(t, id, order, after));
  return pageOf(await query.orderBy(t, order).orderBy(id, order).limit(top + 1).execute(), top);
}

/**
 * Whether every matching event must have a target picked by an equality on its id or UPN
 * (targetResources/any(t: t/id eq …) as the filter or one of its top-level `and` conjuncts). Such a
 * target matches a few events among millions, so the plan should read those through
 * audit_event_targets and sort them. SQLite without ANALYZE statistics prefers to walk the tenant's
 * time index newest first, testing each event against the target list, which costs a scan of the
 * whole log when the target is rare; with statistics it picks the right plan. `+column` makes the
 * tenant and time columns unusable for an index, so the targets' plan is the only one either way.
 * PostgreSQL keeps its statistics itself (autovacuum) and plans this well without help.
 */
export function hasSelectiveTargetConjunct(node: FilterNode): boolean {
  if (node.kind === 'and') return hasSelectiveTargetConjunct(node.left) || hasSelectiveTargetConjunct(node.right);
  return node.kind === 'any' && node.collection === 'targetResources' && node.predicate !== null && isSelectiveTargetPredicate(node.predicate);
}

function isSelectiveTargetPredicate(node: FilterNode): boolean {
  if (node.kind === 'and') return isSelectiveTargetPredicate(node.left) || isSelectiveTargetPredicate(node.right);
  return node.kind === 'compare' && node.op === 'eq' && node.value.type === 'string' && (node.field === 'id' || node.field === 'userPrincipalName');
}
