import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { checkVerificationCode, issueVerificationCode, type CodeCheck, type IssueCodeInput } from '../../src/domain/verification-codes.js';
import type { User } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

describe.each(testDialects())('verification codes on %s', (dialect) => {
  let ctx: TestContext;
  let n = 0;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  async function newUser(): Promise<User> {
    n += 1;
    return createUser(ctx.services, systemContext(ctx.services), { tenantId: ctx.tenant.tenant.id, userPrincipalName: `codes${n}@contoso.test`, displayName: `Codes ${n}`, password: 'Zephyr-Marmot-Quill-47' });
  }

  const issue = (user: User, over: Partial<IssueCodeInput> = {}) =>
    ctx.services.db.transaction().execute((trx) =>
      issueVerificationCode(trx, ctx.services, { tenantId: user.tenantId, userId: user.id, purpose: 'register-email', channel: 'email', target: `${user.id}@example.test`, displayName: user.displayName, ...over }),
    );

  /** The clear code exists only in the sealed outbox row of the message that carries it. */
  async function sentCode(user: User): Promise<string> {
    const row = await ctx.services.db.selectFrom('outbox').select('secret_data').where('recipient', '=', `${user.id}@example.test`).orderBy('created_at', 'desc').orderBy('id').execute();
    const sealed = row.at(0)?.secret_data;
    expect(sealed).toBeTruthy();
    return (JSON.parse(ctx.services.secretBox.open(sealed!)) as { code: string }).code;
  }

  const check = (user: User, id: string, code: string): Promise<CodeCheck> =>
    ctx.services.db.transaction().execute((trx) => checkVerificationCode(trx, ctx.services, { id, userId: user.id, purpose: 'register-email', code }));

  const wrong = (code: string) => String((Number(code) + 1) % 100_000_000).padStart(8, '0');

  it('issues an 8-digit code stored only as an HMAC and in a sealed message', async () => {
    const user = await newUser();
    const issued = await issue(user);
    const code = await sentCode(user);
    expect(code).toMatch(/^\d{8}$/);
    const row = await ctx.services.db.selectFrom('verification_codes').selectAll().where('id', '=', issued.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ attempts: 0, purpose: 'register-email', channel: 'email', used_at: null, voided_at: null });
    expect(row.expires_at).toBe(new Date(ctx.clock.now().getTime() + 300_000).toISOString());
    expect(JSON.stringify(row)).not.toContain(code);
    const outbox = await ctx.services.db.selectFrom('outbox').selectAll().where('recipient', '=', `${user.id}@example.test`).executeTakeFirstOrThrow();
    expect(JSON.stringify(outbox)).not.toContain(code);
    expect(await check(user, issued.id, code)).toMatchObject({ ok: true });
    expect(await check(user, issued.id, code)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('twenty parallel completions of one code give exactly one success', async () => {
    const user = await newUser();
    const issued = await issue(user);
    const code = await sentCode(user);
    const results = await Promise.all(Array.from({ length: 20 }, () => check(user, issued.id, code)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.reason === 'expired')).toHaveLength(19);
  });

  it('is dead after five wrong entries, even for the right code, and never counts beyond five', async () => {
    const user = await newUser();
    const issued = await issue(user);
    const code = await sentCode(user);
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await check(user, issued.id, wrong(code)));
    expect(results.map((r) => (r.ok ? 'ok' : `${r.reason}:${r.attemptsRemaining}`))).toEqual(['wrong:4', 'wrong:3', 'wrong:2', 'wrong:1', 'dead:0']);
    expect(await check(user, issued.id, code)).toMatchObject({ ok: false, reason: 'dead' });
    await Promise.all(Array.from({ length: 5 }, () => check(user, issued.id, wrong(code))));
    const row = await ctx.services.db.selectFrom('verification_codes').select('attempts').where('id', '=', issued.id).executeTakeFirstOrThrow();
    expect(Number(row.attempts)).toBe(5);
  });

  it('a resend voids the live code and carries its failure count over', async () => {
    const user = await newUser();
    const first = await issue(user);
    const firstCode = await sentCode(user);
    for (let i = 0; i < 3; i++) await check(user, first.id, wrong(firstCode));
    ctx.clock.advance(1000);
    const second = await issue(user);
    const secondCode = await sentCode(user);
    expect(await check(user, first.id, firstCode)).toMatchObject({ ok: false, reason: 'expired' });
    expect(await check(user, second.id, wrong(secondCode))).toMatchObject({ ok: false, reason: 'wrong', attemptsRemaining: 1 });
    expect(await check(user, second.id, wrong(secondCode))).toMatchObject({ ok: false, reason: 'dead', attemptsRemaining: 0 });
    expect(await check(user, second.id, secondCode)).toMatchObject({ ok: false, reason: 'dead' });
  });

  it('expires after five minutes', async () => {
    const user = await newUser();
    const issued = await issue(user);
    const code = await sentCode(user);
    ctx.clock.advance(300_000);
    expect(await check(user, issued.id, code)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('allows five codes per user and purpose per hour, counted in rows', async () => {
    const user = await newUser();
    for (let i = 0; i < 5; i++) {
      await issue(user);
      ctx.clock.advance(60_000);
    }
    await expect(issue(user)).rejects.toMatchObject({ code: 'verification.too_many_codes', status: 429 });
    // another purpose has its own budget; an hour after the first, one frees up
    await expect(issue(user, { purpose: 'register-phone' })).resolves.toMatchObject({ id: expect.any(String) });
    ctx.clock.advance(56 * 60_000);
    await expect(issue(user)).resolves.toMatchObject({ id: expect.any(String) });
  });

  it('refuses a code of another user or purpose as not found', async () => {
    const a = await newUser();
    const b = await newUser();
    const issued = await issue(a);
    const code = await sentCode(a);
    expect(await check(b, issued.id, code)).toMatchObject({ ok: false, reason: 'not_found' });
    const purpose = await ctx.services.db.transaction().execute((trx) => checkVerificationCode(trx, ctx.services, { id: issued.id, userId: a.id, purpose: 'register-phone', code }));
    expect(purpose).toMatchObject({ ok: false, reason: 'not_found' });
  });
});
