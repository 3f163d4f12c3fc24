/**
 * Figure: the writeback round trip of an admin reset (cloud → agent → Samba AD → result) minus a
 * direct LDAP password modify of the same user from this process, on the same cores, in one run.
 * Postern runs in-process on SQLite with a real agent (agent/, the real Active Directory target) long
 * polling it over loopback HTTP; the directory is a real Samba AD DC (scripts/start-samba.sh): the one
 * POSTERN_TEST_AD_* names, else one started here on a random 127.x address and stopped at the end.
 *
 * Each sample is an admin reset through Graph (POST …/resetPassword, which returns once the job's
 * result is recorded) and, interleaved, a direct `replace unicodePwd` (+ pwdLastSet 0, as the agent
 * sends for an admin reset) on an open, bound service-account connection — the physical limit. The
 * writeback round trip is timed from the cloud handing the job to the writeback queue to the result
 * being back (the seam services.writeback.resetPassword); the POST's whole time (with the argon2 hash of
 * the new password and the audit writes) is reported beside it. Timestamps along the path split the
 * added time: queue → job in the agent's hands, decrypt, directory lookups (the agent's work minus its
 * own modify), result back. `addedBesideOwnWriteMs` takes each round trip minus the agent's own modify
 * (the same write as the direct one): on a loaded machine the DC's write time varies by tens of ms
 * between two writes, which swamps the paired difference but not this one.
 * Limit: added p50 < 5 ms, p99 < 20 ms. Prints one JSON line. BENCH_SAMPLES sets the count (200).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { Attribute, Change, Client } from 'ldapts';
import { AgentChannel } from '../agent/channel.js';
import type { AgentConfig } from '../agent/config.js';
import { createAgentLog } from '../agent/events.js';
import { startAgent } from '../agent/main.js';
import type { AgentRunner } from '../agent/runner.js';
import type { DirectoryConnection, DirectoryTarget } from '../agent/target.js';
import { createActiveDirectoryTarget, unicodePwd } from '../agent/targets/active-directory.js';
import { guidToAnchor } from '../agent/targets/ad-guid.js';
import { loadConfig } from '../src/config.js';
import { createTenant, systemContext } from '../src/domain/tenants.js';
import { createUser } from '../src/domain/users.js';
import { createApp } from '../src/http/app.js';
import { createServices, type Services } from '../src/services.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { createAgentRegistrationToken } from '../src/writeback/registration.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const WARMUP = 5;
const LIMIT = { p50Ms: 5, p99Ms: 20 };
const PW_ID = '28c10230-6103-485e-b985-444c60001490';
const ADMIN_PASSWORD = 'Quokka-Vortex-Lantern-8';
const SCRIPTS = resolve(dirname(fileURLToPath(import.meta.url)), '../scripts');

interface Samba {
  url: string;
  caFile: string;
  baseDn: string;
  admin: string;
  adminPassword: string;
  serviceDn: string;
  servicePassword: string;
}

function sambaFromEnv(env: Record<string, string | undefined>): Samba | null {
  const v = (n: string): string => env[`POSTERN_TEST_AD_${n}`] ?? '';
  const s = { url: v('URL'), caFile: v('CA'), baseDn: v('BASE'), admin: v('ADMIN'), adminPassword: v('ADMIN_PASSWORD'), serviceDn: v('SERVICE_DN'), servicePassword: v('SERVICE_PASSWORD') };
  return Object.values(s).every(Boolean) ? s : null;
}

/** Reuses the Samba the environment names, or starts one (as test/helpers/global-setup.ts does); returns it and how to stop it. */
async function sambaForBench(dir: string): Promise<{ samba: Samba; stop: () => void }> {
  const given = sambaFromEnv(process.env);
  if (given) return { samba: given, stop: () => undefined };
  const octet = (): number => 1 + Math.floor(Math.random() * 250);
  const env = { ...process.env, POSTERN_SERVICES_DIR: dir, POSTERN_SAMBA_IP: `127.${octet()}.${octet()}.${octet() + 1}` };
  const script = join(SCRIPTS, 'start-samba.sh');
  const { stdout } = await promisify(execFile)('bash', ['-c', `. "${script}" && start_samba && env -0`], { env, encoding: 'utf8', maxBuffer: 16 << 20, timeout: 180_000 });
  const out: Record<string, string> = {};
  for (const line of stdout.split('\0')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const samba = sambaFromEnv(out);
  const stop = (): void => void execFileSync('bash', ['-c', `. "${script}" && stop_samba`], { env: { ...process.env, POSTERN_SAMBA_DIR: out.POSTERN_SAMBA_DIR ?? '' }, stdio: 'pipe', timeout: 30_000 });
  if (!samba) {
    stop();
    throw new Error('start-samba.sh exported no POSTERN_TEST_AD_* variables');
  }
  return { samba, stop };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const ms = (x: number): number => Math.round(x * 100) / 100;
const stats = (xs: number[]) => ({ p50: ms(pct(xs, 50)), p99: ms(pct(xs, 99)), mean: ms(xs.reduce((a, b) => a + b, 0) / xs.length) });
/** a fresh password for every write: the domain keeps 24 in history, complexity on */
let serial = 0;
const nextPassword = (): string => `Wb-${(serial += 1)}-${Math.random().toString(36).slice(2, 10)}!9aZ`;

/** Timestamps of the sample in flight, set along the path (one sample at a time). */
interface Marks {
  queued?: number;
  received?: number;
  applyStart?: number;
  applyEnd?: number;
  /** the agent's own LDAP modify (the write itself), inside applyStart..applyEnd */
  agentModify?: number;
  resultSent?: number;
  resultAcked?: number;
  done?: number;
}
let marks: Marks = {};

/** the agent's real AD target, with the directory work timed */
function timedTarget(inner: DirectoryTarget): DirectoryTarget {
  return Object.assign(Object.create(inner) as DirectoryTarget, {
    resetPassword: async (...args: Parameters<DirectoryTarget['resetPassword']>) => {
      marks.applyStart = performance.now();
      try {
        return await inner.resetPassword(...args);
      } finally {
        marks.applyEnd = performance.now();
      }
    },
    close: () => inner.close(),
    checkReachable: () => inner.checkReachable(),
  });
}

/** times the agent's modify; the direct side's modify runs outside applyStart..applyEnd and is not counted */
function timeAgentModify(): void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .apply(this) on its instance
  const modify = Client.prototype.modify;
  Client.prototype.modify = async function (this: Client, ...a: Parameters<Client['modify']>) {
    const inAgent = marks.applyStart !== undefined && marks.applyEnd === undefined;
    const t0 = performance.now();
    try {
      return await modify.apply(this, a);
    } finally {
      if (inAgent) marks.agentModify = performance.now() - t0;
    }
  };
}

function timeChannel(): void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this) on its instance
  const { nextJob, postResult } = AgentChannel.prototype;
  AgentChannel.prototype.nextJob = async function (this: AgentChannel, ...a: Parameters<AgentChannel['nextJob']>) {
    const job = await nextJob.apply(this, a);
    if (job) marks.received = performance.now();
    return job;
  };
  AgentChannel.prototype.postResult = async function (this: AgentChannel, ...a: Parameters<AgentChannel['postResult']>) {
    marks.resultSent = performance.now();
    await postResult.apply(this, a);
    marks.resultAcked = performance.now();
  };
}

