import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Attribute, Change, Client, Control } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectoryConnection } from '../../agent/target.js';
import { unicodePwd } from '../../agent/targets/active-directory.js';
import { AdSeed } from '../agent/ad-seed.js';
import { sambaTestInfo, uniqueName } from '../helpers/directories.js';
import { stopAllSpawned } from '../helpers/spawn-server.js';
import { agentHealthy, eventually, spawnAgentProcess, ssprReset, startInProcessAgent, startWritebackServer, userByUpn, verifiedFlow, type InProcessAgent, type WritebackServer } from './writeback-fixture.js';
import { post } from '../http/sspr-helpers.js';

/**
 * Issue 7 acceptance against the REAL Samba AD DC with the REAL agent (agent/main.ts, in-process and
 * as `postern agent` child processes) and a real Postern on loopback: sync of 1,000 users and their
 * groups, SSPR reset written to AD, AD refusals in the user's words, an agent killed mid-operation,
 * and pass-through sign-in. Everything is seeded in an OU of this suite's own and removed afterwards.
 */
const samba = sambaTestInfo();
const BULK = 1000;
const OLD = 'Zephyr-Marmot-Quill-47';
const NEW = 'Copper-Heron-Lattice-93';
const GRAPH_CLI = '14d82eec-204b-4c2f-b7e8-296a70dab67e';

/** A TCP relay in front of Samba's LDAPS port; hold() parks every connection opened from then on (no bytes pass). */
class HoldingProxy {
  held = false;
  parked = 0;
  url = '';
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.server = createServer((client) => this.relay(client));
  }

  static async start(target: URL): Promise<HoldingProxy> {
    const proxy = new HoldingProxy(target.hostname, Number(target.port || 636));
    // on the DC's own address, so the agent still verifies the DC's certificate for that IP
    await new Promise<void>((ok) => proxy.server.listen(0, proxy.host, ok));
    proxy.url = `ldaps://${proxy.host}:${(proxy.server.address() as { port: number }).port}`;
    return proxy;
  }

  private relay(client: Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    if (this.held) {
      this.parked += 1;
      client.pause(); // the TLS ClientHello never reaches the DC: the agent's operation hangs here
      return;
    }
    const upstream = connect(this.port, this.host);
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  }

  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    this.parked = 0;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}

