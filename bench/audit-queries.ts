/**
 * Figures (issue 6 acceptance): on a log of BENCH_EVENTS events (default 10 million) for one tenant
 * plus a few small ones, spread over a year,
 *  (a) p95 of a filtered first page of directoryAudits (queryDirectoryAudits, top 50) — limit 50 ms;
 *  (b) p95 of the 30-day insights (per-day aggregate, getInsights) — limit 500 ms;
 *  (c) peak resident memory of a fresh server process streaming a 1-million-row CSV export of the
 *      audit log over a real socket — limit 100 MB;
 * on SQLite and on PostgreSQL (POSTERN_TEST_PG_URL, else a throwaway cluster, else skipped with a
 * line saying why). One JSON line per dialect. The seed writes rows directly in bulk (hashes are
 * placeholders: nothing here verifies the chain), with the indexes dropped during the load and
 * rebuilt after, and fills the summary tables as recordAudit would have.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { applyHeapGrowth } from '../src/lib/heap.js';
import { issueAppAccessToken } from '../src/domain/access-tokens.js';
import { createApplication } from '../src/domain/applications.js';
import { getInsights } from '../src/domain/insights.js';
import { createTenant, systemContext } from '../src/domain/tenants.js';
import { createApp } from '../src/http/app.js';
import { createServices, type Services } from '../src/services.js';
import { queryDirectoryAudits, type FilterNode } from '../src/store/audit-query.js';
import { migrateToLatest } from '../src/store/migrate.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const EXPORT_ROWS = 1_000_000;
const LIMITS = { pageP95Ms: 50, insightsP95Ms: 500, exportRssMb: 100 };
const SECRET = 'bench-secret-key-bench-secret-key-0123456789';
const self = fileURLToPath(import.meta.url);

const env = (databaseUrl: string, dir: string) => loadConfig({ DATABASE_URL: databaseUrl, POSTERN_SECRET_KEY: SECRET, POSTERN_DATA_DIR: dir, LOG_LEVEL: 'silent', PORT: '0', HEAP_GROWTH_PERCENT: process.env.HEAP_GROWTH_PERCENT });

function p95(samples: number[]): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)]! * 10) / 10;
}

async function timed(runs: number, task: (i: number) => Promise<unknown>): Promise<number[]> {
  await task(-1); // warm
  const out: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t = performance.now();
    await task(i);
    out.push(performance.now() - t);
  }
  return out;
}

// ---- the synthetic log ----------------------------------------------------------------------

interface SeedSink {
  write(events: unknown[][], targets: unknown[][]): Promise<void>;
}

/** mulberry32: a fast seeded generator, so every run seeds the same log */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Who = 'self' | 'admin' | 'app';
interface Kind {
  weight: number;
  activity: string;
  service: string;
  category: string;
  op: string;
  who: Who;
  failure: number;
  reasons: (ok: boolean, r: () => number) => string;
  details: (ok: boolean, r: () => number) => { key: string; value: string }[];
  group?: boolean;
}

const SSPR_SERVICE = 'Self-service Password Management';
const METHOD_SETS = ['email', 'mobileSms', 'email, mobileSms', 'securityQuestions', 'email, securityQuestions', 'appCode', 'mobileSms, appCode'];
const OUTCOMES: [string, number][] = [['Succeeded', 50], ['Abandoned', 25], ['Cancelled', 10], ['Failed', 5], ['Blocked', 5], ['Contacted Admin', 5]];
const STEPS = ['User submitted their user ID', 'User started the email verification option', 'User completed the email verification option', 'User started the mobile SMS verification option', 'User completed the mobile SMS verification option'];
const oneOf = <T,>(list: readonly T[], r: () => number): T => list[Math.floor(r() * list.length)]!;
const weighted = (list: [string, number][], r: () => number): string => {
  let x = r() * list.reduce((n, [, w]) => n + w, 0);
  for (const [v, w] of list) if ((x -= w) < 0) return v;
  return list[0]![0];
};

