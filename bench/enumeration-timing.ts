/**
 * Figure (issue 10, enumeration by timing): does the time of an answer tell an attacker whether an
 * account exists, is disabled or is locked? Three steps an attacker can time, each for four kinds of
 * name: an existing enabled account, an unknown name, a disabled account and a locked-out account —
 * - sign-in: the OAuth password grant with a wrong password (the hash is checked, or a dummy one);
 * - reset start: POST /api/v1/sspr/flows (CAPTCHA solved outside the timed part);
 * - code request: POST …/verifications for an email code (the decoy flow for the unknown name).
 * Samples are interleaved (every round times each kind once per step, in a shuffled order) and every
 * sample uses a fresh account, so no counter or lockout built up by the bench changes an account's
 * kind. Postern runs in-process on SQLite with its production defaults (argon2id m=19456 KiB, t=2,
 * the 300 ms SSPR response floor). Limit: for every step, each kind's median within 5 ms of the
 * existing account's, and the same status for every kind. BENCH_SAMPLES sets the samples per kind and
 * step (200: about 9 minutes, the floor dominates); BENCH_LANES runs that many rounds at once (default 1:
 * with more, sign-ins queue behind each other's hashes and the queueing, not the account, sets the time).
 * Prints one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import { loadConfig } from '../src/config.js';
import { createTenant, systemContext } from '../src/domain/tenants.js';
import { createUser } from '../src/domain/users.js';
import { createApp } from '../src/http/app.js';
import { createServices } from '../src/services.js';
import { upsertEmailMethod } from '../src/store/auth-methods.js';
import { migrateToLatest } from '../src/store/migrate.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const LANES = Math.max(1, Number(process.env.BENCH_LANES ?? 1));
const LIMIT_MS = 5;
const PASSWORD = 'Quokka-Vortex-Lantern-8';
const WRONG = 'Not-The-Password-4417';
/** Microsoft Graph PowerShell's public client id, which Postern knows as a first-party public client */
const PUBLIC_CLIENT = '14d82eec-204b-4c2f-b7e8-296a70dab67e';
const KINDS = ['existing', 'unknown', 'disabled', 'locked'] as const;
const STEPS = ['signIn', 'resetStart', 'codeRequest'] as const;
type Kind = (typeof KINDS)[number];
type Step = (typeof STEPS)[number];

const dir = mkdtempSync(join(tmpdir(), 'postern-bench-enum-'));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round2 = (x: number): number => Math.round(x * 100) / 100;

