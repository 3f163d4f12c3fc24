import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../store/database.js';
import { raiseFromAnotherNode, type SignalName } from './signals.js';

/**
 * Wake-ups between nodes: several `postern serve` processes on one PostgreSQL database. A job queued
 * on node B for an agent long-polling node A, and the agent's result recorded on A for the request
 * waiting on B, would otherwise be found only by the next poll of the table (up to a second for the
 * agent's wait, 200 ms for the request's: about 0.8 s more per password write through the "wrong"
 * node, BENCHMARKS.md). NOTIFY carries the signal name to every node's LISTEN connection, which
 * raises it there as if it had been raised locally. Polling stays: a lost notification (a LISTEN
 * connection reconnecting, a node starting) costs a poll, never a job.
 *
 * SQLite is one process's database: nothing to tell (createNodeSignals returns undefined).
 */
export interface NodeSignals {
  /** Tells the other nodes (fire and forget, after the change committed). */
  publish(event: SignalName): void;
  /** Listens to the other nodes from now on, if not already (started at a node's first writeback wait). */
  attend(): void;
  close(): Promise<void>;
}

export const NODE_SIGNAL_CHANNEL = 'postern_writeback';
/** a LISTEN connection that failed is not opened again sooner than this */
const RECONNECT_MS = 5_000;

export function createNodeSignals(db: Db, dialect: 'sqlite' | 'postgres', databaseUrl: string): NodeSignals | undefined {
  return dialect === 'postgres' ? pgNodeSignals(db, databaseUrl) : undefined;
}

function pgNodeSignals(db: Db, databaseUrl: string): NodeSignals {
  // this process's notifications come back to its own LISTEN too: they carry its id and are skipped
  const nodeId = randomUUID();
  let client: pg.Client | null = null;
  let failedAt = -Infinity;
  let closed = false;

  const drop = (c: pg.Client): void => {
    if (client !== c) return;
    client = null;
    failedAt = performance.now();
    void c.end().catch(() => undefined);
  };

  return {
    publish(event) {
      if (closed) return;
      // a failed NOTIFY costs the other node a poll interval, nothing else: not worth failing for
      void sql`select pg_notify(${NODE_SIGNAL_CHANNEL}, ${`${nodeId} ${event}`})`.execute(db).catch(() => undefined);
    },
    attend() {
      if (closed || client || performance.now() - failedAt < RECONNECT_MS) return;
      const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
      client = c;
      c.on('error', () => drop(c));
      c.on('end', () => drop(c));
      c.on('notification', (msg) => {
        const payload = msg.payload ?? '';
        const space = payload.indexOf(' ');
        if (space < 0 || payload.slice(0, space) === nodeId) return;
        const event = payload.slice(space + 1);
        if (event.startsWith('job:') || event.startsWith('done:')) raiseFromAnotherNode(event as SignalName);
      });
      c.connect()
        .then(() => c.query(`LISTEN ${NODE_SIGNAL_CHANNEL}`))
        .catch(() => drop(c));
    },
    async close() {
      closed = true;
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
