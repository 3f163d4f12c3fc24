import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { sambaInfoFromEnv, slapdInfoFromEnv } from './directories.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string | null;
  }
}

/**
 * PostgreSQL for the store and HTTP suites. CI (scripts/start-services.sh) exports
 * POSTERN_TEST_PG_URL; on a developer machine with PostgreSQL's binaries installed we start a
 * throwaway cluster for the run. Without either, PostgreSQL suites skip with a notice — unless
 * POSTERN_REQUIRE_SERVICES=1, when that is a failure.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const stopDirectories = await startDirectories(project);
  const stopPostgres = setupPostgres(project);
  return () => {
    try {
      stopPostgres?.();
    } finally {
      stopDirectories();
      // the browser suites' screenshots (test/browser/harness.ts), when this run made some
      const shots = process.env.POSTERN_SCREENSHOT_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results', 'screenshots');
      if (existsSync(shots) && readdirSync(shots).length > 0) console.log(`\nbrowser screenshots: ${shots}`);
    }
  };
}

function setupPostgres(project: TestProject): (() => void) | undefined {
  project.provide('pgUrl', process.env.POSTERN_TEST_PG_URL ?? null);
  if (process.env.POSTERN_TEST_PG_URL) return undefined;
  const bin = findPgBin();
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'postern-pg-'));
  const asPostgres = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]): void => {
    if (asPostgres) {
      execFileSync('su', ['postgres', '-c', [cmd, ...args].map((a) => `'${a}'`).join(' ')], { stdio: 'pipe' });
    } else {
      execFileSync(cmd, args, { stdio: 'pipe' });
    }
  };
  try {
    if (asPostgres) chownSync(dir, uidOf('postgres'), -1);
    const port = 55000 + Math.floor(Math.random() * 900);
    run(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres']);
    run(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off`, '-l', join(dir, 'log'), '-w', 'start']);
    project.provide('pgUrl', `postgres://postgres@127.0.0.1:${port}/postgres`);
  } catch (err) {
    console.error(`could not start a PostgreSQL cluster for the tests: ${String(err)}`);
    return undefined;
  }
  return () => {
    try {
      run(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function findPgBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

function uidOf(user: string): number {
  const r = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

/*
 * The test directories (slapd + ppolicy, Samba AD DC). CI exports POSTERN_TEST_SLAPD_* /
 * POSTERN_TEST_AD_* (scripts/start-services.sh) and the workers read them from their environment.
 * Otherwise, when the binaries are installed and a selected test file (or a helper it imports)
 * calls slapdTestInfo() / sambaTestInfo(), the scripts start them for this run — slapd on random
 * loopback ports, Samba on a random 127.x.y.z address so that parallel runs do not collide — and
 * the facts reach the workers through project.provide (a worker's process.env is not the place:
 * vitest forks workers before and independently of this setup's environment changes).
 * POSTERN_TEST_DIRECTORIES=all starts both regardless; =none starts neither.
 */
const SCRIPTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts');
const run = promisify(execFile);

async function startDirectories(project: TestProject): Promise<() => void> {
  let slapd = slapdInfoFromEnv(process.env);
  let samba = sambaInfoFromEnv(process.env);
  const stops: (() => void)[] = [];
  const wanted = slapd && samba ? { slapd: false, samba: false } : await directoriesWanted(project);
  const dir = mkdtempSync(join(tmpdir(), 'postern-dirs-'));
  const starts: Promise<void>[] = [];
  if (!slapd && wanted.slapd && hasBinary('slapd')) {
    const port = 20000 + 2 * Math.floor(Math.random() * 4000);
    starts.push(
      startScript('start-slapd.sh', 'start_slapd', { POSTERN_SERVICES_DIR: dir, POSTERN_SLAPD_LDAP_PORT: String(port), POSTERN_SLAPD_LDAPS_PORT: String(port + 1) }).then(
        (env) => {
          slapd = slapdInfoFromEnv(env);
          stops.push(() => stopScript('start-slapd.sh', 'stop_slapd', { POSTERN_SLAPD_DIR: env.POSTERN_SLAPD_DIR ?? '' }));
        },
        (err: unknown) => console.error(`[postern tests] could not start slapd: ${String(err)}`),
      ),
    );
  }
  if (!samba && wanted.samba && hasBinary('samba')) {
    const octet = (): number => 1 + Math.floor(Math.random() * 250);
    const ip = `127.${octet()}.${octet()}.${octet() + 1}`;
    starts.push(
      startScript('start-samba.sh', 'start_samba', { POSTERN_SERVICES_DIR: dir, POSTERN_SAMBA_IP: ip }).then(
        (env) => {
          samba = sambaInfoFromEnv(env);
          stops.push(() => stopScript('start-samba.sh', 'stop_samba', { POSTERN_SAMBA_DIR: env.POSTERN_SAMBA_DIR ?? '' }));
        },
        (err: unknown) => console.error(`[postern tests] could not start Samba: ${String(err)}`),
      ),
    );
  }
  await Promise.all(starts);
  if (starts.length > 0) console.log(`[postern tests] started for this run: ${[slapd ? `slapd ${slapd.url}` : '', samba ? `Samba AD ${samba.url}` : ''].filter(Boolean).join(', ')}`);
  project.provide('slapd', slapd);
  project.provide('samba', samba);
  return () => {
    for (const stop of stops) {
      try {
        stop();
      } catch (err) {
        console.error(`[postern tests] stopping a directory: ${String(err)}`);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/** Runs `. script && fn` in bash and returns the environment it exported. */
async function startScript(script: string, fn: string, env: Record<string, string>): Promise<Record<string, string>> {
  const { stdout } = await run('bash', ['-c', `. "${join(SCRIPTS, script)}" && ${fn} && env -0`], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
    timeout: 180_000,
  });
  const out: Record<string, string> = {};
  for (const line of stdout.split('\0')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

function stopScript(script: string, fn: string, env: Record<string, string>): void {
  execFileSync('bash', ['-c', `. "${join(SCRIPTS, script)}" && ${fn}`], { env: { ...process.env, ...env }, stdio: 'pipe', timeout: 30_000 });
}

function hasBinary(name: string): boolean {
  return ['/usr/sbin', '/usr/bin', '/usr/local/sbin'].some((d) => existsSync(join(d, name)));
}

/** Which directories the selected test files use (directly or through a helper they import). */
async function directoriesWanted(project: TestProject): Promise<{ slapd: boolean; samba: boolean }> {
  const force = process.env.POSTERN_TEST_DIRECTORIES;
  if (force === 'all') return { slapd: true, samba: true };
  if (force === 'none') return { slapd: false, samba: false };
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
  const { testFiles } = await project.globTestFiles(filters);
  const wanted = { slapd: false, samba: false };
  const seen = new Set<string>();
  const visit = (file: string, depth: number): void => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    if (text.includes('slapdTestInfo(')) wanted.slapd = true;
    if (text.includes('sambaTestInfo(')) wanted.samba = true;
    if (depth >= 2) return;
    for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) visit(resolve(dirname(file), `${m[1]}.ts`), depth + 1);
  };
  for (const f of testFiles) visit(f, 0);
  return wanted;
}
