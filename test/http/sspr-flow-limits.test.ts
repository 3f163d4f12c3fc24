import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker, type OutboxWorker } from '../../src/delivery/outbox-worker.js';
import { updateAuthorizationPolicy } from '../../src/domain/authorization-policy.js';
import { assignRole } from '../../src/domain/role-assignments.js';
import { ROLE } from '../../src/domain/roles.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { setSsprPolicy } from './security-info-helpers.js';
import { post, shapeOf, SSPR, startFlow, userWithMethods } from './sspr-helpers.js';

describe.each(testDialects())('SSPR flow: eligibility, decoys and limits on %s', (dialect) => {
  let ctx: TestContext;
  let smtp: SmtpSink;
  let worker: OutboxWorker;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    ctx = await createTestContext(dialect, { env: { SMTP_URL: smtp.url, MAIL_FROM: 'postern@contoso.test' } });
    worker = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice });
  });
  afterAll(async () => {
    await ctx?.close();
    await smtp?.close();
  });
  const setEdition = (edition: string) => ctx.services.db.updateTable('tenants').set({ edition } as never).where('id', '=', ctx.tenant.tenant.id).execute();
  const refusal = async (upn: string) => {
    const res = await startFlow(ctx, upn);
    return { status: res.statusCode, ssprCode: res.json().error?.details?.ssprCode as string | undefined, supportCode: res.json().error?.details?.supportCode, requestId: res.headers['request-id'] };
  };

  it('reaches SSPR_0009 to SSPR_0014 in Azure order, each with a support code', async () => {
    const user = await userWithMethods(ctx);
    await setSsprPolicy(ctx, { enabledFor: 'none' });
    const r9 = await refusal(user.userPrincipalName);
    expect(r9).toMatchObject({ status: 403, ssprCode: 'SSPR_0009' });
    expect(r9.supportCode).toBe(r9.requestId);
    await setSsprPolicy(ctx, { enabledFor: 'selected', groupId: null });
    expect((await refusal(user.userPrincipalName)).ssprCode).toBe('SSPR_0011');
    await setSsprPolicy(ctx, { groupId: '00000000-0000-4000-8000-000000000001' });
    expect((await refusal(user.userPrincipalName)).ssprCode).toBe('SSPR_0013');
    await setSsprPolicy(ctx, { enabledFor: 'all', groupId: null });
    await setEdition('free');
    expect((await refusal(user.userPrincipalName)).ssprCode).toBe('SSPR_0012');
    await setEdition('premium');
    const bare = await userWithMethods(ctx, { email: false, mobile: false });
    expect((await refusal(bare.userPrincipalName)).ssprCode).toBe('SSPR_0014');
    await ctx.services.db.updateTable('users').set({ password_source: 'hashSync' } as never).where('id', '=', user.id).execute();
    expect((await refusal(user.userPrincipalName)).ssprCode).toBe('SSPR_0010');
    // a synchronised account is on-premises whatever its password source says, as for an admin reset
    await ctx.services.db.updateTable('users').set({ password_source: 'cloud', on_premises_sync_enabled: 1 } as never).where('id', '=', user.id).execute();
    expect((await refusal(user.userPrincipalName)).ssprCode).toBe('SSPR_0010');
    await ctx.services.db.updateTable('users').set({ password_source: 'cloud', on_premises_sync_enabled: 0 } as never).where('id', '=', user.id).execute();
    expect((await refusal(user.userPrincipalName)).status).toBe(201);
  });

  it('allowedToUseSSPR=false refuses administrators with SSPR_0009', async () => {
    const admin = await userWithMethods(ctx, { prefix: 'adm' });
    await assignRole(ctx.services, systemContext(ctx.services), { tenantId: ctx.tenant.tenant.id, roleDefinitionId: ROLE.passwordAdministrator, principalId: admin.id, directoryScopeId: '/' });
    expect((await refusal(admin.userPrincipalName)).status).toBe(201);
    await updateAuthorizationPolicy(ctx.services, systemContext(ctx.services), ctx.tenant.tenant.id, { allowedToUseSSPR: false });
    expect((await refusal(admin.userPrincipalName)).ssprCode).toBe('SSPR_0009');
    await updateAuthorizationPolicy(ctx.services, systemContext(ctx.services), ctx.tenant.tenant.id, { allowedToUseSSPR: true });
  });

  it('an unknown user gets a decoy flow of the same status, keys and shape at every step, that never succeeds', async () => {
    const real = await userWithMethods(ctx);
    const outboxBefore = (await ctx.services.db.selectFrom('outbox').select('id').execute()).length;
    const walk = async (upn: string) => {
      const steps: unknown[] = [];
      const start = await startFlow(ctx, upn);
      const flow = start.json<{ flowId: string; methods: { target: string }[] }>();
      steps.push([start.statusCode, shapeOf(start.json())]);
      const F = `${SSPR}/flows/${flow.flowId}`;
      const send = await post(ctx, `${F}/verifications`, { method: 'email' });
      steps.push([send.statusCode, shapeOf(send.json())]);
      for (let i = 0; i < 2; i++) {
        const wrong = await post(ctx, `${F}/verifications/email/complete`, { code: '00000000' });
        steps.push([wrong.statusCode, shapeOf(wrong.json()), wrong.json().error.code, wrong.json().error.details.attemptsRemaining]);
      }
      const phone = await post(ctx, `${F}/verifications`, { method: 'mobileSms', phoneNumber: '+1 425 555 0000' });
      steps.push([phone.statusCode, shapeOf(phone.json()), phone.json().error.code]);
      const pw = await post(ctx, `${F}/password`, { newPassword: 'Copper-Heron-Lattice-93' });
      steps.push([pw.statusCode, shapeOf(pw.json()), pw.json().error.code]);
      const cancel = await ctx.app.inject({ method: 'DELETE', url: F });
      steps.push([cancel.statusCode]);
      return { steps, flow };
    };
    const a = await walk(real.userPrincipalName);
    const realSent = (await ctx.services.db.selectFrom('outbox').select('id').execute()).length - outboxBefore;
    const b = await walk('nobody.here@contoso.test');
    expect(b.steps).toEqual(a.steps);
    expect(realSent).toBe(1);
    expect((await ctx.services.db.selectFrom('outbox').select('id').execute()).length - outboxBefore).toBe(1); // the decoy sent nothing
    // the same unknown name shows the same fabricated targets every time
    const again = (await startFlow(ctx, 'nobody.here@contoso.test')).json<{ methods: unknown }>();
    expect(again.methods).toEqual(b.flow.methods);
    await worker.runOnce();
  });

  it('the sixth wrong gate attempt in an hour blocks for 24 hours, audited', async () => {
    const user = await userWithMethods(ctx);
    const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json().flowId}`;
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await post(ctx, `${F}/verifications`, { method: 'mobileSms', phoneNumber: '+1 425 555 0000' });
      answers.push(res.json<{ error: { code: string } }>().error.code);
    }
    expect(answers).toEqual([...Array(5).fill('sspr.phone_mismatch'), 'sspr.blocked']);
    expect((await startFlow(ctx, user.userPrincipalName)).json().error.code).toBe('sspr.blocked');
    ctx.clock.advance(23 * 3_600_000);
    expect((await startFlow(ctx, user.userPrincipalName)).statusCode).toBe(429);
    ctx.clock.advance(3_600_000 + 1000);
    expect((await startFlow(ctx, user.userPrincipalName)).statusCode).toBe(201);
    const blocked = await ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', '=', 'Blocked from self-service password reset').where('target_resources', 'like', `%${user.id}%`).execute();
    expect(blocked).toHaveLength(1);
    expect(blocked[0]!.logged_by_service).toBe('Self-service Password Management');
    const steps = (await ctx.services.db.selectFrom('audit_events').select('result_reason').where('target_resources', 'like', `%${user.id}%`).execute()).map((e) => e.result_reason);
    expect(steps.filter((r) => r === 'User failed the mobile SMS verification option')).toHaveLength(6); // the sixth fails and blocks
    expect(steps.some((r) => r.includes('undefined'))).toBe(false);
  });

  it('the eleventh reset email in ten minutes blocks for 24 hours, for a real user and a decoy alike', async () => {
    const user = await userWithMethods(ctx);
    const sendTen = async (upn: string) => {
      const answers: [number, string | undefined][] = [];
      // two flows, as a user who starts over would: the limit is per account, not per flow
      for (const flowNo of [0, 1]) {
        const F = `${SSPR}/flows/${(await startFlow(ctx, upn)).json().flowId}`;
        for (let i = 0; i < (flowNo === 0 ? 6 : 5); i++) {
          const res = await post(ctx, `${F}/verifications`, { method: 'email' });
          answers.push([res.statusCode, res.json<{ error?: { code: string } }>().error?.code]);
          ctx.clock.advance(20_000);
        }
      }
      return answers;
    };
    const real = await sendTen(user.userPrincipalName);
    expect(real.slice(0, 10).every(([status]) => status === 202)).toBe(true);
    expect(real[10]).toEqual([429, 'sspr.blocked']);
    expect(await sendTen('nobody.mailer@contoso.test')).toEqual(real);
    expect((await startFlow(ctx, user.userPrincipalName)).json().error.code).toBe('sspr.blocked');
    const blocked = await ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', '=', 'Blocked from self-service password reset').where('target_resources', 'like', `%${user.id}%`).execute();
    expect(blocked).toHaveLength(1);
    expect(blocked[0]!.additional_details).toContain('email');
    ctx.clock.advance(24 * 3_600_000);
  });

  it('a captcha solution is accepted once', async () => {
    const user = await userWithMethods(ctx);
    const { solvedCaptcha } = await import('./sspr-helpers.js');
    const captcha = await solvedCaptcha(ctx);
    expect((await post(ctx, `${SSPR}/flows`, { userPrincipalName: user.userPrincipalName, captcha })).statusCode).toBe(201);
    const replay = await post(ctx, `${SSPR}/flows`, { userPrincipalName: user.userPrincipalName, captcha });
    expect(replay.json().error.code).toBe('sspr.captcha_invalid');
    expect((await post(ctx, `${SSPR}/flows`, { userPrincipalName: user.userPrincipalName, captcha: 'bm9wZQ' })).json().error.code).toBe('sspr.captcha_invalid');
  });
});
