import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker, type OutboxWorker } from '../../src/delivery/outbox-worker.js';
import { renderMessage, brandingOf } from '../../src/delivery/templates/index.js';
import { assignRole } from '../../src/domain/role-assignments.js';
import { ROLE } from '../../src/domain/roles.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { setSsprPolicy } from './security-info-helpers.js';
import { OLD_PASSWORD, post, shapeOf, SSPR, startFlow, userWithMethods } from './sspr-helpers.js';

describe.each(testDialects())('SSPR flow: contact your administrator on %s', (dialect) => {
  let ctx: TestContext;
  let smtp: SmtpSink;
  let worker: OutboxWorker;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    ctx = await createTestContext(dialect, { env: { SMTP_URL: smtp.url, MAIL_FROM: 'postern@contoso.test' } });
    worker = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice });
  });
  afterAll(async () => {
    await ctx?.close();
    await smtp?.close();
  });

  let n = 0;
  async function admin(role: string, mails: { mail?: string; otherMails?: string[] }) {
    n += 1;
    const user = await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: `helper${n}@contoso.test`,
      displayName: `Helper ${n}`,
      password: OLD_PASSWORD,
      ...mails,
    });
    await assignRole(ctx.services, systemContext(ctx.services), { tenantId: ctx.tenant.tenant.id, roleDefinitionId: role, principalId: user.id, directoryScopeId: '/' });
    return user;
  }
  const outboxCount = async () => (await ctx.services.db.selectFrom('outbox').select('id').execute()).length;
  /** Contacts from a new flow of a new user; answers the response and who got the mail about that user. */
  async function contact() {
    const user = await userWithMethods(ctx, { prefix: 'stuck' });
    const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json().flowId}`;
    const res = await post(ctx, `${F}/contact-admin`);
    await worker.runOnce();
    const mails = smtp.messages.filter((m) => m.subject === `Password reset help requested: ${user.userPrincipalName}`);
    return { user, F, res, mails, recipients: mails.flatMap((m) => m.envelopeTo).sort() };
  }

  it('routes to global admins, then user admins, then password admins as each group appears; once per flow; audited', async () => {
    // only the tenant's global admins exist (admin@contoso.test has no mail: its UPN is used)
    await admin(ROLE.globalAdministrator, { mail: 'ga.mail@example.test' });
    const first = await contact();
    expect(first.res.statusCode).toBe(200);
    expect(first.res.json()).toEqual({ result: 'ContactedAdmin' });
    expect(first.recipients).toEqual(['admin@contoso.test', 'ga.mail@example.test']);
    const text = first.mails[0]!.text ?? '';
    expect(text).toContain(first.user.displayName);
    expect(text).toContain(first.user.userPrincipalName);
    expect(text).toMatch(/reset the password in the admin portal/);
    expect(text).not.toMatch(/\b\d{6,8}\b/); // no code of any kind

    // one contact per flow
    const again = await post(ctx, `${first.F}/contact-admin`);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('sspr.already_contacted');

    const audit = await ctx.services.db.selectFrom('audit_events').selectAll().where('target_resources', 'like', `%${first.user.id}%`).where('result_reason', '=', 'User contacted an admin').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ activity_display_name: 'Self-service password reset flow activity progress', logged_by_service: 'Self-service Password Management' });
    expect(JSON.parse(audit[0]!.additional_details)).toContainEqual({ key: 'Result', value: 'Contacted Admin' });

    // a user administrator appears: only they get it (first of otherMails as address)
    await admin(ROLE.userAdministrator, { otherMails: ['ua.other@example.test', 'ua.second@example.test'] });
    expect((await contact()).recipients).toEqual(['ua.other@example.test']);

    // a password administrator appears: only they get it
    await admin(ROLE.passwordAdministrator, { mail: 'pa.mail@example.test' });
    expect((await contact()).recipients).toEqual(['pa.mail@example.test']);
  });

  it('with a helpdesk link or address configured, points there and sends nothing', async () => {
    await setSsprPolicy(ctx, { helpdeskUrl: 'https://help.contoso.test/reset', helpdeskEmail: 'help@contoso.test' });
    const before = await outboxCount();
    const c = await contact();
    expect(c.res.statusCode).toBe(200);
    expect(c.res.json()).toEqual({ result: 'ContactedHelpdesk', helpdeskUrl: 'https://help.contoso.test/reset', helpdeskEmail: 'help@contoso.test' });
    expect(await outboxCount()).toBe(before);
    expect(c.mails).toHaveLength(0);
    await setSsprPolicy(ctx, { helpdeskUrl: null, helpdeskEmail: null });
  });

  it('a decoy flow answers with the same status and keys, is limited the same, and sends nothing', async () => {
    const walk = async (upn: string): Promise<unknown[]> => {
      const F = `${SSPR}/flows/${(await startFlow(ctx, upn)).json().flowId}`;
      const one = await post(ctx, `${F}/contact-admin`);
      const two = await post(ctx, `${F}/contact-admin`);
      const first = one.json<{ result: string }>();
      const second = two.json<{ error: { code: string } }>();
      return [one.statusCode, shapeOf(first), first.result, two.statusCode, shapeOf(second), second.error.code];
    };
    const real = await userWithMethods(ctx);
    const realSteps = await walk(real.userPrincipalName);
    const before = await outboxCount();
    expect(await walk('nobody.at.all@contoso.test')).toEqual(realSteps);
    expect(await outboxCount()).toBe(before);
  });

  it('renders in English and German, naming the user and the time', () => {
    const branding = brandingOf({ displayName: 'Contoso', settings: '{}' }, 'http://localhost:8080');
    const data = { displayName: 'Helper', userDisplayName: 'Ada Stuck', userPrincipalName: 'ada@contoso.test', requestedAt: '2026-11-25T18:30:00.000Z' };
    const en = renderMessage('contact-admin', 'en', data, branding);
    const de = renderMessage('contact-admin', 'de', data, branding);
    for (const m of [en, de]) {
      expect(m.text).toContain('Ada Stuck');
      expect(m.text).toContain('ada@contoso.test');
      expect(m.text).toContain('2026');
    }
    expect(de.subject).toMatch(/^Bitte um Hilfe/);
    expect(de.text).toMatch(/Passwort zurück/);
  });
});
