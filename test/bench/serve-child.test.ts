import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServeChild, type ServeChild } from '../../bench/lib/serve-child.js';

/** Fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, [2] pgrp, [3] session. */
function statOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
}
function alive(pid: number): boolean {
  try {
    return statOf(pid)[0] !== 'Z';
  } catch {
    return false;
  }
}

// The bench launcher's CPU pinning and own-session options (bench/two-nodes.ts), on a real `postern serve`.
describe.runIf(process.platform === 'linux')('bench serve child', () => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-serve-child-'));
  const env = { DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, POSTERN_DATA_DIR: dir, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn' };
  let server: ServeChild | undefined;
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pins the server to the given cores, in its own session, and stops it', async () => {
    const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
    const cpu = Number(allowed.split(/[,-]/)[0]);
    server = await startServeChild(env, { cpus: [cpu], ownSession: true });

    // the pid is the server itself (taskset execs node), restricted to that one core
    expect(readFileSync(`/proc/${server.pid}/cmdline`, 'utf8')).toContain('src/main.ts\0serve');
    expect(/Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]).toBe(String(cpu));
    // setsid: it leads its own session, not ours
    expect(Number(statOf(server.pid)[3])).toBe(server.pid);
    expect(Number(statOf(server.pid)[3])).not.toBe(Number(statOf(process.pid)[3]));

    const answer = await fetch(new URL('/healthz', server.base));
    expect(answer.status).toBe(200);

    const pid = server.pid;
    const stopped = await server.stop();
    server = undefined;
    expect(stopped.killed).toBe(false);
    expect(alive(pid)).toBe(false);
  }, 90_000);
});
