/**
 * Figure: how alike a real account's and an unknown name's self-service reset look in time. Starting a
 * flow and asking for an email code are timed over HTTP for real users and for unknown names,
 * alternately, first with the response floor off (the raw difference, for the record) and then with
 * the default floor (SSPR_MIN_RESPONSE_MS). Limit: with the floor, the median of the unknown side
 * within 5 % of the real side's, per step. Prints one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import { loadConfig } from '../src/config.js';
import { createTenant, systemContext } from '../src/domain/tenants.js';
import { createUser } from '../src/domain/users.js';
import { createApp } from '../src/http/app.js';
import { createServices, type Services } from '../src/services.js';
import { upsertEmailMethod, upsertPhoneMethod } from '../src/store/auth-methods.js';
import { migrateToLatest } from '../src/store/migrate.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 60);
const LIMIT = 0.05;
const dir = mkdtempSync(join(tmpdir(), 'postern-bench-'));
const env = (floor: string) => ({
  DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`,
  POSTERN_DATA_DIR: dir,
  LOG_LEVEL: 'silent',
  PORT: '0',
  // a cheap CAPTCHA (solved outside the timed part) and cheap hashing for the setup
  NODE_ENV: 'test',
  ARGON2_MEMORY_KIB: '1024',
  ARGON2_ITERATIONS: '1',
  ...(floor === 'default' ? {} : { SSPR_MIN_RESPONSE_MS: floor }),
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(services: Services, realUpns: string[], tag: string) {
  const app = await createApp(services, { logger: false });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const captcha = async () => {
    const challenge = (await (await fetch(`${base}/api/v1/sspr/captcha`)).json()) as Challenge;
    const solution = await solveChallenge({ challenge, deriveKey });
    return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
  };
  const times = { real: { start: [] as number[], send: [] as number[] }, unknown: { start: [] as number[], send: [] as number[] } };
  try {
    for (let i = 0; i < realUpns.length; i++) {
      for (const side of ['real', 'unknown'] as const) {
        const upn = side === 'real' ? realUpns[i]! : `nobody-${tag}-${i}@bench.test`;
        const solved = await captcha();
        let t0 = performance.now();
        const started = await post('/api/v1/sspr/flows', { userPrincipalName: upn, captcha: solved });
        const flow = (await started.json()) as { flowId?: string };
        times[side].start.push(performance.now() - t0);
        if (started.status !== 201 || !flow.flowId) throw new Error(`${side} flow start answered ${started.status}`);
        t0 = performance.now();
        const sent = await post(`/api/v1/sspr/flows/${flow.flowId}/verifications`, { method: 'email' });
        await sent.arrayBuffer();
        times[side].send.push(performance.now() - t0);
        if (sent.status !== 202) throw new Error(`${side} code request answered ${sent.status}`);
      }
    }
  } finally {
    await app.close();
  }
  const step = (s: 'start' | 'send') => ({ realMs: +median(times.real[s]).toFixed(2), unknownMs: +median(times.unknown[s]).toFixed(2), ratio: +(median(times.unknown[s]) / median(times.real[s])).toFixed(3) });
  return { start: step('start'), send: step('send') };
}

let services = createServices(loadConfig(env('0')));
try {
  await migrateToLatest(services.db);
  const { tenant } = await createTenant(services, systemContext(services), { name: 'Bench', domain: 'bench.test', adminUpn: 'admin@bench.test', adminPassword: 'Quokka-Vortex-Lantern-8' });
  // each real account starts one flow per run (5 flows a day would block it)
  const makeUsers = async (tag: string) => {
    const upns: string[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const u = await createUser(services, systemContext(services), { tenantId: tenant.id, userPrincipalName: `user-${tag}-${i}@bench.test`, displayName: `User ${i}`, password: 'Quokka-Vortex-Lantern-8' });
      const at = services.clock.now().toISOString();
      await upsertEmailMethod(services.db, { userId: u.id, address: `u${tag}${i}@example.test`, verifiedAt: at, createdAt: at });
      await upsertPhoneMethod(services.db, { userId: u.id, phoneType: 'mobile', number: `+1425555${String(1000 + i).slice(-4)}`, verifiedAt: at, createdAt: at });
      upns.push(u.userPrincipalName);
    }
    return upns;
  };
  const raw = await measure(services, await makeUsers('raw'), 'raw');
  await services.close();
  services = createServices(loadConfig(env('default')));
  const floor = services.config.ssprMinResponseMs;
  const paced = await measure(services, await makeUsers('paced'), 'paced');
  const worst = Math.max(Math.abs(1 - paced.start.ratio), Math.abs(1 - paced.send.ratio));
  const pass = worst <= LIMIT;
  console.log(JSON.stringify({ bench: 'sspr-decoy', samples: SAMPLES, floorMs: floor, raw, paced, limit: `|1 - unknown/real| ≤ ${LIMIT} with the floor`, worst: +worst.toFixed(3), pass }));
  process.exitCode = pass ? 0 : 1;
} finally {
  await services.close();
  rmSync(dir, { recursive: true, force: true });
}
