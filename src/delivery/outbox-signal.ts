import { EventEmitter } from 'node:events';

/**
 * In-process wake-up for the outbox worker: a message was queued. It only shortens the wait; the
 * worker still polls the database, which is how another node's messages (and any signal missed here)
 * get sent.
 *
 * The signal is raised inside the caller's transaction, before its commit: a worker that runs at once
 * may not see the row yet (PostgreSQL: another connection; SQLite serialises the claim behind the
 * commit). That is why the signal carries the message id: the worker keeps looking for it a little
 * while (see outbox-worker.ts) instead of trusting one empty claim.
 */
const emitter = new EventEmitter();
emitter.setMaxListeners(0);

const QUEUED = 'queued';

export function signalMessageQueued(messageId: string): void {
  emitter.emit(QUEUED, messageId);
}

/** Calls `listener` with the id of every message queued in this process from now on; returns the unsubscribe. */
export function onMessageQueued(listener: (messageId: string) => void): () => void {
  emitter.on(QUEUED, listener);
  return () => {
    emitter.off(QUEUED, listener);
  };
}
