import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpMailer, type Mailer } from '../../src/delivery/mailer.js';
import { createOutboxWorker, type OutboxWorker } from '../../src/delivery/outbox-worker.js';
import { enqueueMessage } from '../../src/domain/messages.js';
import { findOutboxMessage } from '../../src/store/outbox.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { enqueue } from './helpers.js';

const SECOND = 1000;

/** Polls `check` every 10 ms until it holds or `ms` have passed; returns whether it held. */
async function eventually(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await sleep(10);
  }
}

/** The real mailer, counting the sends in flight at once (the worker's concurrency, seen from the edge). */
function counting(mailer: Mailer): Mailer & { peak: number } {
  let inFlight = 0;
  const counted = {
    transport: mailer.transport,
    maxConcurrent: mailer.maxConcurrent,
    peak: 0,
    async send(m: Parameters<Mailer['send']>[0]) {
      inFlight += 1;
      counted.peak = Math.max(counted.peak, inFlight);
      try {
        await mailer.send(m);
      } finally {
        inFlight -= 1;
      }
    },
    close: () => mailer.close(),
  };
  return counted;
}

describe('the SMTP mailer pool size', () => {
  it('is 5 connections by default, the option when given, and the URL parameter over both (nodemailer lets the URL win)', () => {
    const sizes = [
      createSmtpMailer({ url: 'smtp://127.0.0.1:2525', from: 'a@contoso.test' }),
      createSmtpMailer({ url: 'smtp://127.0.0.1:2525', from: 'a@contoso.test', maxConnections: 2 }),
      createSmtpMailer({ url: 'smtp://u:p@127.0.0.1:2525?maxConnections=3', from: 'a@contoso.test', maxConnections: 8 }),
    ];
    expect(sizes.map((m) => m.maxConcurrent)).toEqual([5, 2, 3]);
    for (const m of sizes) m.close();
  });
});

