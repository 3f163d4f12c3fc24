import { sql, type ExpressionBuilder, type SqlBool } from 'kysely';
import { auditEventFromRow, type AuditEvent } from './audit-events.js';
import type { Database, Executor } from './database.js';

/**
 * The reads behind the classic reports and the CSV exports: one keyset page of a tenant's audit
 * events, newest first, ordered by (activity_date_time, seq) — a total order, since seq is unique in
 * a tenant's chain — so a page boundary never moves when new events arrive. The tenant+time index
 * (audit_events_time) serves the range; the other conditions narrow the rows read, and the domain
 * re-checks every one of them exactly (a LIKE on JSON text is a pre-filter, never the answer).
 */

export interface EventPosition {
  activityDateTime: string;
  seq: number;
}

export interface EventPageQuery {
  /** inclusive lower bound (ISO-8601 UTC) */
  from?: string | undefined;
  /** exclusive upper bound (ISO-8601 UTC) */
  before?: string | undefined;
  /** continue strictly after (older than) this event */
  after?: EventPosition | undefined;
  loggedByService?: string[] | undefined;
  activities?: string[] | undefined;
  /** events whose additional details carry this key, or whose reason is one of these texts */
  detailKeyOrReasons?: { key: string; reasons: readonly string[] } | undefined;
  categories?: string[] | undefined;
  results?: string[] | undefined;
  /** pre-filter: a user's id or UPN (lower case) appears in the targets (and the initiator, when asked) */
  userText?: { value: string; field: 'id' | 'userPrincipalName'; initiatorToo: boolean } | undefined;
  limit: number;
}

type Eb = ExpressionBuilder<Database, 'audit_events'>;

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

function userCondition(eb: Eb, u: NonNullable<EventPageQuery['userText']>) {
  const pattern = `%${likeEscape(JSON.stringify(u.field)).toLowerCase()}:${likeEscape(JSON.stringify(u.value)).toLowerCase()}%`;
  const on = (column: 'target_resources' | 'initiated_by') => sql<SqlBool>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
  return u.initiatorToo ? eb.or([on('target_resources'), on('initiated_by')]) : on('target_resources');
}

export async function listEventPage(db: Executor, tenantId: string, q: EventPageQuery): Promise<AuditEvent[]> {
  let query = db.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId);
  if (q.from !== undefined) query = query.where('activity_date_time', '>=', q.from);
  if (q.before !== undefined) query = query.where('activity_date_time', '<', q.before);
  const after = q.after;
  if (after !== undefined) {
    // The first conjunct alone bounds the range of the tenant+time index. Without it the planner may
    // read the `or` as two index lookups (SQLite's MULTI-INDEX OR, chosen once ANALYZE statistics
    // exist) or as no bound at all, and every page of an export re-reads the newest end of the
    // log: quadratic in the export's length.
    query = query
      .where('activity_date_time', '<=', after.activityDateTime)
      .where((eb) => eb.or([eb('activity_date_time', '<', after.activityDateTime), eb.and([eb('activity_date_time', '=', after.activityDateTime), eb('seq', '<', after.seq)])]));
  }
  if (q.loggedByService?.length) query = query.where('logged_by_service', 'in', q.loggedByService);
  if (q.activities?.length) query = query.where('activity_display_name', 'in', q.activities);
  if (q.categories?.length) query = query.where('category', 'in', q.categories);
  if (q.results?.length) query = query.where('result', 'in', q.results as AuditEvent['result'][]);
  const marker = q.detailKeyOrReasons;
  if (marker) {
    const pattern = `%${likeEscape(JSON.stringify({ key: marker.key }).slice(0, -1))}%`;
    query = query.where((eb) =>
      eb.or([
        // activities other than the progress event pass; the progress event needs the marker
        eb('activity_display_name', '!=', 'Self-service password reset flow activity progress'),
        sql<SqlBool>`${sql.ref('additional_details')} like ${pattern} escape '\\'`,
        ...(marker.reasons.length > 0 ? [eb('result_reason', 'in', [...marker.reasons])] : []),
      ]),
    );
  }
  const userText = q.userText;
  if (userText) query = query.where((eb) => userCondition(eb, userText));
  const rows = await query.orderBy('activity_date_time', 'desc').orderBy('seq', 'desc').limit(q.limit).execute();
  return rows.map(auditEventFromRow);
}

/** The directory roles of each user, held directly or through a role-assignable group, in one query. */
export async function listRoleIdsOfUsers(db: Executor, tenantId: string, userIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return out;
  const ids = [...new Set(userIds.map((id) => id.toLowerCase()))];
  const direct = await db
    .selectFrom('role_assignments')
    .select(['principal_id as userId', 'role_definition_id as roleId'])
    .where('tenant_id', '=', tenantId)
    .where('principal_id', 'in', ids)
    .execute();
  const viaGroups = await db
    .selectFrom('role_assignments')
    .innerJoin('group_members', (j) => j.onRef('group_members.group_id', '=', 'role_assignments.principal_id').on('group_members.tenant_id', '=', tenantId))
    .innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select(['group_members.member_id as userId', 'role_assignments.role_definition_id as roleId'])
    .where('role_assignments.tenant_id', '=', tenantId)
    .where('group_members.member_id', 'in', ids)
    .where('groups.is_assignable_to_role', '=', 1)
    .execute();
  for (const { userId, roleId } of [...direct, ...viaGroups]) {
    const list = out.get(userId) ?? [];
    if (!list.includes(roleId)) list.push(roleId);
    out.set(userId, list);
  }
  return out;
}
