import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker } from '../../src/delivery/outbox-worker.js';
import { createUser } from '../../src/domain/users.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';

const PASSWORD = 'Orig1nal-Kestrel-42';
const NEXT = 'N3w-Harbour-Lantern';

describe.each(testDialects())('"your password was changed" on %s', (dialect) => {
  let sink: SmtpSink;
  let ctx: TestContext;
  beforeAll(async () => {
    sink = await startSmtpSink();
    ctx = await createTestContext(dialect, { env: { SMTP_URL: sink.url, MAIL_FROM: 'no-reply@contoso.test' } });
  });
  afterAll(async () => {
    await ctx.close();
    await sink.close();
  });

  const deliver = () => createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice }).runOnce();

  it('mails the user after a self-service change, and not after a refused one', async () => {
    await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: 'adele@contoso.test',
      displayName: 'Adele Vance',
      password: PASSWORD,
      mail: 'adele@mail.contoso.test',
    });
    const token = await ctx.userToken('adele@contoso.test');
    const change = (currentPassword: string, newPassword: string) =>
      ctx.app.inject({ method: 'POST', url: '/v1.0/me/changePassword', payload: { currentPassword, newPassword }, headers: { authorization: `Bearer ${token}` } });

    expect((await change('Wrong-Current-1', NEXT)).statusCode).toBe(400);
    await deliver();
    expect(sink.messages.filter((m) => m.envelopeTo.includes('adele@mail.contoso.test'))).toHaveLength(0);

    expect((await change(PASSWORD, NEXT)).statusCode).toBe(204);
    await deliver();
    const mails = sink.messages.filter((m) => m.envelopeTo.includes('adele@mail.contoso.test'));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('Your password was changed');
    expect(mails[0]!.text).toContain('adele@contoso.test');
    expect(mails[0]!.text).not.toContain(NEXT);
    expect(mails[0]!.html).not.toContain(NEXT);
  });

  it('mails the user after an admin reset too, to the address on file or the UPN', async () => {
    await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: 'lynne@contoso.test',
      displayName: 'Lynne Robbins',
      password: PASSWORD,
    });
    const admin = await ctx.userToken('admin@contoso.test');
    const reset = await ctx.app.inject({
      method: 'PATCH',
      url: '/v1.0/users/lynne@contoso.test',
      payload: { passwordProfile: { password: NEXT, forceChangePasswordNextSignIn: true } },
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(reset.statusCode, reset.body).toBe(204);
    await deliver();
    const mails = sink.messages.filter((m) => m.envelopeTo.includes('lynne@contoso.test'));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('Your password was changed');
    expect(mails[0]!.text).not.toContain(NEXT);
  });
});
