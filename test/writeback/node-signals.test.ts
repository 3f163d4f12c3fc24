import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DbHandle } from '../../src/store/database.js';
import { createNodeSignals, type NodeSignals } from '../../src/writeback/node-signals.js';
import { listen, type SignalName } from '../../src/writeback/signals.js';
import { createTestDatabase, testDialects, type TestDatabase } from '../helpers/context.js';

/**
 * Writeback wake-ups between nodes on one PostgreSQL database (LISTEN/NOTIFY): a signal published by
 * one node is raised on another as if raised there; a node does not hear its own; SQLite has none.
 * The two "nodes" here are two NodeSignals in one process, each with its own id and LISTEN connection.
 * (test/security/two-nodes.test.ts runs the real thing: two serve processes and an agent.)
 */

const postgres = testDialects().includes('postgres');

/** Publishes `event` from `from` every 50 ms until a local wait on it ends, or `ms` passed; true if it ended. */
async function heard(from: NodeSignals, event: SignalName, ms: number): Promise<boolean> {
  const wake = listen(event);
  let fired = false;
  void wake.wait(ms).then(() => (fired = true));
  try {
    const until = performance.now() + ms;
    while (!fired && performance.now() < until) {
      from.publish(event);
      await sleep(50);
    }
    // the wait also ends when `ms` runs out: only a wake-up before that counts
    return fired && performance.now() < until;
  } finally {
    wake.cancel();
  }
}

describe.skipIf(!postgres)('node signals on PostgreSQL', () => {
  let database: TestDatabase;
  let handle: DbHandle;
  const made: NodeSignals[] = [];
  const node = (): NodeSignals => {
    const n = createNodeSignals(handle.db, 'postgres', database.url)!;
    made.push(n);
    return n;
  };
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    handle = openDatabase(database.url);
  });
  afterAll(async () => {
    for (const n of made) await n.close();
    await handle?.close();
    await database?.drop();
  });

  it("a node's job and done signals wake the waits of another node", async () => {
    const a = node();
    const b = node();
    b.attend();
    expect(await heard(a, `job:${crypto.randomUUID()}`, 10_000)).toBe(true);
    expect(await heard(a, `done:${crypto.randomUUID()}`, 10_000)).toBe(true);
  });

  it('a node does not wake itself through the database (it raised the signal locally already)', async () => {
    // every other node of this process would relay it: only this one listens from now on
    for (const n of made.splice(0)) await n.close();
    const alone = node();
    alone.attend();
    // the LISTEN connection is up once another node's signal gets through to it
    const other = node();
    expect(await heard(other, `job:${crypto.randomUUID()}`, 10_000)).toBe(true);
    await other.close();
    expect(await heard(alone, `job:${crypto.randomUUID()}`, 1_000)).toBe(false);
  });

  it('publishing after close does nothing and does not throw', async () => {
    const n = node();
    n.attend();
    await n.close();
    expect(() => n.publish(`job:${crypto.randomUUID()}`)).not.toThrow();
  });
});

describe('node signals on SQLite', () => {
  it('there are none: one process owns the database', () => {
    expect(createNodeSignals({} as never, 'sqlite', 'sqlite::memory:')).toBeUndefined();
  });
});
