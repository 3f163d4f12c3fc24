import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/index.js';
import { hashAuditEvent } from '../../src/domain/audit.js';
import { insertAuditEvent, listAuditEvents } from '../../src/store/audit-events.js';
import type { AuditEventsTable } from '../../src/store/database.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

interface VerifyBody {
  tenantId: string;
  ok: boolean;
  count: number;
  head?: { seq: number; id: string; hash: string } | null;
  expectedHead?: string;
  firstBad?: { seq: number; id: string | null; problem: string; detail: string };
}

/**
 * Tampering as someone with write access to the database would do it, found and named by
 * GET /api/v1/audit/verify and by `postern audit verify`. Each test starts from the same intact chain.
 */
describe.each(testDialects())('audit chain verification (API and CLI) on %s', (dialect) => {
  let ctx: TestContext;
  let reader: string;
  let tenantId: string;
  let snapshot: AuditEventsTable[];
  /** event ids by seq, as recorded */
  let ids: Map<number, string>;
  let n: number;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    tenantId = ctx.tenant.tenant.id;
    reader = await ctx.appToken(['AuditLog.Read.All']);
    const writer = await ctx.appToken(['User.ReadWrite.All']);
    for (const name of ['adele', 'bianca', 'carlos']) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/v1.0/users',
        headers: { authorization: `Bearer ${writer}` },
        payload: { accountEnabled: true, displayName: name, mailNickname: name, userPrincipalName: `${name}@contoso.test`, passwordProfile: { password: 'Plinth-Quokka-Vortex-8' } },
      });
      expect(res.statusCode).toBe(201);
    }
    snapshot = await ctx.services.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId).orderBy('seq').execute();
    ids = new Map(snapshot.map((r) => [Number(r.seq), r.id]));
    n = snapshot.length;
    expect(n).toBeGreaterThanOrEqual(8);
  });
  afterEach(async () => {
    await ctx.services.db.deleteFrom('audit_events').where('tenant_id', '=', tenantId).execute();
    for (const row of snapshot) await ctx.services.db.insertInto('audit_events').values(row).execute();
  });
  afterAll(async () => ctx.close());

  const db = () => ctx.services.db;
  const api = async (query = ''): Promise<{ status: number; body: VerifyBody }> => {
    const res = await ctx.app.inject({ method: 'GET', url: `/api/v1/audit/verify${query}`, headers: { authorization: `Bearer ${reader}` } });
    return { status: res.statusCode, body: res.json<VerifyBody>() };
  };
  const cli = async (...args: string[]): Promise<{ code: number; out: string; err: string; json?: VerifyBody }> => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const io: CliIo = { out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
    const env = { DATABASE_URL: ctx.services.config.databaseUrl, POSTERN_SECRET_KEY: 'test-secret-key-test-secret-key-0123456789', LOG_LEVEL: 'silent' };
    const code = await runCli(['node', 'postern', 'audit', 'verify', '--tenant', tenantId, ...args], io, env);
    const out = stdout.join('\n');
    return { code, out, err: stderr.join('\n'), ...(args.includes('--json') ? { json: JSON.parse(out) as VerifyBody } : {}) };
  };
  /** both front doors name the same first bad event */
  const expectBad = async (firstBad: { seq: number; id: string | null; problem: string }, query = '', cliArgs: string[] = []) => {
    const { status, body } = await api(query);
    expect(status).toBe(200);
    expect(body).toMatchObject({ tenantId, ok: false, count: firstBad.seq - 1, firstBad });
    const text = await cli(...cliArgs);
    expect(text.code).toBe(1);
    expect(text.err).toContain(`NOT intact: ${firstBad.problem} at seq ${firstBad.seq}`);
    if (firstBad.id) expect(text.err).toContain(firstBad.id);
    const json = await cli('--json', ...cliArgs);
    expect(json.code).toBe(1);
    expect(json.json).toMatchObject({ ok: false, firstBad });
    return body.firstBad!;
  };
  /** moves every event from `from` on by `by` places, around the unique (tenant_id, seq) */
  const shift = async (from: number, by: number) => {
    await db().updateTable('audit_events').set((eb) => ({ seq: eb('seq', '+', 100_000) })).where('tenant_id', '=', tenantId).where('seq', '>=', from).execute();
    await db().updateTable('audit_events').set((eb) => ({ seq: eb('seq', '-', 100_000 - by) })).where('tenant_id', '=', tenantId).where('seq', '>=', 100_000).execute();
  };
  /** a forged event with a valid hash of its own, built from event `like` */
  const forge = async (seq: number, prevHash: string) => {
    const [model] = await listAuditEvents(db(), tenantId, 0, 1);
    const { hash: _hash, ...body } = { ...model!, id: '0f0f0f0f-0000-4000-8000-00000000f0f0', seq, prevHash, activityDisplayName: 'Add member to role', resultReason: 'forged' };
    await insertAuditEvent(db(), { ...body, hash: hashAuditEvent(body) });
    return body.id;
  };

  it('reports an intact chain with its head, through the API and the CLI, and accepts that head as expected', async () => {
    const { status, body } = await api();
    expect(status).toBe(200);
    const last = snapshot[n - 1]!;
    expect(body).toEqual({ tenantId, ok: true, count: n, head: { seq: n, id: last.id, hash: last.hash } });
    const text = await cli();
    expect(text.code).toBe(0);
    expect(text.out).toContain(`is intact: ${n} events, head ${n}:${last.hash}`);
    expect((await api(`?expectHead=${n}:${last.hash}`)).body).toMatchObject({ ok: true, expectedHead: 'matched' });
    expect((await cli('--expect-head', `${n}:${last.hash}`)).code).toBe(0);
  });

  it('names an edited field as altered', async () => {
    await db().updateTable('audit_events').set({ result_reason: 'nothing to see' }).where('tenant_id', '=', tenantId).where('seq', '=', 5).execute();
    const bad = await expectBad({ seq: 5, id: ids.get(5)!, problem: 'altered' });
    expect(bad.detail).toContain('no longer matches its hash');
  });

  it('names an edit whose hash the forger recomputed as altered', async () => {
    const [e] = await listAuditEvents(db(), tenantId, 4, 1);
    const { hash: _old, ...body } = { ...e!, resultReason: 'rewritten' };
    await db().updateTable('audit_events').set({ result_reason: 'rewritten', hash: hashAuditEvent(body) }).where('id', '=', e!.id).execute();
    const bad = await expectBad({ seq: 5, id: ids.get(5)!, problem: 'altered' });
    expect(bad.detail).toContain('hash recomputed');
    expect(bad.detail).toContain(ids.get(6)!);
  });

  it('names a deleted event as missing', async () => {
    await db().deleteFrom('audit_events').where('tenant_id', '=', tenantId).where('seq', '=', 4).execute();
    const bad = await expectBad({ seq: 4, id: null, problem: 'missing' });
    expect(bad.detail).toContain(ids.get(5)!);
  });

  it('names the moved event when a deletion was hidden by renumbering the rest', async () => {
    await db().deleteFrom('audit_events').where('tenant_id', '=', tenantId).where('seq', 'in', [4, 5]).execute();
    await shift(6, -2);
    const bad = await expectBad({ seq: 4, id: ids.get(6)!, problem: 'renumbered' });
    expect(bad.detail).toContain('hashed as event 6');
  });

  it('names a forged event inserted in the middle (later events moved up, its own hash valid)', async () => {
    await shift(4, 1);
    const forged = await forge(4, snapshot[2]!.hash);
    const bad = await expectBad({ seq: 4, id: forged, problem: 'inserted' });
    expect(bad.detail).toContain(ids.get(4)!);
  });

  it('names a forged event appended at the end with a wrong link', async () => {
    const forged = await forge(n + 1, 'f'.repeat(64));
    await expectBad({ seq: n + 1, id: forged, problem: 'inserted' });
  });

  it('finds deleted newest events only against an expected head', async () => {
    const last = snapshot[n - 1]!;
    await db().deleteFrom('audit_events').where('tenant_id', '=', tenantId).where('seq', '>', n - 2).execute();
    // on its own the shorter chain is valid: that is what the kept head is for
    expect((await api()).body).toMatchObject({ ok: true, count: n - 2, head: { seq: n - 2 } });
    const bad = await expectBad({ seq: n - 1, id: null, problem: 'truncated' }, `?expectHead=${n}:${last.hash}`, ['--expect-head', `${n}:${last.hash}`]);
    expect(bad.detail).toContain(`ends at event ${n - 2}`);
  });

  it('finds a chain rewritten up to the expected head', async () => {
    const head = snapshot[n - 1]!;
    // the newest event replaced by a consistent forgery (valid own hash and link): only the kept head tells
    await db().deleteFrom('audit_events').where('tenant_id', '=', tenantId).where('seq', '=', n).execute();
    const forged = await forge(n, snapshot[n - 2]!.hash);
    await expectBad({ seq: n, id: forged, problem: 'diverged' }, `?expectHead=${n}:${head.hash}`, ['--expect-head', `${n}:${head.hash}`]);
  });

  it('refuses a malformed expectHead and a caller without audit permissions', async () => {
    const bad = await api('?expectHead=12:xyz');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('expectHead');
    expect((await api('?expect=1')).status).toBe(400);
    const cliBad = await cli('--expect-head', 'nope');
    expect(cliBad.code).not.toBe(0);
    expect(cliBad.err).toContain('--expect-head');
    const userReader = await ctx.appToken(['User.Read.All']);
    const res = await ctx.app.inject({ method: 'GET', url: '/api/v1/audit/verify', headers: { authorization: `Bearer ${userReader}` } });
    expect(res.statusCode).toBe(403);
  });
});
