import type { FlattenedJWE, GeneralJWE } from 'jose';
import type { AgentJob } from './protocol.js';
import { recipientJwe } from './seal.js';

/**
 * Agents' long polls waiting in this process, so a job queued here can go straight to one of them
 * (BENCHMARKS.md, writeback): the job is still written durably first, but inserted already claimed by
 * that agent — one commit instead of an insert and a claim, and no poll re-reading the table. The
 * claim stays exclusive: a waiter is taken out of the registry synchronously by exactly one job, and a
 * job inserted claimed is never pending, so no other agent (on any node) can claim it. With no waiter
 * here the job is inserted pending and signalled as before; agents polling other nodes find it there.
 */

interface Waiter {
  readonly agentId: string;
  /** the agent's key ids as its poll last read them: a job sealed to none of them is not offered */
  readonly kids: ReadonlySet<string>;
  readonly signal: AbortSignal | undefined;
  settle(job: AgentJob | null): void;
}

const waiting = new Map<string, Set<Waiter>>();

/** A waiting poll set aside for one job: hand() it the job once inserted claimed, or cancel() when the insert failed. */
export interface Reservation {
  readonly agentId: string;
  hand(job: Omit<AgentJob, 'sealed'>): void;
  cancel(): void;
}

/**
 * Takes the longest-waiting poll of the tenant whose agent holds a key the job is sealed to, out of
 * the registry (synchronously: no other job can take it), or undefined when none waits here.
 */
export function reserveWaiter(tenantId: string, sealed: GeneralJWE): Reservation | undefined {
  const set = waiting.get(tenantId);
  if (!set) return undefined;
  for (const w of set) {
    if (w.signal?.aborted) continue;
    const flat: FlattenedJWE | undefined = recipientJwe(sealed, w.kids);
    if (!flat) continue;
    remove(tenantId, w);
    return { agentId: w.agentId, hand: (job) => w.settle({ ...job, sealed: flat }), cancel: () => w.settle(null) };
  }
  return undefined;
}

/** A poll registered as waiting: `handed` settles with the job a reservation hands it (null: cancelled). */
export interface Registered {
  readonly handed: Promise<AgentJob | null>;
  /** Leaves the registry; false when a job already reserved this poll (then `handed` will settle). */
  leave(): boolean;
}

export function registerWaiter(tenantId: string, agent: { agentId: string; kids: ReadonlySet<string>; signal: AbortSignal | undefined }): Registered {
  let settle!: (job: AgentJob | null) => void;
  const handed = new Promise<AgentJob | null>((resolve) => (settle = resolve));
  const waiter: Waiter = { ...agent, settle };
  let set = waiting.get(tenantId);
  if (!set) waiting.set(tenantId, (set = new Set()));
  set.add(waiter);
  return { handed, leave: () => remove(tenantId, waiter) };
}

function remove(tenantId: string, w: Waiter): boolean {
  const set = waiting.get(tenantId);
  if (!set?.delete(w)) return false;
  if (set.size === 0) waiting.delete(tenantId);
  return true;
}

/** Polls of a tenant waiting in this process (tests: a finished poll leaves none behind). */
export function waitingCount(tenantId: string): number {
  return waiting.get(tenantId)?.size ?? 0;
}
