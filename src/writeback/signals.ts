import { EventEmitter } from 'node:events';

/**
 * In-process wake-ups: a new job for a tenant, a finished job. They only shorten waits; every wait
 * also polls the database, so an agent long-polling another node still sees the job. On PostgreSQL
 * they also reach the other nodes (node-signals.ts).
 */
const emitter = new EventEmitter();
emitter.setMaxListeners(0);

export const POLL_MS = 200;

export type SignalName = `job:${string}` | `done:${string}`;

export function signalJob(tenantId: string): void {
  emitter.emit(`job:${tenantId}`);
}

/** What a finished job's signal carries: the outcome just committed, so a waiter in this process need not read it back. */
export interface DoneOutcome {
  state: 'succeeded' | 'refused';
  reason: string | null;
  agentId: string;
  durationMs: number;
}

/** Raise only AFTER the outcome is committed: a waiter takes `outcome` as the job's recorded result. */
export function signalDone(jobId: string, outcome?: DoneOutcome): void {
  emitter.emit(`done:${jobId}`, outcome);
}

/**
 * A signal another node raised (src/writeback/node-signals.ts): it carries no outcome, so a waiter
 * reads the job back.
 */
export function raiseFromAnotherNode(event: SignalName): void {
  emitter.emit(event);
}

/** A subscription taken before a look at the database, waited on after it. */
export interface Wake {
  /** Resolves at once when the signal came since listen(), else on the signal or after `ms`; never rejects. */
  wait(ms: number): Promise<void>;
  /** what the last signal carried (signalDone's committed outcome), if anything */
  readonly outcome: DoneOutcome | undefined;
  /** Stops listening (always call it, also after wait()). */
  cancel(): void;
}

/**
 * Listens from now on. Take it BEFORE querying the database and wait on it after: a signal raised
 * while the query runs (the job inserted just after the query read the table) then ends the wait at
 * once, instead of being missed and costing a whole poll.
 */
export function listen(event: SignalName): Wake {
  let fired = false;
  let wake: (() => void) | null = null;
  let outcome: DoneOutcome | undefined;
  const onSignal = (carried?: DoneOutcome): void => {
    fired = true;
    if (carried) outcome = carried;
    wake?.();
  };
  emitter.on(event, onSignal);
  return {
    get outcome() {
      return outcome;
    },
    wait(ms) {
      if (fired) return Promise.resolve();
      return new Promise((resolve) => {
        const finish = (): void => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
        const timer = setTimeout(finish, Math.max(0, ms));
        wake = finish;
      });
    },
    cancel() {
      emitter.off(event, onSignal);
      wake?.();
    },
  };
}

/**
 * Resolves on the signal or after `ms`, whichever is first; never rejects. It only hears signals
 * raised after the call: to wait for something a query just found missing, use listen().
 */
export function waitFor(event: SignalName, ms: number): Promise<void> {
  const wake = listen(event);
  return wake.wait(ms).finally(() => wake.cancel());
}

/** Listeners currently registered for `event` (tests: a finished wait leaves none behind). */
export function listenerCount(event: SignalName): number {
  return emitter.listenerCount(event);
}