const KINDS: Kind[] = [
  { weight: 40, activity: 'Self-service password reset flow activity progress', service: SSPR_SERVICE, category: 'UserManagement', op: 'Update', who: 'self', failure: 0.1,
    reasons: (ok, r) => (ok ? oneOf(STEPS, r) : oneOf(['User failed the email verification option', 'User failed the mobile SMS verification option', "User's account has insufficient authentication methods defined. Add authentication info to resolve this"], r)),
    details: (_ok, r) => [{ key: 'FlowId', value: 'f' }, ...(r() < 0.2 ? [{ key: 'Result', value: weighted(OUTCOMES, r) }] : [])] },
  { weight: 6, activity: 'Reset password (self-service)', service: SSPR_SERVICE, category: 'UserManagement', op: 'Update', who: 'self', failure: 0.05,
    reasons: (ok) => (ok ? '' : 'PasswordPolicyViolation: the password is too common'), details: (_ok, r) => [{ key: 'Methods', value: oneOf(METHOD_SETS, r) }, { key: 'FlowId', value: 'f' }] },
  { weight: 1, activity: 'Unlock user account (self-service)', service: SSPR_SERVICE, category: 'UserManagement', op: 'Update', who: 'self', failure: 0, reasons: () => '', details: (_ok, r) => [{ key: 'Methods', value: oneOf(METHOD_SETS, r) }] },
  { weight: 8, activity: 'Change password (self-service)', service: SSPR_SERVICE, category: 'UserManagement', op: 'Update', who: 'self', failure: 0.15, reasons: (ok) => (ok ? '' : 'FuzzyPolicyViolationInvalidPassword'), details: () => [] },
  { weight: 1, activity: 'Blocked from self-service password reset', service: SSPR_SERVICE, category: 'UserManagement', op: 'Update', who: 'self', failure: 0, reasons: () => 'User tried to reset a password too many times and is blocked for 24 hours', details: () => [{ key: 'Limit', value: 'sms' }] },
  { weight: 8, activity: 'User registered security info', service: 'Authentication Methods', category: 'UserManagement', op: 'Add', who: 'self', failure: 0, reasons: (_ok, r) => `User registered ${oneOf(['email', 'mobile phone', 'security questions', 'authenticator app'], r)}`, details: () => [] },
  { weight: 3, activity: 'User registered for self-service password reset', service: SSPR_SERVICE, category: 'UserManagement', op: 'Update', who: 'self', failure: 0, reasons: () => 'User registered all required security info', details: (_ok, r) => [{ key: 'Methods', value: oneOf(METHOD_SETS, r) }] },
  { weight: 2, activity: 'Reset password (by admin)', service: SSPR_SERVICE, category: 'UserManagement', op: 'Update', who: 'admin', failure: 0.05, reasons: (ok) => (ok ? '' : 'PasswordPolicyViolation: too short'), details: () => [{ key: 'OnPremisesAgent', value: 'None' }] },
  { weight: 1, activity: 'Unlock user account (by admin)', service: SSPR_SERVICE, category: 'UserManagement', op: 'Update', who: 'admin', failure: 0, reasons: () => '', details: () => [] },
  { weight: 15, activity: 'Update user', service: 'Core Directory', category: 'UserManagement', op: 'Update', who: 'app', failure: 0, reasons: () => '', details: () => [] },
  { weight: 10, activity: 'Add member to group', service: 'Core Directory', category: 'GroupManagement', op: 'Assign', who: 'admin', failure: 0, reasons: () => '', details: () => [], group: true },
  { weight: 5, activity: 'Add user', service: 'Core Directory', category: 'UserManagement', op: 'Add', who: 'app', failure: 0, reasons: () => '', details: () => [] },
];
const TOTAL_WEIGHT = KINDS.reduce((n, k) => n + k.weight, 0);
const USERS = 50_000;
const ADMINS = 20;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const userId = (n: number) => `10000000-0000-4000-8000-${hex(n, 12)}`;
const cut = (s: string) => Array.from(s).slice(0, 200).join('');

