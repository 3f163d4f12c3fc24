import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { renderStoredMessage, type MessageSender } from '../domain/messages.js';
import type { Clock } from '../lib/clock.js';
import type { SecretBox } from '../lib/crypto.js';
import type { Db, Dialect } from '../store/database.js';
import { findLogos } from '../store/branding.js';
import { claimDueMessages, findTenantSenders, listLeaseOwners, markFailed, markRetry, markSent, releaseLeasesOf, type OutboxRecord } from '../store/outbox.js';
import type { Mailer } from './mailer.js';
import { onMessageQueued } from './outbox-signal.js';
import { createSiemSender, type SiemSender } from './siem.js';
import type { SmsSender, VoiceCaller } from './sms.js';

export interface OutboxWorkerDeps {
  readonly db: Db;
  readonly dialect: Dialect;
  readonly clock: Clock;
  readonly secretBox: SecretBox;
  readonly config: { readonly publicUrl: string };
}

export interface OutboxWorkerOptions {
  mailer: Mailer;
  sms: SmsSender;
  voice: VoiceCaller;
  /** SIEM webhooks (channel 'siem'); by default the real sender over deps.db */
  siem?: SiemSender;
  /** names this worker in lease_owner; unique per process by default */
  owner?: string;
  batchSize?: number;
  /**
   * Messages of a batch in flight at once; by default the mailer's maxConcurrent (its pooled
   * connections), so no message waits inside the mailer while its lease runs.
   */
  concurrency?: number;
  maxAttempts?: number;
  backoff?: { baseMs?: number; maxMs?: number };
  /**
   * How long a claim holds. It must outlast a whole batch (the transports' timeouts times
   * batchSize ÷ concurrency, rounded up): a lease that runs out while its sender is still busy lets
   * another worker send the same message.
   */
  leaseMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

export interface RunResult {
  claimed: number;
  sent: number;
  retried: number;
  failed: number;
}

export interface OutboxWorker {
  readonly owner: string;
  runOnce(): Promise<RunResult>;
  /**
   * Polls every intervalMs (at once again while batches come back full) until stop(); a message
   * queued in this process (outbox-signal.ts) starts a run at once.
   */
  start(intervalMs: number): void;
  /** stops polling and waits for the batch in hand */
  stop(): Promise<void>;
}

export const DEFAULT_BACKOFF = { baseMs: 30_000, maxMs: 3_600_000 } as const;

/** Delay before the next try after `attempts` failed tries: base, 2·base, 4·base, … capped. */
export function backoffDelay(attempts: number, backoff: { baseMs: number; maxMs: number } = DEFAULT_BACKOFF): number {
  const exponent = Math.max(0, attempts - 1);
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(exponent, 30));
}

/** A failure retrying cannot fix (unknown template, variables that do not fit, a seal that does not open). */
class PermanentFailure extends Error {}

const MAX_ERROR_LENGTH = 300;
/**
 * How long a run keeps looking for a message signalled in this process that it has not claimed yet:
 * the queueing transaction commits after the signal. Longer than any sane transaction; past it the
 * message is left to the poll (its transaction rolled back, or another node took it).
 */
const SIGNAL_WAIT_MS = 2_000;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const PHONE = /^\+[1-9][0-9]{6,14}$/;

/**
 * What goes into last_error: the transport's reason, on one line, truncated. Transports do not put
 * bodies in their errors (webhook: status only; SMTP: the server's reply), and render failures are
 * reduced to their kind, since a template error could quote a variable.
 */
function describeError(err: unknown): string {
  let text: string;
  if (err instanceof PermanentFailure) text = err.message;
  else if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    text = `${typeof code === 'string' ? `${code}: ` : ''}${err.message}`;
  } else text = 'unknown error';
  // eslint-disable-next-line no-control-regex -- strip control characters an SMTP reply may carry
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, MAX_ERROR_LENGTH);
}

