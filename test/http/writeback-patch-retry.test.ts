import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUD_RETRY_AFTER_MS, sweepWriteback } from '../../src/writeback/retry.js';
import type { AgentJob } from '../../src/writeback/protocol.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { setSsprPolicy } from './security-info-helpers.js';
import { adminRegistrationToken, registerAgent, succeeded, syncedUser, type ScriptedAgent } from './writeback-helpers.js';

const OLD = 'Marble-Heron-Canyon-41!';
const NEW = 'Tangerine-Quokka-93!';

/**
 * Graph PATCH /users/{id} with passwordProfile for an on-premises (hashSync) user: the directory
 * takes the password through the agent, then the cloud write fails (a trigger makes the users row
 * refuse the update). Like the resetPassword action, the job carries the cloud hash and the
 * must-change flag, so the writeback sweep brings the cloud in line (OnPremisesSuccessCloudFailure).
 */
describe.each(testDialects())('PATCH passwordProfile after an on-premises success and a cloud failure on %s', (dialect) => {
  let ctx: TestContext;
  let agent: ScriptedAgent;
  let admin: string;

  beforeAll(async () => {
    ctx = await createTestContext(dialect, { env: { WRITEBACK_JOB_TIMEOUT_MS: '1500' } });
    admin = await ctx.userToken('admin@contoso.test');
    await setSsprPolicy(ctx, { enabledFor: 'all', groupId: null, methodsRequired: 1, writebackEnabled: true });
    agent = await registerAgent(ctx, await adminRegistrationToken(ctx, admin), 'dc-patch');
  });
  afterAll(async () => ctx?.close());

  const signIn = (upn: string, password: string) =>
    ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password }, headers: { origin: 'http://localhost:8080' } });
  const patch = (id: string, passwordProfile: Record<string, unknown>) =>
    ctx.app.inject({ method: 'PATCH', url: `/v1.0/users/${id}`, headers: { authorization: `Bearer ${admin}` }, payload: { passwordProfile } });
  const jobOf = (userId: string) => ctx.services.db.selectFrom('writeback_jobs').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow();

  /** The cloud side refuses to update this user's row until `heal` runs: a database failure after the directory's success. */
  async function breakCloudWritesOf(userId: string): Promise<() => Promise<void>> {
    const db = ctx.services.db;
    const id = userId.replace(/[^0-9a-f-]/g, '');
    const name = `fail_${id.replace(/-/g, '_')}`;
    if (dialect === 'sqlite') {
      await sql.raw(`CREATE TRIGGER ${name} BEFORE UPDATE ON users WHEN NEW.id = '${id}' BEGIN SELECT RAISE(ABORT, 'forced cloud failure'); END`).execute(db);
      return async () => void (await sql.raw(`DROP TRIGGER ${name}`).execute(db));
    }
    await sql.raw(`CREATE FUNCTION ${name}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'forced cloud failure'; END $$ LANGUAGE plpgsql`).execute(db);
    await sql.raw(`CREATE TRIGGER ${name} BEFORE UPDATE ON users FOR EACH ROW WHEN (NEW.id = '${id}') EXECUTE FUNCTION ${name}()`).execute(db);
    return async () => {
      await sql.raw(`DROP TRIGGER ${name} ON users`).execute(db);
      await sql.raw(`DROP FUNCTION ${name}()`).execute(db);
    };
  }

  it.each([
    { force: true, afterSweep: 403, words: 'must change it at next sign-in' },
    { force: false, afterSweep: 200, words: 'signs in with it' },
  ])('forceChangePasswordNextSignIn=$force: the sweep applies the new password and the user $words', async ({ force, afterSweep }) => {
    const user = await syncedUser(ctx, OLD, `patch${force ? 'f' : 'n'}`);
    const heal = await breakCloudWritesOf(user.id);
    let res;
    let seen;
    try {
      [res, seen] = await Promise.all([patch(user.id, { password: NEW, forceChangePasswordNextSignIn: force }), agent.serveOne(() => succeeded())]);
    } finally {
      await heal();
    }
    // the directory took the password, with the flag the admin set; the cloud write failed
    expect(seen).toMatchObject({ kind: 'resetPassword', newPassword: NEW, mustChange: force });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain(NEW);
    expect((await signIn(user.userPrincipalName, OLD)).statusCode).toBe(200);
    expect((await signIn(user.userPrincipalName, NEW)).statusCode).toBe(401);
    const job = await jobOf(user.id);
    expect(job).toMatchObject({ state: 'succeeded', cloud_applied: 0 });
    expect(job.cloud_hash).toMatch(/^\$argon2id\$/);
    expect(JSON.parse(job.cloud_options!)).toMatchObject({ mustChange: force });
    expect(JSON.stringify(job)).not.toContain(NEW);

    // a success younger than CLOUD_RETRY_AFTER_MS may still be in its request's transaction: left alone
    expect((await sweepWriteback(ctx.services)).cloudApplied).toBe(0);
    ctx.clock.advance(CLOUD_RETRY_AFTER_MS + 1_000);
    expect((await sweepWriteback(ctx.services)).cloudApplied).toBe(1);
    expect(await jobOf(user.id)).toMatchObject({ cloud_applied: 1, cloud_hash: null });

    expect((await signIn(user.userPrincipalName, NEW)).statusCode).toBe(afterSweep);
    expect((await signIn(user.userPrincipalName, OLD)).statusCode).toBe(401);
    // applied once: a later sweep has nothing left to do
    expect((await sweepWriteback(ctx.services)).cloudApplied).toBe(0);
  });

  it('the agent answers after the job timed out: the PATCH is told the directory is unreachable (SSPR_0030), then the late success reaches the cloud through the sweep', async () => {
    const user = await syncedUser(ctx, OLD, 'patchlate');
    const pending = patch(user.id, { password: NEW, forceChangePasswordNextSignIn: true });
    let job: AgentJob | null = null;
    for (let i = 0; i < 10 && !job; i++) job = await agent.poll(2);
    expect(job).not.toBeNull();
    expect(await agent.open(job!)).toMatchObject({ kind: 'resetPassword', newPassword: NEW, mustChange: true });
    const res = await pending; // the directory has not answered within the timeout
    expect(res.statusCode).toBe(503);
    expect(res.json<{ error: { innerError: { code: string } } }>().error.innerError.code).toBe('sspr.onprem_unreachable'); // SSPR_0030
    expect((await signIn(user.userPrincipalName, OLD)).statusCode).toBe(200);
    // … but it did act: the late success is recorded and is eligible at once
    expect((await agent.result(job!.id, succeeded())).statusCode).toBeLessThan(300);
    expect(await jobOf(user.id)).toMatchObject({ state: 'succeeded', late: 1, cloud_applied: 0 });
    expect((await sweepWriteback(ctx.services)).cloudApplied).toBe(1);
    expect((await signIn(user.userPrincipalName, NEW)).statusCode).toBe(403);
    expect((await signIn(user.userPrincipalName, OLD)).statusCode).toBe(401);
  });

  it('a PATCH whose cloud write succeeds marks its job applied, so the sweep never writes the password again', async () => {
    const user = await syncedUser(ctx, OLD, 'patchok');
    const [res, seen] = await Promise.all([patch(user.id, { password: NEW, forceChangePasswordNextSignIn: false }), agent.serveOne(() => succeeded())]);
    expect(res.statusCode).toBe(204);
    expect(seen).toMatchObject({ kind: 'resetPassword', mustChange: false });
    expect(await jobOf(user.id)).toMatchObject({ state: 'succeeded', cloud_applied: 1, cloud_hash: null });
    ctx.clock.advance(CLOUD_RETRY_AFTER_MS + 1_000);
    expect((await sweepWriteback(ctx.services)).cloudApplied).toBe(0);
    expect((await signIn(user.userPrincipalName, NEW)).statusCode).toBe(200);
  });
});
