import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CryptAnswer, CryptRequest } from './crypt-worker.js';

/**
 * A small pool of worker threads for {CRYPT} verification (sha-crypt, md5-crypt): these are pure JS,
 * about 35 ms a verify at the default 5,000 rounds, and on the event loop they stalled every other
 * request. Workers start on first use (a deployment without synced {CRYPT} hashes never starts one)
 * and are unref'd while idle, so the pool never keeps a process alive; `close()` ends them.
 *
 * Fails closed: a worker that errors or exits answers false for every request it held, and the next
 * request starts a fresh worker.
 */
export interface CryptVerifier {
  verify(value: string, password: string): Promise<boolean>;
  close(): Promise<void>;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, (ok: boolean) => void>;
}

export function createCryptPool(size = Math.min(2, availableParallelism())): CryptVerifier {
  const max = Math.max(1, size);
  const slots: Slot[] = [];
  let nextId = 1;

  const settleAll = (slot: Slot): void => {
    const index = slots.indexOf(slot);
    if (index >= 0) slots.splice(index, 1);
    for (const resolve of slot.pending.values()) resolve(false);
    slot.pending.clear();
  };

  const start = (): Slot => {
    const worker = startWorker();
    const slot: Slot = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (message: CryptAnswer) => {
      const resolve = slot.pending.get(message.id);
      if (!resolve) return;
      slot.pending.delete(message.id);
      if (slot.pending.size === 0) worker.unref();
      resolve(message.ok === true);
    });
    worker.on('error', () => settleAll(slot));
    worker.on('exit', () => settleAll(slot));
    slots.push(slot);
    return slot;
  };

  /** the least busy worker, or a new one while the pool is below its size and every worker is busy */
  const pick = (): Slot => {
    let best: Slot | undefined;
    for (const slot of slots) if (!best || slot.pending.size < best.pending.size) best = slot;
    if (!best || (best.pending.size > 0 && slots.length < max)) return start();
    return best;
  };

  return {
    verify(value, password) {
      return new Promise<boolean>((resolve) => {
        try {
          const slot = pick();
          const id = nextId++;
          slot.pending.set(id, resolve);
          // referenced while it holds work, so an awaited verify is not cut short by process exit
          slot.worker.ref();
          const request: CryptRequest = { id, value, password };
          slot.worker.postMessage(request);
        } catch {
          resolve(false);
        }
      });
    },
    async close() {
      const all = slots.splice(0, slots.length);
      await Promise.all(all.map((slot) => slot.worker.terminate()));
      for (const slot of all) settleAll(slot);
    },
  };
}

/**
 * The worker runs crypt-worker.js beside this file. Under tsx or vitest this file is the TypeScript
 * source and Node cannot load crypt-worker.ts in a worker by itself (loader hooks are per thread), so
 * the worker first registers tsx's loader, then imports the source.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const target = new URL('./crypt-worker.ts', here).href;
    // resolved from here, not from the working directory the eval'd code would resolve against; the
    // require condition names tsx's CJS build, whose ESM twin beside it is the one that registers cleanly
    const tsx = pathToFileURL(createRequire(here).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(target)}); });`;
    return new Worker(code, { eval: true });
  }
  return new Worker(new URL('./crypt-worker.js', here));
}
