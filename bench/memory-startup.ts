/**
 * Figures 6 and 7, measured on the real production process (`node dist/src/main.js serve`, built by
 * tsc), against an existing (migrated, one tenant) database:
 *   6. resident memory (VmRSS from /proc/<pid>/status): idle < 150 MB, under the password-grant
 *      sign-in load < 400 MB;
 *   7. spawn → first 200 from /healthz < 1.5 s (median of BENCH_STARTS starts).
 * The limit measured in the same run on the same cores: a bare Node HTTP server (node:http, no
 * dependencies) spawned and polled the same way — the floor any Node server pays to start and stay.
 * Prints one JSON line per figure and dialect (SQLite; PostgreSQL too when POSTERN_TEST_PG_URL is set).
 *
 * Knobs: BENCH_DIST (a built tree with src/main.js, e.g. ./dist; default: tsc builds one into a temp
 * dir), BENCH_STARTS (5), BENCH_SETTLE_MS (3000, idle wait before reading RSS), BENCH_SECONDS (5, the
 * sign-in load), BENCH_CLIENTS (32 concurrent clients), BENCH_LOG_LEVEL (info, as shipped).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';

const repo = resolve(import.meta.dirname, '..');
const STARTS = Number(process.env.BENCH_STARTS ?? 5);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 3000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const TARGET = { idleMb: 150, loadMb: 400, startMs: 1500 };
const password = 'Quokka-Vortex-Lantern-8';
const cores = availableParallelism();
const mb = (kib: number): number => Math.round(kib / 102.4) / 10;
const round = (n: number): number => Math.round(n * 10) / 10;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const sleep = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));
const load = (): string => loadavg().map((n) => n.toFixed(2)).join(' ');

/** A built tree: BENCH_DIST, or tsc into a temp root that resolves the repo's node_modules. */
function builtTree(tmp: string): string {
  if (process.env.BENCH_DIST) return resolve(process.env.BENCH_DIST);
  const root = join(tmp, 'build');
  mkdirSync(root);
  // ESM needs "type": "module" above the .js files; the packages resolve through the link
  copyFileSync(join(repo, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(repo, 'tsconfig.build.json'), '--outDir', join(root, 'dist')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('tsc build failed');
  return join(root, 'dist');
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return fail(new Error('no port'));
      server.close(() => ok(address.port));
    });
  });
}

function status(pid: number): { rssKib: number; hwmKib: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKib: kib('VmRSS'), hwmKib: kib('VmHWM') };
}

/** CPU time (user + system) the process has used so far, in ms: less swayed by a busy machine than wall time. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
}

interface Started {
  child: ChildProcess;
  ms: number;
  cpuMs: number;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Spawns, then polls GET url every 5 ms; resolves at the first 200 with the time since spawn. */
async function startAndTime(args: string[], env: Record<string, string>, url: string): Promise<Started> {
  let err = '';
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c.slice(0, 4000)));
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  let ms = NaN;
  let cpu = NaN;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited before answering: ${err}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) {
        ms = performance.now() - t0;
        cpu = cpuMs(child.pid!);
        break;
      }
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > 60_000) throw new Error(`no answer within 60 s: ${err}`);
    await sleep(5);
  }
  return {
    child,
    ms,
    cpuMs: cpu,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function cli(dist: string, env: Record<string, string>, args: string[]): string {
  const r = spawnSync(process.execPath, [join(dist, 'src', 'main.js'), ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`postern ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}

/** The floor: a dependency-free node:http server, spawned and polled like Postern. */
async function bareNode(): Promise<{ startMs: number; startCpuMs: number; idleRssMb: number }> {
  const port = await freePort();
  const times: number[] = [];
  const cpu: number[] = [];
  let rss = 0;
  for (let i = 0; i < STARTS; i++) {
    const code = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
    const s = await startAndTime(['-e', code], {}, `http://127.0.0.1:${port}/`);
    times.push(s.ms);
    cpu.push(s.cpuMs);
    if (i === STARTS - 1) {
      await sleep(SETTLE_MS);
      rss = status(s.child.pid!).rssKib;
    }
    await s.stop();
  }
  return { startMs: round(median(times)), startCpuMs: median(cpu), idleRssMb: mb(rss) };
}

async function signInLoad(base: string, tenantId: string, pid: number): Promise<{ perSecond: number; peakRssKib: number; failures: number }> {
  const body = new URLSearchParams({
    grant_type: 'password',
    client_id: '14d82eec-204b-4c2f-b7e8-296a70dab67e',
    username: 'admin@bench.test',
    password,
    scope: 'https://graph.microsoft.com/.default',
  }).toString();
  const url = `${base}/${tenantId}/oauth2/v2.0/token`;
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const warm = await fetch(url, { method: 'POST', body, headers });
  if (warm.status !== 200) throw new Error(`token endpoint answered ${warm.status}: ${await warm.text()}`);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, status(pid).rssKib)), 50);
  const end = Date.now() + SECONDS * 1000;
  let done = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < end) {
        const res = await fetch(url, { method: 'POST', body, headers });
        await res.arrayBuffer();
        if (res.status === 200) done += 1;
        else failures += 1;
      }
    }),
  );
  clearInterval(sampler);
  peak = Math.max(peak, status(pid).rssKib);
  return { perSecond: round(done / SECONDS), peakRssKib: peak, failures };
}

