/**
 * Figure 3: `GET /v1.0/users/{id}` with a bearer token, requests per second at saturation, against a
 * bare Fastify route answering the same bytes in the same process (the limit): ratio ≥ 0.5; and p99
 * latency under 5 ms in an open-loop run at half of Postern's maximum rate. Prints one JSON line.
 *
 * The load comes from a child process (this file, forked) over raw keep-alive sockets: every
 * connection writes one pre-built request and reads one response at a time, so the generator costs
 * a few microseconds a request and loads both sides the same way. Closed loop (BENCH_CONNECTIONS
 * clients, each sending again on an answer) finds the maximum rate; the open loop sends on a fixed
 * schedule and times each request from the moment it was due, so queueing shows in the latency.
 * Sides alternate for BENCH_ROUNDS rounds and each keeps its best round (noise only slows a side).
 * The server logs as `serve` does (LOG_LEVEL, default info), to /dev/null with a synchronous write.
 * BENCH_CPU_PROFILE=file.cpuprofile profiles the server process during Postern's last closed-loop round.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const RATIO_LIMIT = 0.5;
const P99_LIMIT_MS = 5;
const LOAD_ROLE = 'graph-read-load-generator';
/** a file to write a CPU profile of the server process to, taken during Postern's last closed-loop round */
const CPU_PROFILE = process.env.BENCH_CPU_PROFILE;

interface Target {
  port: number;
  request: string;
}
type Command =
  | { kind: 'closed'; target: Target; connections: number; seconds: number }
  | { kind: 'open'; target: Target; connections: number; seconds: number; rate: number };
interface LoadResult {
  completed: number;
  perSecond: number;
  non200: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** open loop: how late the generator's timer dispatched requests (its own imprecision), p99 */
  dispatchLagP99Ms?: number;
}

// ---------------------------------------------------------------- load generator (child process)

/** One keep-alive connection with at most one request in flight. */
class Connection {
  private pending: Buffer | null = null;
  private onAnswer: ((status: number) => void) | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly request: Buffer,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => undefined);
  }

  static open(target: Target): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect(target.port, '127.0.0.1', () => resolve(new Connection(socket, Buffer.from(target.request, 'latin1'))));
      socket.once('error', reject);
    });
  }

  send(onAnswer: (status: number) => void): void {
    this.onAnswer = onAnswer;
    this.socket.write(this.request);
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const end = this.pending.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.pending.toString('latin1', 0, end);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) throw new Error(`a response without content-length: ${head.split('\r\n')[0] ?? ''}`);
    const total = end + 4 + Number(length[1]);
    if (this.pending.length < total) return;
    this.pending = null; // one request in flight: nothing can follow the answer
    const answer = this.onAnswer;
    this.onAnswer = null;
    answer?.(Number(head.slice(9, 12)));
  }
}

function summary(latencies: Float64Array, count: number): Pick<LoadResult, 'p50Ms' | 'p99Ms' | 'maxMs'> {
  const sorted = latencies.subarray(0, count).sort();
  const at = (q: number) => +(sorted[Math.min(count - 1, Math.floor(q * count))] ?? NaN).toFixed(3);
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: +(sorted[count - 1] ?? NaN).toFixed(3) };
}

async function closedLoop(cmd: Extract<Command, { kind: 'closed' }>): Promise<LoadResult> {
  const conns = await Promise.all(Array.from({ length: cmd.connections }, () => Connection.open(cmd.target)));
  let latencies = new Float64Array(1 << 20);
  let completed = 0;
  let non200 = 0;
  const start = performance.now();
  const end = start + cmd.seconds * 1000;
  await Promise.all(
    conns.map(
      (conn) =>
        new Promise<void>((resolve) => {
          const go = () => {
            const sent = performance.now();
            conn.send((status) => {
              const now = performance.now();
              if (now > end) return resolve();
              if (completed === latencies.length) {
                const bigger = new Float64Array(latencies.length * 2);
                bigger.set(latencies);
                latencies = bigger;
              }
              latencies[completed++] = now - sent;
              if (status !== 200) non200 += 1;
              go();
            });
          };
          go();
        }),
    ),
  );
  for (const c of conns) c.close();
  return { completed, perSecond: +(completed / cmd.seconds).toFixed(1), non200, ...summary(latencies, completed) };
}

