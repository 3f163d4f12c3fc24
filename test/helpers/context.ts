import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { issueAppAccessToken, issueUserAccessToken } from '../../src/domain/access-tokens.js';
import { createApplication } from '../../src/domain/applications.js';
import { createTenant, systemContext, type CreatedTenant } from '../../src/domain/tenants.js';
import { createApp } from '../../src/http/app.js';
import { FixedClock, type Clock } from '../../src/lib/clock.js';
import { createServices, type Services } from '../../src/services.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { listRoleIdsOfPrincipal } from '../../src/store/role-assignments.js';
import { findUserByUpn } from '../../src/store/users.js';
import type { Dialect } from '../../src/store/database.js';

export const ADMIN_PASSWORD = 'Quiet-Lantern-Orbit-58!';

/**
 * The dialects every store and HTTP suite runs on. PostgreSQL is skipped with a notice when no
 * server is available, unless POSTERN_REQUIRE_SERVICES=1 (CI), when that is an error.
 */
export function testDialects(): Dialect[] {
  if (inject('pgUrl')) return ['sqlite', 'postgres'];
  if (process.env.POSTERN_REQUIRE_SERVICES === '1') {
    throw new Error('POSTERN_REQUIRE_SERVICES=1 but no PostgreSQL is available (POSTERN_TEST_PG_URL unset and no initdb found)');
  }
  if (!noticeShown) {
    noticeShown = true;
    console.warn('[postern tests] PostgreSQL not available: PostgreSQL variants skipped (set POSTERN_TEST_PG_URL or install postgresql)');
  }
  return ['sqlite'];
}
let noticeShown = false;

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database of the dialect. */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'postern-test-'));
    return { url: `sqlite:${join(dir, 'postern.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const serverUrl = inject('pgUrl');
  if (!serverUrl) throw new Error('no PostgreSQL server for the tests');
  const name = `postern_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export function testConfig(databaseUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: databaseUrl,
    POSTERN_SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
    PUBLIC_URL: 'http://localhost:8080',
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    // cheap argon2 parameters: the tests check behaviour, bench/ checks cost
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_ITERATIONS: '1',
    // the SSPR response floor is a wall-clock wait; test/http/sspr-pacing.test.ts checks it on its own
    SSPR_MIN_RESPONSE_MS: '0',
    ...env,
  });
}

export interface TestContext {
  dialect: Dialect;
  services: Services;
  app: FastifyInstance;
  clock: FixedClock;
  /** the tenant made for this context: domain contoso.test, admin admin@contoso.test / ADMIN_PASSWORD */
  tenant: CreatedTenant;
  /** a client-credentials token for a new app with these Graph application permissions */
  appToken(permissions: string[], tenantId?: string): Promise<string>;
  /** a delegated token for an existing user, with their current directory roles */
  userToken(upn: string): Promise<string>;
  close(): Promise<void>;
}

export interface ContextOptions {
  env?: Record<string, string>;
  clock?: Clock;
}

/** A migrated database with one tenant, the app on top, and helpers to mint tokens. */
export async function createTestContext(dialect: Dialect, options: ContextOptions = {}): Promise<TestContext> {
  const database = await createTestDatabase(dialect);
  const clock = new FixedClock(new Date('2026-11-25T12:00:00.000Z'));
  const services = createServices(testConfig(database.url, options.env), { clock: options.clock ?? clock });
  await migrateToLatest(services.db);
  const tenant = await createTenant(services, systemContext(services), {
    name: 'Contoso',
    domain: 'contoso.test',
    adminUpn: 'admin@contoso.test',
    adminPassword: ADMIN_PASSWORD,
  });
  const app = await createApp(services, { logger: false });
  await app.ready();
  return {
    dialect,
    services,
    app,
    clock,
    tenant,
    appToken: async (permissions, tenantId = tenant.tenant.id) => {
      const { application } = await createApplication(services, systemContext(services), { tenantId, name: `test app ${permissions.join(' ')}`, permissions });
      return issueAppAccessToken(services.tokens, application);
    },
    userToken: async (upn) => {
      const user = await findUserByUpn(services.db, upn);
      if (!user) throw new Error(`no user ${upn}`);
      const roles = await listRoleIdsOfPrincipal(services.db, user.tenantId, user.id);
      return issueUserAccessToken(services.tokens, { user, roles, clientId: '14d82eec-204b-4c2f-b7e8-296a70dab67e', scope: 'openid profile offline_access User.ReadWrite.All' });
    },
    close: async () => {
      await app.close();
      await services.close();
      await database.drop();
    },
  };
}
