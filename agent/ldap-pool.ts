import type { Socket } from 'node:net';
import type { Client } from 'ldapts';
import { clientSocket, isAlive, openServiceClient } from './ldap-connect.js';
import { DirectoryRefusal, type DirectoryConnection } from './target.js';

/**
 * A few connections bound as the service account, kept open between jobs: opening TLS and binding
 * cost ~28 ms of a ~32 ms job against Samba AD here (BENCHMARKS.md, issue 9). User binds (a change as
 * the user, pass-through verification) never come from here: they stay on their own connections.
 *
 * A directory may drop an idle connection at any time, also between the check and the operation:
 * - a client that is not alive (ldapts disconnected or its socket destroyed) is never handed out;
 * - a connected client never reconnects by itself (agent/ldap-connect.ts): a lost connection fails
 *   the operation with no LDAP result code instead of carrying on unbound;
 * - when an operation on a REUSED connection fails and the connection is gone, and no write was sent
 *   on that lease, the whole operation runs once more on a fresh connection. After a write was sent it
 *   is never repeated: the directory may have applied it, and a replayed password write could then be
 *   refused as history (or count twice).
 * Connections idle longer than `idleMs` (60 s) are closed, and all of them on close().
 */

export interface PoolOptions {
  /** connections kept idle at most (default 4); more run at once when needed and close after */
  maxIdle?: number;
  /** an idle connection older than this is closed (default 60 000 ms) */
  idleMs?: number;
}

export interface PoolStats {
  /** service connections opened (each one TLS handshake and one bind) */
  opened: number;
  /** operations that started on an already open connection */
  reused: number;
  /** operations run again on a fresh connection after a reused one was lost */
  retried: number;
  /** connections found dead or lost under an operation, and dropped */
  discarded: number;
}

interface Pooled {
  client: Client;
  /** a write (modify, exop, add, del, modifyDN) was sent on the current lease */
  wrote: boolean;
  idleSince: number;
  timer: NodeJS.Timeout | null;
}

const WRITES = ['modify', 'exop', 'add', 'del', 'modifyDN'] as const;
type WriteMethod = (typeof WRITES)[number];

export class ServiceConnectionPool {
  private readonly idle: Pooled[] = [];
  private readonly busy = new Set<Pooled>();
  private readonly maxIdle: number;
  private readonly idleMs: number;
  private closed = false;
  readonly stats: PoolStats = { opened: 0, reused: 0, retried: 0, discarded: 0 };

  constructor(
    private readonly conn: DirectoryConnection,
    options: PoolOptions = {},
  ) {
    this.maxIdle = options.maxIdle ?? 4;
    this.idleMs = options.idleMs ?? 60_000;
  }

  /** Runs `work` on a bound service connection, once more on a fresh one when a reused one was lost before any write. */
  async run<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const lease = await this.acquire(false);
    try {
      const result = await work(lease.entry.client);
      this.release(lease.entry);
      return result;
    } catch (err) {
      const lost = !isAlive(lease.entry.client);
      this.release(lease.entry);
      if (!(lease.reused && lost && !lease.entry.wrote)) throw err;
    }
    this.stats.retried += 1;
    const fresh = await this.acquire(true);
    try {
      return await work(fresh.entry.client);
    } finally {
      this.release(fresh.entry);
    }
  }

  /** Open connections (idle and in use). */
  get size(): number {
    return this.idle.length + this.busy.size;
  }

  /** The idle connections' sockets, most recently used last (diagnostics and tests). */
  idleSockets(): Socket[] {
    return this.idle.flatMap((e) => clientSocket(e.client) ?? []);
  }

  /** Closes every idle connection now; one still in use closes when its operation ends. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.idle.splice(0).map((e) => this.destroy(e)));
  }

  private async acquire(fresh: boolean): Promise<{ entry: Pooled; reused: boolean }> {
    if (this.closed) throw new DirectoryRefusal('unreachable', 'the directory target is closed');
    const now = performance.now();
    while (!fresh && this.idle.length > 0) {
      const entry = this.idle.pop()!;
      if (entry.timer) clearTimeout(entry.timer);
      if (isAlive(entry.client) && now - entry.idleSince < this.idleMs) {
        entry.wrote = false;
        this.busy.add(entry);
        this.stats.reused += 1;
        return { entry, reused: true };
      }
      this.stats.discarded += 1;
      void this.destroy(entry);
    }
    const client = await openServiceClient(this.conn);
    this.stats.opened += 1;
    const entry: Pooled = { client, wrote: false, idleSince: now, timer: null };
    trackWrites(entry);
    this.busy.add(entry);
    return { entry, reused: false };
  }

  private release(entry: Pooled): void {
    this.busy.delete(entry);
    if (this.closed || !isAlive(entry.client) || this.idle.length >= this.maxIdle) {
      if (!isAlive(entry.client)) this.stats.discarded += 1;
      void this.destroy(entry);
      return;
    }
    entry.idleSince = performance.now();
    // unref: an idle connection never keeps the agent's process alive
    entry.timer = setTimeout(() => {
      const at = this.idle.indexOf(entry);
      if (at >= 0) this.idle.splice(at, 1);
      void this.destroy(entry);
    }, this.idleMs).unref();
    this.idle.push(entry);
  }

  private async destroy(entry: Pooled): Promise<void> {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    await entry.client.unbind().catch(() => undefined);
    clientSocket(entry.client)?.destroy();
  }
}

/**
 * Marks the lease when a write goes out. ldapts sends an operation synchronously when the client is
 * connected (no await between its check and the socket write), so a write called on a live client
 * counts as sent; one called on a lost client fails before sending (see forbidReconnect) and does not.
 */
function trackWrites(entry: Pooled): void {
  const client = entry.client as unknown as Record<WriteMethod, (...args: unknown[]) => Promise<unknown>>;
  const proto = Object.getPrototypeOf(entry.client) as Record<WriteMethod, (...args: unknown[]) => Promise<unknown>>;
  for (const method of WRITES) {
    // looked up on the prototype at each call, so a wrapper installed later (the bench's timing) still runs
    client[method] = (...args: unknown[]) => {
      if (isAlive(entry.client)) entry.wrote = true;
      return proto[method].apply(entry.client, args);
    };
  }
}
