import { hostname } from 'node:os';
import { renderStoredMessage, type MessageSender } from '../domain/messages.js';
import type { Clock } from '../lib/clock.js';
import type { SecretBox } from '../lib/crypto.js';
import type { Db, Dialect } from '../store/database.js';
import { findLogos } from '../store/branding.js';
import { claimDueMessages, findTenantSenders, markFailed, markRetry, markSent, type OutboxRecord } from '../store/outbox.js';
import type { Mailer } from './mailer.js';
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
  maxAttempts?: number;
  backoff?: { baseMs?: number; maxMs?: number };
  /**
   * How long a claim holds. It must outlast a whole batch (the transports' timeouts times batchSize):
   * a lease that runs out while its sender is still busy lets another worker send the same message.
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
  /** polls every intervalMs (at once again while batches come back full) until stop() */
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
        await options.mailer.send({ to: record.recipient, subject: rendered.subject, text: rendered.text, html: rendered.html, inlineImages: rendered.inlineImages });
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

  async function runOnce(): Promise<RunResult> {
    const now = deps.clock.now();
    const claimed = await claimDueMessages(deps.db, deps.dialect, {
      owner,
      now: now.toISOString(),
      leaseUntil: new Date(now.getTime() + leaseMs).toISOString(),
      limit: batchSize,
    });
    const result: RunResult = { claimed: claimed.length, sent: 0, retried: 0, failed: 0 };
    if (claimed.length === 0) return result;
    const senders = await findTenantSenders(deps.db, claimed.map((r) => r.tenantId));
    // Logos (up to 100 KB each) are read now, for email only, and never copied into outbox rows: the
    // rows stay small and a message shows the logo the tenant has when it is sent.
    const logos = await findLogos(deps.db, claimed.filter((r) => r.channel === 'email').map((r) => r.tenantId));
    // One at a time: a relay sees one connection per worker, and the lease covers the batch.
    for (const record of claimed) {
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
    }
    return result;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;

  function schedule(delayMs: number, intervalMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runOnce()
        .then((r) => schedule(r.claimed === batchSize ? 0 : intervalMs, intervalMs))
        .catch((err: unknown) => {
          options.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'outbox worker run failed');
          schedule(intervalMs, intervalMs);
        });
    }, delayMs);
    timer.unref();
  }

  return {
    owner,
    runOnce,
    start(intervalMs) {
      if (!stopped) return;
      stopped = false;
      schedule(0, intervalMs);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
