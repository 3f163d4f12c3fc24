import { AppError } from '../errors.js';
import { listFinishedJobs } from '../store/writeback-jobs.js';
import type { AuditInitiator } from '../store/audit-events.js';
import type { Executor } from '../store/database.js';
import { countByInitiator, listDailyCounts, listDailyFacets } from '../store/insights.js';
import { OUTCOME_ACTIVITY } from './audit-counts.js';
import { listRegistrationDetails, type GraphMethodName } from './registration-report.js';
import { RESET_METHOD_LABEL, RESET_RESULTS } from './reports/reset-activity.js';
import type { SsprMethodName } from './sspr/audit.js';

/**
 * Insights (SPEC 3.7, reference §5.1, issue 6 item 4): how many resets, changes, unlocks,
 * registrations and blocks per day by result, which methods people verify with, the most common
 * failure reasons, who is registered and capable, and which admins reset passwords. Day counts come
 * from the summary kept by recordAudit (audit-counts.ts), so any range costs a few hundred rows and
 * survives retention; registration coverage is computed live (it is a state, not an event count).
 */

export interface InsightsDeps {
  db: Executor;
  clock: { now(): Date };
}

/** Each chart series and the activities it counts. */
export const SERIES = {
  selfServiceResets: ['Reset password (self-service)'],
  passwordChanges: ['Change password (self-service)', 'Change user password'],
  selfServiceUnlocks: ['Unlock user account (self-service)'],
  adminUnlocks: ['Unlock user account (by admin)'],
  registrations: ['User registered for self-service password reset'],
  blocks: ['Blocked from self-service password reset'],
  adminResets: ['Reset password (by admin)'],
} as const satisfies Record<string, readonly string[]>;
export type SeriesName = keyof typeof SERIES;
const SERIES_NAMES = Object.keys(SERIES) as SeriesName[];

/** Password events whose failures feed the failure-reason ranking. */
export const FAILURE_ACTIVITIES: readonly string[] = [...new Set([...Object.values(SERIES).flat(), OUTCOME_ACTIVITY])].filter(
  (a) => a !== 'User registered for self-service password reset' && a !== 'Blocked from self-service password reset',
);

const ADMIN_RESET = 'Reset password (by admin)';
const DAY = 86_400_000;
export const DEFAULT_DAYS = 30;
export const MAX_DAYS = 731;
export const TOP_REASONS = 10;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

export interface ResultCounts {
  success: number;
  failure: number;
  timeout: number;
}
type ResetOutcome = (typeof RESET_RESULTS)[number];

export interface InsightsDay extends Record<SeriesName, ResultCounts> {
  day: string;
  /** outcomes of self-service reset and unlock flows by the classic result */
  flowOutcomes: Record<ResetOutcome, number>;
}

export interface Insights {
  from: string;
  to: string;
  timeZone: 'UTC';
  days: InsightsDay[];
  totals: Record<SeriesName, ResultCounts> & { flowOutcomes: Record<ResetOutcome, number> };
  methodsUsed: { method: string; label: string; resets: number; unlocks: number; total: number }[];
  topFailureReasons: { reason: string; count: number; byActivity: Record<string, number> }[];
  registrationCoverage: {
    asOf: string;
    users: number;
    registered: number;
    enabled: number;
    capable: number;
    byMethod: Record<GraphMethodName, number>;
  };
  adminResetsByAdmin: { initiatedBy: AuditInitiator; succeeded: number; failed: number; total: number }[];
  writeback:
    | { available: false; successRate: null; averageLatencyMs: null; note: string }
    | { available: true; jobs: number; succeeded: number; successRate: number; averageLatencyMs: number | null; p50LatencyMs: number | null; note: string };
}

export interface InsightsRange {
  from?: string | undefined;
  to?: string | undefined;
}

const invalid = (message: string, parameter: string) => new AppError('request.invalid', { message, data: { parameter } });