const services = createServices(loadConfig({ DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`, POSTERN_DATA_DIR: dir, LOG_LEVEL: 'silent', PORT: '0' }));
try {
  await migrateToLatest(services.db);
  const { tenant } = await createTenant(services, systemContext(services), { name: 'Bench', domain: 'bench.test', adminUpn: 'admin@bench.test', adminPassword: PASSWORD });

  // one fresh account per sample and kind (a flow start counts against its account; a wrong password too)
  const names: Record<Kind, string[]> = { existing: [], unknown: [], disabled: [], locked: [] };
  const lockedUntil = new Date(services.clock.now().getTime() + 24 * 3_600_000).toISOString();
  for (let i = 0; i < SAMPLES; i++) {
    for (const kind of ['existing', 'disabled', 'locked'] as const) {
      const u = await createUser(services, systemContext(services), { tenantId: tenant.id, userPrincipalName: `${kind}-${i}@bench.test`, displayName: `${kind} ${i}`, password: PASSWORD });
      const at = services.clock.now().toISOString();
      await upsertEmailMethod(services.db, { userId: u.id, address: `${kind}${i}@example.test`, verifiedAt: at, createdAt: at });
      if (kind === 'disabled') await services.db.updateTable('users').set({ account_enabled: 0 }).where('id', '=', u.id).execute();
      if (kind === 'locked') await services.db.updateTable('users').set({ locked_until: lockedUntil, lockout_count: 1 }).where('id', '=', u.id).execute();
      names[kind].push(u.userPrincipalName);
    }
    names.unknown.push(`nobody-${i}@bench.test`);
  }

  const app = await createApp(services, { logger: false });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const post = (path: string, body: string, type: string): Promise<Response> => fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': type } });
    const captcha = async (): Promise<string> => {
      const challenge = (await (await fetch(`${base}/api/v1/sspr/captcha`)).json()) as Challenge;
      const solution = await solveChallenge({ challenge, deriveKey });
      return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
    };
    const timed = async (send: () => Promise<Response>): Promise<{ ms: number; res: Response; body: unknown }> => {
      const t0 = performance.now();
      const res = await send();
      const text = await res.text();
      const ms = performance.now() - t0;
      return { ms, res, body: text ? (JSON.parse(text) as unknown) : null };
    };

    const times: Record<Step, Record<Kind, number[]>> = {
      signIn: { existing: [], unknown: [], disabled: [], locked: [] },
      resetStart: { existing: [], unknown: [], disabled: [], locked: [] },
      codeRequest: { existing: [], unknown: [], disabled: [], locked: [] },
    };
    const statuses: Record<Step, Record<Kind, Set<number>>> = {
      signIn: { existing: new Set(), unknown: new Set(), disabled: new Set(), locked: new Set() },
      resetStart: { existing: new Set(), unknown: new Set(), disabled: new Set(), locked: new Set() },
      codeRequest: { existing: new Set(), unknown: new Set(), disabled: new Set(), locked: new Set() },
    };

    const sample = async (i: number): Promise<void> => {
      const order = [...KINDS].sort(() => Math.random() - 0.5);
      for (const kind of order) {
        const upn = names[kind][i]!;
        const signIn = await timed(() =>
          post(`/${tenant.id}/oauth2/v2.0/token`, new URLSearchParams({ grant_type: 'password', client_id: PUBLIC_CLIENT, username: upn, password: WRONG, scope: 'https://graph.microsoft.com/.default' }).toString(), 'application/x-www-form-urlencoded'),
        );
        times.signIn[kind].push(signIn.ms);
        statuses.signIn[kind].add(signIn.res.status);
        const solved = await captcha();
        const start = await timed(() => post('/api/v1/sspr/flows', JSON.stringify({ userPrincipalName: upn, captcha: solved }), 'application/json'));
        times.resetStart[kind].push(start.ms);
        statuses.resetStart[kind].add(start.res.status);
        const flowId = (start.body as { flowId?: string } | null)?.flowId;
        if (!flowId) throw new Error(`${kind}: the flow start answered ${start.res.status} without a flow`);
        const code = await timed(() => post(`/api/v1/sspr/flows/${flowId}/verifications`, JSON.stringify({ method: 'email' }), 'application/json'));
        times.codeRequest[kind].push(code.ms);
        statuses.codeRequest[kind].add(code.res.status);
      }
    };

    const load = { before: loadavg().map(round2) };
    let next = 0;
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        while (next < SAMPLES) await sample(next++);
      }),
    );

    const steps = Object.fromEntries(
      STEPS.map((step) => {
        const medians = Object.fromEntries(KINDS.map((k) => [k, round2(median(times[step][k]))])) as Record<Kind, number>;
        const worstMs = round2(Math.max(...KINDS.map((k) => Math.abs(medians[k] - medians.existing))));
        const status = Object.fromEntries(KINDS.map((k) => [k, [...statuses[step][k]].sort()]));
        return [step, { medianMs: medians, worstDifferenceMs: worstMs, status }];
      }),
    ) as Record<Step, { medianMs: Record<Kind, number>; worstDifferenceMs: number; status: Record<Kind, number[]> }>;
    // the same status for every kind too: a time alike with a different answer would tell as much
    const sameStatus = STEPS.every((s) => new Set(KINDS.map((k) => steps[s].status[k].join(','))).size === 1);
    const worst = Math.max(...STEPS.map((s) => steps[s].worstDifferenceMs));
    const pass = worst < LIMIT_MS && sameStatus;
    console.log(
      JSON.stringify({
        figure: 'enumeration by timing: median answer time of unknown, disabled and locked names against an existing account',
        samples: SAMPLES,
        lanes: LANES,
        argon2: services.config.argon2,
        floorMs: services.config.ssprMinResponseMs,
        steps,
        sameStatus,
        worstDifferenceMs: worst,
        limit: `every kind's median within ${LIMIT_MS} ms of the existing account's, same status`,
        loadavg: { ...load, after: loadavg().map(round2) },
        pass,
      }),
    );
    process.exitCode = pass ? 0 : 1;
  } finally {
    await app.close();
  }
} finally {
  await services.close();
  rmSync(dir, { recursive: true, force: true });
}
