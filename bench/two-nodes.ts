/**
 * Figure 8: password sign-ins per second with two `postern serve` processes on one PostgreSQL ÷ with
 * one, each process pinned (taskset) to its own CORES_PER_NODE cores. Target ≥ 1.8. Prints one JSON line.
 *
 * Setup: one PostgreSQL database (POSTERN_TEST_PG_URL, in a fresh database `postern_bench_<pid>` that is
 * dropped at the end; else a throwaway cluster in a temp dir, started with the binaries of
 * /usr/lib/postgresql/<v>/bin as test/helpers/global-setup.ts does, fsync off like the test clusters
 * unless BENCH_PG_FSYNC=on, stopped and removed at the end; neither: install PostgreSQL
 * (apt-get install postgresql) or `. scripts/start-services.sh`). Seeded with one tenant and BENCH_USERS
 * users (default: one per client, so no two clients sign in as the same user; BENCH_USERS=1 puts every
 * client on one user row, the lockout transaction's row lock). Both servers run for the whole bench,
 * node A on cores [0, k), node B on [k, 2k) of this process's allowed CPUs, with k =
 * BENCH_CORES_PER_NODE (default 2) or, when the machine has fewer than 2k cores, floor(cores / 2) — the
 * JSON then says `meetsIssueSetup: false`. PostgreSQL and this load client are NOT pinned: they take
 * whatever the scheduler gives them, on the nodes' cores too when the machine has no others.
 *
 * The load: BENCH_CLIENTS keep-alive raw-socket clients (default 64) as in bench/sign-in.ts, each sending
 * the next password grant as soon as its answer is in. One-node windows send all clients to one node
 * (A and B take turns, so a busier core does not favour one side); two-node windows split them half and
 * half. The windows alternate BENCH_ROUNDS times (default 2, BENCH_SECONDS each, default 5), after one
 * unmeasured warm-up window on both nodes (first signing key, JIT). Over each window: sign-ins per
 * node, each node's CPU (main thread vs the rest) and its run-queue wait (/proc/<pid>/schedstat, time
 * its threads were runnable but not running), PostgreSQL's CPU (postmaster + backends, when the
 * cluster is on this machine and readable) and pg_stat_activity sampled every 100 ms (how many backends
 * were active, and how many waited on a lock — the lockout transaction's `select … for update`).
 *
 * Each node runs in its own session (setsid), as two services would: with the kernel's autogroup
 * scheduling a session is one scheduling entity, and two nodes left in the bench's session share one
 * weight against the machine's other sessions (BENCH_SHARED_SESSION=1 does that, for comparison). Even
 * so, on a machine busy with other work the ratio means little: in one-node windows the scheduler moves
 * other tasks off the loaded node's core, in two-node windows it cannot (each node's `nodeCoreUse`
 * says how much of its cores it got). `cpuBoundRatio` is the ratio the measured CPU costs per sign-in
 * allow with nothing else running (each side bounded by its nodes' cores and by all the machine's cores
 * for node + PostgreSQL + client), which moves much less with machine load. BENCH_PG_STATEMENTS=1 (own
 * cluster) loads pg_stat_statements and adds the statements, their planning and execution time, and the
 * WAL written per sign-in.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { createTenant, systemContext } from '../src/domain/tenants.js';
import { createUser } from '../src/domain/users.js';
import { createServices } from '../src/services.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { closedLoop } from './lib/raw-load.js';
import { pick, startServeChild, type ServeChild } from './lib/serve-child.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CLIENTS = Math.max(2, Number(process.env.BENCH_CLIENTS ?? 64));
const USERS = Math.max(1, Number(process.env.BENCH_USERS ?? CLIENTS));
const WANTED_PER_NODE = Math.max(1, Number(process.env.BENCH_CORES_PER_NODE ?? 2));
const PG_FSYNC = process.env.BENCH_PG_FSYNC === 'on' ? 'on' : 'off';
/** own cluster only: load pg_stat_statements and report the sign-in's statements (it costs PostgreSQL a little CPU) */
const STATEMENTS = process.env.BENCH_PG_STATEMENTS === '1' && !process.env.POSTERN_TEST_PG_URL;
/** BENCH_SHARED_SESSION=1: leave both nodes in the bench's session (see `ownSession` in bench/lib/serve-child.ts) */
const OWN_SESSIONS = process.env.BENCH_SHARED_SESSION !== '1';
const autogroup = (() => {
  try {
    return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1';
  } catch {
    return false;
  }
})();
const WARMUP_SECONDS = 1;
const TARGET = 1.8;
const password = 'Quokka-Vortex-Lantern-8';
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// ---- cores ------------------------------------------------------------------------------------

