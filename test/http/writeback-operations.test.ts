import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLockoutState } from '../../src/store/users.js';
import { testDialects, type TestContext } from '../helpers/context.js';
import { setSsprPolicy } from './security-info-helpers.js';
import { startSsprHarness, type SsprHarness } from './sspr-harness.js';
import { NEW_PASSWORD, OLD_PASSWORD, post, SSPR, startFlow } from './sspr-helpers.js';
import { adminRegistrationToken, refused, registerAgent, succeeded, syncedUser, type ScriptedAgent } from './writeback-helpers.js';
import { upsertEmailMethod } from '../../src/store/auth-methods.js';
import type { User } from '../../src/store/users.js';
import type { SealedJobPayload } from '../../src/writeback/protocol.js';

const PW_ID = '28c10230-6103-485e-b985-444c60001490';
const GIVEN = 'Tangerine-Quokka-93!';

/**
 * Password operations of on-premises (hashSync) users through a scripted agent over HTTP: the
 * directory decides first, the cloud follows only after its success, and a refusal or silence leaves
 * the cloud password as it was.
 */
describe.each(testDialects())('writeback operations on %s', (dialect) => {
  let h: SsprHarness;
  let ctx: TestContext;
  let agent: ScriptedAgent;
  let admin: string;

  beforeAll(async () => {
    h = await startSsprHarness(dialect, { env: { WRITEBACK_JOB_TIMEOUT_MS: '1500' } });
    ctx = h.ctx;
    admin = await ctx.userToken('admin@contoso.test');
    await setSsprPolicy(ctx, { enabledFor: 'all', groupId: null, methodsRequired: 1, writebackEnabled: true, allowUnlockWithoutReset: true });
    agent = await registerAgent(ctx, await adminRegistrationToken(ctx, admin), 'dc-ops');
  });
  afterAll(async () => h?.close());

  const signIn = (upn: string, password: string) =>
    ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password }, headers: { origin: 'http://localhost:8080' } });
  const hashOf = async (id: string) => (await ctx.services.db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow()).password_hash;
  const auditOf = async (activity: string, userId: string) =>
    (await ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', '=', activity).orderBy('seq').execute()).filter((e) => e.target_resources.includes(userId));

  /** A synced user with an email method, through the single verification gate: the flow's URL. */
  async function verifiedFlow(): Promise<{ user: User; F: string }> {
    const user = await syncedUser(ctx, OLD_PASSWORD, 'sspr');
    const address = `${user.id.slice(0, 8)}@example.test`;
    const at = ctx.clock.now().toISOString();
    await upsertEmailMethod(ctx.services.db, { userId: user.id, address, verifiedAt: at, createdAt: at });
    const started = await startFlow(ctx, user.userPrincipalName);
    expect(started.statusCode).toBe(201);
    const F = `${SSPR}/flows/${started.json<{ flowId: string }>().flowId}`;
    expect((await post(ctx, `${F}/verifications`, { method: 'email' })).statusCode).toBe(202);
    expect((await post(ctx, `${F}/verifications/email/complete`, { code: await h.mailedCode(address) })).statusCode).toBe(200);
    return { user, F };
  }

  it('SSPR reset of a hashSync user: the agent gets the sealed new password, the cloud follows, the old password stops working', async () => {
    const { user, F } = await verifiedFlow();
    const [res, seen] = await Promise.all([post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD }), agent.serveOne(() => succeeded(55))]);
    expect(res.statusCode).toBe(200);
    expect(seen).toMatchObject({ kind: 'resetPassword', newPassword: NEW_PASSWORD, unlock: true, mustChange: false, user: { anchor: user.onPremisesImmutableId } });
    expect((await signIn(user.userPrincipalName, NEW_PASSWORD)).statusCode).toBe(200);
    expect((await signIn(user.userPrincipalName, OLD_PASSWORD)).statusCode).toBe(401);
    const [event] = await auditOf('Reset password (self-service)', user.id);
    expect(JSON.parse(event!.additional_details)).toEqual(expect.arrayContaining([{ key: 'OnPremisesAgent', value: 'dc-ops' }, { key: 'OnPremisesDurationMs', value: '55' }]));
    const job = await ctx.services.db.selectFrom('writeback_jobs').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(job).toMatchObject({ state: 'succeeded', sealed: null, cloud_applied: 1, cloud_hash: null });
    expect(JSON.stringify(await ctx.services.db.selectFrom('writeback_jobs').selectAll().execute())).not.toContain(NEW_PASSWORD);
  });

  it('a refusal (recently used) comes back in the user’s words with its reason; the cloud password is unchanged', async () => {
    const { user, F } = await verifiedFlow();
    const before = await hashOf(user.id);
    const [res] = await Promise.all([post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD }), agent.serveOne(() => refused('recentlyUsed', '0000052D: SvcErr: DSID-03191083, problem 5003 (WILL_NOT_PERFORM)'))]);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'writeback.refused', details: { reason: 'recentlyUsed', ssprCode: null } });
    expect(res.json().error.message).toContain('one of your recent passwords');
    expect(res.body).not.toContain(NEW_PASSWORD);
    expect(res.body).not.toContain('0000052D');
    expect(await hashOf(user.id)).toBe(before);
    expect((await signIn(user.userPrincipalName, OLD_PASSWORD)).statusCode).toBe(200);
    const [event] = await auditOf('Reset password (self-service)', user.id);
    expect([event!.result, event!.result_reason]).toEqual(['failure', 'OnPremisesPasswordRefused: recentlyUsed']);
  });

  it('no answer within the timeout: SSPR_0030, nothing changed in the cloud, the old password still signs in', async () => {
    const { user, F } = await verifiedFlow();
    const before = await hashOf(user.id);
    const res = await post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD });
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatchObject({ code: 'sspr.onprem_unreachable', details: { ssprCode: 'SSPR_0030' } });
    expect(await hashOf(user.id)).toBe(before);
    expect((await signIn(user.userPrincipalName, OLD_PASSWORD)).statusCode).toBe(200);
    expect((await ctx.services.db.selectFrom('writeback_jobs').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow())).toMatchObject({ state: 'expired', sealed: null });
  });

  it('admin reset of a hashSync user goes through the agent with must-change; the operation succeeds', async () => {
    const user = await syncedUser(ctx, OLD_PASSWORD, 'adm');
    const reset = ctx.app.inject({
      method: 'POST',
      url: `/v1.0/users/${user.id}/authentication/methods/${PW_ID}/resetPassword`,
      headers: { authorization: `Bearer ${admin}` },
      payload: { newPassword: GIVEN },
    });
    const [res, seen] = await Promise.all([reset, agent.serveOne(() => succeeded())]);
    expect(res.statusCode).toBe(202);
    expect(seen).toMatchObject({ kind: 'resetPassword', newPassword: GIVEN, mustChange: true });
    const op = await ctx.app.inject({ method: 'GET', url: String(res.headers.location).replace('http://localhost:8080', ''), headers: { authorization: `Bearer ${admin}` } });
    expect(op.json()).toMatchObject({ status: 'succeeded' });
    // must change at next sign-in: the new password is right but a change is required
    expect((await signIn(user.userPrincipalName, GIVEN)).statusCode).toBe(403);
    expect((await signIn(user.userPrincipalName, OLD_PASSWORD)).statusCode).toBe(401);
    const [event] = await auditOf('Reset password (by admin)', user.id);
    expect(JSON.parse(event!.additional_details)).toContainEqual({ key: 'OnPremisesAgent', value: 'dc-ops' });
  });

  it('admin reset refused on-premises: the operation fails with the reason and nothing changes', async () => {
    const user = await syncedUser(ctx, OLD_PASSWORD, 'admref');
    const before = await hashOf(user.id);
    const reset = ctx.app.inject({ method: 'POST', url: `/v1.0/users/${user.id}/authentication/methods/${PW_ID}/resetPassword`, headers: { authorization: `Bearer ${admin}` }, payload: { newPassword: GIVEN } });
    const [res] = await Promise.all([reset, agent.serveOne(() => refused('tooShort'))]);
    const op = await ctx.app.inject({ method: 'GET', url: String(res.headers.location).replace('http://localhost:8080', ''), headers: { authorization: `Bearer ${admin}` } });
    expect(op.json()).toMatchObject({ status: 'failed' });
    expect(op.json().statusDetail).toContain('too short');
    expect(await hashOf(user.id)).toBe(before);
  });

  it('self-service change of a hashSync user is made on-premises as the user (old and new password), then in the cloud', async () => {
    const user = await syncedUser(ctx, OLD_PASSWORD, 'chg');
    const token = await ctx.userToken(user.userPrincipalName);
    const change = ctx.app.inject({ method: 'POST', url: '/v1.0/me/changePassword', headers: { authorization: `Bearer ${token}` }, payload: { currentPassword: OLD_PASSWORD, newPassword: NEW_PASSWORD } });
    const [res, seen] = await Promise.all([change, agent.serveOne(() => succeeded())]);
    expect(res.statusCode).toBe(204);
    expect(seen).toMatchObject({ kind: 'changePassword', oldPassword: OLD_PASSWORD, newPassword: NEW_PASSWORD });
    expect((await signIn(user.userPrincipalName, NEW_PASSWORD)).statusCode).toBe(200);

    // refused on-premises (too young): the cloud keeps the password just set
    const again = ctx.app.inject({ method: 'POST', url: '/v1.0/me/changePassword', headers: { authorization: `Bearer ${await ctx.userToken(user.userPrincipalName)}` }, payload: { currentPassword: NEW_PASSWORD, newPassword: GIVEN } });
    const [refusal] = await Promise.all([again, agent.serveOne(() => refused('tooYoung'))]);
    expect(refusal.statusCode).toBe(400);
    expect(refusal.json().error.message).toContain('changed too recently');
    expect((await signIn(user.userPrincipalName, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('admin unlock of a synced user unlocks on-premises too; SSPR unlock goes through the agent', async () => {
    const user = await syncedUser(ctx, OLD_PASSWORD, 'unl');
    await setLockoutState(ctx.services.db, user.id, { failedSignInCount: 10, lockoutCount: 1, lockedUntil: new Date(ctx.clock.now().getTime() + 3600_000).toISOString(), recentBadHashes: [] });
    const unlock = ctx.app.inject({ method: 'POST', url: `/api/v1/users/${user.id}/unlock`, headers: { authorization: `Bearer ${admin}` } });
    const [res, seen] = await Promise.all([unlock, agent.serveOne(() => succeeded())]);
    expect(res.statusCode).toBe(204);
    expect(seen.kind).toBe('unlock');
    expect((await signIn(user.userPrincipalName, OLD_PASSWORD)).statusCode).toBe(200);
    const [event] = await auditOf('Unlock user account (by admin)', user.id);
    expect(JSON.parse(event!.additional_details)).toContainEqual({ key: 'OnPremisesAgent', value: 'dc-ops' });

    const { user: other, F } = await verifiedFlow();
    const [flowRes, flowSeen] = await Promise.all([post(ctx, `${F}/unlock`), agent.serveOne((p: SealedJobPayload) => (p.user.name === other.userPrincipalName ? succeeded() : refused('notFound')))]);
    expect(flowRes.statusCode).toBe(200);
    expect(flowSeen.kind).toBe('unlock');
  });
});
