import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { call, newUser, setSsprPolicy, SI } from '../http/security-info-helpers.js';
import { startSsprHarness, type SsprHarness } from '../http/sspr-harness.js';
import { NEW_PASSWORD, OLD_PASSWORD, post, shapeOf, solvedCaptcha, SSPR, startFlow, userWithMethods } from '../http/sspr-helpers.js';

/**
 * Attack cases 9, 10, 11, 13 and 14 of reference/security-requirements.md §4: getting around the
 * throttles, and getting a message to go somewhere it should not. Front door only (app.inject, a real
 * SMTP sink and SMS webhook sink); each test fails when the defence it names is taken out.
 */

/** `victim@x` in full-width letters (U+FF01–U+FF5E): NFKC folds it back to the ASCII name. */
const fullWidth = (s: string) => [...s].map((c) => (c >= '!' && c <= '~' ? String.fromCodePoint(c.codePointAt(0)! + 0xfee0) : c)).join('');
type ErrorBody = { error?: { code: string; details?: Record<string, unknown> } };
const errorCode = (res: LightMyRequestResponse) => res.json<ErrorBody>().error?.code;

describe.each(testDialects())('security: throttle and delivery attacks (cases 9, 10, 11, 13, 14) on %s', (dialect) => {
  let h: SsprHarness;
  let ctx: TestContext;
  beforeAll(async () => {
    h = await startSsprHarness(dialect, { phones: true });
    ctx = h.ctx;
    await setSsprPolicy(ctx, { methods: ['email', 'mobileSms', 'appCode'], methodsRequired: 1 });
  });
  afterAll(async () => h?.close());

  const drain = async () => {
    while ((await h.worker.runOnce()).claimed > 0);
  };
  const mailedCode = async (address: string) => {
    await drain();
    return h.mailedCode(address);
  };
  const textsTo = (number: string) => (h.hooks?.received ?? []).filter((r) => r.path === '/sms' && (r.json as { to: string }).to === number);
  const signIn = (upn: string, password: string) =>
    ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password }, headers: { origin: 'http://localhost:8080' } });
  /** POST /flows as an HTML form would send it (percent-encoded, as a browser or curl -d does) */
  const startFlowForm = async (encodedUpn: string) =>
    ctx.app.inject({
      method: 'POST',
      url: `${SSPR}/flows`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `userPrincipalName=${encodedUpn}&captcha=${encodeURIComponent(await solvedCaptcha(ctx))}`,
    });

  describe('case 9: throttle bypass', () => {
    // Also: test/http/sspr-flow-limits.test.ts (a decoy is throttled like a real user);
    // test/http/sspr-sms-budget.test.ts (the per-IP and per-country SMS budgets themselves).
    it('every spelling of a UPN (case, spaces, %20, full-width, NFC/NFD) counts in one bucket, for a real user and an unknown one alike', async () => {
      const victim = await userWithMethods(ctx, { prefix: 'victim' });
      const spellingsOf = async (upn: string) => {
        const [local, domain] = upn.split('@') as [string, string];
        const answers: [number, string | undefined][] = [];
        const record = (res: LightMyRequestResponse) => answers.push([res.statusCode, errorCode(res)]);
        record(await startFlow(ctx, upn));
        record(await startFlow(ctx, `  ${local.toUpperCase()}@${domain.toUpperCase()} `));
        record(await startFlowForm(`${encodeURIComponent(upn)}%20`));
        record(await startFlow(ctx, fullWidth(upn)));
        record(await startFlow(ctx, `${local[0]!.toUpperCase()}${local.slice(1)}@${domain}`));
        // the sixth, whatever it is spelt like, goes beyond the 5 flows a day the account has
        record(await startFlow(ctx, `${fullWidth(local.toUpperCase())}@${domain}`));
        return answers;
      };
      const real = await spellingsOf(victim.userPrincipalName);
      expect(real).toEqual([...Array(5).fill([201, undefined]), [429, 'sspr.blocked']]);
      const rows = await ctx.services.db.selectFrom('sspr_attempts').select('subject').where('kind', '=', 'flow').where('subject', '=', victim.id).execute();
      expect(rows).toHaveLength(6);
      // an unknown name answers the same at every step (otherwise the sixth would tell them apart)
      expect(await spellingsOf('nobody.variant@contoso.test')).toEqual(real);

      // composed and decomposed forms of one unknown name are one name: the same fabricated targets
      const nfc = 'jos\u00e9.nobody@contoso.test';
      const a = (await startFlow(ctx, nfc)).json<{ methods: unknown }>();
      const b = (await startFlow(ctx, nfc.normalize('NFD'))).json<{ methods: unknown }>();
      expect(b.methods).toEqual(a.methods);
    });

    it('wrong guesses from many addresses count against the account, not the address', async () => {
      const user = await userWithMethods(ctx, { prefix: 'spread' });
      const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json<{ flowId: string }>().flowId}`;
      const answers = [];
      for (let i = 1; i <= 6; i++) {
        const res = await ctx.app.inject({ method: 'POST', url: `${F}/verifications`, remoteAddress: `198.51.100.${i}`, payload: { method: 'mobileSms', phoneNumber: '+1 425 555 0000' } });
        answers.push(errorCode(res));
      }
      expect(answers).toEqual([...Array(5).fill('sspr.phone_mismatch'), 'sspr.blocked']);
    });

    describe('rotating X-Forwarded-For', () => {
      const contexts: TestContext[] = [];
      afterAll(async () => {
        for (const c of contexts) await c.close();
      });
      /** a context with an SMS budget of 2 per address an hour; each text for a new user (no per-account limit in the way) */
      async function budgetContext(env: Record<string, string>) {
        const c = await createTestContext(dialect, { env: { SSPR_SMS_PER_IP_PER_HOUR: '2', ...env } });
        contexts.push(c);
        await setSsprPolicy(c, { methods: ['email', 'mobileSms'], methodsRequired: 1 });
        return async (remoteAddress: string, forwardedFor: string) => {
          const user = await userWithMethods(c, { prefix: 'xff' });
          const flowId = (await startFlow(c, user.userPrincipalName)).json<{ flowId: string }>().flowId;
          const res = await c.app.inject({ method: 'POST', url: `${SSPR}/flows/${flowId}/verifications`, remoteAddress, headers: { 'x-forwarded-for': forwardedFor }, payload: { method: 'mobileSms', phoneNumber: user.mobile } });
          return [res.statusCode, res.json<ErrorBody>().error?.details?.['scope']];
        };
      }

      it('without TRUST_PROXY a client-written X-Forwarded-For does not make a new address', async () => {
        const text = await budgetContext({});
        const answers = [];
        for (let i = 1; i <= 3; i++) answers.push(await text('203.0.113.5', `198.51.100.${i}`));
        expect(answers).toEqual([[202, undefined], [202, undefined], [429, 'ip']]);
      });

      it('with TRUST_PROXY only the address the proxy appended counts, not what the client wrote before it', async () => {
        const text = await budgetContext({ TRUST_PROXY: '1' });
        const answers = [];
        for (let i = 1; i <= 3; i++) answers.push(await text('10.0.0.1', `198.51.100.${i}, 203.0.113.7`));
        expect(answers).toEqual([[202, undefined], [202, undefined], [429, 'ip']]);
        // another client behind the same proxy has a bucket of its own
        expect(await text('10.0.0.1', '198.51.100.1, 203.0.113.8')).toEqual([202, undefined]);
      });
    });
  });

  describe('case 10: parameter pollution and header injection', () => {
    // Also: test/http/sspr-flow.test.ts ('rejects arrays, duplicate keys and extra fields in flow
    // bodies'); test/http/json-duplicates.test.ts (duplicate JSON keys app-wide).
    it('polluted reset requests are refused or harmless, and the code goes only to the stored address', async () => {
      const victim = await userWithMethods(ctx, { prefix: 'polluted' });
      const upn = victim.userPrincipalName;
      const json = (payload: string) => ctx.app.inject({ method: 'POST', url: `${SSPR}/flows`, headers: { 'content-type': 'application/json' }, payload });
      const captcha = await solvedCaptcha(ctx);
      const refused = [
        await json(JSON.stringify({ userPrincipalName: [upn, 'attacker@evil.test'], captcha })),
        await json(JSON.stringify({ userPrincipalName: { email: upn }, captcha })),
        await json(`{"userPrincipalName":"${upn}","userPrincipalName":"attacker@evil.test","captcha":"${captcha}"}`),
        await json(JSON.stringify({ userPrincipalName: upn, email: 'attacker@evil.test', captcha })),
        await startFlowForm(`${encodeURIComponent(upn)}&userPrincipalName=attacker%40evil.test`),
        await ctx.app.inject({ method: 'POST', url: `${SSPR}/flows`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `userPrincipalName%5B%5D=${encodeURIComponent(upn)}&userPrincipalName%5B%5D=attacker%40evil.test&captcha=x` }),
      ];
      for (const res of refused) {
        expect(res.statusCode, res.body).toBe(400);
        expect(['request.invalid', 'request.invalid_json', 'request.unknown_property']).toContain(errorCode(res));
        expect(res.json<{ error: { message: string } }>().error.message.length).toBeGreaterThan(0);
      }
      // strings that name two people, or carry a header, name nobody: a decoy that sends nothing
      for (const hostile of [`${upn},attacker@evil.test`, `${upn}\r\nBcc: attacker@evil.test`, `${upn}%0d%0aCc:attacker@evil.test`]) {
        const res = await startFlow(ctx, hostile);
        expect(res.statusCode).toBe(201);
        const flowId = res.json<{ flowId: string }>().flowId;
        expect((await post(ctx, `${SSPR}/flows/${flowId}/verifications`, { method: 'email' })).statusCode).toBe(202);
      }
      // the real flow: no field of a step may name a recipient
      const flowId = (await startFlow(ctx, upn)).json<{ flowId: string }>().flowId;
      const V = `${SSPR}/flows/${flowId}/verifications`;
      for (const body of [{ method: 'email', email: 'attacker@evil.test' }, { method: ['email', 'email'] }, { method: 'email', to: ['attacker@evil.test'] }, { method: 'mobileSms', phoneNumber: [victim.mobile, '+14255550000'] }]) {
        const res = await post(ctx, V, body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
      }
      expect((await post(ctx, V, { method: 'email' })).statusCode).toBe(202);
      await drain();
      const mails = h.smtp.messages.filter((m) => m.raw.includes('evil.test') || m.envelopeTo.some((t) => t.includes('evil.test')) || m.envelopeTo.includes(victim.address));
      expect(mails).toHaveLength(1);
      expect(mails[0]!.envelopeTo).toEqual([victim.address]);
      expect(mails[0]!.to).toBe(victim.address);
      expect([...mails[0]!.headers.keys()].filter((k) => k === 'cc' || k === 'bcc')).toEqual([]);
    });

    it('an email registered as security info must be one plain address: CR/LF, lists and arrays are 400 and nothing is sent', async () => {
      const { token } = await newUser(ctx, 'inject');
      const before = h.smtp.messages.length;
      for (const address of ['me@example.test\r\nBcc: attacker@evil.test', 'me@example.test,attacker@evil.test', 'me@example.test\nattacker@evil.test', ['me@example.test', 'attacker@evil.test'], { to: 'attacker@evil.test' }]) {
        const res = await call(ctx, token, 'POST', `${SI}/email`, { address });
        expect(res.statusCode, JSON.stringify(address)).toBe(400);
        expect(errorCode(res)).toBe('request.invalid');
      }
      await drain();
      expect(h.smtp.messages.slice(before).filter((m) => m.raw.includes('evil.test'))).toEqual([]);
    });
  });

  describe('case 11: Unicode case-mapping and normalisation collisions', () => {
    it('a compatibility spelling (Kelvin sign, full-width) finds the account, and every message goes to what is stored', async () => {
      for (const spell of [(upn: string) => upn.replace('k', '\u212a'), fullWidth]) {
        const user = await userWithMethods(ctx, { prefix: 'kim', mobile: false });
        const typed = spell(user.userPrincipalName);
        expect(typed).not.toBe(user.userPrincipalName);
        const started = await startFlow(ctx, typed);
        expect(started.statusCode).toBe(201);
        const F = `${SSPR}/flows/${started.json<{ flowId: string }>().flowId}`;
        expect((await post(ctx, `${F}/verifications`, { method: 'email' })).statusCode).toBe(202);
        expect((await post(ctx, `${F}/verifications/email/complete`, { code: await mailedCode(user.address) })).statusCode).toBe(200);
        expect((await post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD })).statusCode).toBe(200);
        await drain();
        const mine = h.smtp.messages.filter((m) => m.envelopeTo.some((t) => t === user.address || t === user.userPrincipalName || t === typed) || m.raw.includes(typed));
        expect(mine.length).toBeGreaterThanOrEqual(2); // the code and the "password changed" notice
        for (const m of mine) {
          expect(m.envelopeTo.every((t) => t === user.address || t === user.userPrincipalName)).toBe(true);
          expect(m.to).not.toContain(typed);
        }
        expect((await signIn(user.userPrincipalName, NEW_PASSWORD)).statusCode).toBe(200);
      }
    });

    it('a different name that only looks alike (dotless ı, ß) is not the account: nothing is sent to anyone', async () => {
      const mike = await userWithMethods(ctx, { prefix: 'mike' });
      const strasse = await userWithMethods(ctx, { prefix: 'strasse' });
      const before = h.smtp.messages.length;
      const outboxBefore = (await ctx.services.db.selectFrom('outbox').select('id').execute()).length;
      for (const typed of [mike.userPrincipalName.replace('i', '\u0131'), mike.userPrincipalName.toUpperCase().replace('I', '\u0130'), strasse.userPrincipalName.replace('ss', '\u00df')]) {
        const res = await startFlow(ctx, typed);
        expect(res.statusCode).toBe(201);
        const flowId = res.json<{ flowId: string }>().flowId;
        expect((await post(ctx, `${SSPR}/flows/${flowId}/verifications`, { method: 'email' })).statusCode).toBe(202);
      }
      expect((await ctx.services.db.selectFrom('outbox').select('id').execute()).length).toBe(outboxBefore);
      await drain();
      expect(h.smtp.messages.length).toBe(before);
      expect(await ctx.services.db.selectFrom('sspr_attempts').select('id').where('subject', 'in', [mike.id, strasse.id]).execute()).toEqual([]);
    });
  });

  describe('case 13: SMS pumping', () => {
    // Also: test/http/sspr-sms-budget.test.ts (per-IP and per-country-code budgets, the metric an
    // operator alerts on); test/http/security-info.test.ts (five codes an hour on registration).
    it('texts go only to the number on file: typed numbers in its range send nothing, for a real user and a decoy', async () => {
      const user = await userWithMethods(ctx, { prefix: 'pump' });
      const before = h.hooks!.received.length;
      for (const upn of [user.userPrincipalName, 'pump.nobody@contoso.test']) {
        const F = `${SSPR}/flows/${(await startFlow(ctx, upn)).json<{ flowId: string }>().flowId}`;
        const answers = [];
        for (let i = 0; i < 6; i++) answers.push(errorCode(await post(ctx, `${F}/verifications`, { method: 'mobileSms', phoneNumber: `+1 900 555 01${String(i).padStart(2, '0')}` })));
        expect(answers).toEqual([...Array(5).fill('sspr.phone_mismatch'), 'sspr.blocked']);
      }
      await drain();
      expect(h.hooks!.received.slice(before)).toEqual([]);
    });

    it('the number on file gets at most five texts an hour; the webhook sees no sixth', async () => {
      const user = await userWithMethods(ctx, { prefix: 'pumped' });
      const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json<{ flowId: string }>().flowId}`;
      const statuses = [];
      for (let i = 0; i < 7; i++) {
        const res = await post(ctx, `${F}/verifications`, { method: 'mobileSms', phoneNumber: user.mobile });
        statuses.push([res.statusCode, errorCode(res)]);
      }
      expect(statuses).toEqual([...Array(5).fill([202, undefined]), [429, 'verification.too_many_codes'], [429, 'verification.too_many_codes']]);
      await drain();
      expect(textsTo(user.mobile)).toHaveLength(5);
    });
  });

  describe('case 14: victim flooding and lockout DoS', () => {
    // Also: test/http/pass-through.test.ts ('a wrong password … counts toward lockout; once locked,
    // the directory is not even asked': Postern's lockout trips before it relays more bad passwords
    // to Active Directory); test/http/sspr-flow-limits.test.ts (the eleventh email blocks, decoy alike).
    it('twenty reset mails asked for in a minute: at most ten arrive, the answers match an unknown user, and the account is never locked', async () => {
      const victim = await userWithMethods(ctx, { prefix: 'flood', mobile: false });
      const flood = async (upn: string) => {
        const answers: unknown[] = [];
        let F = '';
        for (let i = 0; i < 20; i++) {
          if (i % 5 === 0) {
            const res = await startFlow(ctx, upn);
            answers.push([res.statusCode, errorCode(res)]);
            if (res.statusCode !== 201) continue;
            F = `${SSPR}/flows/${res.json<{ flowId: string }>().flowId}`;
          }
          const res = await post(ctx, `${F}/verifications`, { method: 'email' });
          answers.push([res.statusCode, errorCode(res), shapeOf(res.json())]);
          ctx.clock.advance(3_000);
        }
        return answers;
      };
      const before = h.smtp.messages.length;
      const real = await flood(victim.userPrincipalName);
      await drain();
      const delivered = h.smtp.messages.slice(before).filter((m) => m.envelopeTo.includes(victim.address));
      expect(delivered.length).toBeGreaterThan(0);
      expect(delivered.length).toBeLessThanOrEqual(10);
      expect(await flood('flood.nobody@contoso.test')).toEqual(real);
      expect(real).toContainEqual([429, 'sspr.blocked', expect.anything()]);

      // the flood blocked self-service reset, never the account: the password still signs in
      const row = await ctx.services.db.selectFrom('users').selectAll().where('id', '=', victim.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ locked_until: null });
      expect((await signIn(victim.userPrincipalName, OLD_PASSWORD)).statusCode).toBe(200);
      // and a day later the real user can reset again
      ctx.clock.advance(24 * 3_600_000 + 1_000);
      expect((await startFlow(ctx, victim.userPrincipalName)).statusCode).toBe(201);
    });

    it('burning the victim\'s code attempts does not lock the account either', async () => {
      const victim = await userWithMethods(ctx, { prefix: 'burn', mobile: false });
      const F = `${SSPR}/flows/${(await startFlow(ctx, victim.userPrincipalName)).json<{ flowId: string }>().flowId}`;
      await post(ctx, `${F}/verifications`, { method: 'email' });
      const answers = [];
      for (let i = 0; i < 7; i++) answers.push(errorCode(await post(ctx, `${F}/verifications/email/complete`, { code: '12345678' })));
      expect(answers.at(-1)).toBe('sspr.blocked');
      expect((await signIn(victim.userPrincipalName, OLD_PASSWORD)).statusCode).toBe(200);
    });
  });
});
