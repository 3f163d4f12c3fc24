import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker } from '../../src/delivery/outbox-worker.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { enqueue } from '../delivery/helpers.js';

describe.each(testDialects())('/dev/outbox on %s', (dialect) => {
  describe('in development without SMTP', () => {
    let ctx: TestContext;
    beforeAll(async () => {
      ctx = await createTestContext(dialect, { env: { NODE_ENV: 'development' } });
    });
    afterAll(async () => ctx.close());

    it('shows the rendered messages, sent to the outbox only, as escaped HTML and as JSON', async () => {
      const tenantId = ctx.tenant.tenant.id;
      await enqueue(ctx.services, {
        tenantId,
        channel: 'email',
        to: 'adele@contoso.test',
        template: 'password-changed',
        data: { displayName: '<script>alert("x")</script>', userPrincipalName: 'adele@contoso.test', changedAt: ctx.clock.now().toISOString() },
      });
      ctx.clock.advance(1000);
      await enqueue(ctx.services, { tenantId, channel: 'sms', to: '+4915112345678', template: 'test', data: {}, secretData: { note: 'code 771234' } });
      const worker = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice });
      expect(await worker.runOnce()).toMatchObject({ claimed: 2, sent: 2 });

      const page = await ctx.app.inject({ method: 'GET', url: '/dev/outbox' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.body).toContain('Your password was changed');
      // the text part, and the HTML part shown as source, both escaped into the page
      expect(page.body).toContain('Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;,');
      expect(page.body).toContain('&amp;lt;script&amp;gt;');
      expect(page.body).not.toContain('<script>');
      // sealed variables are shown here (development only)
      expect(page.body).toContain('code 771234');

      const json = await ctx.app.inject({ method: 'GET', url: '/dev/outbox?format=json' });
      expect(json.statusCode).toBe(200);
      const { messages } = json.json<{ messages: Record<string, unknown>[] }>();
      expect(messages).toHaveLength(2);
      expect(messages[0]).toMatchObject({ channel: 'sms', to: '+4915112345678', status: 'sent', deliveredVia: 'outbox', subject: null, html: null, text: 'Contoso: test message. Delivery works. code 771234' });
      expect(messages[1]).toMatchObject({ channel: 'email', to: 'adele@contoso.test', status: 'sent', deliveredVia: 'outbox', subject: 'Your password was changed', template: 'password-changed', locale: 'en' });
      expect(messages[1]!.html).toContain('&lt;script&gt;');
    });

    it('validates its query', async () => {
      expect((await ctx.app.inject({ method: 'GET', url: '/dev/outbox?format=xml' })).statusCode).toBe(400);
      expect((await ctx.app.inject({ method: 'GET', url: '/dev/outbox?other=1' })).statusCode).toBe(400);
    });
  });

  it.each([
    ['NODE_ENV=production', { NODE_ENV: 'production' }],
    ['a public PUBLIC_URL without NODE_ENV=production', { PUBLIC_URL: 'https://id.contoso.example' }],
    ['SMTP_URL set', { NODE_ENV: 'development', SMTP_URL: 'smtp://127.0.0.1:1', MAIL_FROM: 'no-reply@contoso.test' }],
    ['production with SMTP_URL set', { NODE_ENV: 'production', SMTP_URL: 'smtp://127.0.0.1:1', MAIL_FROM: 'no-reply@contoso.test' }],
  ])('does not exist with %s', async (_label, env) => {
    const ctx = await createTestContext(dialect, { env });
    try {
      await enqueue(ctx.services, { tenantId: ctx.tenant.tenant.id, channel: 'email', to: 'a@contoso.test', template: 'test', data: { note: 'must not show' } });
      for (const url of ['/dev/outbox', '/dev/outbox?format=json']) {
        const res = await ctx.app.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(404);
        expect(res.body).not.toContain('must not show');
      }
    } finally {
      await ctx.close();
    }
  });
});