/** The CPU ids this process may run on (Cpus_allowed_list, e.g. "0-3,6"). */
function allowedCpus(): number[] {
  const list = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? `0-${availableParallelism() - 1}`;
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
  });
}
const cpus = allowedCpus();
const machineCores = cpus.length;
const coresPerNode = machineCores >= 2 * WANTED_PER_NODE ? WANTED_PER_NODE : Math.floor(machineCores / 2);
const FIGURE = 'password-grant sign-ins/s, two postern serve processes on one PostgreSQL ÷ one, each pinned to its own cores';
/** Like bench/audit-queries.ts: a missing prerequisite is a JSON line that says so, not a failure of the bench run. */
function skip(reason: string): never {
  console.log(JSON.stringify({ figure: FIGURE, machineCores, skipped: reason }));
  process.exit(0);
}
if (coresPerNode < 1) skip(`two nodes need at least 2 cores; this process may use ${machineCores}`);
if (spawnSync('taskset', ['--version']).error) skip('taskset is not installed (util-linux)');
const nodeCpus = [cpus.slice(0, coresPerNode), cpus.slice(coresPerNode, 2 * coresPerNode)];

// ---- /proc ------------------------------------------------------------------------------------

/** utime + stime (+ the reaped children's when `children`) of a process or thread in ms (10 ms ticks). */
function cpuMsOf(path: string, children = false): number {
  const f = readFileSync(`${path}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0)) * 10;
}
/** A node's CPU ms (main thread, other threads) and its threads' run-queue wait ms. */
function nodeCounters(pid: number): { main: number; others: number; waitMs: number } {
  const c = { main: 0, others: 0, waitMs: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ms = cpuMsOf(`/proc/${pid}/task/${tid}`);
      if (Number(tid) === pid) c.main += ms;
      else c.others += ms;
      c.waitMs += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return c;
}
/** CPU ms of a postmaster, its live children and its reaped ones; undefined when not readable here. */
function pgCpuMs(postmaster: number | undefined): number | undefined {
  if (postmaster === undefined) return undefined;
  try {
    let total = cpuMsOf(`/proc/${postmaster}`, true);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
        if (Number(stat[1]) === postmaster) total += (Number(stat[11]) + Number(stat[12])) * 10;
      } catch {
        // gone
      }
    }
    return total;
  } catch {
    return undefined;
  }
}
function ownCpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

// ---- PostgreSQL -------------------------------------------------------------------------------

interface Postgres {
  /** the bench database */
  url: string;
  /** the postmaster's pid, when its data directory is readable from here */
  postmaster: number | undefined;
  where: string;
  stop(): Promise<void>;
}

async function startPostgres(): Promise<Postgres> {
  const given = process.env.POSTERN_TEST_PG_URL;
  let base = given;
  let stopCluster = () => {};
  let dataDir: string | undefined;
  if (!base) {
    const bin = existsSync('/usr/lib/postgresql')
      ? readdirSync('/usr/lib/postgresql')
          .sort((a, b) => Number(b) - Number(a))
          .map((v) => `/usr/lib/postgresql/${v}/bin`)
          .find((b) => existsSync(`${b}/initdb`) && existsSync(`${b}/pg_ctl`))
      : undefined;
    if (!bin) skip('no PostgreSQL: set POSTERN_TEST_PG_URL (e.g. `. scripts/start-services.sh`) or install PostgreSQL (apt-get install postgresql) for a throwaway cluster');
    const dir = mkdtempSync(join(tmpdir(), 'postern-bench-pg-'));
    const root = process.getuid?.() === 0;
    const run = (cmd: string, args: string[]) =>
      root ? execFileSync('su', ['postgres', '-c', [cmd, ...args].map((a) => `'${a}'`).join(' ')], { stdio: 'pipe' }) : execFileSync(cmd, args, { stdio: 'pipe' });
    if (root) execFileSync('chown', ['postgres', dir]);
    const port = 57000 + Math.floor(Math.random() * 900);
    dataDir = `${dir}/data`;
    run(`${bin}/initdb`, ['-D', dataDir, '-A', 'trust', '-U', 'postgres']);
    run(`${bin}/pg_ctl`, ['-D', dataDir, '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=${PG_FSYNC} -c max_connections=200${STATEMENTS ? ' -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on' : ''}`, '-l', `${dir}/log`, '-w', 'start']);
    stopCluster = () => {
      try {
        run(`${bin}/pg_ctl`, ['-D', dataDir!, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    base = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }
  const name = `postern_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
    if (STATEMENTS) {
      const url = new URL(base);
      url.pathname = `/${name}`;
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      await c.query('create extension pg_stat_statements').finally(() => c.end());
    }
    dataDir ??= (await admin.query<{ data_directory: string }>('show data_directory')).rows[0]?.data_directory;
  } finally {
    await admin.end();
  }
  let postmaster: number | undefined;
  try {
    postmaster = Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
  } catch {
    postmaster = undefined; // another machine's or another user's cluster: its CPU is not reported
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    postmaster,
    where: given ? 'POSTERN_TEST_PG_URL' : `own cluster, fsync ${PG_FSYNC}`,
    stop: async () => {
      if (given) {
        const c = new pg.Client({ connectionString: given });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`).finally(() => c.end());
      }
      stopCluster();
    },
  };
}

