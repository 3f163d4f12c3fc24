import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker } from '../../src/delivery/outbox-worker.js';
import { createReminderScheduler, sendDueExpiryReminders } from '../../src/domain/expiry-reminders.js';
import { createUser } from '../../src/domain/users.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';

const DAY = 86_400_000;
const PASSWORD = 'Orig1nal-Kestrel-42';
const NEXT = 'N3w-Harbour-Lantern';

describe.each(testDialects())('password expiry reminders on %s', (dialect) => {
  let sink: SmtpSink;
  let sms: WebhookSink;
  let ctx: TestContext;

  beforeAll(async () => {
    sink = await startSmtpSink();
    sms = await startWebhookSink();
    ctx = await createTestContext(dialect, { env: { SMTP_URL: sink.url, MAIL_FROM: 'no-reply@contoso.test', SMS_WEBHOOK_URL: sms.url } });
    const row = await ctx.services.db.selectFrom('tenants').select('settings').where('id', '=', ctx.tenant.tenant.id).executeTakeFirstOrThrow();
    await ctx.services.db
      .updateTable('tenants')
      .set({ settings: JSON.stringify({ ...(JSON.parse(row.settings) as object), expiresAfterDays: 30, notificationWindowDays: 14, expiryReminderDays: [14, 7, 3, 1] }) })
      .where('id', '=', ctx.tenant.tenant.id)
      .execute();
  });
  afterAll(async () => {
    await ctx.close();
    await sink.close();
    await sms.close();
  });

  const deliver = () => createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice, batchSize: 100 }).runOnce();
  const mailsTo = (address: string) => sink.messages.filter((m) => m.envelopeTo.includes(address));

  it('sends one email (and SMS) at 14, 7, 3 and 1 days before expiry, once each', async () => {
    const u = await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: 'megan@contoso.test',
      displayName: 'Megan Bowen',
      password: PASSWORD,
      mail: 'megan@mail.contoso.test',
      mobilePhone: '+1 425 555 0109',
    });
    const subjects: string[] = [];
    // walk day by day through the password's 30-day life, sweeping twice a day
    for (let day = 0; day < 31; day += 1) {
      for (let half = 0; half < 2; half += 1) {
        await sendDueExpiryReminders(ctx.services);
        await deliver();
        ctx.clock.advance(DAY / 2);
      }
    }
    subjects.push(...mailsTo('megan@mail.contoso.test').map((m) => m.subject));
    expect(subjects).toEqual([
      'Your password expires in 14 days',
      'Your password expires in 7 days',
      'Your password expires in 3 days',
      'Your password expires tomorrow',
    ]);
    const texts = sms.received.filter((r) => (r.json as { to: string }).to === '+14255550109');
    expect(texts).toHaveLength(4);
    expect(mailsTo('megan@mail.contoso.test')[0]!.text).toContain('http://localhost:8080/change-password');
    expect(u.id).toBeDefined();
  });

  it('stops after a change and starts a fresh set for the new password', async () => {
    await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: 'lee@contoso.test',
      displayName: 'Lee Gu',
      password: PASSWORD,
      mail: 'lee@mail.contoso.test',
    });
    ctx.clock.advance(17 * DAY); // 13 days left: inside the 14-day mark
    await sendDueExpiryReminders(ctx.services);
    await deliver();
    expect(mailsTo('lee@mail.contoso.test').map((m) => m.subject)).toEqual(['Your password expires in 13 days']);

    const token = await ctx.userToken('lee@contoso.test');
    const changed = await ctx.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      payload: { currentPassword: PASSWORD, newPassword: NEXT },
      headers: { authorization: `Bearer ${token}` },
    });
    expect(changed.statusCode, changed.body).toBe(204);
    await deliver(); // the "password changed" notice, if any

    ctx.clock.advance(10 * DAY); // 20 days left on the new password: nothing due
    await sendDueExpiryReminders(ctx.services);
    await deliver();
    expect(mailsTo('lee@mail.contoso.test').filter((m) => m.subject.startsWith('Your password expires'))).toHaveLength(1);

    ctx.clock.advance(7 * DAY); // 13 days left on the new password
    await sendDueExpiryReminders(ctx.services);
    await deliver();
    expect(mailsTo('lee@mail.contoso.test').filter((m) => m.subject.startsWith('Your password expires'))).toHaveLength(2);
  });

  it('sends a user who enters the window late one reminder, not one per missed mark', async () => {
    await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: 'nestor@contoso.test',
      displayName: 'Nestor Wilke',
      password: PASSWORD,
      mail: 'nestor@mail.contoso.test',
    });
    ctx.clock.advance(28 * DAY); // 2 days left: the 14, 7 and 3 marks all apply
    await sendDueExpiryReminders(ctx.services);
    await sendDueExpiryReminders(ctx.services);
    await deliver();
    expect(mailsTo('nestor@mail.contoso.test').map((m) => m.subject)).toEqual(['Your password expires in 2 days']);
  });

  it('two schedulers on one database send each reminder exactly once', async () => {
    for (let i = 0; i < 20; i += 1) {
      await createUser(ctx.services, systemContext(ctx.services), {
        tenantId: ctx.tenant.tenant.id,
        userPrincipalName: `crowd${i}@contoso.test`,
        displayName: `Crowd ${i}`,
        password: PASSWORD,
        mail: `crowd${i}@mail.contoso.test`,
      });
    }
    ctx.clock.advance(20 * DAY); // 10 days left
    const a = createReminderScheduler(ctx.services, 'node-a', 1);
    const b = createReminderScheduler(ctx.services, 'node-b', 1);
    // lease of 1 ms: both nodes may run; the sent-marks table must still keep it to one each
    await Promise.all([a.runOnce(), b.runOnce(), sendDueExpiryReminders(ctx.services), sendDueExpiryReminders(ctx.services)]);
    await deliver();
    for (let i = 0; i < 20; i += 1) expect(mailsTo(`crowd${i}@mail.contoso.test`)).toHaveLength(1);
  });

  it('the lease keeps a second node out while the first holds it', async () => {
    ctx.clock.advance(1000); // the 1 ms leases of the previous test have run out
    const a = createReminderScheduler(ctx.services, 'holder-a');
    const b = createReminderScheduler(ctx.services, 'holder-b');
    expect((await a.runOnce()).ran).toBe(true);
    expect((await b.runOnce()).ran).toBe(false);
    expect((await a.runOnce()).ran).toBe(true);
    await a.stop();
    expect((await b.runOnce()).ran).toBe(true);
    await b.stop();
  });
});
