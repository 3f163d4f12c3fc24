/**
 * Figure: whole self-service resets per second — CAPTCHA, flow start, an email code that really
 * travels (outbox worker → SMTP → the test SMTP sink), the code entered, the new password set — over
 * HTTP against a real `postern serve` process, many users in parallel (one flow each, the tenant's
 * policy at one method, email), against the hash limit: raw argon2id hashes per second with the
 * server's parameters on the same cores, divided by the argon2 hashes one reset costs. Limit ≥ 0.90.
 *
 * Hashes per reset, read from the code (src/domain/sspr/*, password-rules.ts, verification-codes.ts):
 * ONE argon2id hash, of the new password (finish.ts). A reset checks no history (Azure: the resetter
 * does not know the old password; assertPasswordAllowed compares hashes on 'change' only), codes are
 * an HMAC (verification-codes.ts), the CAPTCHA is one SHA-256 derivation, and email needs no answers.
 *
 * Every flow answer waits for the 300 ms anti-enumeration floor (SSPR_MIN_RESPONSE_MS, left at its
 * default): that is latency, not CPU, so enough flows run at once (BENCH_CONCURRENCY) to keep the cores
 * busy. No per-IP throttle applies to email codes (the per-IP budget is for texts and calls); the
 * per-account limits (5 flows a day, 10 emails per 10 minutes) hold because each user resets once.
 * NODE_ENV=test only lowers the CAPTCHA's difficulty (the client's work; the server verifies one
 * derivation either way), so the solver in this process does not eat the server's cores.
 *
 * The server's and this process's CPU time over the window are reported per reset, beside what the
 * hash costs, to show where the cores go. Knobs: BENCH_SECONDS (measuring window, default 5),
 * BENCH_WARMUP_SECONDS (3), BENCH_CONCURRENCY (flows in flight, default 300), BENCH_USERS (seeded
 * accounts, default 1500; each resets once), BENCH_SERVER_NODE_FLAGS (e.g. '--cpu-prof
 * --cpu-prof-dir=/tmp/prof'; the profile is written when the server stops). Prints one JSON line.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import { loadConfig } from '../src/config.js';
import { createArgon2Hasher } from '../src/domain/hasher.js';
import { updateSsprPolicy } from '../src/domain/sspr-policy-update.js';
import { createTenant, systemContext } from '../src/domain/tenants.js';
import { createUser } from '../src/domain/users.js';
import { createServices } from '../src/services.js';
import { upsertEmailMethod } from '../src/store/auth-methods.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { startSmtpSink, type ReceivedMail } from '../test/helpers/smtp-sink.js';
import { pick, startServeChild, type ServeChild } from './lib/serve-child.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 300);
const USERS = Number(process.env.BENCH_USERS ?? 1500);
const LIMIT = 0.9;
const HASHES_PER_RESET = 1;
const cores = availableParallelism();
const OLD_PASSWORD = 'Zephyr-Marmot-Quill-47';
const NEW_PASSWORD = 'Copper-Heron-Lattice-93';
const SSPR = '/api/v1/sspr';
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** utime + stime of a process, in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const dir = mkdtempSync(join(tmpdir(), 'postern-bench-'));
const smtp = await startSmtpSink();
const databaseUrl = `sqlite:${join(dir, 'bench.db')}`;
const serverEnv: Record<string, string> = {
  DATABASE_URL: databaseUrl,
  POSTERN_DATA_DIR: dir,
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'warn',
  NODE_ENV: 'test',
  SMTP_URL: smtp.url,
  MAIL_FROM: 'postern@bench.test',
};
// the server's hashing parameters (the defaults unless the environment sets them)
const serverConfig = loadConfig({ ...serverEnv, ...pick(process.env, ['ARGON2_MEMORY_KIB', 'ARGON2_ITERATIONS', 'ARGON2_PARALLELISM']) });
Object.assign(serverEnv, { ARGON2_MEMORY_KIB: String(serverConfig.argon2.memoryCost), ARGON2_ITERATIONS: String(serverConfig.argon2.timeCost), ARGON2_PARALLELISM: String(serverConfig.argon2.parallelism) });


/** Accounts with a verified email method; seeded with cheap hashing (a reset never reads the old hash). */
async function seed(): Promise<{ upn: string; address: string }[]> {
  const services = createServices(loadConfig({ ...serverEnv, ARGON2_MEMORY_KIB: '1024', ARGON2_ITERATIONS: '1' }));
  try {
    await migrateToLatest(services.db);
    const ctx = systemContext(services);
    const { tenant } = await createTenant(services, ctx, { name: 'Bench', domain: 'bench.test', adminUpn: 'admin@bench.test', adminPassword: OLD_PASSWORD });
    await updateSsprPolicy(services, ctx, tenant.id, { methods: ['email'], methodsRequired: 1 });
    const users: { upn: string; address: string }[] = [];
    for (let i = 0; i < USERS; i++) {
      const u = await createUser(services, ctx, { tenantId: tenant.id, userPrincipalName: `user${i}@bench.test`, displayName: `User ${i}`, password: OLD_PASSWORD });
      const at = services.clock.now().toISOString();
      const address = `u${i}.private@example.test`;
      await upsertEmailMethod(services.db, { userId: u.id, address, verifiedAt: at, createdAt: at });
      users.push({ upn: u.userPrincipalName, address });
    }
    return users;
  } finally {
    await services.close();
  }
}