async function generate(o: { events: number; main: string; others: string[]; heads: Map<string, number>; end: number }, sink: SeedSink) {
  const r = prng(20261126);
  const small = Math.max(1000, Math.floor(o.events / 100));
  const total = o.events + small * o.others.length;
  const start = o.end - 365 * 86_400_000;
  const step = (o.end - start) / total;
  const seq = new Map(o.heads);
  const remaining = new Map<string, number>([[o.main, o.events], ...o.others.map((t) => [t, small] as [string, number])]);
  const counts = new Map<string, { tenant_id: string; day: string; activity_display_name: string; result: string; result_reason: string; logged_by_service: string; count: number }>();
  const facets = new Map<string, { tenant_id: string; day: string; activity_display_name: string; facet: string; value: string; count: number }>();
  const fakeHash = 'b'.repeat(64);
  let events: unknown[][] = [];
  let targets: unknown[][] = [];
  for (let i = 0; i < total; i += 1) {
    let tenant = o.main;
    const x = r() * total;
    if (x >= o.events) tenant = o.others[Math.floor((x - o.events) / small)] ?? o.main;
    if (remaining.get(tenant)! <= 0) tenant = [...remaining].find(([, n]) => n > 0)![0];
    remaining.set(tenant, remaining.get(tenant)! - 1);
    let w = r() * TOTAL_WEIGHT;
    const kind = KINDS.find((k) => (w -= k.weight) < 0) ?? KINDS[0]!;
    const ok = r() >= kind.failure;
    const at = new Date(start + i * step).toISOString();
    const subject = Math.floor(r() * USERS);
    const sid = userId(subject);
    const supn = `user${subject}@bench.test`;
    const admin = Math.floor(r() * ADMINS);
    const by =
      kind.who === 'self'
        ? { user: { id: sid, displayName: `User ${subject}`, userPrincipalName: supn, ipAddress: `198.51.100.${subject % 250}` } }
        : kind.who === 'admin'
          ? { user: { id: `20000000-0000-4000-8000-${hex(admin, 12)}`, displayName: `Admin ${admin}`, userPrincipalName: `admin${admin}@bench.test`, ipAddress: '203.0.113.7' } }
          : { app: { appId: `30000000-0000-4000-8000-${hex(admin % 3, 12)}`, displayName: `Sync app ${admin % 3}`, servicePrincipalId: null, servicePrincipalName: `Sync app ${admin % 3}` } };
    const tgt = [{ id: sid, displayName: `User ${subject}`, type: 'User', userPrincipalName: supn, modifiedProperties: [] as unknown[] }];
    if (kind.group) tgt.unshift({ id: `40000000-0000-4000-8000-${hex(subject % 500, 12)}`, displayName: `Group ${subject % 500}`, type: 'Group', userPrincipalName: null as unknown as string, modifiedProperties: [] });
    const reason = kind.reasons(ok, r);
    const details = kind.details(ok, r);
    const id = `00000000-0000-4000-8000-${hex(i, 12)}`;
    const s = (seq.get(tenant) ?? 0) + 1;
    seq.set(tenant, s);
    const result = ok ? 'success' : 'failure';
    const u = 'user' in by ? by.user : undefined;
    const a = 'app' in by ? by.app : undefined;
    events.push([id, tenant, s, at, kind.activity, kind.category, kind.service, kind.op, result, reason, crypto.randomUUID(), JSON.stringify(by), JSON.stringify(tgt), JSON.stringify(details), fakeHash, fakeHash,
      u?.id ?? null, u?.userPrincipalName.toLowerCase() ?? null, u?.displayName.toLowerCase() ?? null, a?.appId ?? null]);
    tgt.forEach((t, position) => targets.push([id, position, tenant, at, t.id, t.userPrincipalName?.toLowerCase() ?? null]));

    const day = at.slice(0, 10);
    const ck = `${tenant}|${day}|${kind.activity}|${result}|${cut(reason)}|${kind.service}`;
    const c = counts.get(ck);
    if (c) c.count += 1;
    else counts.set(ck, { tenant_id: tenant, day, activity_display_name: kind.activity, result, result_reason: cut(reason), logged_by_service: kind.service, count: 1 });
    const facet = (name: string, value: string) => {
      const fk = `${tenant}|${day}|${kind.activity}|${name}|${value}`;
      const f = facets.get(fk);
      if (f) f.count += 1;
      else facets.set(fk, { tenant_id: tenant, day, activity_display_name: kind.activity, facet: name, value, count: 1 });
    };
    if (ok && (kind.activity === 'Reset password (self-service)' || kind.activity === 'Unlock user account (self-service)')) {
      for (const m of new Set((details.find((d) => d.key === 'Methods')?.value ?? '').split(', '))) facet('method', m);
    }
    const outcome = kind.activity === 'Self-service password reset flow activity progress' ? details.find((d) => d.key === 'Result')?.value : undefined;
    if (outcome) facet('outcome', outcome);

    if (events.length === 5000) {
      await sink.write(events, targets);
      events = [];
      targets = [];
      if (i % 500_000 < 5000) process.stderr.write(`  seeded ${i + 1} of ${total}\n`);
    }
  }
  if (events.length > 0) await sink.write(events, targets);
  return {
    counts: [...counts.values()],
    facets: [...facets.values()],
    users: USERS,
    userId,
    activities: KINDS.map((k) => k.activity),
    mainEvents: o.events,
  };
}