describe.skipIf(!samba)('writeback end to end against Samba AD (real agent)', () => {
  const info = samba!;
  const tag = uniqueName('e').slice(0, 8).toLowerCase();
  const ou = `OU=${tag},${info.usersOu}`;
  const bulkNames = Array.from({ length: BULK }, (_, i) => `${tag}u${String(i).padStart(4, '0')}`);
  const special = { alice: `${tag}alice`, hist: `${tag}hist`, pol: `${tag}pol`, pta: `${tag}pta`, kill: `${tag}kill`, two: [`${tag}two1`, `${tag}two2`, `${tag}two3`] };
  const specials = [special.alice, special.hist, special.pol, special.pta, special.kill, ...special.two];
  const groups = { all: `${tag}-all`, even: `${tag}-even`, top: `${tag}-top` };
  const expectedMembers: Record<string, string[]> = {
    [groups.all]: bulkNames,
    [groups.even]: bulkNames.filter((_, i) => i % 2 === 0),
    [groups.top]: [...bulkNames.slice(0, 100), special.alice],
  };
  const upn = (sam: string): string => `${sam}@contoso.test`; // postern.test is not the tenant's domain: Postern falls back to sAMAccountName@contoso.test
  const dnOf = (sam: string): string => `CN=${sam},${ou}`;

  let admin: Client;
  let seed: AdSeed;
  let server: WritebackServer;
  let agent: InProcessAgent;
  let proxy: HoldingProxy;
  const conn = (over: Partial<DirectoryConnection> = {}): DirectoryConnection => ({
    url: info.url, startTls: false, caFile: info.caFile, bindDn: info.serviceDn, bindPassword: info.servicePassword, baseDn: info.baseDn, timeoutMs: 20_000, ...over,
  });

  /** n operations at a time */
  async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<unknown>): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }));
  }

  beforeAll(async () => {
    admin = new Client({ url: info.url, timeout: 30_000, tlsOptions: { ca: readFileSync(info.caFile), rejectUnauthorized: true } });
    await admin.bind(info.admin, info.adminPassword);
    seed = await AdSeed.open(info);
    await admin.add(ou, { objectClass: ['top', 'organizationalUnit'], ou: tag });
    // bulk users without a password (PASSWD_NOTREQD | NORMAL_ACCOUNT = 544, enabled): no hashing, a fast seed
    await pool(bulkNames, 8, (sam) =>
      admin.add(dnOf(sam), { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: sam, userPrincipalName: `${sam}@postern.test`, displayName: `Bulk ${sam}`, userAccountControl: '544' }),
    );
    for (const sam of specials) {
      // no givenName / sn: Postern's own name check must not pre-empt the DC's complexity check (test 3)
      await admin.add(dnOf(sam), [
        new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
        new Attribute({ type: 'sAMAccountName', values: [sam] }),
        new Attribute({ type: 'userPrincipalName', values: [`${sam}@postern.test`] }),
        new Attribute({ type: 'displayName', values: ['Writeback Person'] }),
        new Attribute({ type: 'userAccountControl', values: ['512'] }),
        new Attribute({ type: 'unicodePwd', values: [unicodePwd(OLD)] }),
      ]);
    }
    for (const [name, members] of Object.entries(expectedMembers)) {
      await admin.add(`CN=${name},${ou}`, { objectClass: ['top', 'group'], sAMAccountName: name });
      for (let i = 0; i < members.length; i += 250) {
        await admin.modify(`CN=${name},${ou}`, [new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: members.slice(i, i + 250).map(dnOf) }) })]);
      }
    }
    server = await startWritebackServer('sqlite', { WRITEBACK_JOB_TIMEOUT_MS: '8000' });
    agent = await startInProcessAgent(server, 'dc-inproc', conn(), ou);
    await agentHealthy(server, agent.runner.state.agentId);
    proxy = await HoldingProxy.start(new URL(info.url));
  }, 600_000);

  afterAll(async () => {
    await stopAllSpawned();
    await agent?.stop().catch(() => undefined);
    await proxy?.close();
    await server?.close();
    await seed?.cleanup();
    if (admin) {
      // tree delete (1.2.840.113556.1.4.805): the OU with everything in it
      await admin.del(ou, [new Control('1.2.840.113556.1.4.805')]).catch((err: unknown) => console.warn(`could not remove ${ou}: ${String(err)}`));
      await admin.unbind().catch(() => undefined);
    }
  }, 300_000);

  const db = () => server.ctx.services.db;
  const tenantId = () => server.ctx.tenant.tenant.id;
  const hashOf = async (sam: string) => (await db().selectFrom('users').select(['password_hash', 'password_source', 'last_password_change_at']).where('upn_key', '=', upn(sam)).executeTakeFirstOrThrow());

  it('1. sync imports 1,000 AD users and their groups; a user disabled in AD is disabled after the next sync', async () => {
    await agent.runner.sync.requestFull();
    const users = await db().selectFrom('users').select(['upn_key', 'account_enabled', 'password_source', 'on_premises_immutable_id']).where('tenant_id', '=', tenantId()).where('on_premises_immutable_id', 'is not', null).execute();
    expect(new Set(users.map((u) => u.upn_key))).toEqual(new Set([...bulkNames, ...specials].map(upn)));
    expect(users.every((u) => Number(u.account_enabled) === 1 && u.password_source === 'passThrough')).toBe(true);

    const synced = await db().selectFrom('groups').select(['id', 'display_name']).where('tenant_id', '=', tenantId()).where('on_premises_immutable_id', 'is not', null).execute();
    expect(new Set(synced.map((g) => g.display_name))).toEqual(new Set(Object.keys(expectedMembers)));
    for (const g of synced) {
      const members = await db().selectFrom('group_members').innerJoin('users', 'users.id', 'group_members.member_id').select('users.upn_key').where('group_members.group_id', '=', g.id).execute();
      expect(new Set(members.map((m) => m.upn_key)), g.display_name).toEqual(new Set(expectedMembers[g.display_name]!.map(upn)));
    }

    const victim = bulkNames[7]!;
    await admin.modify(dnOf(victim), [new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(544 | 2)] }) })]);
    await agent.runner.sync.requestFull();
    const after = await db().selectFrom('users').select(['upn_key', 'account_enabled']).where('tenant_id', '=', tenantId()).where('on_premises_immutable_id', 'is not', null).execute();
    expect(after.filter((u) => Number(u.account_enabled) === 0).map((u) => u.upn_key)).toEqual([upn(victim)]);
    expect(after).toHaveLength(BULK + specials.length);
  }, 600_000);

  it('2. a synced AD user resets through SSPR: a bind with the new password succeeds, the old one fails', async () => {
    expect(await seed.canBind(`${special.alice}@postern.test`, OLD)).toBe(true);
    const res = await ssprReset(server, upn(special.alice), NEW);
    expect(res.statusCode, res.body).toBe(200);
    expect(await seed.canBind(`${special.alice}@postern.test`, NEW)).toBe(true);
    expect(await seed.canBind(`${special.alice}@postern.test`, OLD)).toBe(false);
    const job = await db().selectFrom('writeback_jobs').selectAll().where('user_id', '=', (await userByUpn(server, upn(special.alice))).id).executeTakeFirstOrThrow();
    expect(job).toMatchObject({ kind: 'resetPassword', state: 'succeeded', agent_id: agent.runner.state.agentId, sealed: null });
  }, 60_000);

  it('3. AD refusals come back specific: history on a change is "recently used"; too short / not complex on a reset; the cloud is unchanged', async () => {
    const who = special.hist;
    const change = async (current: string, next: string) =>
      server.ctx.app.inject({ method: 'POST', url: '/v1.0/me/changePassword', headers: { authorization: `Bearer ${await server.ctx.userToken(upn(who))}` }, payload: { currentPassword: current, newPassword: next } });
    // Samba 4.17 has no LDAP_SERVER_POLICY_HINTS control, so a RESET (an admin-style unicodePwd replace)
    // never checks history there; only the user's own CHANGE (delete old + add new) does. Hence the change path.
    const first = await change(OLD, NEW);
    expect(first.statusCode, first.body).toBe(204);
    expect(await seed.canBind(`${who}@postern.test`, NEW)).toBe(true);

    const before = await hashOf(who);
    const back = await change(NEW, OLD);
    expect(back.statusCode, back.body).toBe(400);
    // Graph's error shape on /v1.0/me/changePassword: the directory's refusal, in the user's words
    expect(back.json().error).toMatchObject({ code: 'Request_BadRequest', innerError: { code: 'writeback.refused' } });
    expect(back.json().error.message).toContain('one of your recent passwords');
    const refusedJob = await db().selectFrom('writeback_jobs').select(['kind', 'state', 'reason']).where('user_id', '=', (await userByUpn(server, upn(who))).id).orderBy('created_at', 'desc').executeTakeFirstOrThrow();
    expect(refusedJob).toEqual({ kind: 'changePassword', state: 'refused', reason: 'recentlyUsed' });
    expect(back.body).not.toContain(OLD);
    expect(await hashOf(who)).toEqual(before);
    expect(await seed.canBind(`${who}@postern.test`, NEW)).toBe(true);
    expect(await seed.canBind(`${who}@postern.test`, OLD)).toBe(false);

    // a PSO of our own on our own user: at least 25 characters (the cloud policy asks for 8)
    const pol = special.pol;
    await seed.pso(dnOf(pol), { minLength: 25, history: 0, minAgeDays: 0, complexity: true, readable: false });
    const polBefore = await hashOf(pol);
    const short = await ssprReset(server, upn(pol), NEW); // 23 characters
    expect(short.statusCode, short.body).toBe(400);
    expect(short.json().error).toMatchObject({ code: 'writeback.refused', details: { reason: 'tooShort' } });
    expect(short.json().error.message).toContain('too short');
    // lower case only: the cloud's own check is switched off for this user (passwordPolicies DisableStrongPassword,
    // as an admin may do in Azure), so the refusal can only be the DC's complexity rule
    const polId = (await userByUpn(server, upn(pol))).id;
    const patched = await server.ctx.app.inject({
      method: 'PATCH',
      url: `/v1.0/users/${polId}`,
      headers: { authorization: `Bearer ${await server.ctx.userToken('admin@contoso.test')}` },
      payload: { passwordPolicies: 'DisablePasswordExpiration, DisableStrongPassword' },
    });
    expect(patched.statusCode, patched.body).toBe(204);
    const simple = await ssprReset(server, upn(pol), 'quiet lantern orbit velvet moss harbor');
    expect(simple.statusCode, simple.body).toBe(400);
    expect(simple.json().error).toMatchObject({ code: 'writeback.refused', details: { reason: 'notComplex' } });
    expect(simple.json().error.message).toContain('not complex enough');
    expect(await hashOf(pol)).toEqual(polBefore);
    expect(await seed.canBind(`${pol}@postern.test`, OLD)).toBe(true);
  }, 120_000);

  it('5. pass-through sign-in of a synced AD user: right password → a token; wrong → invalid_grant', async () => {
    const grant = (password: string) =>
      server.ctx.app.inject({
        method: 'POST',
        url: `/${tenantId()}/oauth2/v2.0/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'password', client_id: GRAPH_CLI, username: upn(special.pta), password, scope: 'https://graph.microsoft.com/.default' }).toString(),
      });
    const ok = await grant(OLD);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(typeof ok.json().access_token).toBe('string');
    const wrong = await grant('Not-The-Password-12');
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error).toBe('invalid_grant');
    expect(await seed.canBind(`${special.pta}@postern.test`, OLD)).toBe(true);
  }, 60_000);

  it('4. the agent process is killed mid-operation: SSPR_0030 and nothing changed anywhere; with two agents and one killed, operations keep succeeding', async () => {
    // only the process agent may take this job
    await agent.stop();
    const doomed = await spawnAgentProcess(server, conn({ url: proxy.url, baseDn: ou }), ou);
    await agentHealthy(server, doomed.agentId);
    const user = await userByUpn(server, upn(special.kill));
    const before = await hashOf(special.kill);
    const F = await verifiedFlow(server, upn(special.kill));

    proxy.hold();
    const pending = post(server.ctx, `${F}/password`, { newPassword: NEW });
    // the job is claimed by the process agent and its connection to the DC is parked in the proxy
    await eventually('the job claimed', async () => {
      const job = await db().selectFrom('writeback_jobs').selectAll().where('user_id', '=', user.id).executeTakeFirst();
      return job?.state === 'claimed' && job.agent_id === doomed.agentId ? true : undefined;
    });
    await eventually('the agent holding a DC connection', async () => (proxy.parked > 0 ? true : undefined));
    doomed.child.child.kill('SIGKILL');
    await doomed.child.exited;

    const res = await pending;
    expect(res.statusCode, res.body).toBe(503);
    expect(res.json().error).toMatchObject({ code: 'sspr.onprem_unreachable', details: { ssprCode: 'SSPR_0030' } });
    expect(await hashOf(special.kill)).toEqual(before);
    expect(await seed.canBind(`${special.kill}@postern.test`, OLD)).toBe(true);
    expect(await seed.canBind(`${special.kill}@postern.test`, NEW)).toBe(false);
    expect(await db().selectFrom('writeback_jobs').select(['state', 'sealed']).where('user_id', '=', user.id).executeTakeFirstOrThrow()).toEqual({ state: 'expired', sealed: null });

    // two agents: the in-process one (restarted, same identity) and a second process; the process dies
    proxy.release();
    agent = await startInProcessAgent(server, 'dc-inproc', conn(), ou);
    const second = await spawnAgentProcess(server, conn({ url: proxy.url, baseDn: ou }), ou);
    await agentHealthy(server, second.agentId);
    second.child.child.kill('SIGKILL');
    await second.child.exited;
    for (const sam of special.two) {
      const res = await ssprReset(server, upn(sam), NEW);
      if (res.statusCode !== 200) console.log(JSON.stringify(await db().selectFrom('writeback_jobs').selectAll().where('user_id', '=', (await userByUpn(server, upn(sam))).id).execute()), { inproc: agent.runner.state.agentId, second: second.agentId });
      expect(res.statusCode, `${sam}: ${res.body}`).toBe(200);
      expect(await seed.canBind(`${sam}@postern.test`, NEW)).toBe(true);
      expect(await seed.canBind(`${sam}@postern.test`, OLD)).toBe(false);
      const job = await db().selectFrom('writeback_jobs').select(['state', 'agent_id']).where('user_id', '=', (await userByUpn(server, upn(sam))).id).executeTakeFirstOrThrow();
      expect(job).toEqual({ state: 'succeeded', agent_id: agent.runner.state.agentId });
    }
  }, 180_000);
});
