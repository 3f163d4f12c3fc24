import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApplication } from '../../src/domain/applications.js';
import { SECURITY_QUESTIONS } from '../../src/domain/security-questions-catalog.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createOutboxWorker, type OutboxWorker } from '../../src/delivery/outbox-worker.js';
import { createApp } from '../../src/http/app.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';
import { setSsprPolicy } from '../http/security-info-helpers.js';
import { solvedCaptcha } from '../http/sspr-helpers.js';
import { adminRegistrationToken, registerAgent, succeeded, syncedUser, type ScriptedAgent } from '../http/writeback-helpers.js';

/**
 * Issue 10, deliverable 7 — secret canaries (DESIGN.md house rule 8: passwords are never logged,
 * stored, audited or emailed; codes and tokens are stored hashed; TOTP seeds and agent keys
 * encrypted). Distinctive values go in through the front door — passwords at sign-in, change,
 * forced change, SSPR reset, admin reset and user creation (cloud and through the writeback agent),
 * email and SMS codes, security-question answers, TOTP secrets and codes, recovery codes, OAuth
 * access and refresh tokens, client secrets, the agent registration token and credential, and the
 * SMTP and SMS-gateway passwords of the configuration — with the log captured at debug (the app's
 * pino stream, the outbox worker's log and the console). Then none of them, nor its base64 or
 * URL-encoded form, may appear in the log, in an error body, in the audit log (all columns), in the
 * outbox after delivery, or anywhere in the database (every table of the schema, every column, as
 * text): where the service keeps a secret it keeps a hash or a sealed value, never the secret.
 *
 * Secrets the test chose (passwords, answers, configuration) must also never be echoed in any answer
 * at all; secrets the service issues (codes, tokens, credentials, generated passwords) appear once,
 * in the answer or message that issues them, and nowhere else.
 */

const BASE = 'http://localhost:8080';
const PW_ID = '28c10230-6103-485e-b985-444c60001490';
const GRAPH_CLI = '14d82eec-204b-4c2f-b7e8-296a70dab67e';
const SI = '/api/v1/me/security-info';
const SSPR = '/api/v1/sspr';

/** The values the test chooses. Each is distinctive, and holds '#' so its URL-encoded form differs. */
const CHOSEN = {
  adminPassword: ADMIN_PASSWORD,
  createPassword: 'Cnry#Create-Walrus-81qz',
  signInWrong: 'Cnry#Wrong-Guess-Ptarmigan-27',
  changeCurrentWrong: 'Cnry#Wrong-Current-Okapi-64',
  changeNew: 'Cnry#Changed-Lynx-Harbor-52',
  resetEmailSms: 'Cnry#Reset-Tapir-Mosaic-39',
  resetQuestionsApp: 'Cnry#Reset-Gecko-Lantern-18',
  resetRecovery: 'Cnry#Reset-Heron-Quarry-77',
  resetTooLong: `Cnry#TooLong-${'Ibex-'.repeat(60)}`,
  adminGiven: 'Cnry#Admin-Given-Narwhal-45',
  patchProfile: 'Cnry#Patch-Profile-Bison-93',
  forcedNext: 'Cnry#Forced-Next-Coyote-36',
  writebackGiven: 'Cnry#Wb-Given-Puffin-84',
  writebackChange: 'Cnry#Wb-Change-Marten-12',
  passThrough: 'Cnry#PassThrough-Caracal-70',
  answer1: 'Cnry#Answer Quokka Seven',
  answer2: 'Cnry#Answer Dingo Eleven',
  answer3: 'Cnry#Answer Wombat Thirty',
  answerWrong: 'Cnry#Answer Wrong Numbat',
  clientSecretWrong: 'Cnry#Not-The-Client-Secret-5',
  smtpPassword: 'Cnry#Smtp-Relay-Pass-Axolotl-3',
  smsPassword: 'Cnry#Sms-Gateway-Pass-Kiwi-9',
};

interface Seen {
  url: string;
  status: number;
  body: string;
}

