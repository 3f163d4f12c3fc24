import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit, type AuditInput, type RequestContext } from '../../src/domain/audit.js';
import type { Principal } from '../../src/domain/authorization.js';
import type { Insights } from '../../src/domain/insights.js';
import { ROLE } from '../../src/domain/roles.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import * as dailyCounts from '../../src/store/migrations/2026_11_26_0500_audit_daily_counts.js';
import { testDialects, type TestContext } from '../helpers/context.js';
import { userWithRoles } from './admin-helpers.js';
import { setSsprPolicy } from './security-info-helpers.js';
import { startSsprHarness, type SsprHarness } from './sspr-harness.js';
import { NEW_PASSWORD, post, SSPR, startFlow, userWithMethods } from './sspr-helpers.js';

/**
 * Insights (issue 6 item 4): every figure of GET /api/v1/reports/insights is compared with a count
 * made here, independently, from the audit rows themselves; and the summary the figures come from
 * (audit_daily_counts, audit_daily_facets) is compared with a GROUP BY over audit_events after a mix
 * of real actions, direct recordAudit calls on a controlled clock, concurrent writers and a re-run of
 * the migration's backfill.
 */

const URL_ = '/api/v1/reports/insights';
const PW_ID = '28c10230-6103-485e-b985-444c60001490';

// written out here rather than imported, so the expectation does not share the code under test
const SERIES: Record<string, string[]> = {
  selfServiceResets: ['Reset password (self-service)'],
  passwordChanges: ['Change password (self-service)', 'Change user password'],
  selfServiceUnlocks: ['Unlock user account (self-service)'],
  adminUnlocks: ['Unlock user account (by admin)'],
  registrations: ['User registered for self-service password reset'],
  blocks: ['Blocked from self-service password reset'],
  adminResets: ['Reset password (by admin)'],
};
const FAILURE_ACTIVITIES = [
  'Reset password (self-service)',
  'Change password (self-service)',
  'Change user password',
  'Unlock user account (self-service)',
  'Unlock user account (by admin)',
  'Reset password (by admin)',
  'Self-service password reset flow activity progress',
];
const OUTCOMES = ['Abandoned', 'Blocked', 'Cancelled', 'Contacted Admin', 'Failed', 'Succeeded'];
const PROGRESS = 'Self-service password reset flow activity progress';
// 199 letters then an emoji: cut at 200 code points keeps the emoji whole (a UTF-16 cut would split it)
const LONG_REASON = `${'x'.repeat(199)}😀 and the rest of a very long reason that only the raw log keeps`;

interface Row {
  tenant_id: string;
  activity_date_time: string;
  activity_display_name: string;
  result: string;
  result_reason: string;
  logged_by_service: string;
  initiated_by: string;
  additional_details: string;
}

/** A small deterministic generator, so a failure can be replayed. */
function lcg(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
}

function userPrincipal(tenantId: string, id: string, upn: string): Principal {
  return { kind: 'user', tenantId, userId: id, userPrincipalName: upn, displayName: upn.split('@')[0]!, roles: [], clientId: null, scopes: [] };
}