// ---- index handling during the load ---------------------------------------------------------


async function dropIndexes(services: Services): Promise<string[]> {
  const rows =
    services.dialect === 'sqlite'
      ? (await sql<{ name: string; ddl: string }>`select name, sql as ddl from sqlite_master where type = 'index' and sql is not null and tbl_name in ('audit_events', 'audit_event_targets')`.execute(services.db)).rows
      : (
          await sql<{ name: string; ddl: string }>`
            select i.relname as name, pg_get_indexdef(i.oid) as ddl from pg_index x
            join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
            where t.relname in ('audit_events', 'audit_event_targets') and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)`.execute(services.db)
        ).rows;
  for (const r of rows) await sql`drop index ${sql.id(r.name)}`.execute(services.db);
  return rows.map((r) => r.ddl);
}

// ---- the two bulk writers -------------------------------------------------------------------

const EVENT_COLUMNS = [
  'id', 'tenant_id', 'seq', 'activity_date_time', 'activity_display_name', 'category', 'logged_by_service', 'operation_type', 'result', 'result_reason',
  'correlation_id', 'initiated_by', 'target_resources', 'additional_details', 'prev_hash', 'hash', 'initiator_user_id', 'initiator_upn', 'initiator_display_name', 'initiator_app_id',
] as const;
const TARGET_COLUMNS = ['event_id', 'position', 'tenant_id', 'activity_date_time', 'target_id', 'target_upn'] as const;

function sqliteSink(file: string): SeedSink & { close(): void } {
  const db = new SQLite(file);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1000000');
  const ev = db.prepare(`insert into audit_events (${EVENT_COLUMNS.join(',')}) values (${EVENT_COLUMNS.map(() => '?').join(',')})`);
  const tg = db.prepare(`insert into audit_event_targets (${TARGET_COLUMNS.join(',')}) values (${TARGET_COLUMNS.map(() => '?').join(',')})`);
  const write = db.transaction((events: unknown[][], targets: unknown[][]) => {
    for (const e of events) ev.run(e);
    for (const t of targets) tg.run(t);
  });
  return { write: async (events, targets) => write(events, targets), close: () => db.close() };
}

async function pgSink(url: string): Promise<SeedSink & { close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // bulk load: skip the targets → events foreign-key trigger (every event is written before its targets)
  await client.query('set session_replication_role = replica').catch(() => undefined);
  const types = (cols: readonly string[]) => cols.map((c, i) => `$${i + 1}::${c === 'seq' || c === 'position' ? 'int' : 'text'}[]`).join(',');
  const columnsOf = (rows: unknown[][], width: number) => Array.from({ length: width }, (_, c) => rows.map((r) => r[c]));
  // one batch in flight while the next is generated: the server inserts on the other core
  let inFlight: Promise<unknown> = Promise.resolve();
  return {
    write: async (events, targets) => {
      await inFlight;
      inFlight = Promise.all([
        client.query(`insert into audit_events (${EVENT_COLUMNS.join(',')}) select * from unnest(${types(EVENT_COLUMNS)})`, columnsOf(events, EVENT_COLUMNS.length)),
        client.query(`insert into audit_event_targets (${TARGET_COLUMNS.join(',')}) select * from unnest(${types(TARGET_COLUMNS)})`, columnsOf(targets, TARGET_COLUMNS.length)),
      ]);
    },
    close: async () => {
      await inFlight;
      await client.end();
    },
  };
}

// ---- one dialect ----------------------------------------------------------------------------

