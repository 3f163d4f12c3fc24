import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker, type OutboxWorker } from '../../src/delivery/outbox-worker.js';
import { createServices, type Services } from '../../src/services.js';
import { countMessagesByStatus } from '../../src/store/outbox.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { enqueue } from './helpers.js';

const MESSAGES = 50;

describe.each(testDialects())('two outbox workers on one %s database', (dialect) => {
  let sink: SmtpSink;
  let ctx: TestContext;
  let second: Services;
  beforeAll(async () => {
    sink = await startSmtpSink();
    ctx = await createTestContext(dialect, { env: { SMTP_URL: sink.url, MAIL_FROM: 'no-reply@contoso.test' } });
    // a second node: its own connection pool and SMTP transport, the same database and clock
    second = createServices(ctx.services.config, { clock: ctx.clock });
  });
  afterAll(async () => {
    await second.close();
    await ctx.close();
    await sink.close();
  });

  it(`deliver each of ${MESSAGES} messages exactly once`, async () => {
    for (let i = 0; i < MESSAGES; i++) {
      await enqueue(ctx.services, { tenantId: ctx.tenant.tenant.id, channel: 'email', to: `user${i}@contoso.test`, template: 'test', data: { note: `message #${i}#` } });
    }
    const a = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice, owner: 'node-a', batchSize: 5 });
    const b = createOutboxWorker(second, { mailer: second.mailer, sms: second.sms, voice: second.voice, owner: 'node-b', batchSize: 5 });
    const drain = async (w: OutboxWorker): Promise<number> => {
      let total = 0;
      for (;;) {
        const r = await w.runOnce();
        if (r.claimed === 0) return total;
        total += r.claimed;
      }
    };
    const [byA, byB] = await Promise.all([drain(a), drain(b)]);

    // both really worked concurrently, and no message was claimed twice
    expect(byA).toBeGreaterThan(0);
    expect(byB).toBeGreaterThan(0);
    expect(byA + byB).toBe(MESSAGES);
    expect(await countMessagesByStatus(ctx.services.db)).toEqual({ pending: 0, sending: 0, sent: MESSAGES, failed: 0 });

    expect(sink.messages).toHaveLength(MESSAGES);
    const notes = sink.messages.map((m) => /message #(\d+)#/.exec(m.text ?? '')?.[1]);
    expect(new Set(notes).size).toBe(MESSAGES);
    for (const m of sink.messages) {
      const n = /message #(\d+)#/.exec(m.text ?? '')![1];
      expect(m.envelopeTo).toEqual([`user${n}@contoso.test`]);
    }
  });
});
