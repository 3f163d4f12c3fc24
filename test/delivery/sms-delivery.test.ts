import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker, type OutboxWorker } from '../../src/delivery/outbox-worker.js';
import { findOutboxMessage } from '../../src/store/outbox.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';
import { enqueue } from './helpers.js';

describe.each(testDialects())('SMS and voice through webhooks from the outbox on %s', (dialect) => {
  let hooks: WebhookSink;
  let ctx: TestContext;
  let worker: OutboxWorker;
  beforeAll(async () => {
    hooks = await startWebhookSink();
    ctx = await createTestContext(dialect, { env: { SMS_WEBHOOK_URL: `${hooks.url}/sms`, VOICE_WEBHOOK_URL: `${hooks.url}/voice` } });
    worker = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice });
  });
  afterAll(async () => {
    await ctx.close();
    await hooks.close();
  });

  const reminder = { displayName: 'Adele Vance', userPrincipalName: 'adele@contoso.test', daysLeft: 7, expiresAt: '2026-12-02T12:00:00.000Z' };

  it('posts {to, body} with the short text for SMS, and for voice at its own URL', async () => {
    hooks.status = 200;
    const sms = await enqueue(ctx.services, { tenantId: ctx.tenant.tenant.id, channel: 'sms', to: '+4915112345678', template: 'password-expiry-reminder', data: reminder });
    const voice = await enqueue(ctx.services, { tenantId: ctx.tenant.tenant.id, channel: 'voice', to: '+14255550100', template: 'test', locale: 'de', data: {} });
    expect(await worker.runOnce()).toMatchObject({ claimed: 2, sent: 2 });
    expect(hooks.received.find((h) => h.path === '/sms')!.json).toEqual({
      to: '+4915112345678',
      body: 'Contoso: your password for adele@contoso.test expires in 7 days. Change it now: http://localhost:8080/change-password',
    });
    expect(hooks.received.find((h) => h.path === '/voice')!.json).toEqual({ to: '+14255550100', body: 'Contoso: Testnachricht. Der Versand funktioniert.' });
    expect(await findOutboxMessage(ctx.services.db, sms)).toMatchObject({ status: 'sent', deliveredVia: 'webhook', channel: 'sms' });
    expect(await findOutboxMessage(ctx.services.db, voice)).toMatchObject({ status: 'sent', deliveredVia: 'webhook', channel: 'voice' });
  });

  it('sends to a phone number as Graph shows it in E.164, and fails a malformed one for good', async () => {
    hooks.status = 200;
    const ok = await enqueue(ctx.services, { tenantId: ctx.tenant.tenant.id, channel: 'sms', to: '+1 (425) 555-0100', template: 'test', data: {} });
    const bad = await enqueue(ctx.services, { tenantId: ctx.tenant.tenant.id, channel: 'voice', to: 'call my desk', template: 'test', data: {} });
    const before = hooks.received.length;
    expect(await worker.runOnce()).toMatchObject({ claimed: 2, sent: 1, failed: 1 });
    expect(hooks.received.slice(before).map((h) => (h.json as { to: string }).to)).toEqual(['+14255550100']);
    expect(await findOutboxMessage(ctx.services.db, ok)).toMatchObject({ status: 'sent', recipient: '+14255550100' });
    expect(await findOutboxMessage(ctx.services.db, bad)).toMatchObject({ status: 'failed', attempts: 1, lastError: 'the recipient is not a phone number in E.164 form' });
  });

  it('counts a non-2xx answer as a failed attempt and retries later', async () => {
    hooks.status = 503;
    const id = await enqueue(ctx.services, { tenantId: ctx.tenant.tenant.id, channel: 'sms', to: '+4915112345678', template: 'test', data: {}, secretData: { note: 'code 551234' } });
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
    const row = (await findOutboxMessage(ctx.services.db, id))!;
    expect(row).toMatchObject({ status: 'pending', attempts: 1, lastError: 'SMS webhook answered HTTP 503' });

    hooks.status = 204;
    ctx.clock.advance(30_000);
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
    expect(hooks.received.at(-1)!.json).toEqual({ to: '+4915112345678', body: 'Contoso: test message. Delivery works. code 551234' });
  });
});