/** Whole UTC days, both ends inclusive: `to` defaults to today, `from` to 29 days before `to`. */
export function insightsRange(now: Date, q: InsightsRange): { from: string; to: string; days: string[] } {
  const parse = (name: string, value: string): number => {
    const t = DATE_ONLY.test(value) ? Date.parse(`${value}T00:00:00.000Z`) : NaN;
    if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== value) throw invalid(`Invalid value for '${name}': use a date such as 2026-11-25 (UTC days).`, name);
    return t;
  };
  const to = q.to !== undefined ? parse('to', q.to) : Date.parse(`${now.toISOString().slice(0, 10)}T00:00:00.000Z`);
  const from = q.from !== undefined ? parse('from', q.from) : to - (DEFAULT_DAYS - 1) * DAY;
  if (from > to) throw invalid("'from' must not be later than 'to'.", 'from');
  const count = (to - from) / DAY + 1;
  if (count > MAX_DAYS) throw invalid(`The range is ${count} days; at most ${MAX_DAYS} days can be asked at once.`, 'from');
  const days = Array.from({ length: count }, (_, i) => new Date(from + i * DAY).toISOString().slice(0, 10));
  return { from: days[0]!, to: days.at(-1)!, days };
}

const zeroResults = (): ResultCounts => ({ success: 0, failure: 0, timeout: 0 });
const zeroOutcomes = (): Record<ResetOutcome, number> => Object.fromEntries(RESET_RESULTS.map((r) => [r, 0])) as Record<ResetOutcome, number>;
const seriesOf = new Map<string, SeriesName>(SERIES_NAMES.flatMap((s) => SERIES[s].map((a) => [a, s] as const)));

export async function getInsights(deps: InsightsDeps, tenantId: string, q: InsightsRange): Promise<Insights> {
  const now = deps.clock.now();
  const range = insightsRange(now, q);
  const activities = [...new Set([...seriesOf.keys(), ...FAILURE_ACTIVITIES])];
  const before = new Date(Date.parse(`${range.to}T00:00:00.000Z`) + DAY).toISOString();
  const [counts, methods, outcomes, admins, coverage] = await Promise.all([
    listDailyCounts(deps.db, tenantId, range.from, range.to, activities),
    listDailyFacets(deps.db, tenantId, range.from, range.to, 'method'),
    listDailyFacets(deps.db, tenantId, range.from, range.to, 'outcome'),
    countByInitiator(deps.db, tenantId, ADMIN_RESET, `${range.from}T00:00:00.000Z`, before),
    registrationCoverage(deps, tenantId, now),
  ]);
  const writebackJobs = await listFinishedJobs(deps.db, tenantId, `${range.from}T00:00:00.000Z`, before);

  const byDay = new Map<string, InsightsDay>(
    range.days.map((day) => [day, { day, ...(Object.fromEntries(SERIES_NAMES.map((s) => [s, zeroResults()])) as Record<SeriesName, ResultCounts>), flowOutcomes: zeroOutcomes() }]),
  );
  const totals = { ...(Object.fromEntries(SERIES_NAMES.map((s) => [s, zeroResults()])) as Record<SeriesName, ResultCounts>), flowOutcomes: zeroOutcomes() };
  const reasons = new Map<string, { reason: string; count: number; byActivity: Record<string, number> }>();
  for (const r of counts) {
    const series = seriesOf.get(r.activityDisplayName);
    const result = r.result as keyof ResultCounts;
    if (series && result in totals[series]) {
      byDay.get(r.day)![series][result] += r.count;
      totals[series][result] += r.count;
    }
    if (r.result !== 'success' && FAILURE_ACTIVITIES.includes(r.activityDisplayName)) {
      const entry = reasons.get(r.resultReason) ?? { reason: r.resultReason, count: 0, byActivity: {} };
      entry.count += r.count;
      entry.byActivity[r.activityDisplayName] = (entry.byActivity[r.activityDisplayName] ?? 0) + r.count;
      reasons.set(r.resultReason, entry);
    }
  }
  for (const r of outcomes) {
    const outcome = r.value as ResetOutcome;
    if (!(outcome in totals.flowOutcomes)) continue;
    byDay.get(r.day)!.flowOutcomes[outcome] += r.count;
    totals.flowOutcomes[outcome] += r.count;
  }

  const used = new Map<string, { method: string; label: string; resets: number; unlocks: number; total: number }>();
  for (const r of methods) {
    const entry = used.get(r.value) ?? { method: r.value, label: RESET_METHOD_LABEL[r.value as SsprMethodName] ?? r.value, resets: 0, unlocks: 0, total: 0 };
    if (r.activityDisplayName === 'Unlock user account (self-service)') entry.unlocks += r.count;
    else entry.resets += r.count;
    entry.total += r.count;
    used.set(r.value, entry);
  }

  const perAdmin = new Map<string, Insights['adminResetsByAdmin'][number]>();
  for (const a of admins) {
    const key = JSON.stringify([a.initiatedBy.user?.id ?? null, a.initiatedBy.app?.appId ?? null]);
    const entry = perAdmin.get(key) ?? { initiatedBy: withoutAddress(a.initiatedBy), succeeded: 0, failed: 0, total: 0 };
    if (a.result === 'success') entry.succeeded += a.count;
    else entry.failed += a.count;
    entry.total += a.count;
    perAdmin.set(key, entry);
  }

  const byCount = <T extends { count?: number; total?: number }>(a: T, b: T, ka: string, kb: string) => (b.count ?? b.total ?? 0) - (a.count ?? a.total ?? 0) || (ka < kb ? -1 : ka > kb ? 1 : 0);
  return {
    from: range.from,
    to: range.to,
    timeZone: 'UTC',
    days: [...byDay.values()],
    totals,
    methodsUsed: [...used.values()].sort((a, b) => byCount(a, b, a.method, b.method)),
    topFailureReasons: [...reasons.values()].sort((a, b) => byCount(a, b, a.reason, b.reason)).slice(0, TOP_REASONS),
    registrationCoverage: coverage,
    adminResetsByAdmin: [...perAdmin.values()].sort((a, b) => byCount(a, b, adminName(a.initiatedBy), adminName(b.initiatedBy))),
    writeback: writebackFigures(writebackJobs),
  };
}