function withTimedWriteback(services: Services): Services {
  const seam = services.writeback;
  return {
    ...services,
    writeback: {
      ...seam,
      resetPassword: async (i) => {
        marks.queued = performance.now();
        const r = await seam.resetPassword(i);
        marks.done = performance.now();
        return r;
      },
    },
  };
}

const replace = (type: string, value: string | Buffer): Change => new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] as string[] | Buffer[] }) });

const dir = mkdtempSync(join(tmpdir(), 'postern-bench-wb-'));
const cleanups: (() => Promise<void> | void)[] = [];
try {
  const { samba, stop } = await sambaForBench(dir);
  cleanups.push(stop);
  const tls = { ca: readFileSync(samba.caFile), rejectUnauthorized: true };
  const admin = new Client({ url: samba.url, timeout: 10_000, tlsOptions: tls });
  await admin.bind(samba.admin, samba.adminPassword);
  cleanups.push(() => admin.unbind().catch(() => undefined));

  // the directory's user, made as the Administrator in the OU the service account is delegated on
  const name = `wbbench${Date.now().toString(36).slice(-6)}${Math.random().toString(36).slice(2, 6)}`;
  const usersOu = `OU=PosternUsers,${samba.baseDn}`;
  const userDn = `CN=${name},${usersOu}`;
  await admin.add(userDn, [
    ...Object.entries({ objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: [name], userPrincipalName: [`${name}@postern.test`], sn: [name], userAccountControl: ['512'] }).map(([type, values]) => new Attribute({ type, values })),
    new Attribute({ type: 'unicodePwd', values: [unicodePwd(nextPassword())] }),
  ]);
  cleanups.push(() => admin.del(userDn).catch(() => undefined));
  const { searchEntries } = await admin.search(userDn, { scope: 'base', attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'] });
  const anchor = guidToAnchor(searchEntries[0]!['objectGUID'] as Buffer);

  // Postern in-process on SQLite
  const config = loadConfig({ DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`, POSTERN_DATA_DIR: dir, LOG_LEVEL: 'silent', PORT: '0' });
  const base = createServices(config);
  cleanups.push(() => base.close());
  const services = withTimedWriteback(base);
  await migrateToLatest(services.db);
  // diagnosis only: BENCH_SQLITE_SYNC=NORMAL shows what the WAL's per-commit fsync (Postern runs FULL) costs on this path
  const sqliteSync = process.env.BENCH_SQLITE_SYNC;
  if (sqliteSync) await sql.raw(`pragma synchronous = ${sqliteSync === 'NORMAL' ? 'NORMAL' : 'FULL'}`).execute(services.db);
  const { tenant } = await createTenant(services, systemContext(services), { name: 'Bench', domain: 'bench.test', adminUpn: 'admin@bench.test', adminPassword: ADMIN_PASSWORD });
  const row = await services.db.selectFrom('tenants').select('settings').where('id', '=', tenant.id).executeTakeFirstOrThrow();
  const settings = JSON.parse(row.settings) as { sspr?: Record<string, unknown> };
  await services.db.updateTable('tenants').set({ settings: JSON.stringify({ ...settings, sspr: { ...settings.sspr, writebackEnabled: true } }) }).where('id', '=', tenant.id).execute();
  const user = await createUser(services, systemContext(services), { tenantId: tenant.id, userPrincipalName: `${name}@bench.test`, displayName: name, password: nextPassword(), onPremisesImmutableId: anchor });
  await services.db.updateTable('users').set({ on_premises_sync_enabled: 1 }).where('id', '=', user.id).execute();
  const app = await createApp(services, { logger: false });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => app.close());

  // the agent, registered with a one-time token, with the real Active Directory target
  timeChannel();
  timeAgentModify();
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, (await createAgentRegistrationToken(services, tenant.id)).token, { mode: 0o600 });
  const connection: DirectoryConnection = { url: samba.url, startTls: false, caFile: samba.caFile, bindDn: samba.serviceDn, bindPassword: samba.servicePassword, baseDn: samba.baseDn, timeoutMs: 10_000 };
  const agentConfig: AgentConfig = { kind: 'activeDirectory', connection, scope: { baseDn: usersOu, userFilter: null }, syncIntervalMinutes: 100_000 };
  const agentLog: string[] = [];
  const runner: AgentRunner = await startAgent({
    url,
    tokenFile,
    config: agentConfig,
    log: createAgentLog((line) => agentLog.push(line)),
    factories: { activeDirectory: (c) => timedTarget(createActiveDirectoryTarget(c)), openLdap: () => { throw new Error('not used'); } },
    runner: { heartbeatSeconds: 3600, syncOnStart: false },
  });
  cleanups.push(() => runner.stop());
  await runner.heartbeat();

  const tokenRes = await fetch(`${url}/${tenant.id}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', client_id: '14d82eec-204b-4c2f-b7e8-296a70dab67e', username: 'admin@bench.test', password: ADMIN_PASSWORD, scope: 'https://graph.microsoft.com/.default' }).toString(),
  });
  if (tokenRes.status !== 200) throw new Error(`token endpoint answered ${tokenRes.status}`);
  const bearer = ((await tokenRes.json()) as { access_token: string }).access_token;

  // the direct side: the service account on one open, bound connection
  const direct = new Client({ url: samba.url, timeout: 10_000, tlsOptions: tls });
  await direct.bind(samba.serviceDn, samba.servicePassword);
  cleanups.push(() => direct.unbind().catch(() => undefined));

  const viaPostern = async (): Promise<{ post: number; m: Marks }> => {
    marks = {};
    const t0 = performance.now();
    const res = await fetch(`${url}/v1.0/users/${user.id}/authentication/methods/${PW_ID}/resetPassword`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ newPassword: nextPassword() }),
    });
    await res.arrayBuffer();
    const post = performance.now() - t0;
    if (res.status !== 202) throw new Error(`resetPassword answered ${res.status}`);
    const m = marks;
    if (m.queued === undefined || m.done === undefined || m.applyEnd === undefined) throw new Error(`the reset did not go through the agent: ${agentLog.slice(-3).join(' ')}`);
    return { post, m };
  };
  const directModify = async (): Promise<number> => {
    const changes = [replace('unicodePwd', unicodePwd(nextPassword())), replace('pwdLastSet', '0')];
    const t0 = performance.now();
    await direct.modify(userDn, changes);
    return performance.now() - t0;
  };

  for (let i = 0; i < WARMUP; i++) {
    await viaPostern();
    await directModify();
  }
  const load = { before: loadavg().map((x) => +x.toFixed(2)) };
  // how late this process's callbacks run (Postern and the agent share it): on a loaded machine the added time is mostly this
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const rt: number[] = [], dm: number[] = [], added: number[] = [], post: number[] = [];
  const outsideWrite: number[] = [];
  const parts = { toAgent: [] as number[], decrypt: [] as number[], directory: [] as number[], directoryLookups: [] as number[], resultBack: [] as number[] };
  for (let i = 0; i < SAMPLES; i++) {
    // alternate which side goes first, so neither always follows the other's write
    let d: number;
    let v: Awaited<ReturnType<typeof viaPostern>>;
    if (i % 2 === 0) {
      v = await viaPostern();
      d = await directModify();
    } else {
      d = await directModify();
      v = await viaPostern();
    }
    const m = v.m as Required<Marks>;
    const trip = m.done - m.queued;
    rt.push(trip);
    dm.push(d);
    added.push(trip - d);
    post.push(v.post);
    parts.toAgent.push(m.received - m.queued);
    parts.decrypt.push(m.applyStart - m.received);
    parts.directory.push(m.applyEnd - m.applyStart);
    parts.directoryLookups.push(m.applyEnd - m.applyStart - m.agentModify);
    outsideWrite.push(trip - m.agentModify);
    parts.resultBack.push(m.done - m.applyEnd);
  }
  loopDelay.disable();
  // every job must have been applied by the directory, not refused
  const jobs = await services.db.selectFrom('writeback_jobs').select(['state']).execute();
  const notApplied = jobs.filter((j) => j.state !== 'succeeded').length;
  if (jobs.length !== SAMPLES + WARMUP || notApplied > 0) throw new Error(`${jobs.length} jobs, ${notApplied} not applied`);
  const addedStats = stats(added);
  const pass = addedStats.p50 < LIMIT.p50Ms && addedStats.p99 < LIMIT.p99Ms;
  console.log(
    JSON.stringify({
      figure: 'writeback round trip of an admin reset (cloud → agent → Samba AD → result) minus a direct LDAP unicodePwd replace',
      samples: SAMPLES,
      ...(sqliteSync ? { sqliteSynchronous: sqliteSync } : {}),
      directory: `Samba AD ${samba.url}`,
      roundTripMs: stats(rt),
      directModifyMs: stats(dm),
      addedMs: addedStats,
      // the same sample's own write taken out instead of the interleaved direct one: immune to the DC's write-time noise
      addedBesideOwnWriteMs: stats(outsideWrite),
      graphPostMs: stats(post),
      addedBreakdownMs: Object.fromEntries(Object.entries(parts).map(([k, xs]) => [k, stats(xs)])),
      eventLoopDelayMs: { p50: ms(loopDelay.percentile(50) / 1e6), p99: ms(loopDelay.percentile(99) / 1e6), max: ms(loopDelay.max / 1e6) },
      loadavg: { ...load, after: loadavg().map((x) => +x.toFixed(2)) },
      limit: `added p50 < ${LIMIT.p50Ms} ms, p99 < ${LIMIT.p99Ms} ms`,
      pass,
    }),
  );
  process.exitCode = pass ? 0 : 1;
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (err) {
      console.error(`writeback-roundtrip: cleanup: ${String(err)}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
