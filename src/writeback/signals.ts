import { EventEmitter } from 'node:events';

/**
 * In-process wake-ups: a new job for a tenant, a finished job. They only shorten waits; every wait
 * also polls the database, so an agent long-polling another node still sees the job.
 */
const emitter = new EventEmitter();
emitter.setMaxListeners(0);

export const POLL_MS = 200;

export function signalJob(tenantId: string): void {
  emitter.emit(`job:${tenantId}`);
}

export function signalDone(jobId: string): void {
  emitter.emit(`done:${jobId}`);
}

/** Resolves on the signal or after `ms`, whichever is first; never rejects. */
export function waitFor(event: `job:${string}` | `done:${string}`, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      emitter.off(event, finish);
      resolve();
    };
    const timer = setTimeout(finish, Math.max(0, ms));
    emitter.on(event, finish);
  });
}
