import type { FlattenedJWE } from 'jose';
import { flattenedDecrypt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { sweepExpired } from '../../src/domain/housekeeping.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { adminRegistrationToken, newAgentKeys, registerAgent, succeeded, syncedUser, type ScriptedAgent } from './writeback-helpers.js';

const PASSWORD = 'Zephyr-Marmot-Quill-47';

describe.each(testDialects())('writeback agent channel on %s', (dialect) => {
  let ctx: TestContext;
  let admin: string;
  let a: ScriptedAgent;
  let b: ScriptedAgent;

  beforeAll(async () => {
    // interactive jobs wait 1.5 s here instead of 10 s, so the timeout cases stay quick
    ctx = await createTestContext(dialect, { env: { WRITEBACK_JOB_TIMEOUT_MS: '1500' } });
    admin = await ctx.userToken('admin@contoso.test');
    a = await registerAgent(ctx, await adminRegistrationToken(ctx, admin), 'dc-agent-a');
    b = await registerAgent(ctx, await adminRegistrationToken(ctx, admin), 'dc-agent-b');
  });
  afterAll(async () => ctx?.close());

  const listAgents = async () => (await ctx.app.inject({ method: 'GET', url: '/api/v1/writeback/agents', headers: { authorization: `Bearer ${admin}` } })).json<{ value: Record<string, unknown>[] }>().value;
  const jobsOf = (userId: string) => ctx.services.db.selectFrom('writeback_jobs').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
  const codeOf = (err: unknown) => (err instanceof AppError ? [err.code, err.data?.ssprCode] : [String(err)]);

  it('registers with a one-time token: a second use and an expired token are refused; the credential is stored only hashed', async () => {
    const token = await adminRegistrationToken(ctx, admin);
    const { publicJwk } = await newAgentKeys();
    const body = { token, name: 'dc-once', version: '1.0.0', directoryKind: 'openLdap', publicKey: publicJwk };
    const first = await ctx.app.inject({ method: 'POST', url: '/api/v1/agent/register', payload: body });
    expect(first.statusCode).toBe(201);
    const credential = first.json<{ credential: string }>().credential;
    // a second use by another key (a repeat with the same key is the crash recovery of test/agent/registration-repeat)
    const again = await ctx.app.inject({ method: 'POST', url: '/api/v1/agent/register', payload: { ...body, publicKey: (await newAgentKeys()).publicJwk } });
    expect(again.statusCode).toBe(401);
    expect(again.json().error.code).toBe('agent.registration_token_invalid');

    const stale = await createAgentRegistrationToken(ctx.services, ctx.tenant.tenant.id);
    ctx.clock.advance(24 * 3600_000 + 1000);
    const expired = await ctx.app.inject({ method: 'POST', url: '/api/v1/agent/register', payload: { ...body, token: stale.token } });
    expect(expired.statusCode).toBe(401);
    // bring the admin's token and the other agents back to life after the jump
    admin = await ctx.userToken('admin@contoso.test');
    expect((await a.heartbeat()).statusCode).toBe(200);
    expect((await b.heartbeat()).statusCode).toBe(200);

    const rows = JSON.stringify(await ctx.services.db.selectFrom('writeback_agents').selectAll().execute()) + JSON.stringify(await ctx.services.db.selectFrom('agent_registration_tokens').selectAll().execute());
    expect(rows).not.toContain(credential);
    expect(rows).not.toContain(token);
    const audit = await ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', '=', 'Register password writeback agent').execute();
    expect(audit.some((e) => e.target_resources.includes('dc-once'))).toBe(true);
  });

  it('heartbeat needs the agent credential and reports health back to admins', async () => {
    expect((await ctx.app.inject({ method: 'POST', url: '/api/v1/agent/heartbeat', payload: { version: '1', directory: { reachable: true, detail: '' } } })).statusCode).toBe(401);
    const wrong = await ctx.app.inject({ method: 'POST', url: '/api/v1/agent/heartbeat', headers: { authorization: `Agent ${'x'.repeat(40)}` }, payload: { version: '1', directory: { reachable: true, detail: '' } } });
    expect(wrong.json().error.code).toBe('agent.unauthenticated');
    const beat = await a.heartbeat();
    expect(beat.json()).toEqual({ heartbeatSeconds: 60, writebackEnabled: false, syncRequested: false });
    const seen = (await listAgents()).find((x) => x.id === a.agentId);
    expect(seen).toMatchObject({ name: 'dc-agent-a', version: '1.0.0-test', directoryReachable: true, directoryDetail: 'ldaps://dc1 ok', healthy: true, enabled: true });
  });

  it('two agents long-poll: exactly one claims the job; the payload opens only with its key and is bound to the job id', async () => {
    const user = await syncedUser(ctx, PASSWORD);
    const run = ctx.services.writeback.unlock({ tenantId: ctx.tenant.tenant.id, userId: user.id });
    const [ja, jb] = await Promise.all([a.poll(1), b.poll(1)]);
    const claimed = [ja, jb].filter((j) => j !== null);
    expect(claimed).toHaveLength(1);
    const job = claimed[0]!;
    const [winner, loser] = ja ? [a, b] : [b, a];
    const payload = await winner.open(job);
    expect(payload).toMatchObject({ jobId: job.id, tenantId: ctx.tenant.tenant.id, kind: 'unlock', user: { anchor: user.onPremisesImmutableId, name: user.userPrincipalName } });
    await expect(loser.open(job)).rejects.toThrow();
    // the same ciphertext under another job id does not open: the id is authenticated data
    const moved: FlattenedJWE = { ...(job.sealed as FlattenedJWE), aad: Buffer.from('00000000-0000-4000-8000-000000000000').toString('base64url') };
    await expect(flattenedDecrypt(moved, winner.privateKey)).rejects.toThrow();

    expect((await winner.result(job.id, succeeded(31))).statusCode).toBe(204);
    await expect(run).resolves.toMatchObject({ jobId: job.id, agentName: winner.name, durationMs: 31 });
    // idempotent by job id: the same result again is fine, a different one is a conflict, another agent is a stranger
    expect((await winner.result(job.id, succeeded(31))).statusCode).toBe(204);
    expect((await winner.result(job.id, { outcome: 'refused', reason: 'notFound', durationMs: 1 })).statusCode).toBe(409);
    expect((await loser.result(job.id, succeeded())).statusCode).toBe(404);
    const [row] = await jobsOf(user.id);
    expect(row).toMatchObject({ state: 'succeeded', sealed: null, agent_id: winner.agentId });
    expect((await listAgents()).find((x) => x.id === winner.agentId)).toMatchObject({ jobsApplied: 1 });
  });

  it('no answer within the timeout: SSPR_0030, the job expires with its payload dropped; a late success is completed in the cloud by the sweep', async () => {
    const user = await syncedUser(ctx, PASSWORD);
    const newHash = await ctx.services.hasher.hash('Late-Heron-Lattice-93');
    const run = ctx.services.writeback.resetPassword({ tenantId: ctx.tenant.tenant.id, userId: user.id, newPassword: 'Late-Heron-Lattice-93', cloudHash: newHash }).catch(codeOf);
    const job = (await a.poll(1)) ?? (await b.poll(1));
    expect(job).not.toBeNull();
    expect(await run).toEqual(['sspr.onprem_unreachable', 'SSPR_0030']);
    const [expired] = await jobsOf(user.id);
    expect(expired).toMatchObject({ state: 'expired', sealed: null, cloud_applied: 0 });
    const before = await ctx.services.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(before.password_hash).toBe(user.passwordHash);

    // the agent that took it answers late: on-premises did change, so the cloud must follow
    const claimer = expired!.agent_id === a.agentId ? a : b;
    expect((await claimer.result(job!.id, succeeded())).statusCode).toBe(204);
    expect((await sweepExpired(ctx.services)).writeback.cloudApplied).toBe(1);
    const after = await ctx.services.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(after.password_hash).toBe(newHash);
    expect((await jobsOf(user.id))[0]).toMatchObject({ state: 'succeeded', late: 1, cloud_applied: 1, cloud_hash: null });
    expect((await sweepExpired(ctx.services)).writeback.cloudApplied).toBe(0);
  });

  it('OnPremisesSuccessCloudFailure: an on-premises success whose cloud write never happened is applied by the sweep, once', async () => {
    const user = await syncedUser(ctx, PASSWORD);
    const newHash = await ctx.services.hasher.hash('Cloud-Retry-Heron-71');
    // the seam succeeds on-premises; the caller then "fails" before its cloud transaction (it never runs it)
    const run = ctx.services.writeback.resetPassword({ tenantId: ctx.tenant.tenant.id, userId: user.id, newPassword: 'Cloud-Retry-Heron-71', mustChange: true, cloudHash: newHash });
    const job = (await a.poll(1)) ?? (await b.poll(1));
    const claimer = (await jobsOf(user.id))[0]!.agent_id === a.agentId ? a : b;
    expect((await claimer.result(job!.id, succeeded())).statusCode).toBe(204);
    await run;
    // a success younger than a minute may still be in its request's transaction: left alone
    expect((await sweepExpired(ctx.services)).writeback.cloudApplied).toBe(0);
    expect((await ctx.services.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow()).password_hash).toBe(user.passwordHash);
    ctx.clock.advance(61_000);
    expect((await sweepExpired(ctx.services)).writeback.cloudApplied).toBe(1);
    const after = await ctx.services.db.selectFrom('users').select(['password_hash', 'force_change_password_next_sign_in']).where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(after).toEqual({ password_hash: newHash, force_change_password_next_sign_in: 1 });
    expect((await sweepExpired(ctx.services)).writeback.cloudApplied).toBe(0);
    await a.heartbeat();
    await b.heartbeat();
  });

  it('no healthy agent (silent for three heartbeats, or its directory unreachable): SSPR_0030 at once, no job queued', async () => {
    const user = await syncedUser(ctx, PASSWORD);
    ctx.clock.advance(181_000);
    expect(await ctx.services.writeback.unlock({ tenantId: ctx.tenant.tenant.id, userId: user.id }).catch(codeOf)).toEqual(['sspr.onprem_unreachable', 'SSPR_0030']);
    expect((await listAgents()).every((x) => x.healthy === false)).toBe(true);
    await a.heartbeat(false);
    await b.heartbeat(false);
    expect(await ctx.services.writeback.unlock({ tenantId: ctx.tenant.tenant.id, userId: user.id }).catch(codeOf)).toEqual(['sspr.onprem_unreachable', 'SSPR_0030']);
    expect(await jobsOf(user.id)).toHaveLength(0);
    await a.heartbeat();
    await b.heartbeat();
  });

  it('key rotation: new jobs are sealed to the new key only', async () => {
    const user = await syncedUser(ctx, PASSWORD);
    const next = await newAgentKeys();
    const rotated = await a.call('POST', '/api/v1/agent/keys', { publicKey: next.publicJwk });
    expect(rotated.statusCode).toBe(200);
    const oldKey = a.privateKey;
    a.privateKey = next.privateKey;
    const disable = await ctx.app.inject({ method: 'PATCH', url: `/api/v1/writeback/agents/${b.agentId}`, headers: { authorization: `Bearer ${admin}` }, payload: { enabled: false } });
    expect(disable.statusCode).toBe(200);
    const run = ctx.services.writeback.unlock({ tenantId: ctx.tenant.tenant.id, userId: user.id });
    const job = await a.poll(2);
    expect(job).not.toBeNull();
    await expect(flattenedDecrypt(job!.sealed as FlattenedJWE, oldKey)).rejects.toThrow();
    expect((await a.open(job!)).kind).toBe('unlock');
    expect((await a.result(job!.id, succeeded())).statusCode).toBe(204);
    await run;
    await ctx.app.inject({ method: 'PATCH', url: `/api/v1/writeback/agents/${b.agentId}`, headers: { authorization: `Bearer ${admin}` }, payload: { enabled: true } });
  });

  it('admins list agents and enable or disable them (audited); a disabled agent is refused on the channel; only writeback admins may', async () => {
    const off = await ctx.app.inject({ method: 'PATCH', url: `/api/v1/writeback/agents/${b.agentId}`, headers: { authorization: `Bearer ${admin}` }, payload: { enabled: false } });
    expect(off.json()).toMatchObject({ id: b.agentId, enabled: false, healthy: false });
    expect((await b.heartbeat()).json().error.code).toBe('agent.disabled');
    expect((await b.call('GET', '/api/v1/agent/jobs?wait=0')).statusCode).toBe(403);
    const on = await ctx.app.inject({ method: 'PATCH', url: `/api/v1/writeback/agents/${b.agentId}`, headers: { authorization: `Bearer ${admin}` }, payload: { enabled: true } });
    expect(on.json()).toMatchObject({ enabled: true });
    expect((await b.heartbeat()).statusCode).toBe(200);
    const events = await ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', 'in', ['Enable password writeback for directory', 'Disable password writeback for directory']).orderBy('seq').execute();
    const forB = events.filter((e) => e.target_resources.includes(b.agentId)).map((e) => e.activity_display_name);
    expect(forB.slice(-2)).toEqual(['Disable password writeback for directory', 'Enable password writeback for directory']);

    const listed = await listAgents();
    expect(listed.map((x) => x.name)).toEqual(expect.arrayContaining(['dc-agent-a', 'dc-agent-b']));
    expect(Object.keys(listed[0]!).sort()).toEqual(
      ['createdDateTime', 'directoryDetail', 'directoryKind', 'directoryReachable', 'enabled', 'healthy', 'id', 'jobsApplied', 'jobsRefused', 'lastHeartbeatDateTime', 'name', 'syncRequested', 'version'],
    );
    // sync now: the next heartbeat of one agent carries it, once
    expect((await ctx.app.inject({ method: 'POST', url: '/api/v1/writeback/agents/sync', headers: { authorization: `Bearer ${admin}` } })).statusCode).toBe(202);
    expect((await a.heartbeat()).json().syncRequested).toBe(true);
    expect((await b.heartbeat()).json().syncRequested).toBe(false);

    const plain = await syncedUser(ctx, PASSWORD, 'plain');
    const plainToken = await ctx.userToken(plain.userPrincipalName);
    expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/writeback/agents', headers: { authorization: `Bearer ${plainToken}` } })).statusCode).toBe(403);
  });
});