interface Seeded {
  main: string;
  users: number;
  userId: (n: number) => string;
  activities: string[];
  mainEvents: number;
  seedSeconds?: number;
  loadSeconds?: number;
}

/** An already seeded database (BENCH_SQLITE_FILE that exists): the main tenant is the one with the most events. */
async function seededSummary(services: Services): Promise<Seeded> {
  const rows = await services.db.selectFrom('audit_daily_counts').select((eb) => ['tenant_id', eb.fn.sum<string | number>('count').as('n')]).groupBy('tenant_id').execute();
  const top = rows.map((r) => ({ tenant: r.tenant_id, n: Number(r.n) })).sort((a, b) => b.n - a.n)[0];
  if (!top) throw new Error('the reused database holds no audit events');
  return { main: top.tenant, users: USERS, userId, activities: KINDS.map((k) => k.activity), mainEvents: top.n };
}

async function seed(dialect: 'sqlite' | 'postgres', databaseUrl: string, dir: string): Promise<Seeded> {
  let services = createServices(env(databaseUrl, dir));
  await migrateToLatest(services.db);
  const main = (await createTenant(services, systemContext(services), { name: 'Bench', domain: 'bench.test', adminUpn: 'admin@bench.test', adminPassword: 'Quokka-Vortex-Lantern-8' })).tenant.id;
  const others: string[] = [];
  for (const n of [1, 2, 3]) others.push((await createTenant(services, systemContext(services), { name: `Other ${n}`, domain: `other${n}.test`, adminUpn: `admin@other${n}.test`, adminPassword: 'Quokka-Vortex-Lantern-8' })).tenant.id);
  const heads = new Map<string, number>();
  for (const r of await services.db.selectFrom('audit_events').select((eb) => ['tenant_id', eb.fn.max('seq').as('seq')]).groupBy('tenant_id').execute()) heads.set(r.tenant_id, Number(r.seq));

  const started = performance.now();
  const ddl = await dropIndexes(services);
  let summary: Awaited<ReturnType<typeof generate>>;
  if (dialect === 'sqlite') {
    await services.close();
    const sink = sqliteSink(databaseUrl.slice('sqlite:'.length));
    summary = await generate({ events: EVENTS, main, others, heads, end: Date.now() }, sink);
    sink.close();
    services = createServices(env(databaseUrl, dir));
  } else {
    const sink = await pgSink(databaseUrl);
    summary = await generate({ events: EVENTS, main, others, heads, end: Date.now() }, sink);
    await sink.close();
  }
  const loaded = performance.now();
  for (const statement of ddl) await sql.raw(statement).execute(services.db);
  // planner statistics, as PostgreSQL's autovacuum would gather after a load; SQLite gathers none by
  // itself (see BENCHMARKS.md: without them targetResources/any plans badly)
  if (dialect === 'postgres') await sql`analyze`.execute(services.db);
  else if (process.env.BENCH_SQLITE_ANALYZE !== '0') {
    await sql.raw('pragma analysis_limit = 1000').execute(services.db);
    await sql.raw('analyze').execute(services.db);
  }
  // added to what recordAudit counted for the tenants' own creation events
  for (let i = 0; i < summary.counts.length; i += 500) {
    await services.db
      .insertInto('audit_daily_counts')
      .values(summary.counts.slice(i, i + 500))
      .onConflict((oc) => oc.columns(['tenant_id', 'day', 'activity_display_name', 'result', 'result_reason', 'logged_by_service']).doUpdateSet((eb) => ({ count: eb('audit_daily_counts.count', '+', eb.ref('excluded.count')) })))
      .execute();
  }
  for (let i = 0; i < summary.facets.length; i += 500) {
    await services.db
      .insertInto('audit_daily_facets')
      .values(summary.facets.slice(i, i + 500))
      .onConflict((oc) => oc.columns(['tenant_id', 'day', 'facet', 'activity_display_name', 'value']).doUpdateSet((eb) => ({ count: eb('audit_daily_facets.count', '+', eb.ref('excluded.count')) })))
      .execute();
  }
  const seedSeconds = Math.round((performance.now() - started) / 100) / 10;
  const loadSeconds = Math.round((loaded - started) / 100) / 10;
  await services.close();
  process.stderr.write(`  seeded and indexed in ${seedSeconds} s\n`);
  return { main, users: summary.users, userId: summary.userId, activities: summary.activities, mainEvents: summary.mainEvents, seedSeconds, loadSeconds };
}