/** Codes arrive at the sink; each flow waits for the first 8-digit code mailed to its address. */
const waiting = new Map<string, (code: string) => void>();
let mailsReceived = 0;
// the sink keeps every message in an array; here they are handed to their waiter instead (bounded memory)
smtp.messages.push = (...mails: ReceivedMail[]): number => {
  for (const mail of mails) {
    mailsReceived += 1;
    const code = /\b(\d{8})\b/.exec(mail.text ?? '')?.[1];
    for (const to of mail.envelopeTo) {
      const waiter = waiting.get(to);
      if (waiter && code) {
        waiting.delete(to);
        waiter(code);
      }
    }
  }
  return 0;
};

/** time spent in each step, summed over the flows (ms), for the stderr summary */
const stepMs = { captcha: 0, start: 0, send: 0, mail: 0, complete: 0, password: 0 };
const timed = async <T>(step: keyof typeof stepMs, work: Promise<T>): Promise<T> => {
  const t = performance.now();
  try {
    return await work;
  } finally {
    stepMs[step] += performance.now() - t;
  }
};

/** aborts the flows still in flight when the window closes, so the server can stop at once */
const abandon = new AbortController();

async function reset(base: string, user: { upn: string; address: string }): Promise<void> {
  const post = async (path: string, body: unknown, expect: number): Promise<unknown> => {
    const res = await fetch(`${base}${SSPR}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal: abandon.signal });
    const json: unknown = await res.json();
    if (res.status !== expect) throw new Error(`${path.replace(/flows\/[^/]+/, 'flows/…')} answered ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
    return json;
  };
  const captcha = await timed(
    'captcha',
    (async () => {
      const challenge = (await (await fetch(`${base}${SSPR}/captcha`, { signal: abandon.signal })).json()) as Challenge;
      const solution = await solveChallenge({ challenge, deriveKey });
      return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
    })(),
  );
  const { flowId } = (await timed('start', post('/flows', { userPrincipalName: user.upn, captcha }, 201))) as { flowId: string };
  // the mail may arrive before the answer does (the answer waits for the floor)
  const mailed = new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => {
      waiting.delete(user.address);
      fail(new Error('no code mailed within 4 minutes (codes live 5)'));
    }, 240_000);
    timer.unref();
    waiting.set(user.address, (code) => {
      clearTimeout(timer);
      ok(code);
    });
  });
  await timed('send', post(`/flows/${flowId}/verifications`, { method: 'email' }, 202));
  const code = await timed('mail', mailed);
  await timed('complete', post(`/flows/${flowId}/verifications/email/complete`, { code }, 200));
  await timed('password', post(`/flows/${flowId}/password`, { newPassword: NEW_PASSWORD }, 200));
}