describe.each(testDialects())('insights on %s', (dialect) => {
  let h: SsprHarness;
  let ctx: TestContext;
  let tenantId: string;
  let otherTenantId: string;
  let admin: string;

  const get = (query: string, token = admin) => ctx.app.inject({ method: 'GET', url: `${URL_}${query}`, headers: { authorization: `Bearer ${token}` } });

  async function synthetic(tenant: string, count: number, seed: number, days: string[]): Promise<void> {
    const pick = lcg(seed);
    const methodSets = ['email', 'mobileSms', 'email, mobileSms', 'securityQuestions, email', 'appCode'];
    const kinds: { activity: AuditInput['activity']; results: ('success' | 'failure' | 'timeout')[]; reasons: string[]; details: () => { key: string; value: string }[] }[] = [
      { activity: 'Reset password (self-service)', results: ['success', 'success', 'failure'], reasons: ['', 'PasswordPolicyViolation: too short'], details: () => [{ key: 'Methods', value: methodSets[pick(methodSets.length)]! }] },
      { activity: 'Unlock user account (self-service)', results: ['success', 'failure'], reasons: [''], details: () => [{ key: 'Methods', value: methodSets[pick(methodSets.length)]! }] },
      { activity: 'Change password (self-service)', results: ['success', 'failure', 'failure'], reasons: ['FuzzyPolicyViolationInvalidPassword', LONG_REASON, ''], details: () => [] },
      { activity: 'Blocked from self-service password reset', results: ['success'], reasons: ['User tried too many times'], details: () => [{ key: 'Limit', value: 'sms' }] },
      { activity: 'User registered for self-service password reset', results: ['success', 'failure'], reasons: ['User registered all required security info'], details: () => [] },
      { activity: 'Reset password (by admin)', results: ['success', 'failure', 'timeout'], reasons: ['', 'PasswordPolicyViolation: banned'], details: () => [{ key: 'OnPremisesAgent', value: 'None' }] },
      { activity: 'Unlock user account (by admin)', results: ['success'], reasons: [''], details: () => [] },
      { activity: PROGRESS, results: ['success', 'failure'], reasons: ['User started the email verification option', 'User failed the email verification option'], details: () => (pick(2) === 0 ? [{ key: 'Result', value: OUTCOMES[pick(OUTCOMES.length)]! }] : []) },
      { activity: 'Update user', results: ['success'], reasons: [''], details: () => [] },
    ];
    const admins = [0, 1, 2].map((i) => userPrincipal(tenant, `00000000-0000-4000-8000-00000000000${i}`, `synthetic-admin${i}@contoso.test`));
    for (let i = 0; i < count; i += 1) {
      const kind = kinds[pick(kinds.length)]!;
      const day = days[pick(days.length)]!;
      ctx.clock.set(new Date(`${day}T${String(pick(24)).padStart(2, '0')}:${String(pick(60)).padStart(2, '0')}:00.000Z`));
      const result = kind.results[pick(kind.results.length)]!;
      const c: RequestContext = { principal: admins[pick(admins.length)]!, ipAddress: `203.0.113.${pick(200)}`, userAgent: 'test', correlationId: `c-${seed}-${i}` };
      await ctx.services.db.transaction().execute((trx) =>
        recordAudit(ctx.services, trx, c, {
          tenantId: tenant,
          activity: kind.activity,
          category: 'UserManagement',
          loggedByService: kind.activity === 'Update user' ? 'Core Directory' : 'Self-service Password Management',
          operationType: 'Update',
          result,
          resultReason: kind.reasons[pick(kind.reasons.length)]!,
          targets: [{ id: `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`, displayName: 'T', type: 'User', userPrincipalName: `t${i}@contoso.test`, modifiedProperties: [] }],
          additionalDetails: kind.details(),
        }),
      );
    }
  }

  beforeAll(async () => {
    h = await startSsprHarness(dialect);
    ctx = h.ctx;
    tenantId = ctx.tenant.tenant.id;
    admin = await ctx.userToken('admin@contoso.test');
    otherTenantId = (await createTenant(ctx.services, systemContext(ctx.services), { name: 'Fabrikam', domain: 'fabrikam.test', adminUpn: 'admin@fabrikam.test', adminPassword: 'Quiet-Lantern-Orbit-58!' })).tenant.id;

    // real actions on 2026-11-20: a self-service reset with the email gate, an admin reset, a failed and a good change
    ctx.clock.set(new Date('2026-11-20T09:00:00.000Z'));
    await setSsprPolicy(ctx, { methodsRequired: 1 });
    const user = await userWithMethods(ctx, { mobile: false, prefix: 'insight' });
    const flow = (await startFlow(ctx, user.userPrincipalName)).json<{ flowId: string }>();
    const F = `${SSPR}/flows/${flow.flowId}`;
    expect((await post(ctx, `${F}/verifications`, { method: 'email' })).statusCode).toBe(202);
    expect((await post(ctx, `${F}/verifications/email/complete`, { code: await h.mailedCode(user.address) })).statusCode).toBe(200);
    expect((await post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD })).json()).toEqual({ result: 'Succeeded' });

    ctx.clock.set(new Date('2026-11-21T10:00:00.000Z'));
    const helpdesk = await userWithRoles(ctx, 'helpdesk', [ROLE.helpdeskAdministrator]);
    const target = await userWithRoles(ctx, 'resetme');
    const reset = await ctx.app.inject({ method: 'POST', url: `/v1.0/users/${target.user.id}/authentication/methods/${PW_ID}/resetPassword`, headers: { authorization: `Bearer ${helpdesk.token}` }, payload: {} });
    expect(reset.statusCode, reset.body).toBeLessThan(300);
    const change = (newPassword: string) =>
      ctx.app.inject({ method: 'POST', url: '/v1.0/me/changePassword', headers: { authorization: `Bearer ${target.token}` }, payload: { currentPassword: 'x', newPassword } });
    await change('short');

    // synthetic history over 40 days (some outside the default range), and another tenant's noise
    const days = Array.from({ length: 40 }, (_, i) => new Date(Date.parse('2026-10-17T00:00:00Z') + i * 86_400_000).toISOString().slice(0, 10));
    await synthetic(tenantId, 240, 7, days);
    await synthetic(otherTenantId, 60, 11, days);
    ctx.clock.set(new Date('2026-11-25T12:00:00.000Z'));
  });
  afterAll(async () => h?.close());

  async function rowsOf(tenant: string): Promise<Row[]> {
    return ctx.services.db
      .selectFrom('audit_events')
      .select(['tenant_id', 'activity_date_time', 'activity_display_name', 'result', 'result_reason', 'logged_by_service', 'initiated_by', 'additional_details'])
      .where('tenant_id', '=', tenant)
      .execute();
  }

  /** The insights as they should be, counted from the raw rows. */
  function expected(rows: Row[], from: string, to: string) {
    const inRange = rows.filter((r) => r.activity_date_time.slice(0, 10) >= from && r.activity_date_time.slice(0, 10) <= to);
    const days: Record<string, Record<string, unknown>>[] = [];
    for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
      const day = new Date(t).toISOString().slice(0, 10);
      const of = inRange.filter((r) => r.activity_date_time.startsWith(day));
      const entry: Record<string, unknown> = { day };
      for (const [name, acts] of Object.entries(SERIES)) {
        const e = of.filter((r) => acts.includes(r.activity_display_name));
        entry[name] = { success: e.filter((r) => r.result === 'success').length, failure: e.filter((r) => r.result === 'failure').length, timeout: e.filter((r) => r.result === 'timeout').length };
      }
      const outcomes = of.filter((r) => r.activity_display_name === PROGRESS).map((r) => detail(r, 'Result'));
      entry.flowOutcomes = Object.fromEntries(OUTCOMES.map((o) => [o, outcomes.filter((x) => x === o).length]));
      days.push(entry as never);
    }
    const methods = new Map<string, { resets: number; unlocks: number }>();
    for (const r of inRange) {
      if (r.result !== 'success' || !['Reset password (self-service)', 'Unlock user account (self-service)'].includes(r.activity_display_name)) continue;
      for (const m of new Set((detail(r, 'Methods') ?? '').split(', ').filter(Boolean))) {
        const e = methods.get(m) ?? { resets: 0, unlocks: 0 };
        if (r.activity_display_name.startsWith('Unlock')) e.unlocks += 1;
        else e.resets += 1;
        methods.set(m, e);
      }
    }
    const reasons = new Map<string, number>();
    for (const r of inRange) {
      if (r.result === 'success' || !FAILURE_ACTIVITIES.includes(r.activity_display_name)) continue;
      const reason = [...r.result_reason].slice(0, 200).join('');
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    const admins = new Map<string, { succeeded: number; failed: number }>();
    for (const r of inRange.filter((x) => x.activity_display_name === 'Reset password (by admin)')) {
      const upn = (JSON.parse(r.initiated_by) as { user?: { id: string } }).user?.id ?? '?';
      const e = admins.get(upn) ?? { succeeded: 0, failed: 0 };
      if (r.result === 'success') e.succeeded += 1;
      else e.failed += 1;
      admins.set(upn, e);
    }
    return { days, methods, reasons, admins };
  }

  function detail(r: Row, key: string): string | undefined {
    return (JSON.parse(r.additional_details) as { key: string; value: string }[]).find((d) => d.key === key)?.value;
  }

  it('answers every figure of a range as counted from the audit rows', async () => {
    const res = await get('?from=2026-10-20&to=2026-11-25');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<Insights>();
    const want = expected(await rowsOf(tenantId), '2026-10-20', '2026-11-25');
    expect(body.from).toBe('2026-10-20');
    expect(body.to).toBe('2026-11-25');
    expect(body.days).toEqual(want.days);
    expect(body.days.reduce((n, d) => n + d.selfServiceResets.success, 0)).toBeGreaterThan(5);

    const methods = Object.fromEntries(body.methodsUsed.map((m) => [m.method, { resets: m.resets, unlocks: m.unlocks }]));
    expect(methods).toEqual(Object.fromEntries(want.methods));
    expect(body.methodsUsed.map((m) => m.total)).toEqual([...body.methodsUsed.map((m) => m.total)].sort((a, b) => b - a));
    expect(body.methodsUsed.find((m) => m.method === 'email')?.label).toBe('Alternate Email');

    const ranking = [...want.reasons].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
    expect(body.topFailureReasons.map((r) => [r.reason, r.count])).toEqual(ranking);
    expect(body.topFailureReasons.some((r) => r.reason === [...LONG_REASON].slice(0, 200).join(''))).toBe(true);

    const admins = Object.fromEntries(body.adminResetsByAdmin.map((a) => [a.initiatedBy.user?.id, { succeeded: a.succeeded, failed: a.failed }]));
    expect(admins).toEqual(Object.fromEntries(want.admins));
    expect(body.adminResetsByAdmin.some((a) => a.initiatedBy.user?.userPrincipalName?.startsWith('helpdesk'))).toBe(true);
    expect(body.adminResetsByAdmin.every((a) => a.initiatedBy.user?.ipAddress === null)).toBe(true);

    for (const [name, counts] of Object.entries(body.totals)) {
      const sum = (want.days as Record<string, Record<string, number>>[]).reduce<Record<string, number>>((acc, d) => {
        for (const [k, v] of Object.entries(d[name]!)) acc[k] = (acc[k] ?? 0) + v;
        return acc;
      }, {});
      expect(counts, name).toEqual(sum);
    }
    expect(body.writeback).toEqual({ available: false, successRate: null, averageLatencyMs: null, note: expect.stringContaining('Not available') });
  });

  it('records the real reset, admin reset and failed change on their days', async () => {
    const body = (await get('?from=2026-11-20&to=2026-11-21')).json<Insights>();
    const want = expected(await rowsOf(tenantId), '2026-11-20', '2026-11-21');
    expect(body.days).toEqual(want.days);
    const [d20, d21] = body.days as [Insights['days'][number], Insights['days'][number]];
    expect(d20.selfServiceResets.success).toBeGreaterThanOrEqual(1);
    expect(d20.flowOutcomes.Succeeded).toBeGreaterThanOrEqual(1);
    expect(d21.adminResets.success).toBeGreaterThanOrEqual(1);
    expect(d21.passwordChanges.failure).toBeGreaterThanOrEqual(1);
  });

  it('covers registration as the registration report counts it', async () => {
    const body = (await get('')).json<Insights>();
    const report = await ctx.app.inject({ method: 'GET', url: '/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=999', headers: { authorization: `Bearer ${admin}` } });
    const rows = report.json<{ value: { isSsprRegistered: boolean; isSsprEnabled: boolean; isSsprCapable: boolean; methodsRegistered: string[] }[] }>().value;
    expect(body.registrationCoverage).toMatchObject({
      users: rows.length,
      registered: rows.filter((r) => r.isSsprRegistered).length,
      enabled: rows.filter((r) => r.isSsprEnabled).length,
      capable: rows.filter((r) => r.isSsprCapable).length,
    });
    expect(body.registrationCoverage.byMethod.email).toBe(rows.filter((r) => r.methodsRegistered.includes('email')).length);
    expect(body.registrationCoverage.byMethod.email).toBeGreaterThanOrEqual(1);
  });

  it('defaults to the last 30 UTC days and refuses bad ranges and unknown parameters', async () => {
    const body = (await get('')).json<Insights>();
    expect([body.from, body.to, body.days.length]).toEqual(['2026-10-27', '2026-11-25', 30]);
    expect((await get('?to=2026-11-10')).json().from).toBe('2026-10-12');
    for (const q of ['?from=2026-11-31', '?from=20261101', '?from=2026-11-10&to=2026-11-01', '?from=2020-01-01&to=2026-11-25', '?top=5']) {
      const res = await get(q);
      expect(res.statusCode, q).toBe(400);
      expect(res.json().error.code, q).toMatch(/^request\./);
    }
  });

  it('is for report readers of the caller\'s tenant only', async () => {
    const plain = await userWithRoles(ctx, 'plain');
    expect((await get('', plain.token)).statusCode).toBe(403);
    expect((await ctx.app.inject({ method: 'GET', url: URL_ })).statusCode).toBe(401);
    const reader = await userWithRoles(ctx, 'reader', [ROLE.reportsReader]);
    expect((await get('', reader.token)).statusCode).toBe(200);
    const app = await ctx.appToken(['AuditLog.Read.All'], otherTenantId);
    const other = (await get('?from=2026-10-20&to=2026-11-25', app)).json();
    expect(other.days).toEqual(expected(await rowsOf(otherTenantId), '2026-10-20', '2026-11-25').days);
  });

  async function summaryMatchesLog(): Promise<void> {
    const db = ctx.services.db;
    const grouped = await sql<{ tenant_id: string; day: string; activity_display_name: string; result: string; result_reason: string; logged_by_service: string; n: number | string }>`
      select tenant_id, substr(activity_date_time, 1, 10) as day, activity_display_name, result, substr(result_reason, 1, 200) as result_reason, logged_by_service, count(*) as n
      from audit_events
      group by tenant_id, substr(activity_date_time, 1, 10), activity_display_name, result, substr(result_reason, 1, 200), logged_by_service`.execute(db);
    const key = (r: { tenant_id: string; day: string; activity_display_name: string; result: string; result_reason: string; logged_by_service: string }) =>
      JSON.stringify([r.tenant_id, r.day, r.activity_display_name, r.result, r.result_reason, r.logged_by_service]);
    const fromLog = grouped.rows.map((r) => [key(r), Number(r.n)] as const).sort(([a], [b]) => (a < b ? -1 : 1));
    const summary = (await db.selectFrom('audit_daily_counts').selectAll().execute()).map((r) => [key(r), Number(r.count)] as const).sort(([a], [b]) => (a < b ? -1 : 1));
    expect(summary).toEqual(fromLog);
    expect(summary.length).toBeGreaterThan(50);

    const facets = new Map<string, number>();
    const all = await db.selectFrom('audit_events').select(['tenant_id', 'activity_date_time', 'activity_display_name', 'result', 'result_reason', 'logged_by_service', 'initiated_by', 'additional_details']).execute();
    for (const r of all) {
      const day = r.activity_date_time.slice(0, 10);
      const bump = (facet: string, value: string) => {
        const k = JSON.stringify([r.tenant_id, day, r.activity_display_name, facet, value]);
        facets.set(k, (facets.get(k) ?? 0) + 1);
      };
      if (r.result === 'success' && ['Reset password (self-service)', 'Unlock user account (self-service)'].includes(r.activity_display_name)) {
        for (const m of new Set((detail(r, 'Methods') ?? '').split(', ').filter(Boolean))) bump('method', m);
      }
      const outcome = r.activity_display_name === PROGRESS ? detail(r, 'Result') : undefined;
      if (outcome) bump('outcome', outcome);
    }
    const storedFacets = (await db.selectFrom('audit_daily_facets').selectAll().execute())
      .map((r) => [JSON.stringify([r.tenant_id, r.day, r.activity_display_name, r.facet, r.value]), Number(r.count)] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    expect(storedFacets).toEqual([...facets].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  it('keeps the summary equal to a GROUP BY over the log, with concurrent writers on two tenants', async () => {
    await summaryMatchesLog();
    ctx.clock.set(new Date('2026-11-25T23:59:59.999Z'));
    const writes = Array.from({ length: 40 }, (_, i) =>
      ctx.services.db.transaction().execute((trx) =>
        recordAudit(ctx.services, trx, { principal: null, ipAddress: null, userAgent: null, correlationId: `race-${i}` }, {
          tenantId: i % 2 === 0 ? tenantId : otherTenantId,
          activity: i % 3 === 0 ? 'Reset password (self-service)' : 'Blocked from self-service password reset',
          category: 'UserManagement',
          loggedByService: 'Self-service Password Management',
          operationType: 'Update',
          targets: [],
          additionalDetails: [{ key: 'Methods', value: 'email, mobileSms' }],
        }),
      ),
    );
    await Promise.all(writes);
    await summaryMatchesLog();
    ctx.clock.set(new Date('2026-11-25T12:00:00.000Z'));
    const last = (await get('?from=2026-11-25&to=2026-11-25')).json();
    expect(last.days).toEqual(expected(await rowsOf(tenantId), '2026-11-25', '2026-11-25').days);
  });

  it('the migration counts events that existed before it', async () => {
    // its own down and up, run directly: the tables go, and up rebuilds them from the log alone
    await dailyCounts.down(ctx.services.db);
    await dailyCounts.up(ctx.services.db);
    await summaryMatchesLog();
  });
});
