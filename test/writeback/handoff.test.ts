import { performance } from 'node:perf_hooks';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/services.js';
import { findJob } from '../../src/store/writeback-jobs.js';
import { claimNextJob } from '../../src/writeback/claims.js';
import { waitingCount } from '../../src/writeback/handoff.js';
import { runJob } from '../../src/writeback/queue.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { refused, registerAgent, succeeded, syncedUser, type ScriptedAgent } from '../http/writeback-helpers.js';

/**
 * A job queued while an agent's long poll waits in this process goes straight to that poll
 * (src/writeback/handoff.ts): inserted already claimed by the agent, so no other agent can claim it,
 * and exactly one waiting poll gets it. The polls here go through the agent route (app.inject).
 */

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!what()) {
    if (performance.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Runs `hook` once, when the first write's result (the job's insert, in runJob) comes back, before runJob sees it. */
function onFirstWrite(hook: () => void | Promise<void>): KyselyPlugin {
  let fired = false;
  return {
    transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => args.node,
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      if (!fired && args.result.numAffectedRows !== undefined) {
        fired = true;
        await hook();
      }
      return args.result;
    },
  };
}

describe.each(testDialects())('writeback hand-off to a waiting poll on %s', (dialect) => {
  let ctx: TestContext;
  let services: Services;
  /** reads on a connection of its own (the test's hook runs while Kysely holds the SQLite one) */
  let other: Services;
  let tenantId: string;
  let a: ScriptedAgent;
  let b: ScriptedAgent;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    services = ctx.services;
    other = createServices(services.config, { clock: ctx.clock });
    tenantId = ctx.tenant.tenant.id;
    a = await registerAgent(ctx, (await createAgentRegistrationToken(services, tenantId)).token, 'dc-a');
    b = await registerAgent(ctx, (await createAgentRegistrationToken(services, tenantId)).token, 'dc-b');
  });
  afterAll(async () => {
    await other?.close();
    await ctx?.close();
  });

  it('a waiting poll gets the job at once, inserted claimed by its agent; of two waiting agents exactly one gets it', async () => {
    const user = await syncedUser(ctx, 'Unused-Password-1!');
    const pollA = a.poll(3);
    const pollB = b.poll(3);
    await until(() => waitingCount(tenantId) === 2);
    const t0 = performance.now();
    // what the row looks like the moment its insert is committed, before anyone is handed anything
    let asInserted: { state: string; agent_id: string | null } | undefined;
    const seeInsert = onFirstWrite(async () => {
      asInserted = await other.db.selectFrom('writeback_jobs').select(['state', 'agent_id']).where('user_id', '=', user.id).executeTakeFirst();
    });
    const run = runJob({ ...services, db: services.db.withPlugin(seeInsert) }, { tenantId, userId: user.id, kind: 'unlock', timeoutMs: 10_000 });
    const first = await Promise.race([pollA.then((job) => ({ job, agent: a, other: pollB })), pollB.then((job) => ({ job, agent: b, other: pollA }))]);
    const handedMs = performance.now() - t0;
    expect(first.job).not.toBeNull();
    const job = first.job!;
    // the job was inserted already claimed by the agent that received it: never pending for another to take
    expect(asInserted).toEqual({ state: 'claimed', agent_id: first.agent.agentId });
    const row = await findJob(services.db, job.id);
    expect(row).toMatchObject({ state: 'claimed', agentId: first.agent.agentId });
    expect(row!.claimedAt).not.toBeNull();
    expect(handedMs).toBeLessThan(1000); // not a poll interval later
    // only its recipient's key opens it, bound to this job
    expect((await first.agent.open(job)).jobId).toBe(job.id);
    expect(waitingCount(tenantId)).toBe(1); // the other poll still waits
    expect((await first.agent.result(job.id, succeeded())).statusCode).toBe(204);
    const done = await run;
    expect(done).toMatchObject({ jobId: job.id, agentName: first.agent.name });
    // the other agent's poll ends at its deadline with nothing
    expect(await first.other).toBeNull();
    expect(waitingCount(tenantId)).toBe(0);
    expect(await findJob(services.db, job.id)).toMatchObject({ state: 'succeeded', sealed: null });
  });

  it("a refusal reaches the waiting request in the agent's words, and the agent cannot report a job it was not handed", async () => {
    const user = await syncedUser(ctx, 'Unused-Password-2!');
    const poll = a.poll(3);
    await until(() => waitingCount(tenantId) === 1);
    const run = runJob(services, { tenantId, userId: user.id, kind: 'unlock', timeoutMs: 10_000 }).catch((err: unknown) => err);
    const job = (await poll)!;
    expect(job).not.toBeNull();
    expect((await b.result(job.id, succeeded())).statusCode).toBe(404);
    expect((await a.result(job.id, refused('accountDisabled'))).statusCode).toBe(204);
    expect(await run).toMatchObject({ code: 'writeback.refused', data: { reason: 'accountDisabled' } });
    // the same result again is a repeat; a different one a conflict
    expect((await a.result(job.id, refused('accountDisabled'))).statusCode).toBe(204);
    expect((await a.result(job.id, succeeded())).statusCode).toBe(409);
  });

  it('a poll of an agent the job is not sealed to is not handed it (unhealthy agent)', async () => {
    const user = await syncedUser(ctx, 'Unused-Password-3!');
    expect((await b.heartbeat(false)).statusCode).toBe(200); // b's directory unreachable: jobs are sealed to a only
    try {
      const poll = b.poll(1);
      await until(() => waitingCount(tenantId) === 1);
      const run = runJob(services, { tenantId, userId: user.id, kind: 'unlock', timeoutMs: 10_000 });
      // b's poll ends empty-handed; the job waits, pending, for a
      expect(await poll).toBeNull();
      const job = (await a.poll(1))!;
      expect(job).not.toBeNull();
      expect((await a.result(job.id, succeeded())).statusCode).toBe(204);
      expect((await run).agentName).toBe('dc-a');
    } finally {
      expect((await b.heartbeat(true)).statusCode).toBe(200);
    }
  });

  it('an agent that hung up while its job was being inserted gives it back: pending, claimed by the next poll', async () => {
    const user = await syncedUser(ctx, 'Unused-Password-4!');
    const gone = new AbortController();
    const poll = claimNextJob(services, { agentId: a.agentId, tenantId }, 5, gone.signal);
    await until(() => waitingCount(tenantId) === 1);
    // the waiting poll is reserved for the job; it hangs up before the insert is back
    let asInserted: { state: string; agent_id: string | null } | undefined;
    const hangUp = onFirstWrite(async () => {
      asInserted = await other.db.selectFrom('writeback_jobs').select(['state', 'agent_id']).where('user_id', '=', user.id).executeTakeFirst();
      gone.abort();
    });
    const run = runJob({ ...services, db: services.db.withPlugin(hangUp) }, { tenantId, userId: user.id, kind: 'unlock', timeoutMs: 10_000 });
    expect(await poll).toBeNull();
    expect(asInserted).toEqual({ state: 'claimed', agent_id: a.agentId });
    expect(waitingCount(tenantId)).toBe(0);
    // the job went back to the queue and another poll (here b) claims it the ordinary way
    const job = (await b.poll(2))!;
    expect(job).not.toBeNull();
    expect(await findJob(services.db, job.id)).toMatchObject({ state: 'claimed', agentId: b.agentId });
    expect((await b.result(job.id, succeeded())).statusCode).toBe(204);
    expect((await run).agentName).toBe('dc-b');
  });

  it('with no poll waiting here the job is inserted pending, for an agent polling any node', async () => {
    const user = await syncedUser(ctx, 'Unused-Password-5!');
    expect(waitingCount(tenantId)).toBe(0);
    const run = runJob(services, { tenantId, userId: user.id, kind: 'unlock', timeoutMs: 10_000 });
    const rows = () => services.db.selectFrom('writeback_jobs').select(['id', 'state', 'agent_id']).where('user_id', '=', user.id).execute();
    let pending = await rows();
    for (let i = 0; pending.length === 0 && i < 500; i++) {
      await new Promise((r) => setTimeout(r, 5));
      pending = await rows();
    }
    expect(pending).toEqual([{ id: expect.any(String), state: 'pending', agent_id: null }]);
    const job = (await a.poll(2))!;
    expect(job.id).toBe(pending[0]!.id);
    expect((await a.result(job.id, succeeded())).statusCode).toBe(204);
    expect((await run).agentName).toBe('dc-a');
  });
});