let server: ServeChild | undefined;
try {
  let t = Date.now();
  const users = await seed();
  process.stderr.write(`sspr-reset: seeded ${USERS} accounts in ${round((Date.now() - t) / 1000)} s\n`);
  t = Date.now();
  server = await startServeChild(serverEnv, { killAfterMs: 10_000 });
  process.stderr.write(`sspr-reset: server up in ${round((Date.now() - t) / 1000)} s\n`);
  const base = server.base.origin;

  // the limit: raw argon2id hashes per second, the server's parameters, one per core at a time
  // (the hasher's own semaphore), measured while the server idles
  const hasher = createArgon2Hasher(serverConfig.argon2);
  await hasher.hash(NEW_PASSWORD);
  let hashes = 0;
  const hashEnd = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: cores }, async () => {
      while (Date.now() < hashEnd) {
        await hasher.hash(NEW_PASSWORD);
        hashes += 1;
      }
    }),
  );
  await hasher.close?.();
  const rawHashesPerSecond = hashes / SECONDS;

  // the figure: closed loop, CONCURRENCY flows in flight, each on the next unused account. The window
  // opens once the warm-up has passed and the first reset is through (a slow pipeline fills first), and
  // counts the resets finished inside it; flows still in flight when it closes are abandoned.
  let next = 0;
  let done = 0;
  let failure: Error | undefined;
  let stopping = false;
  const t0 = Date.now();
  const at = { done: 0, serverCpu: 0, clientCpu: process.cpuUsage(), mails: 0, stepMs: { ...stepMs } };
  const window = new Promise<{ counted: number; serverCpuMs: number; clientCpuMs: number; mails: number; stepMs: typeof stepMs }>((ok) => {
    const open = setInterval(() => {
      if (failure || (Date.now() - t0 < WARMUP * 1000 || done === 0)) return;
      clearInterval(open);
      Object.assign(at, { done, serverCpu: cpuMsOf(server!.pid), clientCpu: process.cpuUsage(), mails: mailsReceived, stepMs: { ...stepMs } });
      setTimeout(() => {
        const c = process.cpuUsage(at.clientCpu);
        const steps = Object.fromEntries(Object.entries(stepMs).map(([k, v]) => [k, v - at.stepMs[k as keyof typeof stepMs]])) as typeof stepMs;
        ok({ counted: done - at.done, serverCpuMs: cpuMsOf(server!.pid) - at.serverCpu, clientCpuMs: (c.user + c.system) / 1000, mails: mailsReceived - at.mails, stepMs: steps });
        stopping = true;
        abandon.abort();
      }, SECONDS * 1000);
    }, 100);
  });
  const flows = Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (!stopping && !failure) {
        const user = users[next++];
        if (!user) {
          failure ??= new Error(`ran out of accounts: raise BENCH_USERS (${USERS})`);
          return;
        }
        try {
          await reset(base, user);
          done += 1;
        } catch (err) {
          if (!stopping) failure ??= err instanceof Error ? err : new Error(String(err));
        }
      }
    }),
  );
  const failed = flows.then(() => failure ?? new Error('the flows ended before the window closed'));
  const measured = await Promise.race([window, failed]);
  if (measured instanceof Error) throw measured;
  const { counted, serverCpuMs, clientCpuMs, mails: mailsInWindow } = measured;
  const meanStepMs = Object.fromEntries(Object.entries(measured.stepMs).map(([k, v]) => [k, counted > 0 ? round(v / counted) : null]));
  process.stderr.write(`sspr-reset: window opened after ${round((Date.now() - t0) / 1000 - SECONDS)} s; ${counted} resets in it\n`);
  const resetsPerSecond = counted / SECONDS;
  const hashLimit = rawHashesPerSecond / HASHES_PER_RESET;
  const ratio = resetsPerSecond / hashLimit;
  console.log(
    JSON.stringify({
      figure: 'whole SSPR resets/s over HTTP (captcha → flow → email code via SMTP → new password) vs raw argon2id hashes/s ÷ hashes per reset',
      cores,
      argon2: serverConfig.argon2,
      concurrency: CONCURRENCY,
      floorMs: serverConfig.ssprMinResponseMs,
      hashesPerReset: HASHES_PER_RESET,
      rawHashesPerSecond: round(rawHashesPerSecond),
      resetsPerSecond: round(resetsPerSecond),
      ratio: round(ratio, 3),
      limit: LIMIT,
      pass: ratio >= LIMIT,
      perReset: {
        hashCpuMs: round((cores * 1000) / rawHashesPerSecond, 2),
        serverCpuMs: counted > 0 ? round(serverCpuMs / counted, 2) : null,
        clientCpuMs: counted > 0 ? round(clientCpuMs / counted, 2) : null,
        mails: counted > 0 ? round(mailsInWindow / counted, 2) : null,
      },
      // time the flows spent per step in the window (steps started before it included), per counted reset
      meanStepMs,
      loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    }),
  );
  process.exitCode = ratio >= LIMIT ? 0 : 1;
} finally {
  const stopped = await server?.stop();
  if (stopped) process.stderr.write(`sspr-reset: server stopped in ${round(stopped.seconds)} s${stopped.killed ? ' (killed)' : ''}\n`);
  await smtp.close();
  rmSync(dir, { recursive: true, force: true });
}
