import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/index.js';
import { createServices } from '../../src/services.js';
import { createTestDatabase, testConfig, testDialects, type TestDatabase } from '../helpers/context.js';

function captureIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

describe.each(testDialects())('postern audit verify on %s', (dialect) => {
  let database: TestDatabase;
  let env: Record<string, string>;
  let tenantId: string;

  const run = async (...args: string[]) => {
    const io = captureIo();
    const code = await runCli(['node', 'postern', ...args], io, env);
    return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
  };
  /** A raw edit of the database, as an attacker with database access would make. */
  const tamper = async (fn: (db: ReturnType<typeof createServices>['db']) => Promise<unknown>) => {
    const services = createServices(testConfig(database.url, { POSTERN_SECRET_KEY: env.POSTERN_SECRET_KEY! }));
    try {
      await fn(services.db);
    } finally {
      await services.close();
    }
  };

  beforeEach(async () => {
    database = await createTestDatabase(dialect);
    env = {
      DATABASE_URL: database.url,
      POSTERN_SECRET_KEY: 'cli-test-secret-key-0123456789abcdefghij',
      LOG_LEVEL: 'silent',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_ITERATIONS: '1',
    };
    const created = await run('tenant', 'create', '--name', 'Contoso', '--domain', 'contoso.test', '--admin', 'admin@contoso.test', '--admin-password', 'Long-enough-1', '--json');
    expect(created.code).toBe(0);
    tenantId = (JSON.parse(created.out) as { tenantId: string }).tenantId;
    expect((await run('app', 'create', '--tenant', 'contoso.test', '--name', 'Sync', '--permissions', 'User.Read.All')).code).toBe(0);
  });
  afterEach(async () => database.drop());

  it('exits 0 for an intact chain, by domain or id, in text and JSON', async () => {
    const text = await run('audit', 'verify', '--tenant', 'contoso.test');
    expect(text.code).toBe(0);
    expect(text.out).toContain('is intact: 4 events');
    expect(text.err).toBe('');
    const json = await run('audit', 'verify', '--tenant', tenantId, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ tenantId, ok: true, count: 4, head: { seq: 4 } });
  });

  it('exits 1 naming the first altered event', async () => {
    await tamper((db) => db.updateTable('audit_events').set({ result_reason: 'edited' }).where('tenant_id', '=', tenantId).where('seq', '=', 2).execute());
    const text = await run('audit', 'verify', '--tenant', 'contoso.test');
    expect(text.code).toBe(1);
    expect(text.err).toMatch(/NOT intact: altered at seq 2/);
    expect(text.err).toContain('Add user');
    const json = await run('audit', 'verify', '--tenant', 'contoso.test', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ ok: false, count: 1, firstBad: { seq: 2, problem: 'altered' } });
  });

  it('exits 1 naming a missing event', async () => {
    await tamper((db) => db.deleteFrom('audit_events').where('tenant_id', '=', tenantId).where('seq', '=', 3).execute());
    const r = await run('audit', 'verify', '--tenant', 'contoso.test');
    expect(r.code).toBe(1);
    expect(r.err).toContain('missing at seq 3');
  });

  it('refuses an unknown tenant and a missing --tenant', async () => {
    const unknown = await run('audit', 'verify', '--tenant', 'nowhere.test');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('tenant.not_found');
    expect(unknown.err).toContain('nowhere.test');
    const missing = await run('audit', 'verify');
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('--tenant');
  });
});
