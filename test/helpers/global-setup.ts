import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

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
export default function setup(project: TestProject): (() => void) | undefined {
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