/** Samples pg_stat_activity of the bench database every 100 ms while `on`. */
function activitySampler(url: string) {
  const client = new pg.Client({ connectionString: url });
  const s = { samples: 0, connections: 0, maxConnections: 0, active: 0, maxActive: 0, lockWaits: 0, maxLockWaits: 0, otherWaits: 0 };
  let on = false;
  let timer: NodeJS.Timeout | undefined;
  let backendPid: number | undefined;
  const tick = async () => {
    if (!on) return;
    const { rows } = await client.query<{ state: string | null; wait_event_type: string | null }>(
      'select state, wait_event_type from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    );
    const active = rows.filter((r) => r.state === 'active' || r.state === 'idle in transaction');
    const locks = rows.filter((r) => r.wait_event_type === 'Lock').length;
    s.samples += 1;
    s.connections += rows.length;
    s.maxConnections = Math.max(s.maxConnections, rows.length);
    s.active += active.length;
    s.maxActive = Math.max(s.maxActive, active.length);
    s.lockWaits += locks;
    s.maxLockWaits = Math.max(s.maxLockWaits, locks);
    s.otherWaits += active.filter((r) => r.wait_event_type !== null && r.wait_event_type !== 'Lock' && r.wait_event_type !== 'Client').length;
    timer = setTimeout(() => void tick().catch(() => {}), 100);
  };
  return {
    async connect() {
      await client.connect();
      backendPid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    },
    /** the sampler's own backend, whose CPU is not the sign-ins' */
    backendPid: () => backendPid,
    client,
    start() {
      Object.assign(s, { samples: 0, connections: 0, maxConnections: 0, active: 0, maxActive: 0, lockWaits: 0, maxLockWaits: 0, otherWaits: 0 });
      on = true;
      void tick().catch(() => {});
    },
    stop() {
      on = false;
      clearTimeout(timer);
      return { ...s };
    },
    end: () => client.end(),
  };
}

/** The statements run since the reset, per sign-in (the bench's own queries left out), by total time. */
async function topStatements(client: pg.Client, signIns: number) {
  const { rows } = await client.query<{ query: string; calls: string; total: number; mean: number; plan: number }>(
    `select left(regexp_replace(query, '\\s+', ' ', 'g'), 140) as query, calls, total_exec_time as total, mean_exec_time as mean, mean_plan_time as plan
       from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
        and query not like '%pg_stat_%' and query not like '%pg_backend_pid%'
      order by total_exec_time desc limit 15`,
  );
  const all = await client.query<{ calls: string; total: number; plan: number }>(
    `select sum(calls) as calls, sum(total_exec_time) as total, sum(total_plan_time) as plan from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database()) and query not like '%pg_stat_%' and query not like '%pg_backend_pid%'`,
  );
  // WAL written per sign-in: a `select … for update` takes a transaction id and logs a row lock, so its commit is a WAL flush
  const wal = await client.query<{ wal_records: string; wal_bytes: string; wal_sync: string }>('select wal_records, wal_bytes, wal_sync from pg_stat_wal');
  const per = (n: number) => round(n / Math.max(1, signIns), 3);
  return {
    signIns,
    walRecordsPerSignIn: per(Number(wal.rows[0]!.wal_records)),
    walBytesPerSignIn: per(Number(wal.rows[0]!.wal_bytes)),
    walSyncsPerSignIn: per(Number(wal.rows[0]!.wal_sync)),
    callsPerSignIn: per(Number(all.rows[0]!.calls)),
    execMsPerSignIn: per(all.rows[0]!.total),
    planMsPerSignIn: per(all.rows[0]!.plan),
    top: rows.map((r) => ({ query: r.query, callsPerSignIn: per(Number(r.calls)), meanExecMs: round(r.mean, 3), meanPlanMs: round(r.plan, 3) })),
  };
}

// ---- load -------------------------------------------------------------------------------------

// ---- main -------------------------------------------------------------------------------------

const nodes: ServeChild[] = [];
let postgres: Postgres | undefined;
let dir: string | undefined;
try {
  postgres = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'postern-bench-2n-'));
  // one secret key for the seeding and both nodes: they share the database's encrypted rows (signing keys)
  const serverEnv: Record<string, string> = {
    DATABASE_URL: postgres.url,
    POSTERN_DATA_DIR: dir,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    ...pick(process.env, ['ARGON2_MEMORY_KIB', 'ARGON2_ITERATIONS', 'ARGON2_PARALLELISM']),
  };
  const config = loadConfig(serverEnv);

  // seed: a tenant and USERS users with the same password (hashed with the servers' parameters)
  const services = createServices(config);
  let tenantId: string;
  const upns: string[] = [];
  try {
    await migrateToLatest(services.db);
    const ctx = systemContext(services);
    const { tenant, admin } = await createTenant(services, ctx, { name: 'Bench', domain: 'bench.test', adminUpn: 'admin@bench.test', adminPassword: password });
    tenantId = tenant.id;
    upns.push(admin.userPrincipalName);
    for (let i = 1; i < USERS; i += 8) {
      const batch = Array.from({ length: Math.min(8, USERS - i) }, (_, j) => `user${i + j}@bench.test`);
      await Promise.all(batch.map((upn) => createUser(services, ctx, { tenantId, userPrincipalName: upn, displayName: upn, password })));
      upns.push(...batch);
    }
  } finally {
    await services.close();
  }

  for (const cpuSet of nodeCpus) nodes.push(await startServeChild(serverEnv, { cpus: cpuSet, ownSession: OWN_SESSIONS }));
  const requestFor = (node: ServeChild, client: number) => {
    const body = new URLSearchParams({
      grant_type: 'password',
      client_id: '14d82eec-204b-4c2f-b7e8-296a70dab67e',
      username: upns[client % upns.length]!,
      password,
      scope: 'https://graph.microsoft.com/.default',
    }).toString();
    return Buffer.from(
      `POST /${tenantId}/oauth2/v2.0/token HTTP/1.1\r\nHost: ${node.base.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  };

  const sampler = activitySampler(postgres.url);
  await sampler.connect();

  /** One window: `loaded` nodes get the clients, split evenly (client i → loaded[i % n]). */
  const window = async (loaded: ServeChild[], seconds: number) => {
    const start = Date.now() + WARMUP_SECONDS * 1000;
    const end = start + seconds * 1000;
    const perNode = loaded.map(() => [] as Buffer[]);
    for (let i = 0; i < CLIENTS; i++) perNode[i % loaded.length]!.push(requestFor(loaded[i % loaded.length]!, i));
    let before: { nodes: ReturnType<typeof nodeCounters>[]; pg: number | undefined; sampler: number; client: number } | undefined;
    let after: typeof before;
    const samplerPid = sampler.backendPid();
    const mark = () => ({
      nodes: loaded.map((n) => nodeCounters(n.pid)),
      pg: pgCpuMs(postgres!.postmaster),
      sampler: postgres!.postmaster !== undefined && samplerPid !== undefined ? cpuMsOf(`/proc/${samplerPid}`) : 0,
      client: ownCpuMs(),
    });
    const t0 = setTimeout(() => {
      before = mark();
      sampler.start();
    }, start - Date.now());
    let activity: ReturnType<typeof sampler.stop> | undefined;
    const t1 = setTimeout(() => {
      after = mark();
      activity = sampler.stop();
    }, end - Date.now());
    const results = await Promise.all(loaded.map((n, k) => closedLoop(n.base, perNode[k]!, start, end)));
    const counts = results.map((r) => r.counted);
    allSignIns += results.reduce((a, r) => a + r.all, 0);
    clearTimeout(t0);
    clearTimeout(t1);
    await sleep(200); // the connections close before the next window
    if (!before || !after || !activity) throw new Error('window ended before its marks');
    return {
      counts,
      nodes: loaded.map((_, k) => ({
        main: after!.nodes[k]!.main - before!.nodes[k]!.main,
        others: after!.nodes[k]!.others - before!.nodes[k]!.others,
        waitMs: after!.nodes[k]!.waitMs - before!.nodes[k]!.waitMs,
      })),
      // the sampler's backend is left out: its queries are the bench's, not the sign-ins'
      pgMs: after.pg !== undefined && before.pg !== undefined ? after.pg - before.pg - (after.sampler - before.sampler) : undefined,
      clientMs: after.client - before.client,
      activity,
    };
  };

  let allSignIns = 0;
  await window(nodes, 2); // warm-up: first signing key, JIT, pools
  // both nodes idle: what PostgreSQL and the nodes spend without sign-ins (the nodes' pollers, PostgreSQL's own processes)
  await sleep(1000);
  const idle0 = { pg: pgCpuMs(postgres.postmaster), nodes: nodes.map((n) => nodeCounters(n.pid)) };
  await sleep(3000);
  const idle1 = { pg: pgCpuMs(postgres.postmaster), nodes: nodes.map((n) => nodeCounters(n.pid)) };
  const idle = {
    pgCoreUse: idle0.pg !== undefined && idle1.pg !== undefined ? round((idle1.pg - idle0.pg) / 3000, 3) : null,
    nodeCoreUse: round(nodes.reduce((a, _, k) => a + idle1.nodes[k]!.main + idle1.nodes[k]!.others - idle0.nodes[k]!.main - idle0.nodes[k]!.others, 0) / 3000 / nodes.length, 3),
  };
  if (STATEMENTS) await sampler.client.query("select pg_stat_statements_reset(), pg_stat_reset_shared('wal')");
  allSignIns = 0;

  type Sum = { signIns: number; nodeMs: number; mainMs: number; waitMs: number; pgMs: number; clientMs: number; lockWaits: number; otherWaits: number; active: number; samples: number; maxActive: number; maxLockWaits: number; maxConnections: number };
  const zero = (): Sum => ({ signIns: 0, nodeMs: 0, mainMs: 0, waitMs: 0, pgMs: 0, clientMs: 0, lockWaits: 0, otherWaits: 0, active: 0, samples: 0, maxActive: 0, maxLockWaits: 0, maxConnections: 0 });
  const one = zero();
  const two = zero();
  const twoPerNode = [0, 0];
  let pgKnown = postgres.postmaster !== undefined;
  const add = (sum: Sum, w: Awaited<ReturnType<typeof window>>) => {
    sum.signIns += w.counts.reduce((a, b) => a + b, 0);
    for (const n of w.nodes) {
      sum.nodeMs += n.main + n.others;
      sum.mainMs += n.main;
      sum.waitMs += n.waitMs;
    }
    if (w.pgMs === undefined) pgKnown = false;
    sum.pgMs += w.pgMs ?? 0;
    sum.clientMs += w.clientMs;
    sum.lockWaits += w.activity.lockWaits;
    sum.otherWaits += w.activity.otherWaits;
    sum.active += w.activity.active;
    sum.samples += w.activity.samples;
    sum.maxActive = Math.max(sum.maxActive, w.activity.maxActive);
    sum.maxLockWaits = Math.max(sum.maxLockWaits, w.activity.maxLockWaits);
    sum.maxConnections = Math.max(sum.maxConnections, w.activity.maxConnections);
  };
  const loads: string[] = [loadavg()];
  for (let r = 0; r < ROUNDS; r++) {
    const single = await window([nodes[r % 2]!], SECONDS);
    add(one, single);
    const both = await window(nodes, SECONDS);
    add(two, both);
    both.counts.forEach((c, k) => (twoPerNode[k]! += c));
    loads.push(loadavg());
    const per = (ms: number, n: number) => round(ms / Math.max(1, n), 2);
    const singleMs = single.nodes[0]!.main + single.nodes[0]!.others;
    process.stderr.write(
      `two-nodes: round ${r + 1}: one node (${r % 2 === 0 ? 'A' : 'B'}) ${round(single.counts[0]! / SECONDS)}/s (${per(singleMs, single.counts[0]!)} ms CPU each, ` +
        `${round(singleMs / SECONDS / 10 / coresPerNode)} % of its cores), two nodes ${round((both.counts[0]! + both.counts[1]!) / SECONDS)}/s ` +
        `(A ${round(both.counts[0]! / SECONDS)}/s ${per(both.nodes[0]!.main + both.nodes[0]!.others, both.counts[0]!)} ms each, ` +
        `B ${round(both.counts[1]! / SECONDS)}/s ${per(both.nodes[1]!.main + both.nodes[1]!.others, both.counts[1]!)} ms each; ` +
        `PG ${both.pgMs === undefined ? '?' : per(both.pgMs, both.counts[0]! + both.counts[1]!)} ms each), load ${loadavg().split(' ')[0]}\n`,
    );
  }
  const statements = STATEMENTS ? await topStatements(sampler.client, allSignIns) : undefined;
  await sampler.end();

  const windowSeconds = SECONDS * ROUNDS;
  const oneRate = one.signIns / windowSeconds;
  const twoRate = two.signIns / windowSeconds;
  const ratio = twoRate / oneRate;
  const perSignIn = (ms: number, s: Sum) => round(ms / Math.max(1, s.signIns), 2);
  const side = (s: Sum, nodeCount: number) => ({
    nodeCpuMsPerSignIn: perSignIn(s.nodeMs, s),
    nodeMainThreadMsPerSignIn: perSignIn(s.mainMs, s),
    // share of its pinned cores each node used; below 1 the node lacked work or lost its cores to others
    nodeCoreUse: round(s.nodeMs / (windowSeconds * 1000 * coresPerNode * nodeCount), 3),
    // ms per second of the window that each node's threads waited runnable for a core
    nodeRunQueueWaitMsPerSecond: round(s.waitMs / windowSeconds / nodeCount, 1),
    pgCpuMsPerSignIn: pgKnown ? perSignIn(s.pgMs, s) : null,
    pgCoreUse: pgKnown ? round(s.pgMs / (windowSeconds * 1000), 3) : null,
    clientCpuMsPerSignIn: perSignIn(s.clientMs, s),
    pgActivity: {
      meanBackendsActive: round(s.active / Math.max(1, s.samples), 2),
      maxBackendsActive: s.maxActive,
      meanWaitingOnLock: round(s.lockWaits / Math.max(1, s.samples), 3),
      maxWaitingOnLock: s.maxLockWaits,
      // active backends waiting on anything else (LWLock, IO, WAL)
      meanWaitingOther: round(s.otherWaits / Math.max(1, s.samples), 3),
      maxConnections: s.maxConnections,
    },
  });
  // The ratio these CPU costs allow with nothing else on the machine: each side is bounded by its nodes'
  // cores (node CPU per sign-in) and by all the machine's cores (node + PostgreSQL + client per sign-in).
  // Per-sign-in costs move less with machine load than rates do.
  const capacity = (s: Sum, nodeCount: number) => {
    const per = (ms: number) => ms / Math.max(1, s.signIns);
    return Math.min((nodeCount * coresPerNode * 1000) / per(s.nodeMs), (machineCores * 1000) / per(s.nodeMs + s.pgMs + s.clientMs));
  };
  console.log(
    JSON.stringify({
      figure: FIGURE,
      machineCores,
      coresPerNode,
      nodeCpus: nodeCpus.map((c) => c.join(',')),
      meetsIssueSetup: coresPerNode >= 2,
      ...(coresPerNode < WANTED_PER_NODE ? { note: `${WANTED_PER_NODE} cores per node wanted, the machine has ${machineCores}: ${coresPerNode} per node` } : {}),
      nodeSessions: OWN_SESSIONS ? 'one each (setsid)' : "the bench's",
      schedAutogroup: autogroup,
      unpinned: 'PostgreSQL and the load client (share the nodes’ cores when the machine has no others)',
      postgres: postgres.where,
      argon2: config.argon2,
      clients: CLIENTS,
      users: upns.length,
      seconds: windowSeconds,
      oneNodePerSecond: round(oneRate),
      twoNodesPerSecond: round(twoRate),
      twoNodesPerNodePerSecond: twoPerNode.map((c) => round(c / windowSeconds)),
      ratio: round(ratio, 3),
      target: TARGET,
      pass: ratio >= TARGET,
      cpuBoundRatio: pgKnown ? round(capacity(two, 2) / capacity(one, 1), 3) : null,
      idle,
      oneNode: side(one, 1),
      twoNodes: side(two, 2),
      ...(statements ? { pgStatements: statements } : {}),
      loadavg: loads,
    }),
  );
  if (ratio < TARGET) process.exitCode = 1;
} finally {
  for (const n of nodes) await n.stop();
  await postgres?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
