import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { setSsprPolicy } from '../http/security-info-helpers.js';
import { startSsprHarness, type SsprHarness } from '../http/sspr-harness.js';
import { post, SSPR, startFlow, userWithMethods } from '../http/sspr-helpers.js';
import { testDialects } from '../helpers/context.js';

/**
 * Issue 10, dependencies failing (the database's part: test/http/database-unavailable.test.ts).
 * - SMTP down: the user's answers are exactly those of a working day; the mail is kept and delivered
 *   when the server is back, and its code still works.
 * - SMS gateway hanging: asking for a text answers at once (the request never waits on the gateway),
 *   and other messages keep flowing past the hung one.
 */
describe.each(testDialects())('dependencies failing (%s)', (dialect) => {
  let h: SsprHarness;
  beforeAll(async () => {
    h = await startSsprHarness(dialect, { phones: true });
    await setSsprPolicy(h.ctx, { methodsRequired: 1 });
  });
  afterAll(async () => {
    await h?.hooks?.close(); // ends the hung text's request, so the worker stops at once
    await h?.worker.stop();
    await h?.close();
  });

  /** the parts of an answer a user (or a script) sees, ids and dates aside */
  const seen = (res: { statusCode: number; body: string; headers: Record<string, unknown> }) => ({
    status: res.statusCode,
    body: res.body.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>'),
    headers: Object.keys(res.headers).filter((k) => !['date', 'request-id', 'content-length'].includes(k)).sort(),
  });

  it('SMTP down: the same answers as with SMTP up; the code is mailed once SMTP is back and still works', async () => {
    const ctx = h.ctx;
    const up = await userWithMethods(ctx, { prefix: 'smtpup' });
    const down = await userWithMethods(ctx, { prefix: 'smtpdown' });

    const upFlow = (await startFlow(ctx, up.userPrincipalName)).json<{ flowId: string }>().flowId;
    const upAnswer = await post(ctx, `${SSPR}/flows/${upFlow}/verifications`, { method: 'email' });

    await h.smtp.stop();
    const started = await startFlow(ctx, down.userPrincipalName);
    expect(started.statusCode).toBe(201);
    const flowId = started.json<{ flowId: string }>().flowId;
    const downAnswer = await post(ctx, `${SSPR}/flows/${flowId}/verifications`, { method: 'email' });
    expect(seen(downAnswer)).toEqual(seen(upAnswer));

    // the worker tries while SMTP is down: nothing delivered, nothing lost
    const tried = await h.worker.runOnce();
    expect(tried.retried).toBeGreaterThanOrEqual(1);
    expect(h.smtp.messages.some((m) => m.envelopeTo.includes(down.address))).toBe(false);
    const pending = await ctx.services.db.selectFrom('outbox').select(['status', 'attempts']).where('status', '=', 'pending').execute();
    expect(pending.length).toBeGreaterThanOrEqual(1);

    await h.smtp.restart();
    ctx.clock.advance(60_000); // past the first retry's delay
    const code = await h.mailedCode(down.address);
    expect(h.smtp.messages.filter((m) => m.envelopeTo.includes(down.address))).toHaveLength(1);
    const verified = await post(ctx, `${SSPR}/flows/${flowId}/verifications/email/complete`, { code });
    expect(verified.statusCode).toBe(200);
    expect(verified.json()).toEqual({ verified: ['email'], required: 1 });
  });

  it('SMS gateway hanging: asking for a text answers at once, and other mail goes out past the hung text', async () => {
    const ctx = h.ctx;
    const texted = await userWithMethods(ctx, { prefix: 'smshang' });
    const mailed = await userWithMethods(ctx, { prefix: 'smsmail' });
    await h.worker.runOnce(); // nothing left over from before
    h.hooks!.status = 'hang';
    const sentBefore = h.hooks!.received.length;
    h.worker.start(60_000);
    try {
      const flowId = (await startFlow(ctx, texted.userPrincipalName)).json<{ flowId: string }>().flowId;
      // answered while the gateway has not answered (and never will): the request did not wait on it
      const asked = await post(ctx, `${SSPR}/flows/${flowId}/verifications`, { method: 'mobileSms', phoneNumber: texted.mobile });
      expect(asked.statusCode).toBe(202);
      await vi.waitFor(() => expect(h.hooks!.received.length).toBe(sentBefore + 1), { timeout: 5_000 });
      expect((h.hooks!.received.at(-1)!.json as { to: string }).to).toBe(texted.mobile);

      // a mail queued after the hung text is delivered while the text still hangs
      const other = (await startFlow(ctx, mailed.userPrincipalName)).json<{ flowId: string }>().flowId;
      expect((await post(ctx, `${SSPR}/flows/${other}/verifications`, { method: 'email' })).statusCode).toBe(202);
      await vi.waitFor(() => expect(h.smtp.messages.some((m) => m.envelopeTo.includes(mailed.address))).toBe(true), { timeout: 5_000 });
    } finally {
      h.hooks!.status = 200;
    }
  });
});