async function benchDialect(dialect: 'sqlite' | 'postgres', databaseUrl: string, dir: string, reuse: boolean): Promise<Record<string, unknown>> {
  const seeded = reuse ? undefined : await seed(dialect, databaseUrl, dir);
  if (process.env.BENCH_SEED_ONLY === '1') return { figure: 'audit queries on a large log', dialect, seededOnly: true, ...seeded, userId: undefined };
  const services = createServices(env(databaseUrl, dir));
  await migrateToLatest(services.db);
  const summary = seeded ?? (await seededSummary(services));
  const main = summary.main;
  if (dialect === 'sqlite' && process.env.BENCH_SQLITE_ANALYZE === 'now') {
    await sql.raw('pragma analysis_limit = 1000').execute(services.db);
    await sql.raw('analyze').execute(services.db);
  }

  // (a) filtered first pages, newest first, top 50
  const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString();
  const user = (i: number) => summary.userId(Math.abs(i * 7919) % summary.users);
  const str = (value: string) => ({ type: 'string' as const, value });
  const pages: Record<string, (i: number) => FilterNode> = {
    'activityDisplayName eq X and activityDateTime ge (7 days ago)': (i) => ({
      kind: 'and',
      left: { kind: 'compare', field: 'activityDisplayName', op: 'eq', value: str(summary.activities[Math.abs(i) % summary.activities.length]!) },
      right: { kind: 'compare', field: 'activityDateTime', op: 'ge', value: { type: 'dateTimeOffset', value: weekAgo, exact: true } },
    }),
    'initiatedBy/user/id eq X': (i) => ({ kind: 'compare', field: 'initiatedBy/user/id', op: 'eq', value: str(user(i)) }),
    "targetResources/any(t: t/id eq X)": (i) => ({ kind: 'any', collection: 'targetResources', predicate: { kind: 'compare', field: 'id', op: 'eq', value: str(user(i)) } }),
    "loggedByService eq 'Self-service Password Management' and result eq 'failure'": () => ({
      kind: 'and',
      left: { kind: 'compare', field: 'loggedByService', op: 'eq', value: str('Self-service Password Management') },
      right: { kind: 'compare', field: 'result', op: 'eq', value: str('failure') },
    }),
  };
  const pageP95: Record<string, number> = {};
  const all: number[] = [];
  // BENCH_EXPORT_ONLY=1 (on a kept database): only (c), to look at the export alone
  const exportOnly = process.env.BENCH_EXPORT_ONLY === '1';
  for (const [name, filter] of exportOnly ? [] : Object.entries(pages)) {
    const samples = await timed(40, (i) => queryDirectoryAudits(services.db, main, filter(i), 'desc', 50));
    pageP95[name] = p95(samples);
    all.push(...samples);
  }

  // (b) the insights of the last 30 days
  const insightSamples = exportOnly ? [NaN] : await timed(20, () => getInsights(services, main, {}));

  // (c) a 1-million-row export in a fresh process
  const offset = Math.min(EXPORT_ROWS, summary.mainEvents) - 1;
  const from = (await services.db.selectFrom('audit_events').select('activity_date_time').where('tenant_id', '=', main).orderBy('activity_date_time', 'desc').offset(offset).limit(1).executeTakeFirst())?.activity_date_time;
  await services.close();
  const exported = await runExport(databaseUrl, dir, main, from);

  const result = {
    figure: 'audit queries on a large log',
    dialect,
    events: summary.mainEvents,
    seedSeconds: summary.seedSeconds,
    // '0': none by the seed (the server's own PRAGMA optimize at open/close still samples); 'now': ANALYZE before measuring
    sqliteAnalyze: dialect === 'sqlite' ? (process.env.BENCH_SQLITE_ANALYZE ?? (summary.seedSeconds === undefined ? 'as kept' : 'after seeding')) : undefined,
    loadSeconds: summary.loadSeconds,
    pageP95Ms: p95(all),
    pageP95MsByFilter: pageP95,
    insights30DaysP95Ms: p95(insightSamples),
    export: exported,
    limits: LIMITS,
    pass: p95(all) < LIMITS.pageP95Ms && p95(insightSamples) < LIMITS.insightsP95Ms && (exported.skipped !== undefined || (exported.growthRssMb ?? Infinity) < LIMITS.exportRssMb),
  };
  return result;
}

