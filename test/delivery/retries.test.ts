import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay, createOutboxWorker, type OutboxWorker } from '../../src/delivery/outbox-worker.js';
import { claimDueMessages, findOutboxMessage, markSent } from '../../src/store/outbox.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { enqueue } from './helpers.js';

const SECOND = 1000;

describe('backoffDelay', () => {
  it.each([
    [1, 30 * SECOND],
    [2, 60 * SECOND],
    [3, 120 * SECOND],
    [4, 240 * SECOND],
    [7, 1920 * SECOND],
    [8, 3600 * SECOND],
    [9, 3600 * SECOND],
    [1000, 3600 * SECOND],
  ])('after %i failed attempts waits %i ms (30 s doubling, capped at 1 h)', (attempts, ms) => {
    expect(backoffDelay(attempts)).toBe(ms);
  });
});

describe.each(testDialects())('outbox retries, failures and secrets on %s', (dialect) => {
  let sink: SmtpSink;
  let ctx: TestContext;
  let worker: OutboxWorker;
  beforeAll(async () => {
    sink = await startSmtpSink();
    ctx = await createTestContext(dialect, { env: { SMTP_URL: sink.url, MAIL_FROM: 'no-reply@contoso.test' } });
    worker = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice, maxAttempts: 4, owner: 'worker-a' });
  });
  afterAll(async () => {
    await ctx.close();
    await sink.close();
  });

  const testMessage = (note: string) => ({ tenantId: ctx.tenant.tenant.id, channel: 'email' as const, to: 'adele@contoso.test', template: 'test' as const, data: { note } });
  const at = (ms: number) => new Date(ctx.clock.now().getTime() + ms).toISOString();

  it('retries a rejected message with doubling delays, then gives up after maxAttempts', async () => {
    sink.mode = 'reject-temporary';
    const id = await enqueue(ctx.services, testMessage('BODY-MARKER-1'));
    const expectedDelays = [30, 60, 120];
    for (const [i, delay] of expectedDelays.entries()) {
      expect(await worker.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
      const row = (await findOutboxMessage(ctx.services.db, id))!;
      expect(row).toMatchObject({ status: 'pending', attempts: i + 1, nextAttemptAt: at(delay * SECOND), leaseOwner: null });
      expect(row.lastError).toMatch(/451/);
      expect(row.lastError).not.toContain('BODY-MARKER-1');
      // not due yet: nothing is claimed a second early
      ctx.clock.advance(delay * SECOND - 1000);
      expect((await worker.runOnce()).claimed).toBe(0);
      ctx.clock.advance(1000);
    }
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, failed: 1 });
    const failed = (await findOutboxMessage(ctx.services.db, id))!;
    expect(failed).toMatchObject({ status: 'failed', attempts: 4, sentAt: null });
    expect(failed.lastError).toMatch(/451/);
    ctx.clock.advance(24 * 3600 * SECOND);
    expect((await worker.runOnce()).claimed).toBe(0);
    expect(sink.messages.some((m) => m.text?.includes('BODY-MARKER-1'))).toBe(false);
  });

  it('retries while the server is down and delivers once it is back', async () => {
    sink.mode = 'accept';
    await sink.stop();
    const id = await enqueue(ctx.services, testMessage('BODY-MARKER-2'));
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
    const row = (await findOutboxMessage(ctx.services.db, id))!;
    expect(row).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: at(30 * SECOND) });
    expect(row.lastError).toMatch(/ECONNREFUSED/);

    await sink.restart();
    ctx.clock.advance(30 * SECOND);
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
    expect(await findOutboxMessage(ctx.services.db, id)).toMatchObject({ status: 'sent', attempts: 2, lastError: null });
    expect(sink.messages.filter((m) => m.text?.includes('BODY-MARKER-2'))).toHaveLength(1);
  });

  it('stores secretData sealed: not readable in the row, delivered in the message', async () => {
    sink.mode = 'accept';
    const id = await enqueue(ctx.services, { ...testMessage('public part'), secretData: { note: 'CODE-493817' } });
    const raw = await ctx.services.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(JSON.stringify(raw)).not.toContain('493817');
    expect(raw.secret_data).toMatch(/^v1\./);
    expect(JSON.parse(ctx.services.secretBox.open(raw.secret_data!))).toEqual({ note: 'CODE-493817' });

    await worker.runOnce();
    expect(sink.messages.at(-1)!.text).toContain('CODE-493817');
    const after = await ctx.services.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(JSON.stringify(after)).not.toContain('493817');
  });

  it('fails at once, without sending, when the stored message cannot be rendered', async () => {
    const id = await enqueue(ctx.services, testMessage('x'));
    await ctx.services.db.updateTable('outbox').set({ data: JSON.stringify({ note: 12345 }) }).where('id', '=', id).execute();
    const before = sink.messages.length;
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, failed: 1 });
    const row = (await findOutboxMessage(ctx.services.db, id))!;
    expect(row).toMatchObject({ status: 'failed', attempts: 1, lastError: 'cannot render message: template variables do not fit the template' });
    expect(sink.messages.length).toBe(before);
  });

  it('reclaims a message whose sender died holding the lease; the dead sender cannot finish it afterwards', async () => {
    sink.mode = 'accept';
    const id = await enqueue(ctx.services, testMessage('BODY-MARKER-3'));
    const now = ctx.clock.now();
    const claimed = await claimDueMessages(ctx.services.db, ctx.services.dialect, {
      owner: 'crashed-worker',
      now: now.toISOString(),
      leaseUntil: new Date(now.getTime() + 60 * SECOND).toISOString(),
      limit: 10,
    });
    expect(claimed.map((c) => c.id)).toEqual([id]);
    expect((await worker.runOnce()).claimed).toBe(0);

    ctx.clock.advance(61 * SECOND);
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
    expect(await markSent(ctx.services.db, id, 'crashed-worker', ctx.clock.now().toISOString(), 'smtp')).toBe(false);
    expect(await findOutboxMessage(ctx.services.db, id)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(sink.messages.filter((m) => m.text?.includes('BODY-MARKER-3'))).toHaveLength(1);
  });

  it('start() polls in the background and stop() ends it', async () => {
    const id = await enqueue(ctx.services, testMessage('BODY-MARKER-4'));
    const bg = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice, owner: 'bg' });
    bg.start(20);
    for (let i = 0; i < 200 && (await findOutboxMessage(ctx.services.db, id))!.status !== 'sent'; i++) await new Promise((r) => setTimeout(r, 10));
    await bg.stop();
    expect(await findOutboxMessage(ctx.services.db, id)).toMatchObject({ status: 'sent', leaseOwner: null });
  });
});
