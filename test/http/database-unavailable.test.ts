import { createServer, connect, type Server, type Socket } from 'node:net';
import SQLite from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueUserAccessToken } from '../../src/domain/access-tokens.js';
import { listRoleIdsOfPrincipal } from '../../src/store/role-assignments.js';
import { createTenant, systemContext, type CreatedTenant } from '../../src/domain/tenants.js';
import { createApp } from '../../src/http/app.js';
import { createServices, type Services } from '../../src/services.js';
import { isDatabaseUnavailable } from '../../src/store/database-errors.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { findUserByUpn } from '../../src/store/users.js';
import { ADMIN_PASSWORD, createTestDatabase, testConfig, testDialects, type TestDatabase } from '../helpers/context.js';

/**
 * Issue 10, dependencies failing: with its database gone the server answers 503 with Retry-After in
 * each surface's shape (Graph, Postern API, OAuth, health), changes nothing, logs why without secrets,
 * and serves again as soon as the database is back — without a restart.
 * PostgreSQL goes away for real: the app talks to it through a TCP relay that the test closes (every
 * connection cut, new ones refused) and opens again. SQLite: another process holds the write lock past
 * Postern's busy timeout.
 */

/** A TCP relay to the database that can be taken down (connections cut, port closed) and brought back on the same port. */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const GRAPH_CLIENT = '14d82eec-204b-4c2f-b7e8-296a70dab67e';

describe.each(testDialects())('database unavailable (%s)', (dialect) => {
  let database: TestDatabase;
  let relay: Relay | null = null;
  let sqlitePath = '';
  let services: Services;
  let app: FastifyInstance;
  let tenant: CreatedTenant;
  let token: string;
  const lines: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    let url = database.url;
    if (dialect === 'postgres') {
      const target = new URL(database.url);
      relay = new Relay({ host: target.hostname, port: Number(target.port || 5432) });
      await relay.up();
      target.hostname = '127.0.0.1';
      target.port = String(relay.port);
      url = target.toString();
    } else {
      sqlitePath = database.url.slice('sqlite:'.length);
    }
    services = createServices(testConfig(url));
    await migrateToLatest(services.db);
    tenant = await createTenant(services, systemContext(services), { name: 'Contoso', domain: 'contoso.test', adminUpn: 'admin@contoso.test', adminPassword: ADMIN_PASSWORD });
    app = await createApp(services, { logLevel: 'info', logStream: { write: (line) => lines.push(line) } });
    const admin = (await findUserByUpn(services.db, 'admin@contoso.test'))!;
    token = await issueUserAccessToken(services.tokens, { user: admin, roles: await listRoleIdsOfPrincipal(services.db, admin.tenantId, admin.id), clientId: GRAPH_CLIENT, scope: 'openid profile User.ReadWrite.All' });
  });

  afterAll(async () => {
    await app?.close();
    await services?.close();
    await relay?.down();
    await database?.drop();
  });

  const graph = (method: 'GET' | 'PATCH', url: string, payload?: Record<string, unknown>) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
  const signIn = () =>
    app.inject({
      method: 'POST',
      url: `/${tenant.tenant.id}/oauth2/v2.0/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'password', client_id: GRAPH_CLIENT, username: 'admin@contoso.test', password: ADMIN_PASSWORD, scope: 'https://graph.microsoft.com/.default' }).toString(),
    });

  const postgresGone = async (): Promise<void> => {
    expect((await graph('GET', '/v1.0/users')).statusCode).toBe(200);
    expect((await signIn()).statusCode).toBe(200);

    await relay!.down();
    lines.length = 0;
    const users = await graph('GET', '/v1.0/users');
    expect(users.statusCode).toBe(503);
    expect(users.headers['retry-after']).toBe('5');
    expect(users.json()).toMatchObject({ error: { code: 'serviceNotAvailable', innerError: { code: 'service.database_unavailable' } } });

    const grant = await signIn();
    expect(grant.statusCode).toBe(503);
    expect(grant.headers['retry-after']).toBe('5');
    expect(grant.json()).toMatchObject({ error: 'temporarily_unavailable', error_codes: [90033] });

    const portal = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: 'admin@contoso.test', password: ADMIN_PASSWORD } });
    expect(portal.statusCode).toBe(503);
    expect(portal.headers['retry-after']).toBe('5');
    expect(portal.json()).toMatchObject({ error: { code: 'service.database_unavailable' } });
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(503);

    // logged as a warning naming the cause, no 500 and no connection string
    const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string; db?: { code?: string } });
    expect(logged.some((l) => l.msg === 'database unavailable' && l.level === 40 && l.db?.code === 'ECONNREFUSED')).toBe(true);
    expect(logged.some((l) => l.msg === 'unhandled error')).toBe(false);
    expect(lines.join('\n')).not.toContain(database.url);

    await relay!.up();
    // the pool opens new connections by itself: no restart
    expect((await graph('GET', '/v1.0/users')).statusCode).toBe(200);
    expect((await signIn()).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: 'admin@contoso.test', password: ADMIN_PASSWORD } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  };

  const sqliteLocked = async (): Promise<void> => {
    const admin = (await findUserByUpn(services.db, 'admin@contoso.test'))!;
    const audits = async () => Number((await services.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await audits();
    const other = new SQLite(sqlitePath);
    try {
      other.exec('begin immediate');
      // reads go on (WAL)
      expect((await graph('GET', `/v1.0/users/${admin.id}`)).statusCode).toBe(200);
      const patched = await graph('PATCH', `/v1.0/users/${admin.id}`, { jobTitle: 'Locked out' });
      expect(patched.statusCode).toBe(503);
      expect(patched.headers['retry-after']).toBe('5');
      expect(patched.json()).toMatchObject({ error: { code: 'serviceNotAvailable' } });
    } finally {
      other.exec('rollback');
      other.close();
    }
    expect((await findUserByUpn(services.db, 'admin@contoso.test'))!.jobTitle).toBeNull();
    expect(await audits()).toBe(before);
    expect((await graph('PATCH', `/v1.0/users/${admin.id}`, { jobTitle: 'Back' })).statusCode).toBe(204);
    expect((await findUserByUpn(services.db, 'admin@contoso.test'))!.jobTitle).toBe('Back');
  };

  if (dialect === 'postgres') it('answers 503 with Retry-After on every surface while PostgreSQL is gone, and serves again once it is back', postgresGone);
  else it('answers 503 with Retry-After when another process holds the write lock past the busy timeout, changes nothing, and writes again once it is released', sqliteLocked, 20_000);
});

describe('isDatabaseUnavailable', () => {
  const pgError = (code: string) => Object.assign(new Error('x'), { code });
  const sqliteError = (code: string) => Object.assign(new Error('x'), { name: 'SqliteError', code });
  it('knows a database that is gone from a query that is wrong', () => {
    for (const e of [pgError('ECONNREFUSED'), pgError('57P01'), pgError('08006'), pgError('53300'), sqliteError('SQLITE_BUSY'), sqliteError('SQLITE_IOERR_WRITE'), new Error('Connection terminated unexpectedly'), new Error('timeout exceeded when trying to connect')]) {
      expect(isDatabaseUnavailable(e), `${(e as { code?: string }).code ?? e.message}`).toBe(true);
    }
    for (const e of [pgError('23505'), pgError('42P01'), pgError('22P02'), sqliteError('SQLITE_CONSTRAINT_UNIQUE'), sqliteError('SQLITE_ERROR'), new Error('boom'), null, 'ECONNREFUSED']) {
      expect(isDatabaseUnavailable(e)).toBe(false);
    }
  });
});
