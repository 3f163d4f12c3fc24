import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** The repository root (bench/lib/..). */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** The named variables of `env` that are set. */
export function pick(env: NodeJS.ProcessEnv, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => env[k] !== undefined).map((k) => [k, env[k]!]));
}

export interface ServeChild {
  /** http://host:port the server said it listens on */
  base: URL;
  pid: number;
  /** SIGTERM, SIGKILL after `killAfterMs`; says whether it had to be killed */
  stop(): Promise<{ seconds: number; killed: boolean }>;
}

export interface ServeChildOptions {
  killAfterMs?: number;
  startTimeoutMs?: number;
  /**
   * CPU ids to pin the server to (`taskset -c`, which execs node, so `pid` stays the server's). Set
   * before node starts, so the server's own availableParallelism() — its hashing concurrency and
   * libuv pool size (src/main.ts) — sees only these cores, as on a machine that has that many.
   */
  cpus?: readonly number[];
  /**
   * Its own session (setsid), as a service manager starts a server. With the kernel's autogroup
   * scheduling (/proc/sys/kernel/sched_autogroup_enabled) a session is one scheduling entity: two
   * servers left in the bench's session share one weight against the machine's other sessions, so on a
   * busy shared machine the second server adds no CPU. Killed when the bench process exits.
   */
  ownSession?: boolean;
}

/**
 * `postern serve` (src/main.ts under tsx) as a child process with only `env` (plus PATH, HOME, TMPDIR),
 * resolved once it logs "listening on http://…". BENCH_SERVER_NODE_FLAGS (e.g. --cpu-prof) go to its node.
 */
export function startServeChild(env: Record<string, string>, options: ServeChildOptions = {}): Promise<ServeChild> {
  const flags = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const nodeArgs = [...flags, '--import', 'tsx', 'src/main.ts', 'serve'];
  const [command, args] = options.cpus?.length ? ['taskset', ['-c', options.cpus.join(','), process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...pick(process.env, ['PATH', 'HOME', 'TMPDIR']), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.ownSession === true,
  });
  if (options.ownSession) {
    // a detached child is in no process group of ours: nothing else would stop it if the bench dies
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
  }
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  return new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${out}\n${err}`)), options.startTimeoutMs ?? 60_000);
    child.once('exit', (code) => fail(new Error(`server exited (${code}):\n${out}\n${err}`)));
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      ok({
        base: new URL(m[1]!),
        pid: child.pid!,
        stop: async () => {
          const started = Date.now();
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 15_000);
          await exited;
          clearTimeout(killer);
          return { seconds: (Date.now() - started) / 1000, killed: child.signalCode === 'SIGKILL' };
        },
      });
    });
  });
}