describe.each(testDialects())('pooled SMTP delivery and wake-on-enqueue on %s', (dialect) => {
  let sink: SmtpSink;
  let ctx: TestContext;
  const mailers: Mailer[] = [];
  const workers: OutboxWorker[] = [];
  beforeAll(async () => {
    sink = await startSmtpSink();
    ctx = await createTestContext(dialect, { env: { SMTP_URL: sink.url, MAIL_FROM: 'no-reply@contoso.test' } });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    for (const m of mailers.splice(0)) m.close();
    sink.rejectRecipients.clear();
  });
  afterAll(async () => {
    await ctx.close();
    await sink.close();
  });

  const message = (to: string, note: string) => ({ tenantId: ctx.tenant.tenant.id, channel: 'email' as const, to, template: 'test' as const, data: { note } });
  /** a fresh pooled mailer on the sink, so its connections are counted from zero */
  const pooledMailer = (): Mailer => {
    const m = createSmtpMailer({ url: sink.url, from: 'no-reply@contoso.test', maxConnections: 3 });
    mailers.push(m);
    return m;
  };
  const workerWith = (mailer: Mailer, extra: Partial<Parameters<typeof createOutboxWorker>[1]> = {}): OutboxWorker => {
    const w = createOutboxWorker(ctx.services, { mailer, sms: ctx.services.sms, voice: ctx.services.voice, ...extra });
    workers.push(w);
    return w;
  };
  const received = (note: string) => sink.messages.filter((m) => m.text?.includes(note));

  it('sends a batch a few at a time over a few pooled connections: every message once, fewer connections than messages', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await enqueue(ctx.services, message(`pool${i}@contoso.test`, `POOL-${i}-END`)));
    const mailer = counting(pooledMailer());
    const connectionsBefore = sink.connections;

    expect(await workerWith(mailer, { batchSize: 12 }).runOnce()).toEqual({ claimed: 12, sent: 12, retried: 0, failed: 0 });

    for (let i = 0; i < 12; i++) {
      const got = received(`POOL-${i}-END`);
      expect(got).toHaveLength(1);
      expect(got[0]!.envelopeTo).toEqual([`pool${i}@contoso.test`]);
    }
    for (const id of ids) expect(await findOutboxMessage(ctx.services.db, id)).toMatchObject({ status: 'sent', attempts: 1, deliveredVia: 'smtp', leaseOwner: null });
    // concurrent, but never more than the pool's connections
    expect(mailer.peak).toBeGreaterThan(1);
    expect(mailer.peak).toBeLessThanOrEqual(3);
    const opened = sink.connections - connectionsBefore;
    expect(opened).toBeGreaterThan(0);
    expect(opened).toBeLessThanOrEqual(3);
  });

  it('a started worker claims the next batch while the last one finishes, never more in flight than the pool', async () => {
    const mailer = counting(pooledMailer());
    const worker = workerWith(mailer, { batchSize: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 22; i++) ids.push(await enqueue(ctx.services, message(`pipe${i}@contoso.test`, `PIPE-${i}-END`)));
    worker.start(10 * 60 * SECOND);
    expect(await eventually(() => sink.messages.filter((m) => /PIPE-\d+-END/.test(m.text ?? '')).length === 22, 10 * SECOND)).toBe(true);
    await worker.stop();
    for (let i = 0; i < 22; i++) expect(received(`PIPE-${i}-END`)).toHaveLength(1);
    for (const id of ids) expect(await findOutboxMessage(ctx.services.db, id)).toMatchObject({ status: 'sent', attempts: 1, leaseOwner: null });
    expect(mailer.peak).toBeGreaterThan(1);
    expect(mailer.peak).toBeLessThanOrEqual(3);
  });

  it('close() ends the pooled connections, and a send after it fails (to be retried) instead of hanging', async () => {
    // the mailers of earlier tests were closed; their connections end a moment later
    expect(await eventually(() => sink.openConnections === 0, 5 * SECOND)).toBe(true);
    const mailer = pooledMailer();
    await Promise.all([1, 2, 3].map((i) => mailer.send({ to: `close${i}@contoso.test`, subject: 's', text: `CLOSE-${i}`, html: '<p>x</p>' })));
    // idle, but still open for the next message
    expect(sink.openConnections).toBeGreaterThan(0);
    mailer.close();
    expect(await eventually(() => sink.openConnections === 0, 5 * SECOND)).toBe(true);
    await expect(mailer.send({ to: 'late@contoso.test', subject: 's', text: 'LATE', html: '<p>x</p>' })).rejects.toThrow(/closed/);
  });

  it('a message refused in a concurrent batch is retried, then failed, on its own; the others are sent once', async () => {
    sink.rejectRecipients.set('later@contoso.test', 451);
    sink.rejectRecipients.set('never@contoso.test', 550);
    const ok = [] as string[];
    for (let i = 0; i < 4; i++) ok.push(await enqueue(ctx.services, message(`fine${i}@contoso.test`, `FINE-${i}-END`)));
    const later = await enqueue(ctx.services, message('later@contoso.test', 'LATER-END'));
    const never = await enqueue(ctx.services, message('never@contoso.test', 'NEVER-END'));
    const worker = workerWith(pooledMailer(), { batchSize: 10, maxAttempts: 2 });

    expect(await worker.runOnce()).toEqual({ claimed: 6, sent: 4, retried: 2, failed: 0 });
    for (const id of ok) expect(await findOutboxMessage(ctx.services.db, id)).toMatchObject({ status: 'sent', attempts: 1 });
    for (const id of [later, never]) {
      const row = (await findOutboxMessage(ctx.services.db, id))!;
      expect(row).toMatchObject({ status: 'pending', attempts: 1, leaseOwner: null, nextAttemptAt: new Date(ctx.clock.now().getTime() + 30 * SECOND).toISOString() });
    }
    expect((await findOutboxMessage(ctx.services.db, later))!.lastError).toMatch(/451/);
    expect((await findOutboxMessage(ctx.services.db, never))!.lastError).toMatch(/550/);

    // the 451 clears, the 550 does not: one is sent, the other fails for good (maxAttempts 2)
    sink.rejectRecipients.delete('later@contoso.test');
    ctx.clock.advance(30 * SECOND);
    expect(await worker.runOnce()).toEqual({ claimed: 2, sent: 1, retried: 0, failed: 1 });
    expect(await findOutboxMessage(ctx.services.db, later)).toMatchObject({ status: 'sent', attempts: 2, lastError: null });
    expect(await findOutboxMessage(ctx.services.db, never)).toMatchObject({ status: 'failed', attempts: 2 });
    for (let i = 0; i < 4; i++) expect(received(`FINE-${i}-END`)).toHaveLength(1);
    expect(received('LATER-END')).toHaveLength(1);
    expect(received('NEVER-END')).toHaveLength(0);
  });

  it('a started worker sends a message as soon as it is queued, long before its poll', async () => {
    const worker = workerWith(pooledMailer());
    worker.start(10 * 60 * SECOND);
    await sleep(100); // the start-up run has found nothing; from here only a signal can bring a run
    const started = Date.now();
    const id = await enqueue(ctx.services, message('wake@contoso.test', 'WAKE-END'));
    expect(await eventually(() => received('WAKE-END').length === 1, 5 * SECOND)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5 * SECOND);
    expect(await eventually(async () => (await findOutboxMessage(ctx.services.db, id))?.status === 'sent', 2 * SECOND)).toBe(true);
  });

  it('a message whose transaction commits a while after it was queued is still sent without waiting for the poll', async () => {
    const worker = workerWith(pooledMailer());
    worker.start(10 * 60 * SECOND);
    await sleep(100);
    let committedAt = 0;
    // the signal goes out at the insert; the row becomes visible (PostgreSQL: to the worker's
    // connection) only at the commit, 400 ms later, so the first run after the signal finds nothing
    const id = await ctx.services.db.transaction().execute(async (trx) => {
      const queued = await enqueueMessage(trx, ctx.services, message('late-commit@contoso.test', 'LATE-COMMIT-END'));
      await sleep(400);
      return queued;
    });
    committedAt = Date.now();
    expect(await eventually(() => received('LATE-COMMIT-END').length === 1, 5 * SECOND)).toBe(true);
    expect(Date.now() - committedAt).toBeLessThan(2 * SECOND);
    expect(await eventually(async () => (await findOutboxMessage(ctx.services.db, id))?.status === 'sent', 2 * SECOND)).toBe(true);
  });

  it('a message queued in a transaction that rolls back is not looked for forever: the worker goes back to its poll', async () => {
    const mailer = counting(pooledMailer());
    const worker = workerWith(mailer);
    worker.start(10 * 60 * SECOND);
    await sleep(100);
    await expect(
      ctx.services.db.transaction().execute(async (trx) => {
        await enqueueMessage(trx, ctx.services, message('rolled-back@contoso.test', 'ROLLED-BACK-END'));
        throw new Error('the event failed');
      }),
    ).rejects.toThrow('the event failed');
    // the worker looks a couple of seconds, then waits for its poll; a message queued by another
    // process (no signal here) is therefore not sent within that time
    await sleep(2_500);
    await ctx.services.db.insertInto('outbox').values({
      id: '00000000-0000-4000-8000-00000000abcd',
      tenant_id: ctx.tenant.tenant.id,
      channel: 'email',
      recipient: 'other-node@contoso.test',
      template: 'test',
      locale: 'en',
      data: JSON.stringify({ note: 'OTHER-NODE-END' }),
      secret_data: null,
      status: 'pending',
      attempts: 0,
      next_attempt_at: ctx.clock.now().toISOString(),
      last_error: null,
      lease_owner: null,
      lease_until: null,
      delivered_via: null,
      created_at: ctx.clock.now().toISOString(),
      sent_at: null,
    }).execute();
    await sleep(600);
    expect(received('OTHER-NODE-END')).toHaveLength(0);
    expect(received('ROLLED-BACK-END')).toHaveLength(0);
    // and the poll still delivers it
    const w2 = workerWith(pooledMailer());
    expect((await w2.runOnce()).sent).toBe(1);
    expect(received('OTHER-NODE-END')).toHaveLength(1);
  });
});