describe.each(testDialects())('secret canaries on %s', (dialect) => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let front: TestContext;
  let smtp: SmtpSink;
  let hooks: WebhookSink;
  let worker: OutboxWorker;
  let admin: string;
  const logLines: string[] = [];
  const responses: Seen[] = [];
  /** what the service issued during the flows: the name says what it is */
  const issued = new Map<string, string>();

  beforeAll(async () => {
    smtp = await startSmtpSink({ user: 'postern-relay', pass: CHOSEN.smtpPassword });
    hooks = await startWebhookSink();
    const sms = new URL(hooks.url);
    sms.username = 'postern-gw';
    sms.password = encodeURIComponent(CHOSEN.smsPassword);
    ctx = await createTestContext(dialect, {
      env: { SMTP_URL: smtp.url, MAIL_FROM: 'postern@contoso.test', SMS_WEBHOOK_URL: `${sms.origin.replace('//', `//${sms.username}:${sms.password}@`)}/sms`, WRITEBACK_JOB_TIMEOUT_MS: '5000' },
    });
    expect(smtp.url).toContain(encodeURIComponent(CHOSEN.smtpPassword));
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logLines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')));
    }
    app = await createApp(ctx.services, { logLevel: 'debug', logStream: { write: (line) => void logLines.push(line) } });
    await app.ready();
    // every request goes through this app, and every answer is kept
    const recording = new Proxy(app, {
      get(target, prop) {
        if (prop === 'inject') {
          return async (opts: InjectOptions) => {
            const res = await target.inject(opts);
            responses.push({ url: typeof opts.url === 'string' ? opts.url : JSON.stringify(opts.url), status: res.statusCode, body: res.body });
            return res;
          };
        }
        return Reflect.get(target, prop, target) as unknown;
      },
    });
    front = { ...ctx, app: recording };
    worker = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice, log: app.log });
    admin = await ctx.userToken('admin@contoso.test');
    issued.set('admin access token (test helper)', admin);
    await setSsprPolicy(ctx, { enabledFor: 'all', groupId: null, methodsRequired: 2, methods: ['email', 'mobileSms', 'securityQuestions', 'appCode'], securityQuestions: { toRegister: 3, toReset: 3, custom: [] }, writebackEnabled: true });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.close();
    await ctx?.close();
    await smtp?.close();
    await hooks?.close();
  });

  const inject = (opts: InjectOptions): Promise<LightMyRequestResponse> => front.app.inject(opts);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const tokenForm = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    inject({ method: 'POST', url: `/${ctx.tenant.tenant.id}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(form).toString() });
  const signIn = (upn: string, password: string) => inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password }, headers: { origin: BASE } });
  async function session(upn: string, password: string): Promise<{ headers: Record<string, string> }> {
    const res = await signIn(upn, password);
    expect(res.statusCode, res.body).toBe(200);
    const cookie = res.cookies.find((c) => c.name === 'postern_session')!.value;
    const csrf = res.json<{ csrfToken: string }>().csrfToken;
    issued.set(`session cookie of ${upn}`, cookie);
    issued.set(`CSRF token of ${upn}`, csrf);
    return { headers: { cookie: `postern_session=${cookie}`, 'x-csrf-token': csrf, origin: BASE } };
  }
  async function deliver(): Promise<void> {
    await worker.runOnce();
  }
  async function mailedCode(address: string, label: string): Promise<string> {
    await deliver();
    const code = /\b(\d{8})\b/.exec(smtp.messages.filter((m) => m.envelopeTo.includes(address)).at(-1)?.text ?? '')?.[1];
    if (!code) throw new Error(`no code mailed to ${address}`);
    issued.set(label, code);
    return code;
  }
  async function textedCode(number: string, label: string): Promise<string> {
    await deliver();
    const m = /(\d{4}) (\d{4})/.exec((hooks.received.filter((h) => h.path === '/sms' && (h.json as { to: string }).to === number).at(-1)?.json as { body: string } | undefined)?.body ?? '');
    if (!m) throw new Error(`no code texted to ${number}`);
    issued.set(label, `${m[1]}${m[2]}`);
    return `${m[1]}${m[2]}`;
  }
  const totpNow = (secret: string) => generate({ secret, epoch: Math.floor(ctx.clock.now().getTime() / 1000) });

  let userId = '';
  const upn = `canary-${dialect}@contoso.test`;
  let totpSecret = '';
  let recoveryCodes: string[] = [];

  it('creates a user through Graph with a password, signs in (a wrong password, then through the session and the OAuth password and refresh grants)', async () => {
    const created = await inject({
      method: 'POST',
      url: '/v1.0/users',
      headers: bearer(admin),
      payload: { accountEnabled: true, displayName: 'Canary', mailNickname: 'canary', userPrincipalName: upn, passwordProfile: { password: CHOSEN.createPassword, forceChangePasswordNextSignIn: false } },
    });
    expect(created.statusCode, created.body).toBe(201);
    userId = created.json<{ id: string }>().id;
    await session('admin@contoso.test', ADMIN_PASSWORD);
    expect((await signIn(upn, CHOSEN.signInWrong)).statusCode).toBe(401);
    expect((await tokenForm({ grant_type: 'password', client_id: GRAPH_CLI, username: upn, password: CHOSEN.signInWrong, scope: 'openid offline_access User.Read' })).statusCode).toBe(400);
    await session(upn, CHOSEN.createPassword);
    const grant = await tokenForm({ grant_type: 'password', client_id: GRAPH_CLI, username: upn, password: CHOSEN.createPassword, scope: 'openid offline_access User.Read' });
    expect(grant.statusCode, grant.body).toBe(200);
    const first = grant.json<{ access_token: string; refresh_token: string; id_token: string }>();
    issued.set('access token (password grant)', first.access_token);
    issued.set('refresh token (password grant)', first.refresh_token);
    issued.set('ID token (password grant)', first.id_token);
    const refreshed = await tokenForm({ grant_type: 'refresh_token', client_id: GRAPH_CLI, refresh_token: first.refresh_token });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    issued.set('access token (refresh grant)', refreshed.json<{ access_token: string }>().access_token);
    issued.set('refresh token (refresh grant)', refreshed.json<{ refresh_token: string }>().refresh_token);
    // a replayed refresh token is refused (and revokes the family): its error must not name it
    expect((await tokenForm({ grant_type: 'refresh_token', client_id: GRAPH_CLI, refresh_token: first.refresh_token })).statusCode).toBe(400);
  });

  it('issues a client secret and uses it (and a wrong one) at the token endpoint', async () => {
    const { application, clientSecret } = await createApplication(ctx.services, systemContext(ctx.services), { tenantId: ctx.tenant.tenant.id, name: 'canary app', permissions: ['User.Read.All'] });
    issued.set('client secret', clientSecret!);
    const ok = await tokenForm({ grant_type: 'client_credentials', client_id: application.clientId, client_secret: clientSecret!, scope: 'https://graph.microsoft.com/.default' });
    expect(ok.statusCode, ok.body).toBe(200);
    issued.set('access token (client credentials)', ok.json<{ access_token: string }>().access_token);
    const basic = Buffer.from(`${application.clientId}:${encodeURIComponent(CHOSEN.clientSecretWrong)}`).toString('base64');
    expect((await tokenForm({ grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' }, { authorization: `Basic ${basic}` })).statusCode).toBe(401);
  });

  it('registers security info: email and SMS codes, three answers, an authenticator app, recovery codes', async () => {
    const s = await session(upn, CHOSEN.createPassword);
    const address = `canary.${dialect}@example.test`;
    const email = await inject({ method: 'POST', url: `${SI}/email`, headers: s.headers, payload: { address } });
    expect(email.statusCode, email.body).toBe(202);
    const emailCode = await mailedCode(address, 'email registration code');
    expect((await inject({ method: 'POST', url: `${SI}/email/verify`, headers: s.headers, payload: { verificationId: email.json<{ verificationId: string }>().verificationId, code: emailCode } })).statusCode).toBe(204);
    const phone = await inject({ method: 'POST', url: `${SI}/phone`, headers: s.headers, payload: { type: 'mobile', number: '+1 425 555 0142' } });
    expect(phone.statusCode, phone.body).toBe(202);
    const smsCode = await textedCode('+14255550142', 'SMS registration code');
    expect((await inject({ method: 'POST', url: `${SI}/phone/verify`, headers: s.headers, payload: { verificationId: phone.json<{ verificationId: string }>().verificationId, code: smsCode } })).statusCode).toBe(204);

    const [q1, q2, q3] = SECURITY_QUESTIONS.map((q) => q.id);
    const answers = [
      { questionId: q1, answer: CHOSEN.answer1 },
      { questionId: q2, answer: CHOSEN.answer2 },
      { questionId: q3, answer: CHOSEN.answer3 },
    ];
    const put = await inject({ method: 'PUT', url: `${SI}/security-questions`, headers: s.headers, payload: { answers } });
    expect(put.statusCode, put.body).toBe(204);

    const enrol = await inject({ method: 'POST', url: `${SI}/authenticator`, headers: s.headers });
    expect(enrol.statusCode, enrol.body).toBeLessThan(300);
    totpSecret = enrol.json<{ secret: string }>().secret;
    issued.set('TOTP secret', totpSecret);
    const enrolCode = await totpNow(totpSecret);
    issued.set('TOTP code (enrolment)', enrolCode);
    expect((await inject({ method: 'POST', url: `${SI}/authenticator/verify`, headers: s.headers, payload: { code: enrolCode } })).statusCode).toBe(204);
    ctx.clock.advance(30_000);

    const codes = await inject({ method: 'POST', url: `${SI}/recovery-codes`, headers: s.headers });
    expect(codes.statusCode, codes.body).toBeLessThan(300);
    recoveryCodes = codes.json<{ codes: string[] }>().codes;
    recoveryCodes.forEach((c, i) => issued.set(`recovery code ${i + 1}`, c));
  });

  async function flow(): Promise<string> {
    const res = await inject({ method: 'POST', url: `${SSPR}/flows`, payload: { userPrincipalName: upn, captcha: await solvedCaptcha(front) } });
    expect(res.statusCode, res.body).toBe(201);
    return `${SSPR}/flows/${res.json<{ flowId: string }>().flowId}`;
  }

  it('resets through SSPR: email + SMS codes (a too-long password refused first), questions (one wrong answer) + app code, recovery code + email', async () => {
    let F = await flow();
    issued.set('SSPR flow id 1', F.split('/').at(-1)!);
    expect((await inject({ method: 'POST', url: `${F}/verifications`, payload: { method: 'email' } })).statusCode).toBe(202);
    expect((await inject({ method: 'POST', url: `${F}/verifications/email/complete`, payload: { code: await mailedCode(`canary.${dialect}@example.test`, 'SSPR email code') } })).statusCode).toBe(200);
    expect((await inject({ method: 'POST', url: `${F}/verifications`, payload: { method: 'mobileSms', phoneNumber: '+1 425 555 0142' } })).statusCode).toBe(202);
    expect((await inject({ method: 'POST', url: `${F}/verifications/mobileSms/complete`, payload: { code: await textedCode('+14255550142', 'SSPR SMS code') } })).statusCode).toBe(200);
    expect((await inject({ method: 'POST', url: `${F}/password`, payload: { newPassword: CHOSEN.resetTooLong } })).statusCode).toBe(400);
    const done = await inject({ method: 'POST', url: `${F}/password`, payload: { newPassword: CHOSEN.resetEmailSms } });
    expect(done.statusCode, done.body).toBe(200);

    F = await flow();
    issued.set('SSPR flow id 2', F.split('/').at(-1)!);
    const ask = async () => (await inject({ method: 'POST', url: `${F}/verifications`, payload: { method: 'securityQuestions' } })).json<{ questions: { id: string; text: string }[] }>().questions;
    const answerFor = (text: string) => {
      const i = SECURITY_QUESTIONS.findIndex((q) => q.en === text);
      return [CHOSEN.answer1, CHOSEN.answer2, CHOSEN.answer3][i] ?? CHOSEN.answerWrong;
    };
    const first = await ask();
    expect(first.length).toBe(3);
    const wrong = await inject({ method: 'POST', url: `${F}/verifications/securityQuestions/complete`, payload: { answers: first.map((q, i) => ({ id: q.id, answer: i === 0 ? CHOSEN.answerWrong : answerFor(q.text) })) } });
    expect(wrong.statusCode).toBe(400);
    const right = await inject({ method: 'POST', url: `${F}/verifications/securityQuestions/complete`, payload: { answers: (await ask()).map((q) => ({ id: q.id, answer: answerFor(q.text) })) } });
    expect(right.statusCode, right.body).toBe(200);
    expect((await inject({ method: 'POST', url: `${F}/verifications`, payload: { method: 'appCode' } })).statusCode).toBe(202);
    const appCode = await totpNow(totpSecret);
    issued.set('TOTP code (SSPR)', appCode);
    expect((await inject({ method: 'POST', url: `${F}/verifications/appCode/complete`, payload: { code: appCode } })).statusCode).toBe(200);
    expect((await inject({ method: 'POST', url: `${F}/password`, payload: { newPassword: CHOSEN.resetQuestionsApp } })).statusCode).toBe(200);
    ctx.clock.advance(30_000);

    F = await flow();
    expect((await inject({ method: 'POST', url: `${F}/verifications`, payload: { method: 'recoveryCode' } })).statusCode).toBe(202);
    expect((await inject({ method: 'POST', url: `${F}/verifications/recoveryCode/complete`, payload: { code: recoveryCodes[0] } })).statusCode).toBe(200);
    expect((await inject({ method: 'POST', url: `${F}/verifications`, payload: { method: 'email' } })).statusCode).toBe(202);
    expect((await inject({ method: 'POST', url: `${F}/verifications/email/complete`, payload: { code: await mailedCode(`canary.${dialect}@example.test`, 'SSPR email code 2') } })).statusCode).toBe(200);
    expect((await inject({ method: 'POST', url: `${F}/password`, payload: { newPassword: CHOSEN.resetRecovery } })).statusCode).toBe(200);
  });

  it('changes the password (a wrong current password first) with a token from the password grant', async () => {
    const grant = await tokenForm({ grant_type: 'password', client_id: GRAPH_CLI, username: upn, password: CHOSEN.resetRecovery, scope: 'https://graph.microsoft.com/.default' });
    expect(grant.statusCode, grant.body).toBe(200);
    const token = grant.json<{ access_token: string }>().access_token;
    issued.set('access token (before change)', token);
    const wrong = await inject({ method: 'POST', url: '/v1.0/me/changePassword', headers: bearer(token), payload: { currentPassword: CHOSEN.changeCurrentWrong, newPassword: CHOSEN.changeNew } });
    expect(wrong.statusCode).toBeGreaterThanOrEqual(400);
    const ok = await inject({ method: 'POST', url: '/v1.0/me/changePassword', headers: bearer(token), payload: { currentPassword: CHOSEN.resetRecovery, newPassword: CHOSEN.changeNew } });
    expect(ok.statusCode, ok.body).toBe(204);
  });

  it('resets as an admin: a given password, a generated one, a passwordProfile PATCH; the forced change at sign-in', async () => {
    const given = await inject({ method: 'POST', url: `/v1.0/users/${userId}/authentication/methods/${PW_ID}/resetPassword`, headers: bearer(admin), payload: { newPassword: CHOSEN.adminGiven } });
    expect(given.statusCode, given.body).toBe(202);
    expect((await signIn(upn, CHOSEN.adminGiven)).statusCode).toBe(403);
    const forced = await inject({ method: 'POST', url: '/api/v1/session/password', headers: { origin: BASE }, payload: { userPrincipalName: upn, currentPassword: CHOSEN.adminGiven, newPassword: CHOSEN.forcedNext } });
    expect(forced.statusCode, forced.body).toBe(200);
    const generated = await inject({ method: 'POST', url: `/v1.0/users/${userId}/authentication/methods/${PW_ID}/resetPassword`, headers: bearer(admin), payload: {} });
    expect(generated.statusCode, generated.body).toBe(202);
    issued.set('generated temporary password', generated.json<{ newPassword: string }>().newPassword);
    const patched = await inject({ method: 'PATCH', url: `/v1.0/users/${userId}`, headers: bearer(admin), payload: { passwordProfile: { password: CHOSEN.patchProfile, forceChangePasswordNextSignIn: false } } });
    expect(patched.statusCode, patched.body).toBe(204);
    expect((await signIn(upn, CHOSEN.patchProfile)).statusCode).toBe(200);
  });

  it('registers a writeback agent with a one-time token, and passes an admin reset and a change to it sealed', async () => {
    const registration = await adminRegistrationToken(front, admin);
    issued.set('agent registration token', registration);
    const agent: ScriptedAgent = await registerAgent(front, registration, 'dc-canary');
    issued.set('agent credential', agent.credential);
    const user = await syncedUser(ctx, CHOSEN.createPassword, 'canarywb');
    const reset = inject({ method: 'POST', url: `/v1.0/users/${user.id}/authentication/methods/${PW_ID}/resetPassword`, headers: bearer(admin), payload: { newPassword: CHOSEN.writebackGiven } });
    const [res, seen] = await Promise.all([reset, agent.serveOne(() => succeeded())]);
    expect(res.statusCode, res.body).toBe(202);
    expect(seen).toMatchObject({ kind: 'resetPassword', newPassword: CHOSEN.writebackGiven });
    const forced = inject({ method: 'POST', url: '/api/v1/session/password', headers: { origin: BASE }, payload: { userPrincipalName: user.userPrincipalName, currentPassword: CHOSEN.writebackGiven, newPassword: CHOSEN.writebackChange } });
    const [changed, seenChange] = await Promise.all([forced, agent.serveOne(() => succeeded())]);
    expect(changed.statusCode, changed.body).toBe(200);
    expect(seenChange).toMatchObject({ kind: 'changePassword', newPassword: CHOSEN.writebackChange });

    // pass-through authentication: a synced AD user's sign-in is checked by the agent's bind
    const batch = {
      runId: '7d1e2f3a-0000-4000-8000-00000000c0de',
      groups: [],
      final: false,
      users: [{ anchor: 'guid-canary-pta', dn: 'CN=pta,CN=Users,DC=postern,DC=test', name: 'pta', userPrincipalName: `pta-${dialect}@contoso.test`, mail: null, displayName: 'PTA', givenName: null, surname: null, enabled: true, groupAnchors: [], passwordHash: null, passwordChangedAt: null }],
    };
    const synced = await agent.call('POST', '/api/v1/agent/sync', batch);
    expect(synced.statusCode, synced.body).toBe(200);
    const [pta, seenPta] = await Promise.all([signIn(`pta-${dialect}@contoso.test`, CHOSEN.passThrough), agent.serveOne(() => succeeded())]);
    expect(pta.statusCode, pta.body).toBe(200);
    expect(seenPta).toMatchObject({ kind: 'verifyPassword', password: CHOSEN.passThrough });
  });

  it('delivers what is left, through one SMTP and one SMS-gateway failure each (logged)', async () => {
    smtp.mode = 'reject-temporary';
    hooks.status = 500;
    const s = await session(upn, CHOSEN.patchProfile);
    await inject({ method: 'POST', url: `${SI}/email`, headers: s.headers, payload: { address: `second.${dialect}@example.test` } });
    const alt = await inject({ method: 'POST', url: `${SI}/phone`, headers: s.headers, payload: { type: 'mobile', number: '+1 425 555 0143' } });
    expect(alt.statusCode, alt.body).toBe(202);
    await deliver();
    smtp.mode = 'accept';
    hooks.status = 200;
    ctx.clock.advance(10 * 60_000);
    await deliver();
    await mailedCode(`second.${dialect}@example.test`, 'email registration code 2');
    await textedCode('+14255550143', 'SMS registration code 2');
    expect(logLines.join('\n')).toMatch(/delivery failed/);
    const pending = await ctx.services.db.selectFrom('outbox').select('status').where('status', '!=', 'sent').execute();
    expect(pending).toEqual([]);
    // the SMTP relay and the SMS gateway were really given their passwords
    expect(smtp.messages.some((m) => m.authUser === 'postern-relay')).toBe(true);
    expect(hooks.received.some((h) => h.headers.authorization === `Basic ${Buffer.from(`postern-gw:${CHOSEN.smsPassword}`).toString('base64')}`)).toBe(true);
  });

  /** The forms a secret could leak in: itself, base64 (both alphabets), URL-encoded, lower case. */
  function forms(value: string): string[] {
    const all = [value, Buffer.from(value).toString('base64').replace(/=+$/, ''), Buffer.from(value).toString('base64url'), encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2), value.toLowerCase()];
    return [...new Set(all)];
  }
  function leaks(haystack: string, secrets: Iterable<[string, string]>): string[] {
    const found: string[] = [];
    for (const [name, value] of secrets) for (const form of forms(value)) if (haystack.includes(form)) found.push(`${name} (as ${form === value ? 'itself' : form})`);
    return found;
  }
  const chosen = () => Object.entries(CHOSEN);
  const everything = () => [...chosen(), ...issued.entries(), ['POSTERN_SECRET_KEY', 'test-secret-key-test-secret-key-0123456789'] as [string, string]];

  it('saw every flow through (the canaries were really used)', () => {
    expect(issued.size).toBeGreaterThan(25);
    expect(responses.length).toBeGreaterThan(60);
    expect(logLines.length).toBeGreaterThan(60);
  });

  it('the log (app, outbox worker and console, at debug) holds none of them', () => {
    expect(leaks(logLines.join('\n'), everything())).toEqual([]);
  });

  it('no answer echoes a secret the caller chose, and no error answer holds any secret', () => {
    expect(leaks(responses.map((r) => r.body).join('\n'), chosen())).toEqual([]);
    const errors = responses.filter((r) => r.status >= 400);
    expect(errors.length).toBeGreaterThan(5);
    expect(leaks(errors.map((r) => r.body).join('\n'), everything())).toEqual([]);
  });

  /** A row as text: every column, binary columns as text too. */
  const asText = (row: Record<string, unknown>) =>
    Object.values(row)
      .map((v) => (Buffer.isBuffer(v) || v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)))
      .join('\u0001');

  it('the audit log (every column) holds none of them', async () => {
    const rows = await ctx.services.db.selectFrom('audit_events').selectAll().execute();
    expect(rows.length).toBeGreaterThan(20);
    expect(leaks(rows.map(asText).join('\n'), everything())).toEqual([]);
  });

  it('the outbox, after delivery, holds none of them', async () => {
    const rows = await ctx.services.db.selectFrom('outbox').selectAll().execute();
    expect(rows.length).toBeGreaterThan(5);
    expect(leaks(rows.map(asText).join('\n'), everything())).toEqual([]);
  });

  it('no table of the database holds any of them (hashes and sealed values only)', async () => {
    const tables = (await ctx.services.db.introspection.getTables()).filter((t) => !t.isView);
    expect(tables.length).toBeGreaterThan(20);
    const dump: string[] = [];
    for (const t of tables) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(t.schema ? `${t.schema}.${t.name}` : t.name)}`.execute(ctx.services.db);
      for (const row of rows.rows) dump.push(`${t.name}: ${asText(row)}`);
    }
    expect(dump.length).toBeGreaterThan(100);
    const found: string[] = [];
    for (const line of dump) for (const leak of leaks(line, everything())) found.push(`${line.split(':')[0]}: ${leak}`);
    expect([...new Set(found)]).toEqual([]);
    // where the secrets are kept, they are kept as hashes
    const user = await ctx.services.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    expect(user.password_hash).toMatch(/^\$argon2id\$/);
  });
});
