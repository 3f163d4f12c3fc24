import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit, type RequestContext } from '../../src/domain/audit.js';
import { STEP } from '../../src/domain/sspr/audit.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { csvField, parseCsv } from '../../src/lib/csv.js';
import { auditCsvRecord, AUDIT_CSV_HEADER } from '../../src/http/routes/api/audit-export.js';
import { RESET_CSV_HEADER, resetCsvRecord } from '../../src/http/routes/api/reports.js';
import type { ResetActivityRow } from '../../src/domain/reports/reset-activity.js';
import { listEventPage } from '../../src/store/reports.js';
import type { User } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startFlow } from './sspr-helpers.js';

/**
 * The CSV exports: RFC 4180 read back equals the JSON report (whole result set), hostile text is
 * quoted and neutralised, the BOM is optional, and a large export leaves as a stream of many chunks
 * (the memory figure is bench/audit-queries' to measure).
 */
const REPORT = '/api/v1/reports/passwordResetActivity';

describe('csvField (RFC 4180 and formula neutralising)', () => {
  it.each<[string | number | null, string]>([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\r\nlines', '"two\r\nlines"'],
    ['lf\nonly', '"lf\nonly"'],
    ['=1+2', "'=1+2"],
    ['+SUM(A1)', "'+SUM(A1)"],
    ['-2+3', "'-2+3"],
    ['@cmd', "'@cmd"],
    ['=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'],
    ['\tTAB', "'\tTAB"],
    [-5, '-5'],
    [null, ''],
    ['', ''],
  ])('%j → %j', (value, written) => {
    expect(csvField(value)).toBe(written);
    if (typeof value === 'string') expect(parseCsv(`${csvField(value)}\r\n`)).toEqual([[written.startsWith('"') ? written.slice(1, -1).replace(/""/g, '"') : written]]);
  });
});

