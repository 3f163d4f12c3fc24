import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentLog } from '../../agent/events.js';
import { startAgent } from '../../agent/main.js';
import type { AgentRunner } from '../../agent/runner.js';
import { loadConfig } from '../../src/config.js';
import { issueUserAccessToken } from '../../src/domain/access-tokens.js';
import { PASSWORD_METHOD_ID } from '../../src/domain/admin-reset.js';
import { verifyAuditChain } from '../../src/domain/audit-verify.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { createServices, type Services } from '../../src/services.js';
import { upsertEmailMethod } from '../../src/store/auth-methods.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { listRoleIdsOfPrincipal } from '../../src/store/role-assignments.js';
import { findUserByUpn, type User } from '../../src/store/users.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import { createTestDatabase, testDialects, type TestDatabase } from '../helpers/context.js';
import { slapdTestInfo, uniqueName } from '../helpers/directories.js';
import { asRoot, bindsWith } from '../e2e/openldap-e2e-setup.js';
import { freePort, spawnPostern, stopAllSpawned, type SpawnedProcess } from '../helpers/spawn-server.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';

/**
 * Issue 10, two nodes: two `postern serve` processes on one PostgreSQL database, as behind a load
 * balancer (one PUBLIC_URL, one POSTERN_SECRET_KEY). What one node counts, the other sees: smart
 * lockout failures and the self-service reset limits add up across both; a CAPTCHA spent on one is
 * spent on both; a reset flow started on one node is finished on the other; and one writeback agent,
 * long-polling node A, carries out the password writes asked of node B as well as of A. Both nodes'
 * outbox workers run against the one outbox: every message goes out exactly once, and the audit
 * chain both nodes appended to verifies.
 */

const SECRET = 'two-node-test-secret-key-0123456789-abcdef';
const GRAPH_CLIENT = '14d82eec-204b-4c2f-b7e8-296a70dab67e';
const OLD = 'Granite-Osprey-Lantern-31';
const NEW = 'Zb7q-Vemrix-Tolph-4821';
const DIRECTORY_ORIGINAL = 'Granite-Heron-Valley-31';
const slapd = slapdTestInfo();
const postgres = testDialects().includes('postgres');

interface Answer {
  status: number;
  json: { error?: { code?: string; details?: Record<string, unknown> } } & Record<string, unknown>;
}

