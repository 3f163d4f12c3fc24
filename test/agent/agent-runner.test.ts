import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AgentChannel, ChannelError } from '../../agent/channel.js';
import type { AgentConfig } from '../../agent/config.js';
import { createAgentLog } from '../../agent/events.js';
import { startAgent } from '../../agent/main.js';
import type { AgentRunner } from '../../agent/runner.js';
import { newKeyPair, publicOf, readState } from '../../agent/state.js';
import { runCli } from '../../src/cli/index.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { findUserById } from '../../src/store/users.js';
import { requestSync } from '../../src/store/writeback-agents.js';
import type { AgentJob, JobResult, SealedJobPayload, SyncBatch } from '../../src/writeback/protocol.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import { recipientJwe, sealPayload } from '../../src/writeback/seal.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { FakeDirectory, fakeUser } from './fake-target.js';

/**
 * The agent in-process against a real Postern listening on loopback: the HTTPS channel code, the JWE,
 * the loops and the server's routes are all real; only the directory is a fake (agent/target.ts edge).
 */

const PW_ID = '28c10230-6103-485e-b985-444c60001490';
const BASE = 'http://localhost:8080';
const ORIGINAL = 'Orig1nal-Kestrel-42';
const FIRST = 'Tangerine-Quokka-93!';
const SECOND = 'Copper-Walrus-Meadow-17';
const REFUSED = 'Lilac-Otter-Harbour-55';

const CONFIG: AgentConfig = {
  kind: 'activeDirectory',
  connection: { url: 'ldaps://dc.invalid:636', startTls: false, caFile: null, bindDn: 'CN=svc', bindPassword: 'unused', baseDn: 'DC=contoso,DC=test', timeoutMs: 5000 },
  scope: { baseDn: 'DC=contoso,DC=test', userFilter: null },
  syncIntervalMinutes: 100_000,
};

