import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/context.js';
import { setSsprPolicy } from './security-info-helpers.js';
import { startSsprHarness, type SsprHarness } from './sspr-harness.js';
import { NEW_PASSWORD, post, SSPR, startFlow, userWithMethods } from './sspr-helpers.js';

/**
 * Several "send me a code" requests on one flow at once (a double click, two tabs): the flow records
 * the code in the transaction that issues it, so every 202 stands for a code the flow knows, a request
 * that loses the race sends nothing, and the code in the last mail completes the flow.
 */
describe.each(testDialects())('SSPR: concurrent code requests on one flow on %s', (dialect) => {
  let h: SsprHarness;
  beforeAll(async () => {
    h = await startSsprHarness(dialect);
    await setSsprPolicy(h.ctx, { methods: ['email'], methodsRequired: 1 });
  });
  afterAll(async () => h?.close());

  it('mails one code per accepted request, and the flow accepts the last one mailed', async () => {
    const { ctx } = h;
    const user = await userWithMethods(ctx, { mobile: false });
    const started = await startFlow(ctx, user.userPrincipalName);
    expect(started.statusCode).toBe(201);
    const F = `${SSPR}/flows/${started.json<{ flowId: string }>().flowId}`;
    const answers = await Promise.all(Array.from({ length: 4 }, () => post(ctx, `${F}/verifications`, { method: 'email' })));
    const accepted = answers.filter((a) => a.statusCode === 202).length;
    expect(accepted).toBeGreaterThanOrEqual(1);
    for (const a of answers.filter((x) => x.statusCode !== 202)) expect(a.json().error.code).toBe('sspr.method_unavailable');

    const code = await h.mailedCode(user.address);
    expect(h.smtp.messages.filter((m) => m.envelopeTo.includes(user.address))).toHaveLength(accepted);
    const queued = await ctx.services.db.selectFrom('verification_codes').select('id').where('user_id', '=', user.id).execute();
    expect(queued).toHaveLength(accepted);

    const complete = await post(ctx, `${F}/verifications/email/complete`, { code });
    expect(complete.statusCode, complete.body).toBe(200);
    expect((await post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD })).statusCode).toBe(200);
  });
});
