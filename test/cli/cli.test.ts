import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/index.js';
import { createServices } from '../../src/services.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { findApplicationByClientId } from '../../src/store/applications.js';
import { findUserByUpn } from '../../src/store/users.js';
import { findTenantById } from '../../src/store/tenants.js';
import { checkPasswordPolicy } from '../../src/domain/password-policy.js';
import { passwordPolicyOf } from '../../src/domain/policies.js';
import { TEMPORARY_PASSWORD_CLASSES } from '../../src/domain/temporary-password.js';
import { createTestDatabase, testConfig, testDialects, type TestDatabase } from '../helpers/context.js';

function captureIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

describe.each(testDialects())('postern CLI on %s', (dialect) => {
  let database: TestDatabase;
  let env: Record<string, string>;

  beforeEach(async () => {
    database = await createTestDatabase(dialect);
    env = {
      DATABASE_URL: database.url,
      POSTERN_SECRET_KEY: 'cli-test-secret-key-0123456789abcdefghij',
      LOG_LEVEL: 'silent',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_ITERATIONS: '1',
    };
  });
  afterEach(async () => database.drop());

  const run = async (...args: string[]) => {
    const io = captureIo();
    const code = await runCli(['node', 'postern', ...args], io, env);
    return { code, io, json: () => JSON.parse(io.stdout.join('')) as Record<string, unknown> };
  };

  it('migrate --json applies the migrations once, then reports nothing to do', async () => {
    const first = await run('migrate', '--json');
    expect(first.code).toBe(0);
    const all = Object.keys(await migrationProvider.getMigrations()).sort();
    expect(all[0]).toBe('2026_11_25_1700_directory_core');
    expect(first.json()).toEqual({ applied: all });
    const second = await run('migrate', '--json');
    expect(second.json()).toEqual({ applied: [] });
  });

  it('tenant create --json prints one object with a one-time password that signs the admin in', async () => {
    const r = await run('tenant', 'create', '--name', 'Fabrikam', '--domain', 'Fabrikam.test', '--admin', 'boss@fabrikam.test', '--json');
    expect(r.code).toBe(0);
    expect(r.io.stdout).toHaveLength(1);
    const out = r.json();
    expect(out).toMatchObject({ name: 'Fabrikam', domain: 'fabrikam.test', edition: 'premium', admin: 'boss@fabrikam.test' });
    expect(out.tenantId).toMatch(/^[0-9a-f-]{36}$/);
    const password = out.adminOneTimePassword as string;
    // drawn by temporary-password.ts: its alphabet (no look-alikes), all four classes, the tenant's policy
    expect(password).toHaveLength(16);
    const alphabet = TEMPORARY_PASSWORD_CLASSES.join('');
    expect([...password].filter((c) => !alphabet.includes(c))).toEqual([]);
    for (const set of TEMPORARY_PASSWORD_CLASSES) expect([...password].some((c) => set.includes(c)), set).toBe(true);

    const services = createServices(testConfig(database.url, { POSTERN_SECRET_KEY: env.POSTERN_SECRET_KEY! }));
    try {
      const admin = await findUserByUpn(services.db, 'BOSS@fabrikam.test');
      expect(admin).toBeDefined();
      expect(await services.hasher.verify(admin!.passwordHash!, password)).toBe(true);
      const tenant = (await findTenantById(services.db, out.tenantId as string))!;
      expect(checkPasswordPolicy(passwordPolicyOf(tenant), password, { tenantName: tenant.displayName, edition: tenant.edition })).toEqual([]);
    } finally {
      await services.close();
    }
  });

  it('tenant create with --admin-password prints no password; a taken domain fails on stderr with exit 1', async () => {
    const ok = await run('tenant', 'create', '--name', 'A', '--domain', 'a.test', '--admin', 'x@a.test', '--admin-password', 'Long-enough-1', '--json');
    expect(ok.code).toBe(0);
    expect(ok.json()).not.toHaveProperty('adminOneTimePassword');
    const dup = await run('tenant', 'create', '--name', 'B', '--domain', 'A.TEST', '--admin', 'y@a.test', '--json');
    expect(dup.code).toBe(1);
    expect(dup.io.stdout).toHaveLength(0);
    expect(dup.io.stderr.join('')).toContain('tenant.domain_taken');
  });

  it('refuses a short admin password, a bad edition and a bad domain, naming each', async () => {
    const short = await run('tenant', 'create', '--name', 'A', '--domain', 'a.test', '--admin', 'x@a.test', '--admin-password', 'short');
    expect(short.code).toBe(1);
    expect(short.io.stderr.join('')).toContain('at least 8 characters');
    const edition = await run('tenant', 'create', '--name', 'A', '--domain', 'a.test', '--admin', 'x@a.test', '--edition', 'gold');
    expect(edition.code).toBe(1);
    expect(edition.io.stderr.join('')).toContain('--edition');
    const domain = await run('tenant', 'create', '--name', 'A', '--domain', 'not a domain', '--admin', 'x@a.test');
    expect(domain.code).toBe(1);
    expect(domain.io.stderr.join('')).toContain('tenant.domain_invalid');
  });

  it('leaves nothing behind when the admin cannot be created', async () => {
    const wrongDomain = await run('tenant', 'create', '--name', 'A', '--domain', 'a.test', '--admin', 'x@elsewhere.test', '--json');
    expect(wrongDomain.code).toBe(1);
    expect(wrongDomain.io.stderr.join('')).toContain("must be on the tenant's domain a.test");
    const badUpn = await run('tenant', 'create', '--name', 'A', '--domain', 'a.test', '--admin', 'x.@a.test', '--json');
    expect(badUpn.code).toBe(1);
    expect(badUpn.io.stderr.join('')).toContain('user.upn_invalid');
    // the domain is still free: the failed attempts wrote no tenant, domain, user or audit event
    const ok = await run('tenant', 'create', '--name', 'A', '--domain', 'a.test', '--admin', 'x@a.test', '--json');
    expect(ok.code).toBe(0);
  });

  it('app create --json returns a client id and a secret that is stored only as a hash', async () => {
    await run('tenant', 'create', '--name', 'A', '--domain', 'a.test', '--admin', 'x@a.test', '--json');
    const r = await run('app', 'create', '--tenant', 'a.test', '--name', 'Sync', '--permissions', 'User.ReadWrite.All, Group.ReadWrite.All', '--json');
    expect(r.code).toBe(0);
    const out = r.json();
    expect(out.permissions).toEqual(['User.ReadWrite.All', 'Group.ReadWrite.All']);
    expect(typeof out.clientSecret).toBe('string');
    expect(out.tokenEndpoint).toBe(`http://localhost:8080/${String(out.tenantId)}/oauth2/v2.0/token`);

    const services = createServices(testConfig(database.url, { POSTERN_SECRET_KEY: env.POSTERN_SECRET_KEY! }));
    try {
      const app = await findApplicationByClientId(services.db, out.tenantId as string, out.clientId as string);
      expect(app?.secretHash).toMatch(/^\$argon2id\$/);
      expect(app?.secretHash).not.toContain(out.clientSecret as string);
      expect(await services.hasher.verify(app!.secretHash!, out.clientSecret as string)).toBe(true);
    } finally {
      await services.close();
    }
  });

  it('app create refuses unknown permissions and unknown tenants; --public has no secret', async () => {
    await run('tenant', 'create', '--name', 'A', '--domain', 'a.test', '--admin', 'x@a.test', '--json');
    const bad = await run('app', 'create', '--tenant', 'a.test', '--name', 'X', '--permissions', 'User.ReadWrite.Everything');
    expect(bad.code).toBe(1);
    expect(bad.io.stderr.join('')).toContain('User.ReadWrite.Everything');
    const noTenant = await run('app', 'create', '--tenant', 'nowhere.test', '--name', 'X');
    expect(noTenant.code).toBe(1);
    expect(noTenant.io.stderr.join('')).toContain('nowhere.test');
    const pub = await run('app', 'create', '--tenant', 'a.test', '--name', 'Desk', '--public', '--json');
    expect(pub.code).toBe(0);
    expect(pub.json()).not.toHaveProperty('clientSecret');
  });

  it('reports a bad DATABASE_URL as a configuration error, not a stack trace', async () => {
    env.DATABASE_URL = 'mysql://nope';
    const r = await run('migrate');
    expect(r.code).toBe(1);
    expect(r.io.stderr.join('')).toContain('DATABASE_URL: must start with sqlite: or postgres://');
  });
});