describe.each(testDialects())('the writeback agent against a real Postern on %s', (dialect) => {
  let ctx: TestContext;
  let url: string;
  let dir: string;
  let tokenFile: string;
  let token: string;
  let runner: AgentRunner;
  let admin: string;
  const fake = new FakeDirectory();
  const logs: string[] = [];
  const jobsSeen: AgentJob[] = [];
  const results: [string, JobResult][] = [];
  const batches: SyncBatch[] = [];
  let n = 0;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    url = await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'postern-agent-'));
    tokenFile = join(dir, 'token');
    token = (await createAgentRegistrationToken(ctx.services, ctx.tenant.tenant.id)).token;
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    // watch the channel from the outside: what arrived, what was answered, what was synced
    // eslint-disable-next-line @typescript-eslint/unbound-method -- each is called with .call(this) on its instance
    const { nextJob, postResult, postSync } = AgentChannel.prototype;
    vi.spyOn(AgentChannel.prototype, 'nextJob').mockImplementation(async function (this: AgentChannel, wait, signal) {
      const job = await nextJob.call(this, wait, signal);
      if (job) jobsSeen.push(job);
      return job;
    });
    vi.spyOn(AgentChannel.prototype, 'postResult').mockImplementation(async function (this: AgentChannel, id, result, signal) {
      // recorded as it is sent: the server settles the operation while this call is still in flight,
      // so the test can read the operation's answer before the agent's own call returns
      results.push([id, result]);
      await postResult.call(this, id, result, signal);
    });
    vi.spyOn(AgentChannel.prototype, 'postSync').mockImplementation(async function (this: AgentChannel, batch, signal) {
      batches.push(batch);
      return postSync.call(this, batch, signal);
    });
    runner = await startAgent({
      url,
      tokenFile,
      config: CONFIG,
      name: 'agent-under-test',
      version: '9.9.9-test',
      factories: { activeDirectory: () => fake, openLdap: () => fake },
      log: createAgentLog((line) => logs.push(line)),
      // the agent reads expiry against the server's pinned clock; the loops wait only on our calls
      runner: { heartbeatSeconds: 3600, pollers: 2, pollWaitSeconds: 5, syncOnStart: false, now: () => ctx.clock.now() },
    });
    await runner.heartbeat();
    admin = await ctx.userToken('admin@contoso.test');
    const row = await ctx.services.db.selectFrom('tenants').select('settings').where('id', '=', ctx.tenant.tenant.id).executeTakeFirstOrThrow();
    const settings = JSON.parse(row.settings) as { sspr?: Record<string, unknown> };
    await ctx.services.db.updateTable('tenants').set({ settings: JSON.stringify({ ...settings, sspr: { ...settings.sspr, writebackEnabled: true } }) }).where('id', '=', ctx.tenant.tenant.id).execute();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await runner?.stop();
    await ctx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function onPremisesUser() {
    n += 1;
    const user = await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: `onprem${n}@contoso.test`,
      displayName: `On-premises ${n}`,
      password: ORIGINAL,
      onPremisesImmutableId: `immutable-${n}`,
    });
    await ctx.services.db.updateTable('users').set({ on_premises_sync_enabled: 1 }).where('id', '=', user.id).execute();
    return user;
  }
  const hashOf = async (id: string) => (await findUserById(ctx.services.db, ctx.tenant.tenant.id, id))!.passwordHash;
  async function adminReset(userId: string, newPassword: string) {
    const res = await ctx.app.inject({ method: 'POST', url: `/v1.0/users/${userId}/authentication/methods/${PW_ID}/resetPassword`, headers: { authorization: `Bearer ${admin}` }, payload: { newPassword } });
    expect(res.statusCode).toBe(202);
    const op = await ctx.app.inject({ method: 'GET', url: String(res.headers.location).slice(BASE.length), headers: { authorization: `Bearer ${admin}` } });
    return op.json<{ status: string; statusDetail?: string }>();
  }

  it('registers with the one-time token: the token file is spent, the state file is 0600 and holds no token', async () => {
    const spent = readFileSync(tokenFile, 'utf8');
    expect(spent).toMatch(/^# spent: registered as agent /);
    expect(spent).not.toContain(token);
    const stateFile = `${tokenFile}.state.json`;
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(stateFile, 'utf8')).not.toContain(token);
    const state = readState(stateFile)!;
    expect(state.agentId).toBe(runner.state.agentId);
    expect(state.current.kid).toEqual(expect.any(String));
    const row = await ctx.services.db.selectFrom('writeback_agents').selectAll().where('id', '=', state.agentId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ tenant_id: ctx.tenant.tenant.id, name: 'agent-under-test', directory_kind: 'activeDirectory' });
    // the token cannot register a second agent, and a restart without the state file says so
    const again = new AgentChannel({ url });
    const second = await again.register({ token, name: 'thief', version: '1', directoryKind: 'activeDirectory', publicKey: publicOf(state.current) }).catch((e: unknown) => e);
    again.close();
    expect(second).toBeInstanceOf(ChannelError);
    expect((second as ChannelError).transient).toBe(false);
    await expect(startAgent({ url, tokenFile, stateFile: join(dir, 'other.json'), config: CONFIG, factories: { activeDirectory: () => fake, openLdap: () => fake }, log: createAgentLog(() => undefined) })).rejects.toThrow(/spent/);
  });

  it('records the heartbeat: version and directory reachability; an unreachable directory takes the agent out of rotation', async () => {
    const row = () => ctx.services.db.selectFrom('writeback_agents').selectAll().where('id', '=', runner.state.agentId).executeTakeFirstOrThrow();
    expect(await row()).toMatchObject({ version: '9.9.9-test', directory_reachable: 1, last_heartbeat_at: ctx.clock.now().toISOString() });
    fake.reachable = false;
    try {
      await runner.heartbeat();
      expect(await row()).toMatchObject({ directory_reachable: 0, directory_detail: 'fake: connection refused' });
      expect(logs.some((l) => JSON.parse(l).code === 33010)).toBe(true);
      const user = await onPremisesUser();
      const op = await adminReset(user.id, FIRST);
      expect(op.status).toBe('failed');
      expect(op.statusDetail).toContain('SSPR_0030');
    } finally {
      fake.reachable = true;
      await runner.heartbeat();
    }
    expect((await row()).directory_reachable).toBe(1);
  });

  it('applies an admin reset of an on-premises user in the directory, with must-change, and reports success', async () => {
    const user = await onPremisesUser();
    const before = await hashOf(user.id);
    const op = await adminReset(user.id, FIRST);
    expect(op).toMatchObject({ status: 'succeeded' });
    const call = fake.calls.find((c) => c.user.name === user.userPrincipalName);
    expect(call).toEqual({ op: 'reset', user: { anchor: user.onPremisesImmutableId, name: user.userPrincipalName }, newPassword: FIRST, mustChange: true, unlock: false });
    expect(await hashOf(user.id)).not.toBe(before);
    const job = jobsSeen.at(-1)!;
    expect(results.find(([id]) => id === job.id)?.[1]).toMatchObject({ outcome: 'succeeded' });
    const row = await ctx.services.db.selectFrom('writeback_agents').select(['jobs_applied']).where('id', '=', runner.state.agentId).executeTakeFirstOrThrow();
    expect(row.jobs_applied).toBeGreaterThanOrEqual(1);
  });

  it("relays the directory's refusal with its reason; the cloud password is unchanged", async () => {
    const user = await onPremisesUser();
    const before = await hashOf(user.id);
    fake.refusals.set(user.userPrincipalName, ['recentlyUsed', '0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM)']);
    const op = await adminReset(user.id, REFUSED);
    expect(op.status).toBe('failed');
    expect(op.statusDetail).toContain('one of your recent passwords');
    expect(await hashOf(user.id)).toBe(before);
    expect(fake.calls.some((c) => c.user.name === user.userPrincipalName)).toBe(false);
    const refused = logs.map((l) => JSON.parse(l) as { code: number; reason?: string }).filter((l) => l.code === 33008);
    expect(refused.at(-1)?.reason).toBe('recentlyUsed');
  });

  it('pass-through sign-in: the agent verifies the password in the directory; a wrong one is refused there', async () => {
    const user = await onPremisesUser();
    await ctx.services.db.updateTable('users').set({ password_source: 'passThrough' }).where('id', '=', user.id).execute();
    const signIn = async (password: string) => (await ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: user.userPrincipalName, password } })).statusCode;
    expect(await signIn(SECOND)).toBe(200);
    expect(fake.calls.at(-1)).toEqual({ op: 'verify', user: { anchor: user.onPremisesImmutableId, name: user.userPrincipalName }, password: SECOND });
    fake.refusals.set(user.userPrincipalName, ['wrongPassword', 'invalid credentials']);
    expect(await signIn(FIRST)).toBe(401);
  });

  it('a job delivered twice is applied once: the repeat gets the recorded result, and Postern accepts it again', async () => {
    const user = await onPremisesUser();
    expect((await adminReset(user.id, SECOND)).status).toBe('succeeded');
    const job = jobsSeen.at(-1)!;
    expect(results.find(([id]) => id === job.id)?.[1]).toMatchObject({ outcome: 'succeeded' });
    const writes = () => fake.calls.filter((c) => c.user.name === user.userPrincipalName).length;
    expect(writes()).toBe(1);
    const first = results.find(([id]) => id === job.id)![1];
    const repeat = await runner.jobs.handle(job);
    expect(repeat).toEqual(first);
    expect(writes()).toBe(1);
    await runner.channel.postResult(job.id, repeat);
    expect(logs.some((l) => JSON.parse(l).code === 31024)).toBe(true);
  });

  it('rotates its key: new jobs are sealed to the new key, a job sealed to the previous one still opens, a tampered one does not', async () => {
    const old = runner.state.current;
    await runner.rotateKeys();
    const now = runner.state;
    expect(now.current.kid).not.toBe(old.kid);
    expect(now.previous?.kid).toBe(old.kid);
    expect(readState(`${tokenFile}.state.json`)).toEqual(now);

    const user = await onPremisesUser();
    expect((await adminReset(user.id, FIRST)).status).toBe('succeeded');
    const sealedTo = (jobsSeen.at(-1)!.sealed as { header?: { kid?: string } }).header?.kid;
    expect(sealedTo).toBe(now.current.kid);

    // a job sealed just before the rotation (old key) is still applied
    const inFlight = async (jobId: string, user: { anchor: string | null; name: string }, sealedJobId = jobId) => {
      const expiresAt = new Date(ctx.clock.now().getTime() + 10_000).toISOString();
      const payload: SealedJobPayload = { jobId: sealedJobId, tenantId: ctx.tenant.tenant.id, kind: 'unlock', user, expiresAt };
      const general = await sealPayload(payload, [{ kid: old.kid!, publicJwk: publicOf(old) }]);
      return { id: jobId, kind: 'unlock' as const, sealed: recipientJwe(general, new Set([old.kid!])), expiresAt };
    };
    const ok = await runner.jobs.handle(await inFlight(randomUUID(), { anchor: null, name: 'inflight@contoso.test' }));
    expect(ok.outcome).toBe('succeeded');
    expect(fake.calls.at(-1)).toEqual({ op: 'unlock', user: { anchor: null, name: 'inflight@contoso.test' } });
    // a payload moved under another job id (the job id is bound into the JWE) is refused, not applied
    const moved = await runner.jobs.handle(await inFlight(randomUUID(), { anchor: null, name: 'moved@contoso.test' }, randomUUID()));
    expect(moved).toMatchObject({ outcome: 'refused', reason: 'other' });
    expect(fake.calls.some((c) => c.user.name === 'moved@contoso.test')).toBe(false);
  });

  it('drops a job that arrives after its expiry, unapplied', async () => {
    const old = runner.state.current;
    const jobId = randomUUID();
    const expiresAt = new Date(ctx.clock.now().getTime() - 1).toISOString();
    const general = await sealPayload({ jobId, tenantId: ctx.tenant.tenant.id, kind: 'unlock', user: { anchor: null, name: 'late@contoso.test' }, expiresAt }, [{ kid: old.kid!, publicJwk: publicOf(old) }]);
    const result = await runner.jobs.handle({ id: jobId, kind: 'unlock', sealed: recipientJwe(general, new Set([old.kid!])), expiresAt });
    expect(result).toMatchObject({ outcome: 'refused', reason: 'unreachable' });
    expect(fake.calls.some((c) => c.user.name === 'late@contoso.test')).toBe(false);
    expect(logs.some((l) => JSON.parse(l).code === 31025)).toBe(true);
  });

  it('syncs on request: groups then users in batches of at most 500 under one run id, final only on the last', async () => {
    fake.groups = [{ anchor: 'group-1', dn: 'CN=Staff,DC=contoso,DC=test', displayName: 'Staff', description: null }];
    fake.users = Array.from({ length: 501 }, (_, i) => fakeUser(i, { groupAnchors: ['group-1'] }));
    batches.length = 0;
    expect(await requestSync(ctx.services.db, ctx.tenant.tenant.id)).toBeGreaterThanOrEqual(1);
    await runner.heartbeat();
    await runner.sync.idle();
    expect(batches.map((b) => [b.groups.length, b.users.length, b.final])).toEqual([
      [1, 0, false],
      [0, 500, false],
      [0, 1, true],
    ]);
    expect(new Set(batches.map((b) => b.runId)).size).toBe(1);
    const imported = await ctx.services.db.selectFrom('users').select('on_premises_immutable_id').where('tenant_id', '=', ctx.tenant.tenant.id).where('on_premises_immutable_id', 'like', 'anchor-%').execute();
    expect(imported).toHaveLength(501);
    expect(logs.some((l) => JSON.parse(l).code === 34002)).toBe(true);
  });

  it('the CLI: `agent register` prints a token an agent can register with; `agent` refuses a bad config naming the field', async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const io = { out: (t: string) => stdout.push(t), err: (t: string) => stderr.push(t) };
    const env = { DATABASE_URL: ctx.services.config.databaseUrl, POSTERN_SECRET_KEY: 'test-secret-key-test-secret-key-0123456789', LOG_LEVEL: 'silent', ARGON2_MEMORY_KIB: '1024', ARGON2_ITERATIONS: '1' };
    expect(await runCli(['node', 'postern', 'agent', 'register', '--tenant', 'contoso.test', '--json'], io, env)).toBe(0);
    const printed = JSON.parse(stdout.join('')) as { tenantId: string; token: string; expiresAt: string };
    expect(printed.tenantId).toBe(ctx.tenant.tenant.id);
    const channel = new AgentChannel({ url });
    const kp = await newKeyPair(new Date());
    const answer = await channel.register({ token: printed.token, name: 'from-cli-token', version: '1', directoryKind: 'openLdap', publicKey: kp.publicKey });
    channel.close();
    expect(answer.tenantId).toBe(ctx.tenant.tenant.id);

    writeFileSync(join(dir, 'pw'), 'secret\n');
    const runWith = async (config: Record<string, unknown>) => {
      writeFileSync(join(dir, 'bad.json'), JSON.stringify(config));
      stderr.length = 0;
      const code = await runCli(['node', 'postern', 'agent', '--url', url, '--token-file', join(dir, 'unused-token'), '--config', join(dir, 'bad.json')], io, env);
      return { code, err: stderr.join('') };
    };
    const good = { kind: 'openLdap', url: 'ldaps://dc.invalid:636', bindDn: 'cn=svc', bindPasswordFile: 'pw', baseDn: 'dc=x' };
    const plain = await runWith({ ...good, url: 'ldap://dc.invalid:389' });
    expect(plain.code).toBe(1);
    expect(plain.err).toMatch(/field "url".*StartTLS/);
    const noDn = await runWith({ ...good, bindDn: undefined });
    expect(noDn.code).toBe(1);
    expect(noDn.err).toContain('field "bindDn"');
    const extra = await runWith({ ...good, bindPassword: 'inline' });
    expect(extra.code).toBe(1);
    expect(extra.err).toContain('bindPassword');
    expect(extra.err).not.toContain('inline');
  });

  it('stops gracefully, and never logged a password, the token or its credential', async () => {
    await runner.stop();
    expect(fake.closed).toBe(true);
    expect(JSON.parse(logs.at(-1)!)).toMatchObject({ code: 31016, event: 'WriteBackServiceStopped' });
    const all = logs.join('');
    for (const secret of [FIRST, SECOND, REFUSED, token, runner.state.credential, runner.state.current.jwk.d]) expect(all).not.toContain(secret);
    for (const line of logs) expect(JSON.parse(line)).toMatchObject({ level: expect.any(Number), time: expect.any(Number), code: expect.any(Number) });
  });
});
