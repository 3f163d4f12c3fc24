import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { encodePasswordModify, PASSWORD_MODIFY_OID } from '../../agent/targets/ldap-exop.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentLog } from '../../agent/events.js';
import { startAgent } from '../../agent/main.js';
import type { AgentRunner } from '../../agent/runner.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { findUserById } from '../../src/store/users.js';
import { requestSync } from '../../src/store/writeback-agents.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { slapdTestInfo, uniqueName } from '../helpers/directories.js';

/**
 * The agent with the real OpenLDAP target, started from a config file as `postern agent` would be,
 * against a real Postern and the slapd + ppolicy test directory: an admin reset lands in slapd, and a
 * ppolicy refusal comes back to the admin as the specific reason.
 */

const slapd = slapdTestInfo();
const PW_ID = '28c10230-6103-485e-b985-444c60001490';
const BASE = 'http://localhost:8080';
const DIRECTORY_ORIGINAL = 'Granite-Heron-Valley-31';
const CLOUD_ORIGINAL = 'Orig1nal-Kestrel-42';
const NEW = 'Saffron-Lynx-Cascade-84';

describe.skipIf(!slapd).each(slapd ? testDialects() : ['sqlite' as const])('the agent with the OpenLDAP target on %s', (dialect) => {
  const s = slapd!;
  let ctx: TestContext;
  let dir: string;
  let runner: AgentRunner;
  let admin: string;
  const logs: string[] = [];
  // sync sees only the entries this suite made for it (the directory is shared with other suites)
  const marker = uniqueName('agentsync');

  async function asRoot<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const c = new Client({ url: s.url, tlsOptions: { ca: [readFileSync(s.caFile)] } });
    await c.bind(s.adminDn, s.adminPassword);
    try {
      return await fn(c);
    } finally {
      await c.unbind();
    }
  }
  async function bindsWith(dn: string, password: string): Promise<boolean> {
    const c = new Client({ url: s.url, tlsOptions: { ca: [readFileSync(s.caFile)] } });
    try {
      await c.bind(dn, password);
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 49) return false;
      throw err;
    } finally {
      await c.unbind().catch(() => undefined);
    }
  }

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    const url = await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'postern-agent-ldap-'));
    writeFileSync(join(dir, 'bind-password'), `${s.servicePassword}\n`, { mode: 0o600 });
    // relative paths are read from the config file's folder
    writeFileSync(
      join(dir, 'directory.json'),
      JSON.stringify({ kind: 'openLdap', url: s.url, caFile: s.caFile, bindDn: s.serviceDn, bindPasswordFile: 'bind-password', baseDn: s.baseDn, userFilter: `(employeeType=${marker})`, timeoutMs: 5000 }),
    );
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, (await createAgentRegistrationToken(ctx.services, ctx.tenant.tenant.id)).token, { mode: 0o600 });
    runner = await startAgent({
      url,
      tokenFile,
      config: join(dir, 'directory.json'),
      log: createAgentLog((line) => logs.push(line)),
      runner: { heartbeatSeconds: 3600, pollWaitSeconds: 5, syncOnStart: false, hashDeltaSeconds: 3600, now: () => ctx.clock.now() },
    });
    await runner.heartbeat();
    admin = await ctx.userToken('admin@contoso.test');
    const row = await ctx.services.db.selectFrom('tenants').select('settings').where('id', '=', ctx.tenant.tenant.id).executeTakeFirstOrThrow();
    const settings = JSON.parse(row.settings) as { sspr?: Record<string, unknown> };
    await ctx.services.db.updateTable('tenants').set({ settings: JSON.stringify({ ...settings, sspr: { ...settings.sspr, writebackEnabled: true } }) }).where('id', '=', ctx.tenant.tenant.id).execute();
  });
  afterAll(async () => {
    await runner?.stop();
    await ctx?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A slapd entry (seeded as the rootdn) and its Postern user, anchored by entryUUID. */
  async function linkedUser() {
    const uid = uniqueName('wb');
    const dn = `uid=${uid},ou=people,${s.baseDn}`;
    const anchor = await asRoot(async (c) => {
      await c.add(dn, { objectClass: ['inetOrgPerson'], uid, cn: uid, sn: uid, mail: `${uid}@contoso.test`, userPassword: DIRECTORY_ORIGINAL });
      const { searchEntries } = await c.search(dn, { scope: 'base', attributes: ['entryUUID'] });
      return String(searchEntries[0]!.entryUUID);
    });
    const user = await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: `${uid}@contoso.test`,
      displayName: uid,
      password: CLOUD_ORIGINAL,
      onPremisesImmutableId: anchor,
    });
    await ctx.services.db.updateTable('users').set({ on_premises_sync_enabled: 1 }).where('id', '=', user.id).execute();
    return { user, dn };
  }
  async function adminReset(userId: string, newPassword: string) {
    const res = await ctx.app.inject({ method: 'POST', url: `/v1.0/users/${userId}/authentication/methods/${PW_ID}/resetPassword`, headers: { authorization: `Bearer ${admin}` }, payload: { newPassword } });
    expect(res.statusCode).toBe(202);
    const op = await ctx.app.inject({ method: 'GET', url: String(res.headers.location).slice(BASE.length), headers: { authorization: `Bearer ${admin}` } });
    return op.json<{ status: string; statusDetail?: string }>();
  }
  const hashOf = async (id: string) => (await findUserById(ctx.services.db, ctx.tenant.tenant.id, id))!.passwordHash;

  it('the heartbeat reports the directory reachable through the service account', async () => {
    const row = await ctx.services.db.selectFrom('writeback_agents').selectAll().where('id', '=', runner.state.agentId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ directory_kind: 'openLdap', directory_reachable: 1 });
  });

  it('an admin reset lands in slapd: the new password binds, the old one does not', async () => {
    const { user, dn } = await linkedUser();
    expect(await bindsWith(dn, DIRECTORY_ORIGINAL)).toBe(true);
    expect(await adminReset(user.id, NEW)).toMatchObject({ status: 'succeeded' });
    expect(await bindsWith(dn, NEW)).toBe(true);
    expect(await bindsWith(dn, DIRECTORY_ORIGINAL)).toBe(false);
  });

  it("ppolicy's history refusal reaches the admin as \"recently used\"; slapd and the cloud keep the current password", async () => {
    const { user, dn } = await linkedUser();
    expect((await adminReset(user.id, NEW)).status).toBe('succeeded');
    const cloud = await hashOf(user.id);
    // the directory's previous password is in its history (pwdInHistory 3), unknown to the cloud
    const op = await adminReset(user.id, DIRECTORY_ORIGINAL);
    expect(op.status).toBe('failed');
    expect(op.statusDetail).toContain('one of your recent passwords');
    expect(await hashOf(user.id)).toBe(cloud);
    expect(await bindsWith(dn, NEW)).toBe(true);
    expect(logs.map((l) => JSON.parse(l) as { code: number; reason?: string }).some((l) => l.code === 33008 && l.reason === 'recentlyUsed')).toBe(true);
    for (const secret of [NEW, DIRECTORY_ORIGINAL, s.servicePassword]) expect(logs.join('')).not.toContain(secret);
  });

  it('hash sync: an imported user signs in with the directory password, and a change in slapd is usable after the next delta', async () => {
    const uid = uniqueName('hs');
    const dn = `uid=${uid},ou=people,${s.baseDn}`;
    const upn = `${uid}@contoso.test`;
    await asRoot((c) => c.add(dn, { objectClass: ['inetOrgPerson'], uid, cn: uid, sn: uid, mail: upn, employeeType: marker, userPassword: DIRECTORY_ORIGINAL }));
    expect(await requestSync(ctx.services.db, ctx.tenant.tenant.id)).toBe(1);
    await runner.heartbeat();
    await runner.sync.idle();
    const signIn = async (password: string) => (await ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password } })).statusCode;
    expect(await signIn(DIRECTORY_ORIGINAL)).toBe(200);
    // the user changes their own password in the directory (Password Modify, bound as themselves)
    const c = new Client({ url: s.url, tlsOptions: { ca: [readFileSync(s.caFile)] } });
    try {
      await c.bind(dn, DIRECTORY_ORIGINAL);
      await c.exop(PASSWORD_MODIFY_OID, encodePasswordModify({ userIdentity: dn, oldPassword: DIRECTORY_ORIGINAL, newPassword: NEW }));
    } finally {
      await c.unbind().catch(() => undefined);
    }
    expect(await runner.sync.hashDelta()).toBe(1);
    expect(await signIn(NEW)).toBe(200);
    expect(await signIn(DIRECTORY_ORIGINAL)).toBe(401);
    // nothing changed since: the next delta sends nobody
    expect(await runner.sync.hashDelta()).toBe(0);
  });
});