async function benchDialect(dialect: 'sqlite' | 'postgres', databaseUrl: string, dist: string, dataDir: string, floor: { startMs: number; startCpuMs: number; idleRssMb: number }): Promise<boolean> {
  const port = await freePort();
  const env: Record<string, string> = { DATABASE_URL: databaseUrl, POSTERN_DATA_DIR: dataDir, NODE_ENV: 'production', LOG_LEVEL: LOG_LEVEL, PORT: String(port), HOST: '127.0.0.1' };
  const webDir = join(repo, 'dist', 'web');
  if (existsSync(join(webDir, 'index.html'))) env.WEB_DIR = webDir;
  // an existing database: migrated, one tenant with a known admin password
  cli(dist, env, ['migrate', '--json']);
  const tenant = JSON.parse(cli(dist, env, ['tenant', 'create', '--name', 'Bench', '--domain', 'bench.test', '--admin', 'admin@bench.test', '--admin-password', password, '--json'])) as { tenantId: string };
  const base = `http://127.0.0.1:${port}`;
  const times: number[] = [];
  const cpu: number[] = [];
  let server: Started | undefined;
  try {
    for (let i = 0; i < STARTS; i++) {
      server = await startAndTime([join(dist, 'src', 'main.js'), 'serve'], env, `${base}/healthz`);
      times.push(round(server.ms));
      cpu.push(server.cpuMs);
      if (i < STARTS - 1) await server.stop();
    }
    const pid = server!.child.pid!;
    await sleep(SETTLE_MS);
    const idle = status(pid);
    const loadAtIdle = load();
    const signIns = await signInLoad(base, tenant.tenantId, pid);
    const loadAtLoad = load();
    await sleep(SETTLE_MS);
    const after = status(pid);
    const memory = {
      figure: 'resident memory of `postern serve` (VmRSS): idle, and peak under the password-grant sign-in load',
      dialect,
      cores,
      argon2MemoryKib: 19456,
      idleRssMb: mb(idle.rssKib),
      loadPeakRssMb: mb(signIns.peakRssKib),
      vmHwmMb: mb(status(pid).hwmKib),
      afterLoadRssMb: mb(after.rssKib),
      signInsPerSecond: signIns.perSecond,
      clients: CLIENTS,
      failures: signIns.failures,
      limit: { bareNodeHttpIdleRssMb: floor.idleRssMb },
      ratio: { idleOverBareNode: round(mb(idle.rssKib) / floor.idleRssMb) },
      target: { idleMb: TARGET.idleMb, loadMb: TARGET.loadMb },
      loadavg: { idle: loadAtIdle, underLoad: loadAtLoad },
      pass: mb(idle.rssKib) < TARGET.idleMb && mb(signIns.peakRssKib) < TARGET.loadMb && signIns.failures === 0,
    };
    const startMs = median(times);
    const start = {
      figure: 'start to first answered request (spawn `postern serve` on an existing database → first 200 from /healthz)',
      dialect,
      cores,
      startsMs: times,
      medianMs: round(startMs),
      startsCpuMs: cpu,
      medianCpuMs: median(cpu),
      limit: { bareNodeHttpMs: floor.startMs, bareNodeHttpCpuMs: floor.startCpuMs },
      ratio: round(startMs / floor.startMs),
      target: { ms: TARGET.startMs },
      loadavg: load(),
      pass: startMs < TARGET.startMs,
    };
    console.log(JSON.stringify(memory));
    console.log(JSON.stringify(start));
    return memory.pass && start.pass;
  } finally {
    await server?.stop();
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'postern-bench-mem-'));
let ok = true;
try {
  const dist = builtTree(tmp);
  const floor = await bareNode();
  const sqliteDir = join(tmp, 'sqlite');
  mkdirSync(sqliteDir);
  ok = (await benchDialect('sqlite', `sqlite:${join(sqliteDir, 'postern.db')}`, dist, sqliteDir, floor)) && ok;
  const pgUrl = process.env.POSTERN_TEST_PG_URL;
  if (!pgUrl) {
    console.log(JSON.stringify({ figure: 'resident memory / start-up', dialect: 'postgres', skipped: 'POSTERN_TEST_PG_URL is unset' }));
  } else {
    const name = `postern_bench_mem_${process.pid}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(pgUrl);
    url.pathname = `/${name}`;
    const pgDir = join(tmp, 'pg');
    mkdirSync(pgDir);
    try {
      ok = (await benchDialect('postgres', url.toString(), dist, pgDir, floor)) && ok;
    } finally {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exitCode = ok ? 0 : 1;