interface ExportResult {
  rows?: number;
  bytes?: number;
  seconds?: number;
  peakRssMb?: number;
  baselineRssMb?: number;
  peakHeapUsedMb?: number;
  peakExternalMb?: number;
  peakLiveHeapMb?: number | undefined;
  /** what the export added to the idle server's resident memory */
  growthRssMb?: number;
  skipped?: string;
}

/**
 * The server runs in a fresh child process (so the seed's heap does not count) and reports its own
 * resident memory; this process is the client, reading the CSV from a real socket as a stream.
 */
async function runExport(databaseUrl: string, dir: string, tenantId: string, from: string | undefined): Promise<ExportResult> {
  const child = spawn(process.execPath, ['--expose-gc', ...(process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''), '--import', 'tsx', self, '--export', databaseUrl, dir, tenantId], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffered = '';
  let wake: (() => void) | undefined;
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const l of parts) {
      if (l.startsWith('{')) lines.push(l);
      else if (l.trim() !== '') process.stderr.write(`  server: ${l}\n`); // e.g. --trace-gc in BENCH_SERVER_NODE_FLAGS
    }
    wake?.();
  });
  const next = async (): Promise<Record<string, unknown>> => {
    while (lines.length === 0) await new Promise<void>((r) => (wake = r));
    return JSON.parse(lines.shift()!) as Record<string, unknown>;
  };
  const hello = await next();
  if (typeof hello.skipped === 'string') return { skipped: hello.skipped };
  const t = performance.now();
  const res = await fetch(`${String(hello.address)}/api/v1/audit/events.csv${from ? `?from=${encodeURIComponent(from)}` : ''}`, { headers: { authorization: `Bearer ${String(hello.token)}` } });
  if (res.status !== 200 || !res.body) throw new Error(`export answered ${res.status}: ${await res.text()}`);
  let bytes = 0;
  let newlines = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) newlines += 1;
  }
  const seconds = Math.round((performance.now() - t) / 100) / 10;
  child.stdin.end('done\n');
  const memory = await next();
  return { rows: newlines - 1, bytes, seconds, peakRssMb: Number(memory.peakRssMb), baselineRssMb: Number(memory.baselineRssMb), peakHeapUsedMb: Number(memory.peakHeapUsedMb), peakExternalMb: Number(memory.peakExternalMb), peakLiveHeapMb: memory.peakLiveHeapMb as number | undefined, growthRssMb: Math.round((Number(memory.peakRssMb) - Number(memory.baselineRssMb)) * 10) / 10 };
}

/** The child: the server on a real socket, sampling its own resident memory until told to stop. */
async function exportChild(databaseUrl: string, dir: string, tenantId: string): Promise<void> {
  const config = env(databaseUrl, dir);
  applyHeapGrowth(config.heapGrowthPercent); // as `serve` does first
  const services = createServices(config);
  const app = await createApp(services, { logger: false });
  if (!app.hasRoute({ method: 'GET', url: '/api/v1/audit/events.csv' })) {
    console.log(JSON.stringify({ skipped: '(c) skipped: GET /api/v1/audit/events.csv does not exist yet' }));
    await services.close();
    return;
  }
  const { application } = await createApplication(services, systemContext(services), { tenantId, name: 'bench export', permissions: ['AuditLog.Read.All'] });
  const token = await issueAppAccessToken(services.tokens, application);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let peakHeap = 0;
  let peakExternal = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakExternal = Math.max(peakExternal, m.external + m.arrayBuffers);
  }, 10);
  // BENCH_GC_PROBE=1: a full collection every 500 ms, to tell live memory from garbage not yet collected
  let peakLive = 0;
  const probe = process.env.BENCH_GC_PROBE === '1' ? setInterval(() => { global.gc?.(); peakLive = Math.max(peakLive, process.memoryUsage().heapUsed); }, 500) : undefined;
  console.log(JSON.stringify({ address, token }));
  for await (const _ of process.stdin) break;
  clearInterval(sampler);
  clearInterval(probe);
  await app.close();
  await services.close();
  const mb = (n: number) => Math.round(n / 1e5) / 10;
  console.log(JSON.stringify({ peakRssMb: mb(peak), baselineRssMb: mb(baseline), peakHeapUsedMb: mb(peakHeap), peakExternalMb: mb(peakExternal), peakLiveHeapMb: probe ? mb(peakLive) : undefined }));
}