describe.skipIf(!postgres || !slapd)('two serve processes on one PostgreSQL', () => {
  const s = slapd!;
  const cleanups: (() => Promise<void> | void)[] = [];
  let database: TestDatabase;
  let sink: SmtpSink;
  let services: Services;
  let nodeA: SpawnedProcess;
  let nodeB: SpawnedProcess;
  let A = '';
  let B = '';
  let publicUrl = '';
  let tenantId = '';
  let adminToken = '';
  let runner: AgentRunner;
  let n = 0;

  /** A JSON request to one node; `origin` as the portal's pages send it. */
  async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { origin: publicUrl, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Answer['json']) : {} };
  }

  /** A CAPTCHA fetched from one node and solved as the widget would. */
  async function captcha(base: string): Promise<string> {
    const res = await fetch(`${base}/api/v1/sspr/captcha`);
    expect(res.status).toBe(200);
    const challenge = (await res.json()) as Challenge;
    const solution = await solveChallenge({ challenge, deriveKey });
    if (!solution) throw new Error('captcha not solved');
    return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
  }

  const signIn = (base: string, upn: string, password: string) => call(base, 'POST', '/api/v1/session', { userPrincipalName: upn, password });
  const startFlow = async (base: string, upn: string, solved?: string) => call(base, 'POST', '/api/v1/sspr/flows', { userPrincipalName: upn, captcha: solved ?? (await captcha(base === A ? B : A)) });

  /** A cloud user with a verified authentication email on file. */
  async function userWithEmail(prefix: string, extra: { onPremisesImmutableId?: string } = {}): Promise<User & { address: string }> {
    n += 1;
    const user = await createUser(services, systemContext(services), { tenantId, userPrincipalName: `${prefix}${n}@contoso.test`, displayName: `${prefix} ${n}`, password: OLD, ...extra });
    const address = `${prefix}${n}.private@example.test`;
    const at = new Date().toISOString();
    await upsertEmailMethod(services.db, { userId: user.id, address, verifiedAt: at, createdAt: at });
    return { ...user, address };
  }

  /** Waits (up to 20 s) for the `count`-th message to `address`, delivered by either node, and reads the code in it. */
  async function mailedCode(address: string, count: number): Promise<string> {
    for (let t = 0; t < 200; t++) {
      const mails = sink.messages.filter((m) => m.envelopeTo.includes(address));
      if (mails.length >= count) {
        const code = /\b(\d{8})\b/.exec(mails[count - 1]!.text ?? '')?.[1];
        if (!code) throw new Error(`no code in the mail to ${address}`);
        return code;
      }
      await sleep(100);
    }
    throw new Error(`no message ${count} to ${address} within 20 s`);
  }

  /** An entry in slapd (added as the rootdn) and its Postern user, synced and anchored by entryUUID. */
  async function linkedUser(): Promise<{ user: User & { address: string }; dn: string }> {
    const uid = uniqueName('two');
    const dn = `uid=${uid},ou=people,${s.baseDn}`;
    const anchor = await asRoot(s, async (c) => {
      await c.add(dn, { objectClass: ['inetOrgPerson'], uid, cn: uid, sn: uid, mail: `${uid}@contoso.test`, userPassword: DIRECTORY_ORIGINAL });
      const { searchEntries } = await c.search(dn, { scope: 'base', attributes: ['entryUUID'] });
      return String(searchEntries[0]!.entryUUID);
    });
    const user = await userWithEmail('wb', { onPremisesImmutableId: anchor });
    // as the agent's sync leaves it: the password lives in the directory, the cloud holds a synced hash
    await services.db.updateTable('users').set({ on_premises_sync_enabled: 1, password_source: 'hashSync' }).where('id', '=', user.id).execute();
    return { user, dn };
  }

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    cleanups.push(() => database.drop());
    sink = await startSmtpSink();
    cleanups.push(() => sink.close());
    const [portA, portB] = [await freePort(), await freePort()];
    A = `http://127.0.0.1:${portA}`;
    B = `http://127.0.0.1:${portB}`;
    // behind a load balancer both nodes answer for one public address; node A's stands in for it
    publicUrl = A;
    const dir = mkdtempSync(join(tmpdir(), 'postern-two-nodes-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const env = (port: number, data: string): Record<string, string> => ({
      DATABASE_URL: database.url,
      POSTERN_DATA_DIR: data,
      POSTERN_SECRET_KEY: SECRET,
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      LOG_LEVEL: 'warn',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_ITERATIONS: '1',
      SMTP_URL: sink.url,
      MAIL_FROM: 'postern@contoso.test',
    });

    services = createServices(loadConfig(env(portA, dir)));
    cleanups.push(() => services.close());
    await migrateToLatest(services.db);
    const { tenant } = await createTenant(services, systemContext(services), { name: 'Contoso', domain: 'contoso.test', adminUpn: 'admin@contoso.test', adminPassword: OLD });
    tenantId = tenant.id;
    const row = await services.db.selectFrom('tenants').select('settings').where('id', '=', tenantId).executeTakeFirstOrThrow();
    const settings = JSON.parse(row.settings) as { sspr?: Record<string, unknown> };
    await services.db.updateTable('tenants').set({ settings: JSON.stringify({ ...settings, sspr: { ...settings.sspr, writebackEnabled: true } }) }).where('id', '=', tenantId).execute();
    const admin = (await findUserByUpn(services.db, 'admin@contoso.test'))!;
    adminToken = await issueUserAccessToken(services.tokens, { user: admin, roles: await listRoleIdsOfPrincipal(services.db, tenantId, admin.id), clientId: GRAPH_CLIENT, scope: 'openid profile User.ReadWrite.All' });

    const dataA = join(dir, 'a');
    const dataB = join(dir, 'b');
    nodeA = spawnPostern(['serve'], { env: env(portA, dataA) });
    nodeB = spawnPostern(['serve'], { env: env(portB, dataB) });
    cleanups.push(() => stopAllSpawned());
    await Promise.all([nodeA.waitForLine(/listening on/, 60_000), nodeB.waitForLine(/listening on/, 60_000)]);

    // one agent, long-polling node A only
    writeFileSync(join(dir, 'bind-password'), `${s.servicePassword}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'directory.json'), JSON.stringify({ kind: 'openLdap', url: s.url, caFile: s.caFile, bindDn: s.serviceDn, bindPasswordFile: 'bind-password', baseDn: s.baseDn, userFilter: `(employeeType=${uniqueName('none')})`, timeoutMs: 5000 }));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, (await createAgentRegistrationToken(services, tenantId)).token, { mode: 0o600 });
    const logs: string[] = [];
    runner = await startAgent({
      url: A,
      tokenFile,
      config: join(dir, 'directory.json'),
      log: createAgentLog((line) => logs.push(line)),
      runner: { heartbeatSeconds: 3600, pollWaitSeconds: 5, syncOnStart: false, hashDeltaSeconds: 3600 },
    });
    cleanups.push(() => runner.stop());
    await runner.heartbeat();
  }, 120_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  }, 60_000);

  it('smart lockout counts the wrong passwords sent to both nodes', async () => {
    const user = await userWithEmail('lock');
    // the threshold (10) split over two nodes, sent at once: neither node alone sees enough to lock
    const wrong = await Promise.all(Array.from({ length: 10 }, (_, i) => signIn(i % 2 === 0 ? A : B, user.userPrincipalName, `Wrong-Guess-Number-${i}x`)));
    expect(wrong.every((r) => r.status === 401 || r.status === 423)).toBe(true);
    // the right password is now refused on both: the lock was counted in the one users row
    for (const base of [A, B]) {
      const right = await signIn(base, user.userPrincipalName, OLD);
      expect({ base, status: right.status, code: right.json.error?.code }).toEqual({ base, status: 423, code: 'auth.account_locked' });
    }
    const state = await services.db.selectFrom('users').select(['lockout_count', 'failed_sign_in_count']).where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(state).toMatchObject({ lockout_count: 1, failed_sign_in_count: 0 });
  });

  it('the self-service reset limits count the flows started on both nodes; a CAPTCHA is spent on both', async () => {
    const user = await userWithEmail('limit');
    const answers: (string | number)[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await startFlow(i % 2 === 0 ? A : B, user.userPrincipalName);
      answers.push(res.status === 201 ? 201 : String(res.json.error?.code));
    }
    // five flows a day, wherever they were started; the sixth blocks the account on every node
    expect(answers).toEqual([201, 201, 201, 201, 201, 'sspr.blocked']);
    expect((await startFlow(A, user.userPrincipalName)).json.error?.code).toBe('sspr.blocked');
    expect((await startFlow(B, user.userPrincipalName)).json.error?.code).toBe('sspr.blocked');

    // a CAPTCHA solution accepted by one node is refused by the other
    const other = await userWithEmail('captcha');
    const solved = await captcha(A);
    expect((await startFlow(A, other.userPrincipalName, solved)).status).toBe(201);
    const replay = await startFlow(B, other.userPrincipalName, solved);
    expect({ status: replay.status, code: replay.json.error?.code }).toEqual({ status: 400, code: 'sspr.captcha_invalid' });
  });

  it('a reset flow started on node A is verified and finished on node B', async () => {
    const user = await userWithEmail('flow');
    const started = await startFlow(A, user.userPrincipalName);
    expect(started.status).toBe(201);
    const F = `/api/v1/sspr/flows/${String(started.json.flowId)}`;
    expect((await call(B, 'POST', `${F}/verifications`, { method: 'email' })).status).toBe(202);
    const code = await mailedCode(user.address, 1);
    expect((await call(A, 'POST', `${F}/verifications/email/complete`, { code })).json).toEqual({ verified: ['email'], required: 1 });
    const done = await call(B, 'POST', `${F}/password`, { newPassword: NEW });
    expect({ status: done.status, body: done.json }).toEqual({ status: 200, body: { result: 'Succeeded' } });
    // the flow is spent on both nodes
    expect((await call(A, 'POST', `${F}/password`, { newPassword: NEW })).json.error?.code).toBe('sspr.flow_not_found');
    expect((await signIn(A, user.userPrincipalName, NEW)).status).toBe(200);
    expect((await signIn(B, user.userPrincipalName, OLD)).status).toBe(401);
  });

  it('one agent polling node A writes back the passwords set through node B as well as node A', async () => {
    // an administrator's reset through node B's Graph API, then one through node A's
    const { user, dn } = await linkedUser();
    const reset = async (base: string, password: string) => {
      const res = await fetch(`${base}/v1.0/users/${user.id}/authentication/methods/${PASSWORD_METHOD_ID}/resetPassword`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ newPassword: password }),
      });
      expect({ status: res.status, body: res.status === 202 ? '' : await res.text() }).toEqual({ status: 202, body: '' });
      // the operation is read back from the other node
      const location = new URL(String(res.headers.get('location')));
      const op = await fetch(`${base === A ? B : A}${location.pathname}`, { headers: { authorization: `Bearer ${adminToken}` } });
      return ((await op.json()) as { status: string; statusDetail?: string }).status;
    };
    expect(await bindsWith(s, dn, DIRECTORY_ORIGINAL)).toBe(true);
    expect(await reset(B, NEW)).toBe('succeeded');
    expect(await bindsWith(s, dn, NEW)).toBe(true);
    expect(await bindsWith(s, dn, DIRECTORY_ORIGINAL)).toBe(false);
    expect(await reset(A, 'Saffron-Lynx-Cascade-84')).toBe('succeeded');
    expect(await bindsWith(s, dn, 'Saffron-Lynx-Cascade-84')).toBe(true);
    // how long a reset takes through either node (a figure for the log, not a check: shared machines)
    const took: Record<string, number[]> = { A: [], B: [] };
    for (let i = 0; i < 10; i++) {
      for (const [name, base] of [['A', A], ['B', B]] as const) {
        const t0 = performance.now();
        expect(await reset(base, `Zb7q-Vemrix-Tolph-${name}${5000 + i}`)).toBe('succeeded');
        took[name]!.push(performance.now() - t0);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(0);
    console.log(`[two nodes] admin reset through the agent's node A: median ${median(took.A!)} ms; through node B: median ${median(took.B!)} ms`);

    // a self-service reset of a writeback user, started on A and finished on B: B's job, A's agent
    const other = await linkedUser();
    const started = await startFlow(A, other.user.userPrincipalName);
    expect(started.status).toBe(201);
    const F = `/api/v1/sspr/flows/${String(started.json.flowId)}`;
    expect((await call(A, 'POST', `${F}/verifications`, { method: 'email' })).status).toBe(202);
    const code = await mailedCode(other.user.address, 1);
    expect((await call(B, 'POST', `${F}/verifications/email/complete`, { code })).status).toBe(200);
    const done = await call(B, 'POST', `${F}/password`, { newPassword: NEW });
    expect({ status: done.status, body: done.json }).toEqual({ status: 200, body: { result: 'Succeeded' } });
    expect(await bindsWith(s, other.dn, NEW)).toBe(true);
    expect(await bindsWith(s, other.dn, DIRECTORY_ORIGINAL)).toBe(false);

    // every job was carried out by the one agent, which only ever spoke to node A
    const jobs = await services.db.selectFrom('writeback_jobs').select(['state', 'agent_id']).where('tenant_id', '=', tenantId).execute();
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    expect(jobs.every((j) => j.state === 'succeeded' && j.agent_id === runner.state.agentId)).toBe(true);
  });

  it('both outbox workers deliver each message exactly once; the audit chain both nodes wrote verifies', async () => {
    let left: { id: string }[] = [];
    for (let t = 0; t < 200; t++) {
      left = await services.db.selectFrom('outbox').select('id').where('tenant_id', '=', tenantId).where('status', '!=', 'sent').execute();
      if (left.length === 0) break;
      await sleep(100);
    }
    expect(left).toEqual([]);
    const sent = await services.db.selectFrom('outbox').select(['id', 'recipient']).where('tenant_id', '=', tenantId).where('channel', '=', 'email').execute();
    expect(sent.length).toBeGreaterThanOrEqual(3); // the codes and notices of the tests above
    const copies = new Map<string, number>();
    for (const m of sink.messages) {
      const id = /^<([0-9a-f-]{36})@contoso\.test>$/.exec(m.headers.get('message-id') ?? '')?.[1];
      if (id) copies.set(id, (copies.get(id) ?? 0) + 1);
    }
    expect(sent.filter((m) => copies.get(m.id) !== 1)).toEqual([]);
    expect((await verifyAuditChain(services.db, tenantId)).ok).toBe(true);
    // and neither node logged an error on the way
    for (const node of [nodeA, nodeB]) expect(node.stderr()).not.toMatch(/"level":(50|60)/);
  });
});