async function openLoop(cmd: Extract<Command, { kind: 'open' }>): Promise<LoadResult> {
  const idle = await Promise.all(Array.from({ length: cmd.connections }, () => Connection.open(cmd.target)));
  const all = [...idle];
  const total = Math.max(1, Math.floor(cmd.rate * cmd.seconds));
  const interval = 1000 / cmd.rate;
  const latencies = new Float64Array(total);
  const lags = new Float64Array(total);
  const waiting: number[] = []; // due times of requests that found every connection busy
  let waitingHead = 0;
  let next = 0;
  let completed = 0;
  let non200 = 0;
  const start = performance.now() + 20;
  await new Promise<void>((resolve) => {
    const fire = (conn: Connection, due: number) => {
      conn.send((status) => {
        latencies[completed++] = performance.now() - due;
        if (status !== 200) non200 += 1;
        if (waitingHead < waiting.length) fire(conn, waiting[waitingHead++]!);
        else idle.push(conn);
        if (completed === total) resolve();
      });
    };
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        const due = start + next * interval;
        lags[next++] = now - due;
        const conn = idle.pop();
        if (conn) fire(conn, due);
        else waiting.push(due);
      }
      if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    setTimeout(tick, 20);
  });
  for (const c of all) c.close();
  return {
    completed,
    perSecond: +(completed / cmd.seconds).toFixed(1),
    non200,
    ...summary(latencies, completed),
    dispatchLagP99Ms: summary(lags, total).p99Ms,
  };
}

