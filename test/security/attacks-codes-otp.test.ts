import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { systemRandom } from '../../src/lib/crypto.js';
import { createServices } from '../../src/services.js';
import { testDialects, type TestContext } from '../helpers/context.js';
import { setSsprPolicy, SI } from '../http/security-info-helpers.js';
import { startSsprHarness, type SsprHarness } from '../http/sspr-harness.js';
import { post, SSPR, startFlow, userWithMethods } from '../http/sspr-helpers.js';

/**
 * Attack cases 5, 8 and 17 of reference/security-requirements.md §4: the codes and tokens themselves.
 * Each test goes through the front door (app.inject, a real SMTP sink and SMS webhook) and fails when
 * the defence it names is taken out.
 */
describe.each(testDialects())('security: code and token attacks (cases 5, 8, 17) on %s', (dialect) => {
  let h: SsprHarness;
  let ctx: TestContext;
  beforeAll(async () => {
    h = await startSsprHarness(dialect, { phones: true });
    ctx = h.ctx;
  });
  afterAll(async () => h?.close());
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  const flowUrl = async (upn: string, headers: Record<string, string> = {}) => {
    const res = await startFlow(ctx, upn, headers);
    expect(res.statusCode, res.body).toBe(201);
    return `${SSPR}/flows/${res.json<{ flowId: string }>().flowId}`;
  };
  /** delivers the whole outbox (the worker takes ten messages a run) */
  const drain = async () => {
    while ((await h.worker.runOnce()).claimed > 0);
  };
  const mailedCode = async (address: string) => {
    await drain();
    return h.mailedCode(address);
  };
  const errorOf = (res: { json: () => unknown }) => (res.json() as { error?: { code: string; details?: Record<string, unknown> } }).error;

  describe('case 5: predictable / low-entropy tokens', () => {
    // Also: test/domain/totp.test.ts checks the 160-bit TOTP seed (32 base32 characters);
    // test/domain/temporary-password.test.ts the temporary password's alphabet and source.
    it('the production Random seam is node:crypto: tokens stay 256-bit and unique with Math.random and Date pinned', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'postern-random-'));
      try {
        const production = createServices(loadConfig({ DATABASE_URL: `sqlite:${join(dir, 'p.db')}`, POSTERN_SECRET_KEY: 'k'.repeat(40), NODE_ENV: 'production', LOG_LEVEL: 'silent' }));
        expect(production.random).toBe(systemRandom);
        await production.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      // the test context runs the same seam (nothing pins it), so what the HTTP tests below draw is production's
      expect(ctx.services.random).toBe(systemRandom);

      // a generator fed by Math.random or the time would repeat itself here
      vi.spyOn(Math, 'random').mockReturnValue(0.5);
      vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-11-25T12:00:00Z') });
      const tokens = Array.from({ length: 2000 }, () => systemRandom.token());
      vi.useRealTimers();
      expect(new Set(tokens).size).toBe(tokens.length);
      for (const t of tokens) {
        expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(Buffer.from(t, 'base64url')).toHaveLength(32);
      }
    });

    it('flow handles are ≥ 128-bit and unique, reset codes 8 random digits, with Math.random pinned (over many draws)', async () => {
      await setSsprPolicy(ctx, { methods: ['email', 'mobileSms', 'appCode'], methodsRequired: 1 });
      vi.spyOn(Math, 'random').mockReturnValue(0.5);
      const flowIds: string[] = [];
      const users: Awaited<ReturnType<typeof userWithMethods>>[] = [];
      for (let i = 0; i < 10; i++) {
        const user = await userWithMethods(ctx, { prefix: 'entropy' });
        users.push(user);
        const res = await startFlow(ctx, user.userPrincipalName);
        const flowId = res.json<{ flowId: string }>().flowId;
        flowIds.push(flowId);
        // four codes each (a resend issues a new one): 40 codes in all
        for (let c = 0; c < 4; c++) expect((await post(ctx, `${SSPR}/flows/${flowId}/verifications`, { method: 'email' })).statusCode).toBe(202);
      }
      for (let i = 0; i < 30; i++) flowIds.push((await startFlow(ctx, `entropy.nobody${i}@contoso.test`)).json<{ flowId: string }>().flowId);
      vi.restoreAllMocks();

      expect(new Set(flowIds).size).toBe(flowIds.length);
      for (const id of flowIds) {
        expect(id).toMatch(/^[A-Za-z0-9_-]{22,}$/);
        expect(Buffer.from(id, 'base64url').length).toBeGreaterThanOrEqual(16);
      }
      // nothing about the user or the time shows in a handle
      for (const [i, user] of users.entries()) {
        expect(flowIds[i]).not.toContain(user.id.slice(0, 8));
        expect(flowIds[i]).not.toContain(user.userPrincipalName.split('@')[0]);
      }
      await drain();
      const codes = h.smtp.messages
        .filter((m) => users.some((u) => m.envelopeTo.includes(u.address)))
        .map((m) => /\b(\d{8})\b/.exec(m.text ?? '')?.[1]);
      expect(codes).toHaveLength(40);
      for (const code of codes) expect(code).toMatch(/^\d{8}$/);
      // 40 draws from 10^8: a repeat has odds of about 1 in 125,000; two repeats would mean a bad source
      expect(new Set(codes).size).toBeGreaterThanOrEqual(39);
      // the codes are not in the database in clear (only an HMAC and a sealed outbox row)
      const dump = JSON.stringify(await ctx.services.db.selectFrom('verification_codes').selectAll().execute()) + JSON.stringify(await ctx.services.db.selectFrom('outbox').selectAll().execute());
      for (const code of codes) expect(dump).not.toContain(code!);
    });
  });

  describe('case 8: OTP brute force', () => {
    // Also: test/domain/verification-codes.test.ts and test/http/security-info.test.ts (registration
    // codes: dead after five, resend keeps the count); test/http/sspr-flow-limits.test.ts (the sixth
    // wrong phone number blocks for 24 hours).
    it('a reset code dies after five wrong entries, a resend does not reset the count, and the right code is then refused', async () => {
      const user = await userWithMethods(ctx, { mobile: false, prefix: 'brute' });
      const F = await flowUrl(user.userPrincipalName);
      expect((await post(ctx, `${F}/verifications`, { method: 'email' })).statusCode).toBe(202);
      const first = await mailedCode(user.address);
      const wrongOf = (code: string) => (code === '00000000' ? '11111111' : '00000000');
      const remaining = [];
      for (let i = 0; i < 4; i++) {
        const res = await post(ctx, `${F}/verifications/email/complete`, { code: wrongOf(first) });
        expect(errorOf(res)?.code).toBe('verification.code_invalid');
        remaining.push(errorOf(res)?.details?.['attemptsRemaining']);
      }
      expect(remaining).toEqual([4, 3, 2, 1]);
      // a new code carries the four failures: one more wrong entry kills it
      expect((await post(ctx, `${F}/verifications`, { method: 'email' })).statusCode).toBe(202);
      const second = await mailedCode(user.address);
      const fifth = await post(ctx, `${F}/verifications/email/complete`, { code: wrongOf(second) });
      expect(fifth.statusCode).toBe(400);
      expect(errorOf(fifth)?.code).toBe('verification.code_dead');
      // now even the right code does not verify the flow
      const right = await post(ctx, `${F}/verifications/email/complete`, { code: second });
      expect(right.statusCode).toBeGreaterThanOrEqual(400);
      expect(['verification.code_dead', 'sspr.blocked']).toContain(errorOf(right)?.code);
      const codeRow = await ctx.services.db.selectFrom('verification_codes').select(['attempts', 'used_at']).where('user_id', '=', user.id).where('voided_at', 'is', null).executeTakeFirstOrThrow();
      expect(Number(codeRow.attempts)).toBe(5);
      expect(codeRow.used_at).toBeNull();
    });

    it('the per-account cap: wrong codes across new flows and new codes add up; the sixth blocks the account for 24 hours', async () => {
      // Bound: at most 5 wrong guesses per gate per 24 h, so a year of guessing tries < 2,000 of
      // the 10^8 codes (the NIST ≤ 100 consecutive failures per account is met by a wide margin).
      const user = await userWithMethods(ctx, { mobile: false, prefix: 'cap' });
      const answers: (string | undefined)[] = [];
      for (const tries of [3, 3]) {
        const F = await flowUrl(user.userPrincipalName); // a fresh flow, a fresh code: the count is the account's
        expect((await post(ctx, `${F}/verifications`, { method: 'email' })).statusCode).toBe(202);
        const code = await mailedCode(user.address);
        for (let i = 0; i < tries; i++) answers.push(errorOf(await post(ctx, `${F}/verifications/email/complete`, { code: code === '00000000' ? '11111111' : '00000000' }))?.code);
        if (answers.length === 6) {
          const right = await post(ctx, `${F}/verifications/email/complete`, { code });
          expect(right.statusCode).toBe(429);
          expect(errorOf(right)?.code).toBe('sspr.blocked');
        }
      }
      expect(answers).toEqual([...Array(5).fill('verification.code_invalid'), 'sspr.blocked']);
      expect((await startFlow(ctx, user.userPrincipalName)).statusCode).toBe(429);
      ctx.clock.advance(24 * 3_600_000 + 1_000);
      expect((await startFlow(ctx, user.userPrincipalName)).statusCode).toBe(201);
    });
  });

  describe('case 17: TOTP replay and wide windows', () => {
    // Also: test/domain/totp.test.ts (the same on the registration path: replay refused, ±1 step).
    async function enrolledUser(prefix: string) {
      await setSsprPolicy(ctx, { methods: ['email', 'mobileSms', 'appCode'], methodsRequired: 1 });
      const user = await userWithMethods(ctx, { mobile: false, prefix });
      const token = await ctx.userToken(user.userPrincipalName);
      const headers = { authorization: `Bearer ${token}` };
      const { secret } = (await ctx.app.inject({ method: 'POST', url: `${SI}/authenticator`, headers })).json<{ secret: string }>();
      const codeAt = (steps: number) => generate({ secret, epoch: Math.floor(ctx.clock.now().getTime() / 1000) + steps * 30 });
      expect((await ctx.app.inject({ method: 'POST', url: `${SI}/authenticator/verify`, headers, payload: { code: await codeAt(0) } })).statusCode).toBe(204);
      ctx.clock.advance(30_000); // the enrolment used this step
      return { user, codeAt };
    }
    async function appCodeAttempt(upn: string, code: string) {
      const F = await flowUrl(upn);
      expect((await post(ctx, `${F}/verifications`, { method: 'appCode' })).statusCode).toBe(202);
      return post(ctx, `${F}/verifications/appCode/complete`, { code });
    }
    const reuseEvents = async (userId: string) =>
      ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', '=', 'Authenticator app code reused').where('target_resources', 'like', `%${userId}%`).execute();

    it('a code accepted once is refused the second time (in another flow), and the replay is audited', async () => {
      const { user, codeAt } = await enrolledUser('replay');
      const code = await codeAt(0);
      const first = await appCodeAttempt(user.userPrincipalName, code);
      expect(first.statusCode, first.body).toBe(200);
      expect(await reuseEvents(user.id)).toHaveLength(0);
      const again = await appCodeAttempt(user.userPrincipalName, code);
      expect(again.statusCode).toBe(400);
      expect(errorOf(again)?.code).toBe('verification.code_invalid');
      const events = await reuseEvents(user.id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ result: 'failure', logged_by_service: 'Authentication Methods' });
      expect(JSON.stringify(events[0])).not.toContain(code);
      // a plain wrong code is a failure, not a replay
      await appCodeAttempt(user.userPrincipalName, code === '000000' ? '111111' : '000000');
      expect(await reuseEvents(user.id)).toHaveLength(1);
    });

    it('a code replayed to the security-info check of a registered app is refused and audited too', async () => {
      const { user, codeAt } = await enrolledUser('replaysi');
      const headers = { authorization: `Bearer ${await ctx.userToken(user.userPrincipalName)}` };
      const check = (code: string) => ctx.app.inject({ method: 'POST', url: `${SI}/authenticator/verify`, headers, payload: { code } });
      const code = await codeAt(0);
      expect((await check(code)).statusCode).toBe(204);
      const again = await check(code);
      expect(again.statusCode).toBe(400);
      expect(errorOf(again)?.code).toBe('verification.code_invalid');
      expect(await reuseEvents(user.id)).toHaveLength(1);
      // the enrolment's own code (an earlier step, outside the window now) is a wrong code, not a replay
      expect((await check(await codeAt(-2))).statusCode).toBe(400);
      expect(await reuseEvents(user.id)).toHaveLength(1);
    });

    it('only steps T-1, T and T+1 are accepted: T-2 and T+2 are refused', async () => {
      const a = await enrolledUser('window');
      expect((await appCodeAttempt(a.user.userPrincipalName, await a.codeAt(-2))).statusCode).toBe(400);
      expect((await appCodeAttempt(a.user.userPrincipalName, await a.codeAt(2))).statusCode).toBe(400);
      expect((await appCodeAttempt(a.user.userPrincipalName, await a.codeAt(1))).statusCode).toBe(200);
      // T-1 on an account whose last used step is older (the step before this one was the enrolment's)
      const b = await enrolledUser('window');
      ctx.clock.advance(30_000);
      expect((await appCodeAttempt(b.user.userPrincipalName, await b.codeAt(-1))).statusCode).toBe(200);
      expect((await appCodeAttempt(b.user.userPrincipalName, await b.codeAt(0))).statusCode).toBe(200);
    });
  });
});
