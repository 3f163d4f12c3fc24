import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit, type AuditInput, type RequestContext } from '../../src/domain/audit.js';
import type { Principal } from '../../src/domain/authorization.js';
import { ROLE } from '../../src/domain/roles.js';
import { createTenant, systemContext, type CreatedTenant } from '../../src/domain/tenants.js';
import { listAuditEvents, type AuditEvent } from '../../src/store/audit-events.js';
import { insertRoleAssignment } from '../../src/store/role-assignments.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

/**
 * GET /v1.0/auditLogs/directoryAudits against a seeded log: every answer is compared, whole and in
 * order, with a reference written here in plain JS over all of the tenant's events.
 */

const BASE = 'http://localhost:8080';
const PATH = '/v1.0/auditLogs/directoryAudits';

type Pred = (e: AuditEvent) => boolean;
const lc = (s: string | null | undefined) => (s ?? '').toLowerCase();
const byKey = (a: AuditEvent, b: AuditEvent) => (a.activityDateTime < b.activityDateTime ? -1 : a.activityDateTime > b.activityDateTime ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function rng(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

const ACTIVITIES = ['Add user', 'Reset password (self-service)', 'Reset password (by admin)', 'Self-service password reset flow activity progress', 'Update user'] as const;
const SERVICES = ['Core Directory', 'Self-service Password Management', 'Authentication Methods'] as const;
const CATEGORIES = ['UserManagement', 'GroupManagement', 'DirectoryManagement'] as const;
const RESULTS = ['success', 'failure', 'timeout'] as const;
const CORRELATIONS = ['0f3c8a8e-1111-4a4a-8b8b-000000000001', '0f3c8a8e-1111-4a4a-8b8b-000000000002', 'b1c2d3e4-2222-4b4b-9c9c-000000000003'];
const TARGET_IDS = ['7a1b2c3d-0000-4000-8000-00000000000a', '7a1b2c3d-0000-4000-8000-00000000000b', '7a1b2c3d-0000-4000-8000-00000000000c', '7a1b2c3d-0000-4000-8000-00000000000d'];
const TARGET_UPNS = ['Alice@contoso.test', 'bob@contoso.test', null, 'Alan@contoso.test'];

function principals(tenantId: string): (Principal | null)[] {
  const user = (userId: string, upn: string, displayName: string): Principal => ({ kind: 'user', tenantId, userId, userPrincipalName: upn, displayName, roles: [], clientId: null, scopes: [] });
  return [
    null,
    user('c0ffee00-0000-4000-8000-000000000001', 'Ann.Lee@contoso.test', 'Ann_%Lee'),
    user('c0ffee00-0000-4000-8000-000000000002', 'annx@contoso.test', 'AnnXLee'),
    user('c0ffee00-0000-4000-8000-000000000003', 'carol@contoso.test', 'Carol Díaz'),
    { kind: 'app', tenantId, clientId: 'a99a0000-0000-4000-8000-0000000000a1', displayName: 'Sync app', permissions: [] },
  ];
}

/** `count` events with a controlled clock: steps of 0 (ties), 1 ms, minutes, hours and days. */
async function seed(ctx: TestContext, tenantId: string, count: number, seedValue: number, start: string): Promise<void> {
  const pick = rng(seedValue);
  const who = principals(tenantId);
  const now = ctx.clock.now(); // put back afterwards: access tokens are checked against this clock
  ctx.clock.set(new Date(start));
  for (let i = 0; i < count; i += 1) {
    ctx.clock.advance([0, 0, 1, 60_000, 3_600_000, 86_400_000][pick(6)]!);
    const rctx: RequestContext = { principal: who[pick(who.length)]!, ipAddress: '203.0.113.9', userAgent: 'test', correlationId: CORRELATIONS[pick(3)]! };
    const targets = Array.from({ length: pick(3) }, () => {
      const k = pick(TARGET_IDS.length);
      return { id: TARGET_IDS[k]!, displayName: `T${k}`, type: 'User' as const, userPrincipalName: TARGET_UPNS[k]!, modifiedProperties: [] };
    });
    const input: AuditInput = {
      tenantId,
      activity: ACTIVITIES[pick(ACTIVITIES.length)]!,
      category: CATEGORIES[pick(CATEGORIES.length)]!,
      loggedByService: SERVICES[pick(SERVICES.length)]!,
      operationType: 'Update',
      result: RESULTS[pick(3)]!,
      resultReason: pick(2) ? 'User successfully reset password' : '',
      targets,
      additionalDetails: [{ key: 'n', value: String(i) }],
    };
    await ctx.services.db.transaction().execute((trx) => recordAudit(ctx.services, trx, rctx, input));
  }
  ctx.clock.set(now);
}

interface Page {
  value: Record<string, unknown>[];
  '@odata.nextLink'?: string;
  '@odata.context'?: string;
}

describe.each(testDialects())('Graph directoryAudits on %s', (dialect) => {
  let ctx: TestContext;
  let reader: string;
  let other: CreatedTenant;
  let otherReader: string;
  const get = (url: string, token = reader): Promise<LightMyRequestResponse> => ctx.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  const all = async (tenantId = ctx.tenant.tenant.id) => listAuditEvents(ctx.services.db, tenantId, 0, 100_000);

  /** Follows @odata.nextLink to the end; checks page sizes on the way. */
  async function walk(query: string, top: number, token = reader): Promise<string[]> {
    const ids: string[] = [];
    let url: string | undefined = `${PATH}?${query}${query ? '&' : ''}$top=${top}`;
    for (let pages = 0; url; pages += 1) {
      const res = await get(url, token);
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json<Page>();
      const next = page['@odata.nextLink'];
      expect(page.value.length).toBeLessThanOrEqual(top);
      if (next) expect(page.value.length).toBe(top);
      if (pages > 0) expect(page.value.length).toBeGreaterThan(0);
      ids.push(...page.value.map((v) => v.id as string));
      url = next?.replace(BASE, '');
      expect(pages).toBeLessThan(1000);
    }
    return ids;
  }

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    reader = await ctx.appToken(['AuditLog.Read.All']);
    other = await createTenant(ctx.services, systemContext(ctx.services), { name: 'Fabrikam', domain: 'fabrikam.test', adminUpn: 'admin@fabrikam.test', adminPassword: 'Quiet-Lantern-Orbit-58!' });
    otherReader = await ctx.appToken(['AuditLog.Read.All'], other.tenant.id);
    await seed(ctx, ctx.tenant.tenant.id, 160, 7, '2026-10-01T00:00:00.000Z');
    await seed(ctx, other.tenant.id, 40, 8, '2026-10-01T00:00:00.000Z');
  });
  afterAll(async () => ctx.close());

  it('answers in the Graph shape with @odata.context, newest first by default', async () => {
    const events = (await all()).sort(byKey).reverse();
    const res = await get(`${PATH}?$top=3`);
    expect(res.statusCode).toBe(200);
    const page = res.json<Page>();
    expect(page['@odata.context']).toBe(`${BASE}/v1.0/$metadata#auditLogs/directoryAudits`);
    const e = events[0]!;
    expect(page.value[0]).toEqual({
      id: e.id,
      category: e.category,
      correlationId: e.correlationId,
      result: e.result,
      resultReason: e.resultReason,
      activityDisplayName: e.activityDisplayName,
      activityDateTime: e.activityDateTime,
      loggedByService: e.loggedByService,
      operationType: e.operationType,
      initiatedBy: {
        user: e.initiatedBy.user ? { ...e.initiatedBy.user } : null,
        app: e.initiatedBy.app ? { ...e.initiatedBy.app } : null,
      },
      targetResources: e.targetResources.map((t) => ({ ...t, groupType: t.groupType ?? null })),
      additionalDetails: e.additionalDetails,
    });
    expect(page.value.map((v) => v.id)).toEqual(events.slice(0, 3).map((x) => x.id));
    const one = await get(`${PATH}/${e.id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ '@odata.context': `${BASE}/v1.0/$metadata#auditLogs/directoryAudits/$entity`, ...page.value[0] });
    const selected = await get(`${PATH}/${e.id}?$select=id,result`);
    expect(selected.json()).toEqual({ '@odata.context': `${BASE}/v1.0/$metadata#auditLogs/directoryAudits(id,result)/$entity`, id: e.id, result: e.result });
  });

  const seeded = '2026-10-01T00:00:00.000Z';
  const cases: [string, Pred][] = [
    ['', () => true],
    ["activityDisplayName eq 'reset PASSWORD (self-service)'", (e) => lc(e.activityDisplayName) === 'reset password (self-service)'],
    ["activityDisplayName ne 'Add user'", (e) => e.activityDisplayName !== 'Add user'],
    ["startswith(activityDisplayName,'reset password')", (e) => lc(e.activityDisplayName).startsWith('reset password')],
    ["loggedByService eq 'Self-service Password Management'", (e) => e.loggedByService === 'Self-service Password Management'],
    ["category eq 'usermanagement' or category eq 'GroupManagement'", (e) => ['UserManagement', 'GroupManagement'].includes(e.category)],
    ["result eq 'failure'", (e) => e.result === 'failure'],
    ["not (result eq 'success')", (e) => e.result !== 'success'],
    [`correlationId eq '${CORRELATIONS[0]!.toUpperCase()}'`, (e) => e.correlationId === CORRELATIONS[0]],
    ["initiatedBy/user/id eq 'C0FFEE00-0000-4000-8000-000000000001'", (e) => e.initiatedBy.user?.id === 'c0ffee00-0000-4000-8000-000000000001'],
    ["initiatedBy/user/id ne 'c0ffee00-0000-4000-8000-000000000001'", (e) => e.initiatedBy.user?.id !== 'c0ffee00-0000-4000-8000-000000000001'],
    ["initiatedBy/user/userPrincipalName eq 'ann.lee@CONTOSO.test'", (e) => lc(e.initiatedBy.user?.userPrincipalName) === 'ann.lee@contoso.test'],
    ["startswith(initiatedBy/user/userPrincipalName,'ann')", (e) => lc(e.initiatedBy.user?.userPrincipalName).startsWith('ann')],
    ["startswith(initiatedBy/user/displayName,'ann_%')", (e) => lc(e.initiatedBy.user?.displayName).startsWith('ann_%')],
    ["initiatedBy/user/displayName eq 'CAROL DÍAZ'", (e) => e.initiatedBy.user?.displayName === 'Carol Díaz'],
    ["not startswith(initiatedBy/user/displayName,'ann')", (e) => !lc(e.initiatedBy.user?.displayName).startsWith('ann')],
    ["initiatedBy/app/appId eq 'a99a0000-0000-4000-8000-0000000000a1'", (e) => e.initiatedBy.app?.appId === 'a99a0000-0000-4000-8000-0000000000a1'],
    [`targetResources/any(t: t/id eq '${TARGET_IDS[1]}')`, (e) => e.targetResources.some((t) => t.id === TARGET_IDS[1])],
    ["targetResources/any(t: t/userPrincipalName eq 'ALICE@contoso.test')", (e) => e.targetResources.some((t) => lc(t.userPrincipalName) === 'alice@contoso.test')],
    ["targetResources/any(t: startswith(t/userPrincipalName,'al'))", (e) => e.targetResources.some((t) => lc(t.userPrincipalName).startsWith('al'))],
    [`not targetResources/any(t: t/id eq '${TARGET_IDS[0]}')`, (e) => !e.targetResources.some((t) => t.id === TARGET_IDS[0])],
    ['targetResources/any()', (e) => e.targetResources.length > 0],
    [`activityDateTime ge ${seeded.replace('01T', '05T')}`, (e) => e.activityDateTime >= seeded.replace('01T', '05T')],
    ['activityDateTime lt 2026-10-20T00:00:00Z and activityDateTime gt 2026-10-02T00:00:00Z', (e) => e.activityDateTime < '2026-10-20T00:00:00.000Z' && e.activityDateTime > '2026-10-02T00:00:00.000Z'],
    ["activityDateTime le 2026-10-15T02:00:00+02:00 and result eq 'success'", (e) => e.activityDateTime <= '2026-10-15T00:00:00.000Z' && e.result === 'success'],
    [
      "(loggedByService eq 'Core Directory' or targetResources/any(t: t/id eq '7a1b2c3d-0000-4000-8000-00000000000c')) and not (initiatedBy/app/appId eq 'a99a0000-0000-4000-8000-0000000000a1')",
      (e) => (e.loggedByService === 'Core Directory' || e.targetResources.some((t) => t.id === TARGET_IDS[2])) && e.initiatedBy.app?.appId !== 'a99a0000-0000-4000-8000-0000000000a1',
    ],
  ];

  it.each(cases)('$filter=%s: whole result sets match the reference, both orders, several page sizes', async (filter, pred) => {
    const events = await all();
    const expected = events.filter(pred).sort(byKey).map((e) => e.id);
    // every case selects something, and (but the first) not everything: a no-op filter would fail
    expect(expected.length).toBeGreaterThan(0);
    if (filter) expect(expected.length).toBeLessThan(events.length);
    const q = filter ? `$filter=${encodeURIComponent(filter)}` : '';
    expect(await walk(`${q}${q ? '&' : ''}$orderby=activityDateTime%20desc`, 1000)).toEqual([...expected].reverse());
    expect(await walk(q, 17)).toEqual([...expected].reverse());
    expect(await walk(`${q}${q ? '&' : ''}$orderby=activityDateTime`, 9)).toEqual(expected);
    expect(await walk(`${q}${q ? '&' : ''}$orderby=activityDateTime%20asc`, 1000)).toEqual(expected);
  });

  it('compares instants at stored precision: exact times, ties and finer literals', async () => {
    const events = await all();
    const tie = events.find((e, i) => events.some((f, j) => j !== i && f.activityDateTime === e.activityDateTime))!;
    const t = tie.activityDateTime;
    const finer = `${t.slice(0, 23)}4999Z`; // t + 0.4999 ms
    const checks: [string, Pred][] = [
      [`activityDateTime eq ${t}`, (e) => e.activityDateTime === t],
      [`activityDateTime ne ${t}`, (e) => e.activityDateTime !== t],
      [`activityDateTime eq ${finer}`, () => false],
      [`activityDateTime ne ${finer}`, () => true],
      [`activityDateTime ge ${finer}`, (e) => e.activityDateTime > t],
      [`activityDateTime gt ${finer}`, (e) => e.activityDateTime > t],
      [`activityDateTime lt ${finer}`, (e) => e.activityDateTime <= t],
      [`activityDateTime le ${finer}`, (e) => e.activityDateTime <= t],
    ];
    for (const [filter, pred] of checks) {
      const expected = events.filter(pred).sort(byKey).map((e) => e.id);
      expect(await walk(`$filter=${encodeURIComponent(filter)}&$orderby=activityDateTime`, 5), filter).toEqual(expected);
    }
  });

  it('keyset paging: events arriving between pages cause no duplicates and no gaps', async () => {
    const before = (await all()).sort(byKey);
    const desc: string[] = [];
    const asc: string[] = [];
    let dUrl: string | undefined = `${PATH}?$top=25`;
    let aUrl: string | undefined = `${PATH}?$top=25&$orderby=activityDateTime%20asc`;
    for (let round = 0; dUrl || aUrl; round += 1) {
      for (const [url, out, set] of [[dUrl, desc, (u?: string) => (dUrl = u)], [aUrl, asc, (u?: string) => (aUrl = u)]] as const) {
        if (!url) continue;
        const page = (await get(url)).json<Page>();
        out.push(...page.value.map((v) => v.id as string));
        set(page['@odata.nextLink']?.replace(BASE, ''));
      }
      // newer events land between pages (the chain lock orders their timestamps)
      await seed(ctx, ctx.tenant.tenant.id, 2, 100 + round, new Date(Date.UTC(2027, 0, 1) + round * 10 * 86_400_000).toISOString());
    }
    const after = (await all()).sort(byKey);
    expect(desc).toEqual(before.map((e) => e.id).reverse());
    expect(asc.slice(0, before.length)).toEqual(before.map((e) => e.id));
    expect(new Set(asc).size).toBe(asc.length);
    expect(asc).toEqual(after.map((e) => e.id).slice(0, asc.length));
  });

  it('refuses a tampered skip token, and one replayed against another query or tenant', async () => {
    const first = (await get(`${PATH}?$top=5&$filter=${encodeURIComponent("result eq 'success'")}`)).json<Page>();
    const next = new URL(first['@odata.nextLink']!);
    const token = next.searchParams.get('$skiptoken')!;
    expect(token).not.toContain((first.value.at(-1)!.id as string).slice(0, 8));
    const ok = await get(next.pathname + next.search);
    expect(ok.statusCode).toBe(200);
    const [payload, mac] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify(['2099-01-01T00:00:00.000Z', 'ffffffff-ffff-4fff-bfff-ffffffffffff'])).toString('base64url');
    const flip = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
    const bad = [
      `${forged}.${mac}`,
      `${payload}.${flip(mac)}`,
      `${flip(payload)}.${mac}`,
      'garbage',
      `${payload}`,
      '',
    ];
    for (const t of bad) {
      const res = await get(`${PATH}?$top=5&$filter=${encodeURIComponent("result eq 'success'")}&$skiptoken=${encodeURIComponent(t)}`);
      expect(res.statusCode, t).toBe(400);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('Request_BadRequest');
    }
    const elsewhere = [
      `${PATH}?$top=5&$filter=${encodeURIComponent("result eq 'failure'")}&$skiptoken=${token}`,
      `${PATH}?$top=5&$skiptoken=${token}`,
      `${PATH}?$top=5&$orderby=activityDateTime%20asc&$filter=${encodeURIComponent("result eq 'success'")}&$skiptoken=${token}`,
    ];
    for (const url of elsewhere) expect((await get(url)).statusCode, url).toBe(400);
    const foreign = await get(`${PATH}?$top=5&$filter=${encodeURIComponent("result eq 'success'")}&$skiptoken=${token}`, otherReader);
    expect(foreign.statusCode).toBe(400);
    // the same query with another $top or $select continues fine: the token binds filter and order only
    expect((await get(`${PATH}?$top=7&$select=id&$filter=${encodeURIComponent("result  eq  'success'")}&$skiptoken=${token}`)).statusCode).toBe(200);
  });

  const unsupported: [string, string, string][] = [
    ['$search="reset"', 'Request_UnsupportedQuery', '$search'],
    ['$expand=targetResources', 'Request_UnsupportedQuery', '$expand'],
    ['$skip=10', 'Request_UnsupportedQuery', '$skip'],
    ['$count=true', 'Request_UnsupportedQuery', '$count'],
    ['$format=json', 'Request_UnsupportedQuery', '$format'],
    ['$apply=groupby', 'Request_UnsupportedQuery', '$apply'],
    ['$orderby=id', 'Request_UnsupportedQuery', "'id'"],
    ['$orderby=activityDateTime sideways', 'Request_UnsupportedQuery', 'sideways'],
    ['$orderby=activityDateTime desc,id', 'Request_UnsupportedQuery', 'activityDateTime desc,id'],
    ['$top=0', 'Request_BadRequest', '1000'],
    ['$top=1001', 'Request_BadRequest', '1000'],
    ['$top=ten', 'Request_BadRequest', 'ten'],
    ['$select=password', 'Request_BadRequest', 'password'],
    [`$filter=${encodeURIComponent("foo eq 'x'")}`, 'Request_UnsupportedQuery', "'foo'"],
    [`$filter=${encodeURIComponent("contains(activityDisplayName,'x')")}`, 'Request_UnsupportedQuery', "'contains'"],
    [`$filter=${encodeURIComponent("activityDisplayName gt 'a'")}`, 'Request_UnsupportedQuery', "'gt'"],
    [`$filter=${encodeURIComponent("targetResources/all(t: t/id eq 'x')")}`, 'Request_UnsupportedQuery', "'all'"],
    [`$filter=${encodeURIComponent('activityDateTime ge yesterday')}`, 'Request_BadRequest', "'yesterday'"],
    [`$filter=${encodeURIComponent('activityDateTime ge 2026-11-01T00:00:00+02:00')}`.replace('%2B', '+'), 'Request_BadRequest', 'activityDateTime'],
    ['$filter=', 'Request_BadRequest', 'empty'],
  ];

  it.each(unsupported)('%s → 400 %s naming %s', async (query, code, named) => {
    const res = await get(`${PATH}?${query}`);
    expect(res.statusCode).toBe(400);
    const body = res.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe(code);
    expect(body.error.message).toContain(named);
  });

  it('needs AuditLog.Read.All or a reports role; a single event is 404 when unknown or another tenant’s', async () => {
    expect((await ctx.app.inject({ method: 'GET', url: PATH })).statusCode).toBe(401);
    expect((await get(PATH, await ctx.appToken(['User.Read.All']))).statusCode).toBe(403);
    expect((await get(PATH, await ctx.userToken('admin@contoso.test'))).statusCode).toBe(200);
    for (const [upn, roles] of [['plain@contoso.test', []], ['reporter@contoso.test', [ROLE.reportsReader]], ['secreader@contoso.test', [ROLE.securityReader]]] as const) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/v1.0/users',
        headers: { authorization: `Bearer ${await ctx.appToken(['User.ReadWrite.All'])}` },
        payload: { accountEnabled: true, displayName: upn, mailNickname: upn.split('@')[0], userPrincipalName: upn, passwordProfile: { password: 'Plinth-Quokka-Vortex-8' } },
      });
      const id = res.json<{ id: string }>().id;
      for (const role of roles) {
        await insertRoleAssignment(ctx.services.db, { id: ctx.services.random.uuid(), tenantId: ctx.tenant.tenant.id, principalId: id, roleDefinitionId: role, directoryScopeId: '/', createdDateTime: ctx.clock.now().toISOString() });
      }
      expect((await get(PATH, await ctx.userToken(upn))).statusCode, upn).toBe(roles.length > 0 ? 200 : 403);
    }
    const theirs = (await all(other.tenant.id))[0]!;
    expect((await get(`${PATH}/${theirs.id}`, otherReader)).statusCode).toBe(200);
    const notHere = await get(`${PATH}/${theirs.id}`);
    expect(notHere.statusCode).toBe(404);
    expect(notHere.json<{ error: { code: string } }>().error.code).toBe('Request_ResourceNotFound');
    expect((await get(`${PATH}/00000000-0000-4000-8000-000000000000`)).statusCode).toBe(404);
  });

  it('keeps tenants apart: each sees exactly its own events', async () => {
    const mine = (await all()).sort(byKey).map((e) => e.id).reverse();
    const theirs = (await all(other.tenant.id)).sort(byKey).map((e) => e.id).reverse();
    expect(await walk('', 1000)).toEqual(mine);
    expect(await walk('', 1000, otherReader)).toEqual(theirs);
    expect(mine.filter((id) => theirs.includes(id))).toEqual([]);
  });
});