function runLoadGenerator(): void {
  process.on('message', (cmd: Command) => {
    const run = cmd.kind === 'closed' ? closedLoop(cmd) : openLoop(cmd);
    run.then(
      (result) => process.send!(result),
      (err: unknown) => process.send!({ error: String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------- the servers and the figure

/** One load from the generator; fails if it dies or has not answered a minute after the load's end. */
function ask(child: ChildProcess, cmd: Command): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => finish(() => reject(new Error(`the load generator exited (${code})`)));
    const timer = setTimeout(() => finish(() => reject(new Error('the load generator did not answer'))), cmd.seconds * 1000 + 60_000);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('message', onMessage);
      settle();
    };
    const onMessage = (m: LoadResult | { error: string }) => finish(() => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
    child.once('exit', onExit);
    child.once('message', onMessage);
    child.send(cmd);
  });
}

/** Runs a load and notes what the server process spent on it (CPU, event-loop utilisation). */
async function measured(child: ChildProcess, cmd: Command) {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const load = await ask(child, cmd);
  delay.disable();
  const used = process.cpuUsage(cpu);
  const serverCpuUsPerRequest = load.completed > 0 ? +((used.user + used.system) / load.completed).toFixed(1) : null;
  return {
    ...load,
    serverCpuUsPerRequest,
    serverEventLoopUtilization: +performance.eventLoopUtilization(elu).utilization.toFixed(3),
    serverEventLoopDelayP99Ms: +(delay.percentile(99) / 1e6).toFixed(2),
  };
}

async function startProfile(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return session;
}

async function stopProfile(session: Session, file: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(file, JSON.stringify(profile));
  session.disconnect();
}

async function main(): Promise<void> {
  const [{ default: Fastify }, { loadConfig }, { createTenant, systemContext }, { createUser }, { createApp }, { createServices }, { migrateToLatest }] = await Promise.all([
    import('fastify'),
    import('../src/config.js'),
    import('../src/domain/tenants.js'),
    import('../src/domain/users.js'),
    import('../src/http/app.js'),
    import('../src/services.js'),
    import('../src/store/migrate.js'),
  ]);
  const password = 'Quokka-Vortex-Lantern-8';
  const dir = mkdtempSync(join(tmpdir(), 'postern-bench-'));
  const logFd = openSync('/dev/null', 'w');
  const config = loadConfig({
    DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`,
    POSTERN_DATA_DIR: dir,
    LOG_LEVEL,
    PORT: '0',
  });
  const services = createServices(config);
  const child = fork(fileURLToPath(import.meta.url), [LOAD_ROLE], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const apps: { close(): Promise<unknown> }[] = [];
  try {
    await migrateToLatest(services.db);
    const { tenant, admin } = await createTenant(services, systemContext(services), {
      name: 'Bench',
      domain: 'bench.test',
      adminUpn: 'admin@bench.test',
      adminPassword: password,
    });
    const target = await createUser(services, systemContext(services), {
      tenantId: tenant.id,
      userPrincipalName: 'adele.vance@bench.test',
      displayName: 'Adele Vance',
      password,
      givenName: 'Adele',
      surname: 'Vance',
      mail: 'adele.vance@bench.test',
      jobTitle: 'Retail Manager',
      businessPhones: ['+1 425 555 0109'],
    });
    const app = await createApp(services, { logStream: { write: (line: string) => void writeSync(logFd, line) } });
    apps.push(app);
    const posternUrl = new URL(await app.listen({ port: 0, host: '127.0.0.1' }));

    // the token, once, through the real OAuth endpoint (password grant of the tenant's administrator)
    const grant = await fetch(`${posternUrl.origin}/${tenant.id}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: '14d82eec-204b-4c2f-b7e8-296a70dab67e',
        username: admin.userPrincipalName,
        password,
        scope: 'https://graph.microsoft.com/.default',
      }).toString(),
    });
    if (grant.status !== 200) throw new Error(`token endpoint answered ${grant.status}`);
    const { access_token: token } = (await grant.json()) as { access_token: string };

    const path = `/v1.0/users/${target.id}`;
    const first = await fetch(`${posternUrl.origin}${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (first.status !== 200) throw new Error(`GET ${path} answered ${first.status}`);
    const body = (await first.json()) as Record<string, unknown>;

    // the limit: Fastify with nothing but one route, answering the same object, in this process
    const bare = Fastify({ logger: false });
    apps.push(bare);
    bare.get('/v1.0/users/:key', async () => body);
    const bareUrl = new URL(await bare.listen({ port: 0, host: '127.0.0.1' }));

    const request = (port: number): Target => ({
      port,
      request: `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nAccept: application/json\r\nUser-Agent: postern-bench\r\n\r\n`,
    });
    const sides = { bare: request(Number(bareUrl.port)), postern: request(Number(posternUrl.port)) };
    const closed = (t: Target, seconds: number): Command => ({ kind: 'closed', target: t, connections: CONNECTIONS, seconds });

    await ask(child, closed(sides.bare, WARMUP_SECONDS));
    await ask(child, closed(sides.postern, WARMUP_SECONDS));
    type Run = Awaited<ReturnType<typeof measured>>;
    const best: { bare?: Run; postern?: Run } = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of ['bare', 'postern'] as const) {
        const profile = CPU_PROFILE !== undefined && side === 'postern' && round === ROUNDS - 1;
        const session = profile ? await startProfile() : undefined;
        const run = await measured(child, closed(sides[side], SECONDS));
        if (session) await stopProfile(session, CPU_PROFILE!);
        if (run.non200 > 0) throw new Error(`${side}: ${run.non200} answers were not 200`);
        if (!best[side] || run.perSecond > best[side].perSecond) best[side] = run;
      }
    }
    const bareMax = best.bare!;
    const posternMax = best.postern!;
    const rate = Math.max(1, Math.round(posternMax.perSecond / 2));
    const open = await measured(child, { kind: 'open', target: sides.postern, connections: CONNECTIONS, seconds: SECONDS, rate });
    if (open.non200 > 0) throw new Error(`open loop: ${open.non200} answers were not 200`);

    const ratio = posternMax.perSecond / bareMax.perSecond;
    const pass = ratio >= RATIO_LIMIT && open.p99Ms < P99_LIMIT_MS;
    console.log(
      JSON.stringify({
        figure: 'GET /v1.0/users/{id} with a bearer token vs a bare Fastify route, same process',
        cores: availableParallelism(),
        connections: CONNECTIONS,
        seconds: SECONDS,
        rounds: ROUNDS,
        logLevel: LOG_LEVEL,
        bare: bareMax,
        postern: posternMax,
        ratio: +ratio.toFixed(3),
        ratioLimit: RATIO_LIMIT,
        openLoop: { ratePerSecond: rate, ...open },
        p99LimitMs: P99_LIMIT_MS,
        loadAverage: loadavg().map((l) => +l.toFixed(2)),
        pass,
      }),
    );
    if (!pass) process.exitCode = 1;
  } finally {
    child.disconnect();
    for (const a of apps) await a.close();
    await services.close();
    closeSync(logFd);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === LOAD_ROLE) runLoadGenerator();
else await main();
