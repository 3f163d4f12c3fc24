import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { issueUserAccessToken } from '../../src/domain/access-tokens.js';
import { PASSWORD_METHOD_ID } from '../../src/domain/admin-reset.js';
import { verifyAuditChain } from '../../src/domain/audit-verify.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { createServices, type Services } from '../../src/services.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { listRoleIdsOfPrincipal } from '../../src/store/role-assignments.js';
import { findUserById, findUserByUpn, type User } from '../../src/store/users.js';
import { createTestDatabase, testDialects, type TestDatabase } from '../helpers/context.js';
import { freePort, spawnPostern, stopAllSpawned } from '../helpers/spawn-server.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';

/**
 * Issue 10, crash consistency: `kill -9` the server while 200 password writes are in flight — 100
 * admin resets through Graph and 100 self-service changes — on SQLite and on PostgreSQL, then start it
 * again on the same database. Afterwards every user has either the old or the new password (and the
 * new one whenever the server had answered success), every committed change has exactly one audit
 * event of its kind and the audit chain verifies, and every committed change's notice is in the outbox
 * exactly once and delivered by the restarted server — a copy sent again after the crash (SMTP cannot
 * be exactly-once across a crash between the relay's acceptance and the outbox recording it) carries
 * the same Message-ID, the outbox message's id.
 */

const USERS = 200;
const OLD = 'Granite-Osprey-Lantern-31';
const NEW = (i: number) => `Zb7q-Vemrix-Tolph-${1000 + i}`;
const GRAPH_CLIENT = '14d82eec-204b-4c2f-b7e8-296a70dab67e';
const SECRET = 'crash-test-secret-key-0123456789-abcdefghij';

