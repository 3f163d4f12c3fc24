import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { SECURITY_QUESTIONS } from '../../src/domain/security-questions-catalog.js';
import { insertRoleAssignment } from '../../src/store/role-assignments.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { call, dumpRows, newUser, SI, setSsprPolicy } from './security-info-helpers.js';

const [q1, q2, q3, q4] = SECURITY_QUESTIONS.map((q) => q.id);
const CUSTOM = 'Colour of the office door?';

describe.each(testDialects())('security questions and recovery codes on %s', (dialect) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    await setSsprPolicy(ctx, { methods: ['email', 'securityQuestions'], securityQuestions: { toRegister: 3, toReset: 3, custom: [CUSTOM] } });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('lists at least twenty predefined questions with stable ids in English and German, then the custom ones', async () => {
    const { token } = await newUser(ctx);
    expect(SECURITY_QUESTIONS.length).toBeGreaterThanOrEqual(20);
    expect(new Set(SECURITY_QUESTIONS.map((q) => q.id)).size).toBe(SECURITY_QUESTIONS.length);
    type Catalog = { toRegister: number; questions: unknown[] };
    const en = (await call(ctx, token, 'GET', `${SI}/security-questions/catalog`)).json<Catalog>();
    const de = (await call(ctx, token, 'GET', `${SI}/security-questions/catalog?locale=de-DE`)).json<Catalog>();
    expect(en.toRegister).toBe(3);
    expect(en.questions[0]).toEqual({ questionId: 'q-first-school', customQuestion: null, text: 'What was the name of your first school?' });
    expect(de.questions[0]).toEqual({ questionId: 'q-first-school', customQuestion: null, text: 'Wie hieß Ihre erste Schule?' });
    expect(en.questions.at(-1)).toEqual({ questionId: null, customQuestion: CUSTOM, text: CUSTOM });
  });

  const valid = [
    { questionId: q1, answer: 'Lindenschule' },
    { questionId: q2, answer: 'Rex' },
    { customQuestion: CUSTOM, answer: 'Dark green' },
  ];

  it.each<[string, unknown[], string]>([
    ['too few answers', valid.slice(0, 2), 'count'],
    ['too many answers', [...valid, { questionId: q4, answer: 'Fourth' }], 'count'],
    ['an answer of 2 characters', [valid[0], valid[1], { questionId: q3, answer: ' ab ' }], 'length'],
    ['an answer of 41 characters', [valid[0], valid[1], { questionId: q3, answer: 'x'.repeat(41) }], 'length'],
    ['the same question twice', [valid[0], { questionId: q1, answer: 'Other school' }, valid[2]], 'repeatedQuestion'],
    ['the same answer twice after normalisation', [valid[0], { questionId: q2, answer: '  LINDENSCHULE ' }, valid[2]], 'repeatedAnswer'],
    ['an unknown question id', [valid[0], valid[1], { questionId: 'q-made-up', answer: 'Whatever' }], 'unknownQuestion'],
    ['a custom question the tenant does not have', [valid[0], valid[1], { customQuestion: 'My own question?', answer: 'Whatever' }], 'unknownQuestion'],
    ['an answer containing its question', [valid[0], valid[1], { customQuestion: CUSTOM, answer: `${CUSTOM.toUpperCase()} red` }], 'answerContainsQuestion'],
  ])('refuses %s', async (_name, answers, rule) => {
    const { token } = await newUser(ctx);
    const res = await call(ctx, token, 'PUT', `${SI}/security-questions`, { answers });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'security_info.invalid', details: { rule } });
    expect((await call(ctx, token, 'GET', SI)).json().securityQuestions.registered).toBe(0);
  });

  it('refuses a body with both a question id and a custom question', async () => {
    const { token } = await newUser(ctx);
    const res = await call(ctx, token, 'PUT', `${SI}/security-questions`, { answers: [{ ...valid[0], customQuestion: CUSTOM }, valid[1], valid[2]] });
    expect(res.statusCode).toBe(400);
  });

  it('registers a valid set, hashed in normal form, replacing the previous set', async () => {
    const { user, token } = await newUser(ctx);
    expect((await call(ctx, token, 'PUT', `${SI}/security-questions`, { answers: valid })).statusCode).toBe(204);
    expect((await call(ctx, token, 'PUT', `${SI}/security-questions`, { answers: [{ questionId: q3, answer: 'Ｍünchen  Nord' }, valid[1], valid[2]] })).statusCode).toBe(204);
    const rows = await ctx.services.db.selectFrom('auth_security_answers').selectAll().where('user_id', '=', user.id).orderBy('position').execute();
    expect(rows.map((r) => [r.question_id, r.custom_question])).toEqual([[q3, null], [q2, null], [null, CUSTOM]]);
    expect(rows[0]!.answer_hash).toMatch(/^\$argon2id\$/);
    expect(await ctx.services.hasher.verify(rows[0]!.answer_hash, 'münchen nord')).toBe(true);
    const dump = await dumpRows(ctx);
    for (const a of ['Lindenschule', 'lindenschule', 'Dark green', 'dark green', 'münchen nord', 'Rex"']) expect(dump).not.toContain(a);
    const info = (await call(ctx, token, 'GET', SI)).json();
    expect(info).toMatchObject({ securityQuestions: { registered: 3 }, usableMethods: ['securityQuestions'], isRegistered: true });
  });

  it('never lets an administrator register security questions', async () => {
    const { user } = await newUser(ctx, 'sqadmin');
    await insertRoleAssignment(ctx.services.db, { id: `ra-sq-${user.id}`, tenantId: user.tenantId, principalId: user.id, roleDefinitionId: ROLE.helpdeskAdministrator, directoryScopeId: '/', createdDateTime: '2026-11-25T12:00:00.000Z' });
    const token = await ctx.userToken(user.userPrincipalName);
    const res = await call(ctx, token, 'PUT', `${SI}/security-questions`, { answers: valid });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('security_info.method_not_allowed');
    expect((await call(ctx, token, 'GET', SI)).json().policy).toMatchObject({ isAdmin: true, methodsRequired: 2 });
  });

  it('shows ten recovery codes once, stores them hashed, and a new set replaces the old', async () => {
    const { user, token } = await newUser(ctx);
    expect((await call(ctx, token, 'GET', `${SI}/recovery-codes`)).json()).toEqual({ total: 0, remaining: 0, createdDateTime: null });
    const first = await call(ctx, token, 'POST', `${SI}/recovery-codes`);
    expect(first.statusCode).toBe(201);
    const codes = first.json().codes as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    const status = await call(ctx, token, 'GET', `${SI}/recovery-codes`);
    expect(status.json()).toEqual({ total: 10, remaining: 10, createdDateTime: ctx.clock.now().toISOString() });
    expect(status.body).not.toContain(codes[0]);
    const dump = await dumpRows(ctx);
    for (const c of codes) {
      expect(dump).not.toContain(c);
      expect(dump).not.toContain(c.replace(/-/g, ''));
    }
    const second = (await call(ctx, token, 'POST', `${SI}/recovery-codes`)).json().codes as string[];
    expect(second.some((c) => codes.includes(c))).toBe(false);
    expect(await ctx.services.db.selectFrom('auth_recovery_codes').selectAll().where('user_id', '=', user.id).execute()).toHaveLength(10);
  });
});