// ---- PostgreSQL server ----------------------------------------------------------------------

async function postgresUrl(): Promise<{ url: string; reuse: boolean; stop(): void } | { skipped: string }> {
  const given = process.env.POSTERN_TEST_PG_URL;
  const base = given ?? startCluster();
  if (typeof base !== 'string') return base;
  // BENCH_PG_DATABASE (with POSTERN_TEST_PG_URL): seed that database and keep it, or measure it again when it exists
  const kept = given ? process.env.BENCH_PG_DATABASE : undefined;
  if (kept !== undefined && !/^[a-z_][a-z0-9_]*$/.test(kept)) throw new Error('BENCH_PG_DATABASE: a plain lower-case name');
  const name = kept ?? `postern_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: given ?? base });
  await admin.connect();
  const reuse = (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  if (!reuse) await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(given ?? base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    reuse,
    stop: () => {
      if (!given) stopCluster?.();
    },
  };
}

let stopCluster: (() => void) | undefined;
function startCluster(): string | { skipped: string } {
  const bin = ['17', '16', '15', '14', '13'].map((v) => `/usr/lib/postgresql/${v}/bin`).find((b) => {
    try {
      execFileSync(`${b}/initdb`, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!bin) return { skipped: 'PostgreSQL skipped: POSTERN_TEST_PG_URL is unset and no PostgreSQL binaries are installed' };
  const dir = mkdtempSync(join(tmpdir(), 'postern-bench-pg-'));
  const root = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    root ? execFileSync('su', ['postgres', '-c', [cmd, ...args].map((a) => `'${a}'`).join(' ')], { stdio: 'pipe' }) : execFileSync(cmd, args, { stdio: 'pipe' });
  if (root) execFileSync('chown', ['postgres', dir]);
  const port = 56000 + Math.floor(Math.random() * 900);
  run(`${bin}/initdb`, ['-D', `${dir}/data`, '-A', 'trust', '-U', 'postgres']);
  run(`${bin}/pg_ctl`, ['-D', `${dir}/data`, '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c shared_buffers=1GB -c max_wal_size=8GB`, '-l', `${dir}/log`, '-w', 'start']);
  stopCluster = () => {
    run(`${bin}/pg_ctl`, ['-D', `${dir}/data`, '-m', 'immediate', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  };
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

// ---- main -------------------------------------------------------------------------------------

if (process.argv[2] === '--export') {
  const [, , , databaseUrl, dir, tenantId] = process.argv;
  await exportChild(databaseUrl!, dir!, tenantId!);
} else {
  let failed = false;
  const dialects = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',');
  if (dialects.includes('sqlite')) {
    // BENCH_SQLITE_FILE: seed that file and keep it, or measure it again (no seeding) when it exists
    const file = process.env.BENCH_SQLITE_FILE;
    const reuse = file !== undefined && existsSync(file);
    const dir = file ? dirname(file) : mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'postern-bench-audit-'));
    try {
      const r = await benchDialect('sqlite', `sqlite:${file ?? join(dir, 'bench.db')}`, dir, reuse);
      console.log(JSON.stringify(r));
      failed ||= r.pass === false;
    } finally {
      if (process.env.BENCH_KEEP === '1' || file) console.error(`kept ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    }
  }
  if (dialects.includes('postgres')) {
    const server = await postgresUrl();
    if ('skipped' in server) console.log(JSON.stringify({ figure: 'audit queries on a large log', dialect: 'postgres', skipped: server.skipped }));
    else {
      const dir = mkdtempSync(join(tmpdir(), 'postern-bench-audit-'));
      try {
        const r = await benchDialect('postgres', server.url, dir, server.reuse);
        console.log(JSON.stringify(r));
        failed ||= r.pass === false;
      } finally {
        server.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  process.exitCode = failed ? 1 : 0;
}