describe.each(testDialects())('kill -9 during 200 concurrent resets and changes (%s)', (dialect) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    await stopAllSpawned();
    for (const c of cleanups.reverse()) await c();
  });

  it('every password is the old or the new one, each committed change has one audit event and one notice, nothing is lost', async () => {
    const database: TestDatabase = await createTestDatabase(dialect);
    cleanups.push(() => database.drop());
    const dir = mkdtempSync(join(tmpdir(), 'postern-crash-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sink: SmtpSink = await startSmtpSink();
    cleanups.push(() => sink.close());
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      DATABASE_URL: database.url,
      POSTERN_DATA_DIR: dir,
      POSTERN_SECRET_KEY: SECRET,
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: base,
      LOG_LEVEL: 'warn',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_ITERATIONS: '1',
      SMTP_URL: sink.url,
      MAIL_FROM: 'postern@contoso.test',
    };

    // the tenant, 200 users with the old password, and the tokens the requests use
    let services: Services = createServices(loadConfig(env));
    const users: User[] = [];
    let adminToken = '';
    const userTokens: string[] = [];
    let tenantId = '';
    try {
      await migrateToLatest(services.db);
      const { tenant } = await createTenant(services, systemContext(services), { name: 'Contoso', domain: 'contoso.test', adminUpn: 'admin@contoso.test', adminPassword: OLD });
      tenantId = tenant.id;
      for (let i = 0; i < USERS; i++) users.push(await createUser(services, systemContext(services), { tenantId, userPrincipalName: `crash${i}@contoso.test`, displayName: `Crash ${i}`, password: OLD }));
      const admin = (await findUserByUpn(services.db, 'admin@contoso.test'))!;
      adminToken = await issueUserAccessToken(services.tokens, { user: admin, roles: await listRoleIdsOfPrincipal(services.db, tenantId, admin.id), clientId: GRAPH_CLIENT, scope: 'openid profile User.ReadWrite.All' });
      for (const u of users.slice(USERS / 2)) userTokens.push(await issueUserAccessToken(services.tokens, { user: u, roles: [], clientId: GRAPH_CLIENT, scope: 'openid profile User.Read' }));
    } finally {
      await services.close();
    }

    const server = spawnPostern(['serve'], { env });
    await server.waitForLine(/listening on/, 60_000);

    // 200 writes at once; the server is killed once a few dozen have been answered
    const acknowledged = new Set<number>();
    let answered = 0;
    let killed = false;
    const kill = (): void => {
      if (killed) return;
      killed = true;
      server.child.kill('SIGKILL');
    };
    const send = async (i: number): Promise<void> => {
      const admin = i < USERS / 2;
      const res = await fetch(admin ? `${base}/v1.0/users/${users[i]!.id}/authentication/methods/${PASSWORD_METHOD_ID}/resetPassword` : `${base}/v1.0/me/changePassword`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin ? adminToken : userTokens[i - USERS / 2]!}`, 'content-type': 'application/json' },
        body: JSON.stringify(admin ? { newPassword: NEW(i) } : { currentPassword: OLD, newPassword: NEW(i) }),
      }).catch(() => null);
      if (!res) return;
      const text = await res.text().catch(() => '');
      if (res.status === 202 || res.status === 204) acknowledged.add(i);
      else if (!killed) throw new Error(`request ${i} answered ${res.status} before the kill: ${text.slice(0, 300)}`);
      answered += 1;
      if (answered >= 40) kill();
    };
    const writes = Promise.all(Array.from({ length: USERS }, (_, i) => send(i)));
    // a slow machine may answer everything before the 40th answer arrives: kill anyway after 20 s
    const backstop = sleep(20_000).then(kill);
    await writes;
    kill();
    void backstop;
    expect(await server.exited).toBe('SIGKILL');
    expect(acknowledged.size).toBeGreaterThan(0);
    expect(acknowledged.size).toBeLessThan(USERS); // the kill came with writes in flight

    // the server starts again on the database the kill left, and delivers what its outbox holds
    const again = spawnPostern(['serve'], { env });
    await again.waitForLine(/listening on/, 60_000);
    services = createServices(loadConfig(env));
    cleanups.push(() => services.close());

    const changed = new Set<number>();
    for (let i = 0; i < USERS; i++) {
      const row = (await findUserById(services.db, tenantId, users[i]!.id))!;
      const isOld = await services.hasher.verify(row.passwordHash!, OLD);
      const isNew = await services.hasher.verify(row.passwordHash!, NEW(i));
      expect(isOld !== isNew, `user ${i}: exactly one of the old and the new password`).toBe(true);
      if (isNew) changed.add(i);
    }
    for (const i of acknowledged) expect(changed.has(i), `user ${i} was told the change succeeded`).toBe(true);

    // one audit event of its kind per committed change, none for the others; the chain verifies
    const events = await services.db.selectFrom('audit_events').select(['activity_display_name', 'result', 'target_resources']).where('tenant_id', '=', tenantId).execute();
    for (let i = 0; i < USERS; i++) {
      const activity = i < USERS / 2 ? 'Reset password (by admin)' : 'Change password (self-service)';
      const mine = events.filter((e) => e.activity_display_name === activity && e.result === 'success' && e.target_resources.includes(users[i]!.id));
      expect(mine, `user ${i}: ${activity}`).toHaveLength(changed.has(i) ? 1 : 0);
    }
    expect((await verifyAuditChain(services.db, tenantId)).ok).toBe(true);

    // one notice per committed change in the outbox, all delivered by the restarted server
    const notices = await services.db.selectFrom('outbox').select(['id', 'recipient', 'status']).where('tenant_id', '=', tenantId).where('channel', '=', 'email').execute();
    for (let i = 0; i < USERS; i++) {
      expect(notices.filter((n) => n.recipient === users[i]!.userPrincipalName).length, `user ${i}: notices queued`).toBe(changed.has(i) ? 1 : 0);
    }
    for (let t = 0; t < 300; t++) {
      const left = await services.db.selectFrom('outbox').select('id').where('tenant_id', '=', tenantId).where('status', '!=', 'sent').execute();
      if (left.length === 0) break;
      await sleep(100);
    }
    const delivered = await services.db.selectFrom('outbox').select(['id', 'recipient', 'status']).where('tenant_id', '=', tenantId).where('channel', '=', 'email').execute();
    expect(delivered.every((n) => n.status === 'sent')).toBe(true);
    const byId = new Map(delivered.map((n) => [n.id, n.recipient]));
    const copies = new Map<string, number>();
    for (const m of sink.messages) {
      const id = /^<([0-9a-f-]{36})@contoso\.test>$/.exec(m.headers.get('message-id') ?? '')?.[1];
      if (!id || !byId.has(id)) continue;
      expect(m.envelopeTo).toEqual([byId.get(id)!]);
      copies.set(id, (copies.get(id) ?? 0) + 1);
    }
    // every notice arrived; a second copy only of one the crash caught between sending and recording
    expect([...byId.keys()].filter((id) => !copies.has(id))).toEqual([]);
    expect([...copies.values()].filter((n) => n > 2)).toEqual([]);
    expect([...copies.values()].filter((n) => n === 2).length).toBeLessThanOrEqual(5); // at most one per pooled SMTP connection

    await again.stop();
  }, 240_000);
});
