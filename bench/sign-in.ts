/**
 * Figure: password sign-ins per second over HTTP (the OAuth password grant, end to end) against
 * raw argon2id verifications per second on the same cores, in one run. The HTTP path should cost
 * little beyond the hash: limit ratio ≥ 0.7. Prints one JSON line.
 */
import { availableParallelism } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createTenant, systemContext } from '../src/domain/tenants.js';
import { createApp } from '../src/http/app.js';
import { createServices } from '../src/services.js';
import { migrateToLatest } from '../src/store/migrate.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const LIMIT = 0.7;
const cores = availableParallelism();
const password = 'Quokka-Vortex-Lantern-8';

async function runFor(concurrency: number, task: () => Promise<void>): Promise<number> {
  const end = Date.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await task();
        done += 1;
      }
    }),
  );
  return done / SECONDS;
}

const dir = mkdtempSync(join(tmpdir(), 'postern-bench-'));
const config = loadConfig({ DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`, POSTERN_DATA_DIR: dir, LOG_LEVEL: 'silent', PORT: '0' });
const services = createServices(config);
try {
  await migrateToLatest(services.db);
  const { tenant, admin } = await createTenant(services, systemContext(services), {
    name: 'Bench',
    domain: 'bench.test',
    adminUpn: 'admin@bench.test',
    adminPassword: password,
  });
  const app = await createApp(services, { logger: false });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const body = new URLSearchParams({
    grant_type: 'password',
    client_id: '14d82eec-204b-4c2f-b7e8-296a70dab67e',
    username: admin.userPrincipalName,
    password,
    scope: 'https://graph.microsoft.com/.default',
  }).toString();

  // warm up both paths
  await services.hasher.verify(admin.passwordHash!, password);
  const warm = await fetch(`${address}/${tenant.id}/oauth2/v2.0/token`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  if (warm.status !== 200) throw new Error(`token endpoint answered ${warm.status}: ${await warm.text()}`);

  const raw = await runFor(cores, async () => {
    if (!(await services.hasher.verify(admin.passwordHash!, password))) throw new Error('verify failed');
  });
  const http = await runFor(cores * 2, async () => {
    const res = await fetch(`${address}/${tenant.id}/oauth2/v2.0/token`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
    await res.arrayBuffer();
  });
  await app.close();
  const ratio = http / raw;
  console.log(
    JSON.stringify({
      figure: 'sign-in throughput (password grant over HTTP vs raw argon2id verify)',
      cores,
      argon2: config.argon2,
      rawVerifyPerSecond: Math.round(raw * 10) / 10,
      httpSignInPerSecond: Math.round(http * 10) / 10,
      ratio: Math.round(ratio * 1000) / 1000,
      limit: LIMIT,
      pass: ratio >= LIMIT,
    }),
  );
  if (ratio < LIMIT) process.exitCode = 1;
} finally {
  await services.close();
  rmSync(dir, { recursive: true, force: true });
}
