import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_QUESTIONS } from '../../src/domain/security-questions-catalog.js';
import { findTenantById } from '../../src/store/tenants.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { call, newUser, SI } from './security-info-helpers.js';
import { post, SSPR, startFlow } from './sspr-helpers.js';

/**
 * The admin's choice of predefined security questions (securityQuestions.predefined, Azure's
 * "Select predefined questions"): the default is the whole catalogue; a PATCH narrows what users
 * are offered and may register; refusals name the field and change nothing; the change is audited;
 * answers registered before a question was deselected still verify a reset.
 */

const URL = '/api/v1/policies/sspr';
const ALL = SECURITY_QUESTIONS.map((q) => q.id);
const [q1, q2, q3, q4, q5, q6] = ALL as [string, string, string, string, string, string, ...string[]];
const CUSTOM = 'What was the name of your first robot?';

type Modified = { displayName: string; oldValue: string; newValue: string };
type Catalog = { toRegister: number; questions: { questionId: string | null; customQuestion: string | null; text: string }[] };

describe.each(testDialects())('SSPR policy: predefined security questions on %s', (dialect) => {
  let ctx: TestContext;
  let admin: string;

  const policy = (method: 'GET' | 'PATCH', payload?: unknown): Promise<LightMyRequestResponse> =>
    ctx.app.inject({ method, url: URL, headers: { authorization: `Bearer ${admin}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const predefinedNow = async () => (await policy('GET')).json<{ securityQuestions: { predefined: string[] } }>().securityQuestions.predefined;
  const events = () =>
    ctx.services.db
      .selectFrom('audit_events')
      .selectAll()
      .where('tenant_id', '=', ctx.tenant.tenant.id)
      .where('activity_display_name', '=', 'Self-service password reset policy changes')
      .orderBy('seq')
      .execute();
  const modifiedOf = (row: { target_resources: string }) => (JSON.parse(row.target_resources) as { modifiedProperties: Modified[] }[])[0]!.modifiedProperties;
  const register = (token: string, ids: string[]) =>
    call(ctx, token, 'PUT', `${SI}/security-questions`, { answers: ids.map((questionId, i) => ({ questionId, answer: `Answer number ${i}` })) });

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    admin = await ctx.userToken('admin@contoso.test');
    expect((await policy('PATCH', { methods: ['email', 'securityQuestions'], securityQuestions: { custom: [CUSTOM] } })).statusCode).toBe(200);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('by default every catalogue question is selected and offered; the admin list has them all in both languages', async () => {
    expect(await predefinedNow()).toEqual(ALL);
    // the default is not stored: a tenant that never chose follows the catalogue
    const stored = (await findTenantById(ctx.services.db, ctx.tenant.tenant.id))!.settings as unknown as { sspr: { securityQuestions: Record<string, unknown> } };
    expect(stored.sspr.securityQuestions).not.toHaveProperty('predefined');
    const { token } = await newUser(ctx);
    const catalog = (await call(ctx, token, 'GET', `${SI}/security-questions/catalog`)).json<Catalog>();
    expect(catalog.questions.map((q) => q.questionId ?? q.customQuestion)).toEqual([...ALL, CUSTOM]);

    const list = (locale: string) => ctx.app.inject({ method: 'GET', url: `${URL}/predefined-questions?locale=${locale}`, headers: { authorization: `Bearer ${admin}` } });
    const en = await list('en');
    expect(en.statusCode).toBe(200);
    expect(en.json()).toEqual({ value: SECURITY_QUESTIONS.map((q) => ({ id: q.id, text: q.en })) });
    expect((await list('de-DE')).json()).toEqual({ value: SECURITY_QUESTIONS.map((q) => ({ id: q.id, text: q.de })) });
    // an ordinary user may not read the admin's list
    expect((await ctx.app.inject({ method: 'GET', url: `${URL}/predefined-questions`, headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(403);
  });

  it('PATCH a subset (in the admin order): GET shows it, users are offered exactly it plus the custom ones, and the change is audited', async () => {
    const before = (await events()).length;
    const chosen = [q3, q1, q2];
    const res = await policy('PATCH', { securityQuestions: { predefined: chosen } });
    expect(res.statusCode).toBe(200);
    expect(res.json().securityQuestions).toEqual({ toRegister: 3, toReset: 3, custom: [CUSTOM], predefined: chosen });
    expect(await predefinedNow()).toEqual(chosen);

    const { token } = await newUser(ctx);
    const en = (await call(ctx, token, 'GET', `${SI}/security-questions/catalog`)).json<Catalog>();
    expect(en.questions).toEqual([
      ...chosen.map((id) => ({ questionId: id, customQuestion: null, text: SECURITY_QUESTIONS.find((q) => q.id === id)!.en })),
      { questionId: null, customQuestion: CUSTOM, text: CUSTOM },
    ]);
    const de = (await call(ctx, token, 'GET', `${SI}/security-questions/catalog?locale=de`)).json<Catalog>();
    expect(de.questions.map((q) => q.text)).toEqual([...chosen.map((id) => SECURITY_QUESTIONS.find((q) => q.id === id)!.de), CUSTOM]);

    const rows = await events();
    expect(rows).toHaveLength(before + 1);
    expect(modifiedOf(rows.at(-1)!)).toEqual([{ displayName: 'securityQuestions.predefined', oldValue: JSON.stringify(ALL), newValue: JSON.stringify(chosen) }]);
  });

  it('registration refuses a deselected question and accepts the selected ones', async () => {
    const { token } = await newUser(ctx);
    const refused = await register(token, [q1, q2, q4]);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toMatchObject({ code: 'security_info.invalid', details: { field: 'answers.2', rule: 'unknownQuestion' } });
    expect((await call(ctx, token, 'GET', SI)).json().securityQuestions.registered).toBe(0);
    expect((await register(token, [q1, q2, q3])).statusCode).toBe(204);
    expect((await call(ctx, token, 'GET', SI)).json().securityQuestions.registered).toBe(3);
  });

  it.each<[string, unknown, string]>([
    ['an unknown id', [q1, 'q-made-up', q2], "'q-made-up' is not a predefined question"],
    ['an id twice', [q1, q2, q1], `'${q1}' appears more than once`],
    ['too few with the custom one (3 to register)', [q1], 'at least 3 predefined and custom questions'],
    ['not an array', q1, ''],
    ['an empty id', [q1, '', q2], ''],
  ])('400 naming securityQuestions.predefined, nothing changed: %s', async (_name, predefined, reason) => {
    const before = (await events()).length;
    const res = await policy('PATCH', { securityQuestions: { predefined } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('request.invalid');
    expect(res.json().error.message).toContain("'securityQuestions.predefined");
    expect(res.json().error.message).toContain(reason);
    expect(await predefinedNow()).toEqual([q3, q1, q2]);
    expect(await events()).toHaveLength(before);
  });

  it('the count rule blames the field the caller sent: removing the custom question, or raising the number to register', async () => {
    const dropCustom = await policy('PATCH', { securityQuestions: { custom: [] } }); // 3 predefined ≥ 3: fine
    expect(dropCustom.statusCode).toBe(200);
    const raise = await policy('PATCH', { securityQuestions: { toRegister: 4 } });
    expect(raise.statusCode).toBe(400);
    expect(raise.json().error).toMatchObject({ code: 'request.invalid', details: { field: 'securityQuestions.toRegister' } });
    await policy('PATCH', { securityQuestions: { custom: [CUSTOM] } });
    const shrink = await policy('PATCH', { securityQuestions: { toRegister: 4, custom: [] } });
    expect(shrink.json().error).toMatchObject({ details: { field: 'securityQuestions.custom' } });
    expect((await policy('GET')).json().securityQuestions).toEqual({ toRegister: 3, toReset: 3, custom: [CUSTOM], predefined: [q3, q1, q2] });
  });

  it('answers registered to a question the admin later deselects still verify a reset (the reference is silent; they were valid when registered)', async () => {
    const { user, token } = await newUser(ctx, 'sqreset');
    expect((await register(token, [q1, q2, q3])).statusCode).toBe(204);
    expect((await policy('PATCH', { securityQuestions: { predefined: [q4, q5, q6] } })).statusCode).toBe(200);
    // the user is now offered only the new selection
    const offered = (await call(ctx, token, 'GET', `${SI}/security-questions/catalog`)).json<Catalog>();
    expect(offered.questions.map((q) => q.questionId ?? q.customQuestion)).toEqual([q4, q5, q6, CUSTOM]);

    const flow = await startFlow(ctx, user.userPrincipalName);
    expect(flow.statusCode).toBe(201);
    const F = `${SSPR}/flows/${flow.json<{ flowId: string }>().flowId}`;
    const ask = await post(ctx, `${F}/verifications`, { method: 'securityQuestions' });
    expect(ask.statusCode).toBe(200);
    const asked = ask.json<{ questions: { id: string; text: string }[] }>().questions;
    const texts = [q1, q2, q3].map((id) => SECURITY_QUESTIONS.find((q) => q.id === id)!.en);
    expect(asked.map((q) => q.text).sort()).toEqual([...texts].sort());
    const answers = asked.map((q) => ({ id: q.id, answer: `answer number ${texts.indexOf(q.text)}` }));
    const done = await post(ctx, `${F}/verifications/securityQuestions/complete`, { answers });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toEqual({ verified: ['securityQuestions'], required: 1 });
  });

  it('selecting every question again in the catalogue order stores the default (new catalogue questions then follow)', async () => {
    const res = await policy('PATCH', { securityQuestions: { predefined: ALL } });
    expect(res.statusCode).toBe(200);
    expect(await predefinedNow()).toEqual(ALL);
    const stored = (await findTenantById(ctx.services.db, ctx.tenant.tenant.id))!.settings as unknown as { sspr: { securityQuestions: Record<string, unknown> } };
    expect(stored.sspr.securityQuestions).not.toHaveProperty('predefined');
  });
});
