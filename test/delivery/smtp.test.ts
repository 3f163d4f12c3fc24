import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker } from '../../src/delivery/outbox-worker.js';
import { enqueueMessage } from '../../src/domain/messages.js';
import { findOutboxMessage } from '../../src/store/outbox.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { enqueue } from './helpers.js';

const MAIL_FROM = 'Contoso Accounts <no-reply@contoso.test>';

describe.each(testDialects())('email delivery through SMTP on %s', (dialect) => {
  let sink: SmtpSink;
  let ctx: TestContext;
  beforeAll(async () => {
    sink = await startSmtpSink({ user: 'postern', pass: 'relay pass' });
    ctx = await createTestContext(dialect, { env: { SMTP_URL: sink.url, MAIL_FROM } });
  });
  afterAll(async () => {
    await ctx.close();
    await sink.close();
  });

  const worker = () => createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice });

  it('delivers a queued message with subject, from, to, text and HTML parts', async () => {
    expect(ctx.services.mailer.transport).toBe('smtp');
    const before = sink.messages.length;
    const id = await enqueue(ctx.services, {
      tenantId: ctx.tenant.tenant.id,
      channel: 'email',
      to: 'adele@contoso.test',
      template: 'password-changed',
      data: { displayName: 'Adele Vance', userPrincipalName: 'adele@contoso.test', changedAt: ctx.clock.now().toISOString() },
    });
    expect(await worker().runOnce()).toEqual({ claimed: 1, sent: 1, retried: 0, failed: 0 });

    expect(sink.messages.length).toBe(before + 1);
    const mail = sink.messages.at(-1)!;
    expect(mail.authUser).toBe('postern');
    expect(mail.envelopeFrom).toBe('no-reply@contoso.test');
    expect(mail.envelopeTo).toEqual(['adele@contoso.test']);
    expect(mail.from).toBe('Contoso Accounts <no-reply@contoso.test>');
    expect(mail.to).toBe('adele@contoso.test');
    expect(mail.subject).toBe('Your password was changed');
    expect(mail.headers.get('content-type')).toMatch(/^multipart\/alternative/);
    expect(mail.text).toContain('The password of your account adele@contoso.test at Contoso was changed on 25 November 2026 at 12:00 UTC.');
    expect(mail.text).toContain('http://localhost:8080/');
    expect(mail.html).toContain('<html lang="en">');
    expect(mail.html).toContain('<a href="http://localhost:8080/"');

    const row = await findOutboxMessage(ctx.services.db, id);
    expect(row).toMatchObject({ status: 'sent', attempts: 1, deliveredVia: 'smtp', sentAt: ctx.clock.now().toISOString(), leaseOwner: null, lastError: null });
  });

  it('sends German with encoded headers, and the tenant branding from its settings', async () => {
    await ctx.services.db
      .updateTable('tenants')
      .set({ settings: JSON.stringify({ lockoutThreshold: 10, lockoutDurationSeconds: 60, branding: { displayName: 'Contoso Österreich', accentColor: '#aa0000' } }) })
      .where('id', '=', ctx.tenant.tenant.id)
      .execute();
    await enqueue(ctx.services, {
      tenantId: ctx.tenant.tenant.id,
      channel: 'email',
      to: 'jürgen@contoso.test'.normalize(),
      template: 'password-expiry-reminder',
      locale: 'de-AT',
      data: { displayName: 'Jürgen Groß', userPrincipalName: 'juergen@contoso.test', daysLeft: 3, expiresAt: '2026-11-28T12:00:00.000Z' },
    });
    await worker().runOnce();
    const mail = sink.messages.at(-1)!;
    expect(mail.subject).toBe('Ihr Passwort läuft in 3 Tagen ab');
    expect(mail.text).toContain('Hallo Jürgen Groß,');
    expect(mail.text).toContain('bei Contoso Österreich läuft in 3 Tagen ab (28. November 2026)');
    expect(mail.text).toContain('Passwort ändern: http://localhost:8080/change-password');
    expect(mail.text).toContain('Diese Nachricht wurde von Contoso Österreich gesendet.');
    expect(mail.html).toContain('<html lang="de">');
    expect(mail.html).toContain('#aa0000');
  });

  it('queues nothing when the transaction that caused the message rolls back', async () => {
    const count = async () => Number((await ctx.services.db.selectFrom('outbox').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    await expect(
      ctx.services.db.transaction().execute(async (trx) => {
        await enqueueMessage(trx, ctx.services, { tenantId: ctx.tenant.tenant.id, channel: 'email', to: 'a@contoso.test', template: 'test', data: {} });
        throw new Error('the event failed');
      }),
    ).rejects.toThrow('the event failed');
    expect(await count()).toBe(before);
  });

  it('refuses to queue variables that do not fit the template, or a bad recipient', async () => {
    const base = { tenantId: ctx.tenant.tenant.id, channel: 'email' as const, to: 'a@contoso.test' };
    await expect(enqueue(ctx.services, { ...base, template: 'password-changed', data: { displayName: 'A' } })).rejects.toThrow();
    await expect(enqueue(ctx.services, { ...base, template: 'test', data: {}, to: 'a@contoso.test\r\nBcc: x@evil.test' })).rejects.toThrow(/line break/);
    // @ts-expect-error -- not a template
    await expect(enqueue(ctx.services, { ...base, template: 'nope', data: {} })).rejects.toThrow(/unknown message template/);
  });
});