describe.each(testDialects())('CSV export on %s', (dialect) => {
  let ctx: TestContext;
  let admin: string;
  const hostile: User[] = [];
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    admin = await ctx.userToken('admin@contoso.test');
    // users with no security info: each start is refused, one "Failed" row each
    for (const displayName of ['=HYPERLINK("http://evil.example","click")', 'Smith, "Jo"', 'two\nlines', '+1 555', '@SUM(1)', 'Ünïcødé 名前']) {
      const user = await createUser(ctx.services, systemContext(ctx.services), { tenantId: ctx.tenant.tenant.id, userPrincipalName: `csv${hostile.length}@contoso.test`, displayName, password: 'Zephyr-Marmot-Quill-47' });
      hostile.push(user);
      expect((await startFlow(ctx, user.userPrincipalName)).json().error.code).toBe('sspr.not_enough_methods');
    }
  });
  afterAll(async () => ctx?.close());

  const get = (url: string) => ctx.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${admin}` } });
  const allRows = async (query = ''): Promise<ResetActivityRow[]> => {
    const rows: ResetActivityRow[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`${REPORT}?top=1000${query}${cursor ? `&cursor=${cursor}` : ''}`);
      const page: { value: ResetActivityRow[]; nextCursor: string | null } = res.json();
      rows.push(...page.value);
      cursor = page.nextCursor;
    } while (cursor);
    return rows;
  };
  /** What a CSV reader gets back for a record: text, with the apostrophe the writer put before formulas. */
  const readBack = (values: readonly (string | number | boolean | null | undefined)[]) => values.map((v) => (v === null || v === undefined ? '' : /^[=+\-@\t\r]/.test(String(v)) ? `'${String(v)}` : String(v)));

  it('the CSV read back is the JSON report, row for row, hostile names quoted and neutralised', async () => {
    const res = await get(`${REPORT}.csv`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="password-reset-activity-20261125T120000Z.csv"');
    expect(res.body.startsWith('\uFEFF')).toBe(false);
    const [header, ...records] = parseCsv(res.body);
    expect(header).toEqual(RESET_CSV_HEADER);
    const rows = await allRows();
    expect(rows).toHaveLength(hostile.length);
    expect(records).toEqual(rows.map((r) => readBack(resetCsvRecord(r))));
    const names = records.map((r) => r[1]);
    expect(names).toContain('\'=HYPERLINK("http://evil.example","click")');
    expect(names).toContain('Smith, "Jo"');
    expect(names).toContain('two\nlines');
    expect(names).toContain("'+1 555");
    expect(names).toContain("'@SUM(1)");
    expect(names).toContain('Ünïcødé 名前');
    expect(res.body).toContain('"Smith, ""Jo"""');
  });

  it('?bom=true starts with a UTF-8 BOM; filters apply as in the JSON report', async () => {
    const res = await get(`${REPORT}.csv?bom=true&user=${hostile[1]!.id}`);
    expect(res.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const [header, ...records] = parseCsv(res.body.slice(1));
    expect(header![0]).toBe('User');
    expect(records).toEqual((await allRows(`&user=${hostile[1]!.id}`)).map((r) => readBack(resetCsvRecord(r))));
    expect((await get(`${REPORT}.csv?result=Nope`)).json().error.code).toBe('request.invalid');
    expect((await get(`${REPORT}.csv?cursor=x`)).json().error.code).toBe('request.unknown_property');
  });

  it('audit log export: the tenant’s events newest first, filters exact, every column', async () => {
    const res = await get('/api/v1/audit/events.csv?loggedByService=Self-service%20Password%20Management&result=failure');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="audit-log-\d{8}T\d{6}Z\.csv"$/);
    const [header, ...records] = parseCsv(res.body);
    expect(header).toEqual(AUDIT_CSV_HEADER);
    const events = await listEventPage(ctx.services.db, ctx.tenant.tenant.id, { loggedByService: ['Self-service Password Management'], results: ['failure'], limit: 10_000 });
    expect(events).toHaveLength(hostile.length);
    expect(records).toEqual(events.map((e) => readBack(auditCsvRecord(e))));
    // a user filter matches the initiator or a target
    const mine = parseCsv((await get(`/api/v1/audit/events.csv?user=${hostile[0]!.userPrincipalName}`)).body).slice(1);
    expect(mine.map((r) => r[4]).sort()).toEqual(['Add user', 'Self-service password reset flow activity progress']);
    // the admin made no user here (the system did): of "Add user" only the admin's own creation names them, as its target
    const byAdmin = parseCsv((await get('/api/v1/audit/events.csv?user=ADMIN@contoso.test&activity=Add%20user')).body).slice(1);
    expect(byAdmin.map((r) => [r[4], r[12]!.startsWith('User:admin@contoso.test (')])).toEqual([['Add user', true]]);
    expect((await get('/api/v1/audit/events.csv?method=email')).json().error.code).toBe('request.unknown_property');
  });

  it('audit log export: initiator and target filter as the audit page does, together or alone', async () => {
    const [dana, erik] = [hostile[1]!, hostile[2]!];
    // the admin changes Dana and Erik (admin → each); the system made both (no other admin event names them)
    for (const u of [dana, erik]) {
      const patch = await ctx.app.inject({ method: 'PATCH', url: `/v1.0/users/${u.id}`, headers: { authorization: `Bearer ${admin}` }, payload: { jobTitle: 'Auditor' } });
      expect(patch.statusCode).toBe(204);
    }
    const rows = async (q: string) => {
      const res = await get(`/api/v1/audit/events.csv?${q}`);
      expect(res.statusCode, res.body).toBe(200);
      return parseCsv(res.body).slice(1);
    };
    const both = await rows(`initiator=admin@contoso.test&target=${dana.id}`);
    expect(both.map((r) => r[4])).toEqual(['Update user']);
    expect(both.every((r) => r[9] === 'admin@contoso.test' && r[12]!.includes(`(${dana.id})`))).toBe(true);
    expect((await rows(`initiator=admin@contoso.test&target=${erik.userPrincipalName}`)).map((r) => r[12]!.includes(`(${erik.id})`))).toEqual([true]);
    expect(await rows(`initiator=${erik.id}&target=${dana.id}`)).toEqual([]);
    // alone: the admin initiated both changes; Dana is the target of her creation, her flow step and the change
    const byAdmin = await rows('initiator=ADMIN@contoso.test');
    expect(byAdmin.map((r) => [r[4], r[9]])).toEqual([['Update user', 'admin@contoso.test'], ['Update user', 'admin@contoso.test']]);
    const onDana = await rows(`target=${dana.userPrincipalName}`);
    expect(onDana.map((r) => r[4]).sort()).toEqual(['Add user', 'Self-service password reset flow activity progress', 'Update user']);
    // Dana initiated only her own reset attempt (Azure logs SSPR steps as the user's), not her creation or the change
    expect((await rows(`initiator=${dana.id}`)).map((r) => [r[4], r[9]])).toEqual([['Self-service password reset flow activity progress', dana.userPrincipalName]]);
    const blank = await get('/api/v1/audit/events.csv?target=%20');
    expect([blank.statusCode, blank.json().error.message]).toEqual([400, "Invalid value for 'target': give a user id or userPrincipalName."]);
  });

  it('a large export leaves as a stream of many chunks, every row present', async () => {
    const ROWS = 2500;
    const user = hostile[5]!;
    const sys: RequestContext = { principal: null, ipAddress: null, userAgent: null, correlationId: 'bulk' };
    for (let done = 0; done < ROWS; done += 500) {
      await ctx.services.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 500; i++) {
          await recordAudit(ctx.services, trx, sys, {
            tenantId: ctx.tenant.tenant.id,
            activity: 'Self-service password reset flow activity progress',
            category: 'UserManagement',
            loggedByService: 'Self-service Password Management',
            operationType: 'Update',
            result: 'failure',
            resultReason: STEP.notEnoughMethods,
            targets: [{ id: user.id, displayName: user.displayName, type: 'User', userPrincipalName: user.userPrincipalName, modifiedProperties: [] }],
            additionalDetails: [{ key: 'Result', value: 'Failed' }],
          });
        }
      });
    }
    const res = await ctx.app.inject({ method: 'GET', url: `${REPORT}.csv`, headers: { authorization: `Bearer ${admin}` }, payloadAsStream: true });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBeUndefined();
    const chunks: Buffer[] = [];
    for await (const chunk of res.stream()) chunks.push(Buffer.from(chunk as Buffer));
    // written as it is read, page by page (no length known up front, several chunks), never one buffer
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    const records = parseCsv(Buffer.concat(chunks).toString('utf8')).slice(1);
    expect(records).toHaveLength(ROWS + hostile.length);
    expect(records).toEqual((await allRows()).map((r) => readBack(resetCsvRecord(r))));
  });
});