/**
 * Writeback operations of the range (password reset, change, unlock; not pass-through sign-ins):
 * success rate over every finished job (a refusal or a timeout counts against it), and latency of the
 * answered ones as the agent measured it.
 */
function writebackFigures(jobs: { state: string; durationMs: number | null }[]): Insights['writeback'] {
  if (jobs.length === 0) {
    return { available: false, successRate: null, averageLatencyMs: null, note: 'Not available: no password writeback operations in this range.' };
  }
  const succeeded = jobs.filter((j) => j.state === 'succeeded').length;
  const latencies = jobs.map((j) => j.durationMs).filter((d): d is number => d !== null).sort((a, b) => a - b);
  const average = latencies.length === 0 ? null : Math.round(latencies.reduce((a, b) => a + b, 0) / latencies.length);
  const p50 = latencies.length === 0 ? null : (latencies[Math.floor((latencies.length - 1) / 2)] ?? null);
  return {
    available: true,
    jobs: jobs.length,
    succeeded,
    successRate: Math.round((succeeded / jobs.length) * 1000) / 1000,
    averageLatencyMs: average,
    p50LatencyMs: p50,
    note: 'successRate: succeeded / finished operations (refused and timed-out ones count as failures); latency as measured by the agent.',
  };
}

/** An aggregate names the admin, not one request's address. */
function withoutAddress(by: AuditInitiator): AuditInitiator {
  return by.user ? { user: { ...by.user, ipAddress: null } } : by;
}

function adminName(by: AuditInitiator): string {
  return by.user?.userPrincipalName ?? by.app?.displayName ?? by.user?.id ?? by.app?.appId ?? '';
}

/** The registration report's rules over every user of the tenant, a page at a time. */
async function registrationCoverage(deps: InsightsDeps, tenantId: string, now: Date): Promise<Insights['registrationCoverage']> {
  const byMethod: Record<GraphMethodName, number> = { email: 0, mobilePhone: 0, alternateMobilePhone: 0, officePhone: 0, securityQuestion: 0, softwareOneTimePasscode: 0 };
  const out = { asOf: now.toISOString(), users: 0, registered: 0, enabled: 0, capable: 0, byMethod };
  let afterId: string | undefined;
  do {
    const page = await listRegistrationDetails(deps, tenantId, { filters: [], afterId, top: 999 });
    for (const d of page.items) {
      out.users += 1;
      if (d.isSsprRegistered) out.registered += 1;
      if (d.isSsprEnabled) out.enabled += 1;
      if (d.isSsprCapable) out.capable += 1;
      for (const m of d.methodsRegistered) byMethod[m] += 1;
    }
    afterId = page.nextAfterId;
  } while (afterId !== undefined);
  return out;
}