export function createOutboxWorker(deps: OutboxWorkerDeps, options: OutboxWorkerOptions): OutboxWorker {
  const owner = options.owner ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
  const batchSize = options.batchSize ?? 10;
  const maxAttempts = options.maxAttempts ?? 8;
  const backoff = { baseMs: options.backoff?.baseMs ?? DEFAULT_BACKOFF.baseMs, maxMs: options.backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs };
  const leaseMs = options.leaseMs ?? 10 * 60_000;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? options.mailer.maxConcurrent));
  const slots = fifoSemaphore(concurrency);

  const siem = options.siem ?? createSiemSender(deps);

  async function deliver(record: OutboxRecord, sender: MessageSender | undefined): Promise<string> {
    if (record.channel === 'siem') {
      if ((await siem.send(record)) === 'gone') throw new PermanentFailure('the SIEM webhook was removed');
      return 'siem';
    }
    if (record.channel === 'email' ? !EMAIL.test(record.recipient) : !PHONE.test(record.recipient)) {
      throw new PermanentFailure(`the recipient is not ${record.channel === 'email' ? 'an email address' : 'a phone number in E.164 form'}`);
    }
    let rendered;
    try {
      rendered = renderStoredMessage(deps.secretBox, deps.config.publicUrl, record, sender);
    } catch (err) {
      const kind = err instanceof Error && err.name === 'ZodError' ? 'template variables do not fit the template' : err instanceof Error ? err.message : 'render failed';
      throw new PermanentFailure(`cannot render message: ${kind}`);
    }
    switch (record.channel) {
      case 'email':
        await options.mailer.send({ id: record.id, to: record.recipient, subject: rendered.subject, text: rendered.text, html: rendered.html, inlineImages: rendered.inlineImages });
        return options.mailer.transport;
      case 'sms':
        await options.sms.send(record.recipient, rendered.short);
        return options.sms.transport;
      case 'voice':
        await options.voice.call(record.recipient, rendered.short);
        return options.voice.transport;
      default:
        throw new PermanentFailure(`unknown channel ${String(record.channel)}`);
    }
  }

  /** One claim and its deliveries; also says which ids it claimed (for the signal bookkeeping). */
  async function runBatch(onAllStarted?: (full: boolean) => void): Promise<{ result: RunResult; ids: string[] }> {
    const now = deps.clock.now();
    const claimed = await claimDueMessages(deps.db, deps.dialect, {
      owner,
      now: now.toISOString(),
      leaseUntil: new Date(now.getTime() + leaseMs).toISOString(),
      limit: batchSize,
    });
    const result: RunResult = { claimed: claimed.length, sent: 0, retried: 0, failed: 0 };
    const ids = claimed.map((r) => r.id);
    if (claimed.length === 0) return { result, ids };
    const senders = await findTenantSenders(deps.db, claimed.map((r) => r.tenantId));
    // Logos (up to 100 KB each) are read now, for email only, and never copied into outbox rows: the
    // rows stay small and a message shows the logo the tenant has when it is sent.
    const logos = await findLogos(deps.db, claimed.filter((r) => r.channel === 'email').map((r) => r.tenantId));
    // A few at a time (the mailer's pooled connections): the relay sees at most that many connections
    // from this worker, and the lease covers ⌈(batch + concurrency) ÷ concurrency⌉ messages' timeouts.
    // Each message is finished (sent, retry, failed) on its own; after a database error no further
    // message of the batch is started, the others finish, and the error ends the run (the rest wait
    // for their lease).
    const settle = async (record: OutboxRecord): Promise<void> => {
      try {
        const sender = senders.get(record.tenantId);
        const via = await deliver(record, sender && { ...sender, logo: logos.get(record.tenantId) ?? null });
        await markSent(deps.db, record.id, owner, deps.clock.now().toISOString(), via);
        result.sent++;
      } catch (err) {
        const error = describeError(err);
        if (err instanceof PermanentFailure || record.attempts >= maxAttempts) {
          await markFailed(deps.db, record.id, owner, error);
          result.failed++;
          options.log?.warn({ messageId: record.id, channel: record.channel, attempts: record.attempts, error }, 'message delivery failed for good');
        } else {
          const next = new Date(deps.clock.now().getTime() + backoffDelay(record.attempts, backoff));
          await markRetry(deps.db, record.id, owner, next.toISOString(), error);
          result.retried++;
          options.log?.warn({ messageId: record.id, channel: record.channel, attempts: record.attempts, error }, 'message delivery failed; will retry');
        }
      }
    };
    // Slots are shared by the worker's runs and taken in claim order: while the last messages of a
    // full batch are still out, the next batch is claimed and waits for their slots, so the pool
    // never idles between batches and never has more than `concurrency` messages in flight.
    let failure: { error: unknown } | undefined;
    let started = 0;
    await Promise.all(
      claimed.map(async (record) => {
        await slots.acquire();
        try {
          if (++started === claimed.length) onAllStarted?.(claimed.length === batchSize);
          if (failure === undefined) await settle(record);
        } catch (error) {
          failure ??= { error };
        } finally {
          slots.release();
        }
      }),
    );
    if (failure) throw failure.error;
    return { result, ids };
  }

  // Scheduling. One claim at a time; the next one is due: as soon as every message of a full batch
  // has its slot (the pipeline above), or at once when a message was queued during the claim; after a
  // short, growing delay while a message signalled in this process has not been claimed yet (its
  // transaction may not have committed); else after intervalMs.
  let timer: NodeJS.Timeout | undefined;
  const running = new Set<Promise<void>>();
  /** a run that has not yet started all its messages: no other claim meanwhile */
  let claiming = false;
  let stopped = true;
  let interval = 0;
  let unsubscribe: (() => void) | undefined;
  /** ids signalled here and not yet claimed by this worker → when the signal came (ms, monotonic) */
  const awaited = new Map<string, number>();
  let emptyRetries = 0;
  let signalledDuringClaim = false;

  function schedule(delayMs: number): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      run();
    }, delayMs);
    timer.unref();
  }

  function run(): void {
    if (stopped || claiming) return;
    claiming = true;
    signalledDuringClaim = false;
    let handedOn = false;
    const settled: Promise<void> = runBatch((full) => {
      claiming = false;
      if (full && !stopped) {
        handedOn = true;
        schedule(0);
      }
    })
      .then(
        ({ result, ids }) => {
          if (!handedOn) claiming = false;
          afterRun(result, ids, handedOn);
        },
        (err: unknown) => {
          if (!handedOn) claiming = false;
          options.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'outbox worker run failed');
          if (!handedOn) schedule(interval);
        },
      )
      .finally(() => running.delete(settled));
    running.add(settled);
  }

  function afterRun(r: RunResult, claimedIds: readonly string[], handedOn: boolean): void {
    for (const id of claimedIds) awaited.delete(id);
    const now = performance.now();
    for (const [id, since] of awaited) if (now - since > SIGNAL_WAIT_MS) awaited.delete(id);
    // the next run, already under way, decides what comes after it
    if (handedOn) return;
    if (r.claimed === batchSize || (signalledDuringClaim && awaited.size > 0)) {
      emptyRetries = 0;
      schedule(0);
    } else if (awaited.size > 0) {
      // Not visible yet: look again soon, backing off (25, 50, 100, 200, 250 … ms) until SIGNAL_WAIT_MS.
      // A run costs one claim query; the poll (other nodes' messages) goes on as before afterwards.
      schedule(Math.min(250, 25 * 2 ** emptyRetries++));
    } else {
      emptyRetries = 0;
      schedule(interval);
    }
  }

  function onSignal(id: string): void {
    if (stopped) return;
    awaited.set(id, performance.now());
    emptyRetries = 0;
    if (claiming) signalledDuringClaim = true;
    else schedule(0);
  }

  /**
   * A worker killed while sending (kill -9, power loss) leaves its messages leased for leaseMs (10 min).
   * A worker of this host whose process is gone is known dead: its leases are given back at start. Only
   * owners named `host:pid:…` by the default naming are judged, and only by a pid that no longer
   * exists here (a reused pid keeps the lease: it just waits it out).
   */
  async function reclaimFromDeadLocalWorkers(): Promise<void> {
    try {
      const host = hostname();
      for (const dead of await listLeaseOwners(deps.db, `${host}:`)) {
        const pid = Number(dead.split(':')[1]);
        if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processExists(pid)) continue;
        const released = await releaseLeasesOf(deps.db, dead, deps.clock.now().toISOString());
        if (released > 0) options.log?.warn({ owner: dead, messages: released }, 'messages a stopped worker of this host was sending are due again');
      }
    } catch (err) {
      options.log?.warn({ error: (err as Error).message }, 'could not look for messages left by a stopped worker; they are sent when their lease ends');
    }
  }

  return {
    owner,
    runOnce: async () => (await runBatch()).result,
    start(intervalMs) {
      if (!stopped) return;
      stopped = false;
      interval = intervalMs;
      unsubscribe = onMessageQueued(onSignal);
      // messages a dead worker of this host was sending come back first (else they wait out its lease)
      void reclaimFromDeadLocalWorkers().finally(() => {
        if (!stopped) schedule(0);
      });
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      unsubscribe = undefined;
      if (timer) clearTimeout(timer);
      timer = undefined;
      awaited.clear();
      await Promise.all(running);
    },
  };
}

/** Whether a process with this pid exists on this host (EPERM: it does, and is not ours to signal). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** At most `n` holders; waiters are served in the order they asked. */
function fifoSemaphore(n: number): { acquire(): Promise<void>; release(): void } {
  let free = n;
  const waiting: (() => void)[] = [];
  return {
    acquire: () => {
      if (free > 0) {
        free -= 1;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    release: () => {
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    },
  };
}
