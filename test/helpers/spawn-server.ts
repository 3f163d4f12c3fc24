import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

/** The repository root (this file is test/helpers/spawn-server.ts). */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * A port that was free a moment ago: listen on 0, read the port, close. Racy in theory (another
 * process may take it before we do), good enough for tests.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.once('error', fail);
    server.listen(0, host, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        fail(new Error('no port assigned'));
        return;
      }
      server.close(() => ok(address.port));
    });
  });
}

export interface SpawnedProcess {
  readonly child: ChildProcess;
  /** everything written to stdout so far */
  stdout(): string;
  /** everything written to stderr so far */
  stderr(): string;
  /**
   * Resolves with the first stdout line matching `pattern` (already printed or yet to come).
   * Rejects after `timeoutMs`, or when the process exits first, with the collected stdout and
   * stderr in the message so the failing test shows what the server said.
   */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** resolves with the exit code (or signal name) once the process has exited */
  readonly exited: Promise<number | string>;
}

export interface SpawnOptions {
  /** replaces the environment (PATH and HOME are added from this process) */
  env: Record<string, string>;
  cwd?: string;
}

/** Every process spawned and not yet exited, so a test can stop them all in afterAll. */
const running = new Set<SpawnedProcess>();

/** Runs `node --import tsx src/main.ts <args>`: what `npm start` runs, minus the tsc build. */
export function spawnPostern(args: string[], options: SpawnOptions): SpawnedProcess {
  return spawnProcess(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], options);
}

export function spawnProcess(command: string, args: string[], options: SpawnOptions): SpawnedProcess {
  const env: Record<string, string> = { ...options.env };
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT']) {
    const value = process.env[key];
    if (value !== undefined && env[key] === undefined) env[key] = value;
  }
  const child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });

  let exitStatus: number | string | undefined;
  const exited = new Promise<number | string>((ok) => {
    child.once('exit', (code, signal) => {
      exitStatus = code ?? signal ?? 'unknown';
      running.delete(handle);
      notify();
      ok(exitStatus);
    });
    child.once('error', (e) => {
      err += `\n[spawn error] ${e.message}`;
      exitStatus = 'spawn-error';
      running.delete(handle);
      notify();
      ok(exitStatus);
    });
  });

  const describeOutput = (): string => `--- stdout ---\n${out}\n--- stderr ---\n${err}`;

  const handle: SpawnedProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLine: (pattern, timeoutMs = 30_000) =>
      new Promise<string>((ok, fail) => {
        const check = (): void => {
          const line = out.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) {
            done();
            ok(line);
          } else if (exitStatus !== undefined) {
            done();
            fail(new Error(`process exited (${exitStatus}) before printing a line matching ${String(pattern)}\n${describeOutput()}`));
          }
        };
        const done = (): void => {
          listeners.delete(check);
          clearTimeout(timer);
        };
        const timer = setTimeout(() => {
          done();
          fail(new Error(`no line matching ${String(pattern)} within ${timeoutMs} ms\n${describeOutput()}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
    stop: async (graceMs = 5_000) => {
      if (exitStatus !== undefined) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => {
        if (exitStatus === undefined) child.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(killer);
    },
  };
  running.add(handle);
  return handle;
}

/** Stops every process spawned by this module that is still running (for afterAll). */
export async function stopAllSpawned(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}
