import { createHash } from 'node:crypto';
import { AppError } from '../../errors.js';
import type { AuditEvent } from '../../store/audit-events.js';
import type { Executor } from '../../store/database.js';
import { listEventPage, listRoleIdsOfUsers, type EventPageQuery, type EventPosition } from '../../store/reports.js';
import { findRole } from '../roles.js';

/**
 * What the reports and exports share: the date range and user filters, the opaque cursor, and the
 * scan that turns keyset pages of audit events into report rows. Rows are the events that qualify,
 * newest first; conditions the SQL cannot say exactly (results and methods kept in JSON details)
 * are checked here, so a page may read more events than it returns — at most MAX_SCAN per request,
 * after which a short page comes back with a cursor (as Graph does), never a silently cut answer.
 */

export interface ReportDeps {
  readonly db: Executor;
}

export interface RangeFilters {
  from?: string | undefined;
  to?: string | undefined;
  user?: string | undefined;
}

export const DEFAULT_TOP = 100;
export const MAX_TOP = 1000;
const BATCH = 500;
const MAX_SCAN = 20_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function invalid(message: string, data: Record<string, unknown> = {}): AppError {
  return new AppError('request.invalid', { message, data });
}

/**
 * `from` is inclusive; `to` is inclusive too: a date means the whole of that UTC day, a date-time that
 * instant. Stored times are ISO-8601 UTC with milliseconds, which sort as text, so the bounds are
 * written the same way (an exclusive upper bound one millisecond, or one day, later).
 */
export function dateBounds(f: RangeFilters): { from?: string; before?: string } {
  const parse = (name: 'from' | 'to', value: string): Date => {
    if (!DATE_ONLY.test(value) && !DATE_TIME.test(value)) throw invalid(`Invalid value for '${name}': use an ISO-8601 date (2026-11-25) or date-time with a zone (2026-11-25T08:00:00Z).`, { parameter: name });
    const d = new Date(DATE_ONLY.test(value) ? `${value}T00:00:00.000Z` : value);
    if (Number.isNaN(d.getTime())) throw invalid(`Invalid value for '${name}': not a real date.`, { parameter: name });
    return d;
  };
  const out: { from?: string; before?: string } = {};
  if (f.from !== undefined) out.from = parse('from', f.from).toISOString();
  if (f.to !== undefined) {
    const to = parse('to', f.to);
    out.before = new Date(to.getTime() + (DATE_ONLY.test(f.to) ? 86_400_000 : 1)).toISOString();
  }
  if (out.from !== undefined && out.before !== undefined && out.from >= out.before) throw invalid("'from' must not be later than 'to'.", { parameter: 'from' });
  return out;
}

/** A user filter: an object id (deleted users' ids still match their events) or a UPN, both case-insensitive. */
export interface UserMatch {
  field: 'id' | 'userPrincipalName';
  value: string;
}

export function userMatch(user: string | undefined, parameter = 'user'): UserMatch | undefined {
  if (user === undefined) return undefined;
  const value = user.trim().toLowerCase();
  if (value === '') throw invalid(`Invalid value for '${parameter}': give a user id or userPrincipalName.`, { parameter });
  return { field: UUID.test(value) ? 'id' : 'userPrincipalName', value };
}

export function sameUser(m: UserMatch, u: { id?: string | null; userPrincipalName?: string | null } | undefined): boolean {
  const v = m.field === 'id' ? u?.id : u?.userPrincipalName;
  return typeof v === 'string' && v.toLowerCase() === m.value;
}

/** The opaque cursor: where the last page stopped, bound to the filters it was made for. */
export function encodeCursor(p: EventPosition, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ t: p.activityDateTime, s: p.seq, f: fingerprint })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, fingerprint: string): EventPosition | undefined {
  if (cursor === undefined) return undefined;
  const bad = invalid("The 'cursor' is not valid for this query: pass the nextCursor of the previous page with the same filters.", { parameter: 'cursor' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  const c = parsed as { t?: unknown; s?: unknown; f?: unknown };
  if (typeof c.t !== 'string' || typeof c.s !== 'number' || !Number.isSafeInteger(c.s) || c.f !== fingerprint) throw bad;
  return { activityDateTime: c.t, seq: c.s };
}

/** A short hash of the filters (in a fixed key order), so a cursor cannot be replayed against others. */
export function fingerprintOf(kind: string, filters: Record<string, string | undefined>): string {
  const canonical = JSON.stringify([kind, ...Object.keys(filters).sort().map((k) => [k, filters[k] ?? null])]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}

export interface ScanResult<R> {
  rows: R[];
  /** where to continue, or null at the end */
  next: EventPosition | null;
}

/** One page: events read in batches from `after`, mapped (null = not a row), until `top` rows or the end. */
export async function scanPage<R>(deps: ReportDeps, tenantId: string, base: Omit<EventPageQuery, 'after' | 'limit'>, after: EventPosition | undefined, top: number, toRow: (e: AuditEvent) => R | null): Promise<ScanResult<R>> {
  const rows: R[] = [];
  let position = after;
  let scanned = 0;
  for (;;) {
    const events = await listEventPage(deps.db, tenantId, { ...base, after: position, limit: BATCH });
    for (const e of events) {
      position = { activityDateTime: e.activityDateTime, seq: e.seq };
      const row = toRow(e);
      if (row !== null) rows.push(row);
      if (rows.length === top) return { rows, next: position };
    }
    scanned += events.length;
    if (events.length < BATCH) return { rows, next: null };
    if (scanned >= MAX_SCAN) return { rows, next: position ?? null };
  }
}

/** Every row from `after` to the end, one page at a time (for the CSV exports: one page in memory). */
export async function* scanAll<R>(deps: ReportDeps, tenantId: string, base: Omit<EventPageQuery, 'after' | 'limit'>, toRow: (e: AuditEvent) => R | null, pageSize = MAX_TOP): AsyncGenerator<R[]> {
  let after: EventPosition | undefined;
  for (;;) {
    const page = await scanPage(deps, tenantId, base, after, pageSize, toRow);
    yield page.rows;
    if (page.next === null) return;
    after = page.next;
  }
}

/** The report's Role column: the user's directory roles by display name (current ones), or "User". */
export async function rolesOf(deps: ReportDeps, tenantId: string, userIds: readonly string[]): Promise<Map<string, string>> {
  const ids = await listRoleIdsOfUsers(deps.db, tenantId, [...new Set(userIds)]);
  const out = new Map<string, string>();
  for (const [userId, roleIds] of ids) {
    const names = roleIds.map((id) => findRole(id)?.displayName ?? id).sort();
    out.set(userId, names.length > 0 ? names.join(', ') : 'User');
  }
  return out;
}
