import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker, type OutboxWorker } from '../../src/delivery/outbox-worker.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';
import { call, dumpRows, newUser, SI } from './security-info-helpers.js';

describe.each(testDialects())('security info: email and phones over HTTP on %s', (dialect) => {
  let ctx: TestContext;
  let smtp: SmtpSink;
  let hooks: WebhookSink;
  let worker: OutboxWorker;
  const seen: string[] = [];

  beforeAll(async () => {
    smtp = await startSmtpSink();
    hooks = await startWebhookSink();
    ctx = await createTestContext(dialect, { env: { SMTP_URL: smtp.url, MAIL_FROM: 'postern@contoso.test', SMS_WEBHOOK_URL: `${hooks.url}/sms`, VOICE_WEBHOOK_URL: `${hooks.url}/voice` } });
    worker = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice });
  });
  afterAll(async () => {
    await ctx?.close();
    await smtp?.close();
    await hooks?.close();
  });

  /** Delivers the outbox and reads the code from what arrived at the address. */
  async function mailedCode(address: string): Promise<string> {
    await worker.runOnce();
    const mail = smtp.messages.filter((m) => m.envelopeTo.includes(address)).at(-1);
    const code = /\b(\d{8})\b/.exec(mail?.text ?? '')?.[1];
    if (!code) throw new Error(`no code mailed to ${address}`);
    seen.push(code);
    return code;
  }
  async function textedCode(number: string, path = '/sms'): Promise<string> {
    await worker.runOnce();
    const hook = hooks.received.filter((h) => h.path === path && (h.json as { to: string }).to === number).at(-1);
    const m = /(\d{4}) (\d{4})/.exec((hook?.json as { body: string } | undefined)?.body ?? '');
    if (!m) throw new Error(`no code sent to ${number}`);
    seen.push(`${m[1]}${m[2]}`);
    return `${m[1]}${m[2]}`;
  }
  const wrong = (code: string) => String((Number(code) + 1) % 100_000_000).padStart(8, '0');
  const audits = (userId: string) =>
    ctx.services.db.selectFrom('audit_events').selectAll().where('target_resources', 'like', `%${userId}%`).orderBy('seq').execute();

  it('registers an email and a mobile phone with codes that arrived by SMTP and SMS, audited', async () => {
    const { user, token } = await newUser(ctx);
    const before = await call(ctx, token, 'GET', SI);
    expect(before.statusCode).toBe(200);
    expect(before.json()).toMatchObject({ email: null, phones: [], isRegistered: false, registrationRequired: true, registrationReason: 'notRegistered', policy: { methodsRequired: 1, isAdmin: false, ssprEnabled: true } });

    const sent = await call(ctx, token, 'POST', `${SI}/email`, { address: 'adele.private@example.test' });
    expect(sent.statusCode).toBe(202);
    const { verificationId } = sent.json<{ verificationId: string }>();
    const code = await mailedCode('adele.private@example.test');
    const mail = smtp.messages.at(-1)!;
    expect(mail.subject).toContain(code);
    expect((await call(ctx, token, 'POST', `${SI}/email/verify`, { verificationId, code })).statusCode).toBe(204);

    const phone = await call(ctx, token, 'POST', `${SI}/phone`, { type: 'mobile', number: '+1 425 555 0101' });
    expect(phone.statusCode).toBe(202);
    const sms = await textedCode('+14255550101');
    expect((await call(ctx, token, 'POST', `${SI}/phone/verify`, { verificationId: phone.json().verificationId, code: sms })).statusCode).toBe(204);

    const after = (await call(ctx, token, 'GET', SI)).json();
    expect(after).toMatchObject({
      email: { address: 'a***@example.test' },
      phones: [{ type: 'mobile', number: '+1 •••• ••• 0101' }],
      usableMethods: ['email', 'mobilePhone'],
      isRegistered: true,
      registrationRequired: false,
      registrationReason: null,
    });
    const rows = await audits(user.id);
    const names = rows.map((r) => r.activity_display_name);
    expect(names.filter((a) => a === 'User registered security info')).toHaveLength(2);
    // registered for SSPR exactly once: when the email made the user meet the one-method policy
    expect(names.filter((a) => a === 'User registered for self-service password reset')).toHaveLength(1);
    const email = rows.find((r) => r.activity_display_name === 'User registered security info')!;
    expect(email).toMatchObject({ category: 'UserManagement', logged_by_service: 'Authentication Methods', result: 'success' });
    expect(JSON.parse(email.additional_details)).toEqual([{ key: 'Method', value: 'Email' }]);
    expect(JSON.parse(email.initiated_by)).toMatchObject({ user: { id: user.id } });
    const sspr = rows.find((r) => r.activity_display_name === 'User registered for self-service password reset')!;
    expect(sspr.logged_by_service).toBe('Self-service Password Management');

    // deleting is audited too
    expect((await call(ctx, token, 'DELETE', `${SI}/phone/mobile`)).statusCode).toBe(204);
    expect((await call(ctx, token, 'DELETE', `${SI}/phone/mobile`)).statusCode).toBe(404);
    expect((await call(ctx, token, 'DELETE', `${SI}/phone/office`)).json().error.code).toBe('security_info.method_not_allowed');
    const deleted = (await audits(user.id)).filter((r) => r.activity_display_name === 'User deleted security info');
    expect(deleted.map((r): unknown => JSON.parse(r.additional_details))).toEqual([[{ key: 'Method', value: 'Mobile phone' }]]);
  });

  it('calls the alternate mobile by voice, and refuses SMS to it and invalid numbers', async () => {
    const { token } = await newUser(ctx);
    expect((await call(ctx, token, 'POST', `${SI}/phone`, { type: 'alternateMobile', number: '+49 151 12345678', method: 'sms' })).json().error.code).toBe('security_info.invalid');
    const bad = await call(ctx, token, 'POST', `${SI}/phone`, { type: 'mobile', number: '555-0101' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'security_info.invalid', details: expect.anything() });
    const res = await call(ctx, token, 'POST', `${SI}/phone`, { type: 'alternateMobile', number: '+49 151 12345678' });
    expect(res.statusCode).toBe(202);
    const code = await textedCode('+4915112345678', '/voice');
    expect((await call(ctx, token, 'POST', `${SI}/phone/verify`, { verificationId: res.json().verificationId, code })).statusCode).toBe(204);
    expect((await call(ctx, token, 'GET', SI)).json().phones).toEqual([{ type: 'alternateMobile', number: '+49 •••• ••• 5678', verifiedDateTime: ctx.clock.now().toISOString() }]);
  });

  it('kills a code after five wrong entries; a resend voids the old code and keeps the count', async () => {
    const { token } = await newUser(ctx);
    const first = (await call(ctx, token, 'POST', `${SI}/email`, { address: 'wrong1@example.test' })).json().verificationId as string;
    const code1 = await mailedCode('wrong1@example.test');
    const answers: { code: string; details?: { attemptsRemaining?: number } }[] = [];
    for (let i = 0; i < 3; i++) answers.push((await call(ctx, token, 'POST', `${SI}/email/verify`, { verificationId: first, code: wrong(code1) })).json<{ error: { code: string; details?: { attemptsRemaining?: number } } }>().error);
    expect(answers.map((e) => [e.code, e.details?.attemptsRemaining])).toEqual([['verification.code_invalid', 4], ['verification.code_invalid', 3], ['verification.code_invalid', 2]]);

    ctx.clock.advance(1000);
    const second = (await call(ctx, token, 'POST', `${SI}/email`, { address: 'wrong1@example.test' })).json().verificationId as string;
    const code2 = await mailedCode('wrong1@example.test');
    expect((await call(ctx, token, 'POST', `${SI}/email/verify`, { verificationId: first, code: code1 })).json().error.code).toBe('verification.code_expired');
    expect((await call(ctx, token, 'POST', `${SI}/email/verify`, { verificationId: second, code: wrong(code2) })).json().error.details.attemptsRemaining).toBe(1);
    const dead = await call(ctx, token, 'POST', `${SI}/email/verify`, { verificationId: second, code: wrong(code2) });
    expect(dead.statusCode).toBe(400);
    expect(dead.json().error.code).toBe('verification.code_dead');
    expect((await call(ctx, token, 'POST', `${SI}/email/verify`, { verificationId: second, code: code2 })).json().error.code).toBe('verification.code_dead');
    expect((await call(ctx, token, 'GET', SI)).json().email).toBeNull();
  });

  it('expires a code after five minutes', async () => {
    const { token } = await newUser(ctx);
    const id = (await call(ctx, token, 'POST', `${SI}/email`, { address: 'late@example.test' })).json().verificationId as string;
    const code = await mailedCode('late@example.test');
    ctx.clock.advance(299_000);
    ctx.clock.advance(1_000);
    expect((await call(ctx, token, 'POST', `${SI}/email/verify`, { verificationId: id, code })).json().error.code).toBe('verification.code_expired');
  });

  it('twenty parallel verifications of one code give exactly one 204', async () => {
    const { token } = await newUser(ctx);
    const id = (await call(ctx, token, 'POST', `${SI}/email`, { address: 'race@example.test' })).json().verificationId as string;
    const code = await mailedCode('race@example.test');
    const results = await Promise.all(Array.from({ length: 20 }, () => call(ctx, token, 'POST', `${SI}/email/verify`, { verificationId: id, code })));
    expect(results.filter((r) => r.statusCode === 204)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 400)).toHaveLength(19);
  });

  it('limits codes to five per user and purpose per hour with a 429', async () => {
    const { token } = await newUser(ctx);
    for (let i = 0; i < 5; i++) expect((await call(ctx, token, 'POST', `${SI}/email`, { address: 'many@example.test' })).statusCode).toBe(202);
    const res = await call(ctx, token, 'POST', `${SI}/email`, { address: 'many@example.test' });
    expect(res.statusCode).toBe(429);
    expect(res.json().error).toMatchObject({ code: 'verification.too_many_codes', message: expect.stringContaining('5 codes in the last hour') });
  });

  it('refuses application tokens, anonymous callers and extra fields', async () => {
    const app = await ctx.appToken(['UserAuthenticationMethod.ReadWrite.All']);
    const res = await call(ctx, app, 'GET', SI);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('auth.delegated_only');
    expect((await ctx.app.inject({ method: 'GET', url: SI })).statusCode).toBe(401);
    const { token } = await newUser(ctx);
    expect((await call(ctx, token, 'POST', `${SI}/email`, { address: 'x@example.test', admin: true })).json().error.code).toBe('request.unknown_property');
    expect((await call(ctx, token, 'POST', `${SI}/email`, [{ address: 'x@example.test' }])).statusCode).toBe(400);
  });

  it('keeps no code in clear anywhere in the database', async () => {
    expect(seen.length).toBeGreaterThan(5);
    const dump = await dumpRows(ctx);
    for (const code of seen) expect(dump).not.toContain(code);
  });
});
