import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeAnswer } from '../../src/domain/security-info/questions.js';
import { replaceSecurityAnswers } from '../../src/store/security-questions.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { setSsprPolicy, SI } from './security-info-helpers.js';
import { post, SSPR, startFlow, userWithMethods } from './sspr-helpers.js';

describe.each(testDialects())('SSPR flow: app code, security questions and recovery code gates on %s', (dialect) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const gateAttempts = async (userId: string, method: string) =>
    (await ctx.services.db.selectFrom('sspr_attempts').select('id').where('subject', '=', userId).where('kind', '=', `gate:${method}`).execute()).length;
  const reasons = async (userId: string) =>
    (await ctx.services.db.selectFrom('audit_events').select('result_reason').where('target_resources', 'like', `%${userId}%`).orderBy('seq').execute()).map((r) => r.result_reason);
  async function flowOf(upn: string) {
    const res = await startFlow(ctx, upn);
    expect(res.statusCode).toBe(201);
    const flow = res.json<{ flowId: string; methods: { method: string }[] }>();
    return { F: `${SSPR}/flows/${flow.flowId}`, methods: flow.methods.map((m) => m.method) };
  }

  it('appCode: a confirmed authenticator app verifies the flow with the current code, not a wrong one', async () => {
    await setSsprPolicy(ctx, { methods: ['email', 'appCode'], methodsRequired: 1 });
    const user = await userWithMethods(ctx, { mobile: false });
    const token = await ctx.userToken(user.userPrincipalName);
    const enrol = await ctx.app.inject({ method: 'POST', url: `${SI}/authenticator`, headers: bearer(token) });
    const { secret } = enrol.json<{ secret: string }>();
    const codeNow = () => generate({ secret, epoch: Math.floor(ctx.clock.now().getTime() / 1000) });
    expect((await ctx.app.inject({ method: 'POST', url: `${SI}/authenticator/verify`, headers: bearer(token), payload: { code: await codeNow() } })).statusCode).toBe(204);
    ctx.clock.advance(30_000); // the enrolment used this step; the app shows the next one

    const { F, methods } = await flowOf(user.userPrincipalName);
    expect(methods).toEqual(['email', 'appCode']);
    expect((await post(ctx, `${F}/verifications`, { method: 'appCode' })).statusCode).toBe(202);
    const good = await codeNow();
    const wrong = await post(ctx, `${F}/verifications/appCode/complete`, { code: good === '000000' ? '111111' : '000000' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.code).toBe('verification.code_invalid');
    expect(await gateAttempts(user.id, 'appCode')).toBe(1);
    const right = await post(ctx, `${F}/verifications/appCode/complete`, { code: good });
    expect(right.statusCode).toBe(200);
    expect(right.json()).toEqual({ verified: ['appCode'], required: 1 });
    expect(await reasons(user.id)).toEqual(expect.arrayContaining(['User failed the authenticator app code verification option', 'User completed the authenticator app code verification option']));
  });

  it('securityQuestions: asks toReset questions; wrong answers fail and count; the right answers verify', async () => {
    await setSsprPolicy(ctx, { methods: ['email', 'securityQuestions'], methodsRequired: 1, securityQuestions: { toRegister: 4, toReset: 3, custom: [] } });
    const user = await userWithMethods(ctx, { mobile: false });
    const at = ctx.clock.now().toISOString();
    const answers = await Promise.all(
      [0, 1, 2, 3].map(async (position) => ({ position, questionId: null, customQuestion: `Custom question ${position}?`, answerHash: await ctx.services.hasher.hash(normalizeAnswer(`Answer  Number ${position}`)), createdAt: at })),
    );
    await replaceSecurityAnswers(ctx.services.db, user.id, answers);

    const { F, methods } = await flowOf(user.userPrincipalName);
    expect(methods).toContain('securityQuestions');
    // answering before asking is refused
    expect((await post(ctx, `${F}/verifications/securityQuestions/complete`, { answers: [{ id: 'q0', answer: 'x' }] })).json().error.code).toBe('sspr.method_unavailable');
    const ask = async () => {
      const res = await post(ctx, `${F}/verifications`, { method: 'securityQuestions' });
      expect(res.statusCode).toBe(200);
      return res.json<{ questions: { id: string; text: string }[] }>().questions;
    };
    const first = await ask();
    expect(first).toHaveLength(3);
    for (const q of first) expect(q.text).toBe(`Custom question ${q.id.slice(1)}?`);
    const answerAll = (qs: { id: string }[], wrongAt: number | null) =>
      post(ctx, `${F}/verifications/securityQuestions/complete`, { answers: qs.map((q, i) => ({ id: q.id, answer: i === wrongAt ? 'not it' : `answer number ${q.id.slice(1)}` })) });

    const wrong = await answerAll(first, 1);
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.code).toBe('sspr.answers_wrong');
    expect(await gateAttempts(user.id, 'securityQuestions')).toBe(1);
    // the failed questions are spent: new ones must be asked
    expect((await answerAll(first, null)).json().error.code).toBe('sspr.method_unavailable');

    const right = await answerAll(await ask(), null); // normalised: case and inner spaces do not matter
    expect(right.statusCode).toBe(200);
    expect(right.json()).toEqual({ verified: ['securityQuestions'], required: 1 });
    expect(await reasons(user.id)).toEqual(expect.arrayContaining(['User failed the security questions option', 'User completed the security questions option']));
    await setSsprPolicy(ctx, { methods: ['email', 'mobileSms'], securityQuestions: { toRegister: 3, toReset: 3, custom: [] } });
  });

  it('recoveryCode: a recovery code verifies a flow once; the same code is refused afterwards', async () => {
    await setSsprPolicy(ctx, { methods: ['email'], methodsRequired: 1 });
    const user = await userWithMethods(ctx, { mobile: false });
    const token = await ctx.userToken(user.userPrincipalName);
    const { codes } = (await ctx.app.inject({ method: 'POST', url: `${SI}/recovery-codes`, headers: bearer(token) })).json<{ codes: string[] }>();
    expect(codes.length).toBeGreaterThan(1);

    const a = await flowOf(user.userPrincipalName);
    expect(a.methods).toEqual(['email', 'recoveryCode']);
    expect((await post(ctx, `${a.F}/verifications`, { method: 'recoveryCode' })).statusCode).toBe(202);
    const ok = await post(ctx, `${a.F}/verifications/recoveryCode/complete`, { code: codes[0]! });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ verified: ['recoveryCode'], required: 1 });

    const b = await flowOf(user.userPrincipalName);
    await post(ctx, `${b.F}/verifications`, { method: 'recoveryCode' });
    const reused = await post(ctx, `${b.F}/verifications/recoveryCode/complete`, { code: codes[0]! });
    expect(reused.statusCode).toBe(400);
    expect(reused.json().error.code).toBe('verification.code_invalid');
    expect(await gateAttempts(user.id, 'recoveryCode')).toBe(1);
    expect((await post(ctx, `${b.F}/verifications/recoveryCode/complete`, { code: codes[1]! })).statusCode).toBe(200);
  });
});
