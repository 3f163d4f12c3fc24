import { performance } from 'node:perf_hooks';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/services.js';
import { claimJob, insertJob } from '../../src/store/writeback-jobs.js';
import { claimNextJob, recordJobResult } from '../../src/writeback/claims.js';
import { waitingCount } from '../../src/writeback/handoff.js';
import type { SealedJobPayload } from '../../src/writeback/protocol.js';
import { runJob } from '../../src/writeback/queue.js';
import { sealPayload } from '../../src/writeback/seal.js';
import { listenerCount, POLL_MS, signalJob } from '../../src/writeback/signals.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { newAgentKeys, registerAgent, succeeded, syncedUser, type ScriptedAgent } from '../http/writeback-helpers.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';

/**
 * The in-process wake-ups of the writeback queue (src/writeback/signals.ts) against a real database:
 * a signal raised while a waiter is reading the table (after its query, before it starts waiting) must
 * end the wait at once. The race is made exact with a Kysely plugin on the waiter's connection: when
 * the waiter's read of writeback_jobs comes back, the other side's write and signal happen before the
 * (now stale) answer is handed to the waiter. The other side is a second Postern on the same database
 * (its own connection: Kysely still holds the waiter's SQLite connection while the plugin runs). A lost wake-up costs a whole poll: 1 000 ms for an
 * agent's long poll, POLL_MS (200) for the cloud waiting on a result.
 */

type Hook = (rows: UnknownRow[]) => Promise<void>;

/**
 * Runs `hook` once, on the first read of writeback_jobs whose rows `when` accepts, before the reader
 * sees them. The queue's own statements are compiled once (src/store/precompiled.ts) and so never pass
 * a plugin's transformQuery; their reads are known by their rows: a job row, or no row at all (the
 * other reads on these paths — the agent's key ids, the healthy agents' keys, the user — are never empty).
 */
function onJobsRead(when: (rows: UnknownRow[]) => boolean, hook: Hook): KyselyPlugin & { fired: () => number; reads: () => number } {
  const jobReads = new Set<unknown>();
  let fired = 0;
  let reads = 0;
  const looksLikeJobs = (r: QueryResult<UnknownRow>): boolean => {
    const [first] = r.rows;
    return r.numAffectedRows === undefined && (first === undefined || ('sealed' in first && 'cloud_applied' in first));
  };
  return {
    transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
      if (args.node.kind === 'SelectQueryNode' && JSON.stringify(args.node.from ?? {}).includes('"writeback_jobs"')) jobReads.add(args.queryId);
      return args.node;
    },
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      if (!jobReads.has(args.queryId) && !looksLikeJobs(args.result)) return args.result;
      reads += 1;
      if (fired === 0 && when(args.result.rows)) {
        fired += 1;
        await hook(args.result.rows);
      }
      return args.result;
    },
    fired: () => fired,
    reads: () => reads,
  };
}

describe.each(testDialects())('writeback wake-ups on %s', (dialect) => {
  let ctx: TestContext;
  let services: Services;
  /** the other node: inserts, claims and records on its own connection */
  let other: Services;
  let agent: ScriptedAgent;
  let tenantId: string;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    services = ctx.services;
    other = createServices(services.config, { clock: ctx.clock });
    tenantId = ctx.tenant.tenant.id;
    agent = await registerAgent(ctx, (await createAgentRegistrationToken(services, tenantId)).token, 'dc-wake');
  });
  afterAll(async () => {
    await other?.close();
    await ctx?.close();
  });

  /** a pending job sealed to the scripted agent, inserted as runJob would */
  async function insertSealedJob(userId: string): Promise<string> {
    const id = services.random.uuid();
    const now = new Date();
    const expiresAt = new Date(now.getTime() + 30_000).toISOString();
    const payload: SealedJobPayload = { jobId: id, tenantId, kind: 'unlock', user: { anchor: null, name: 'someone@contoso.test' }, expiresAt };
    const { publicJwk } = await newAgentKeys(); // a second recipient the agent cannot open, as with two agents
    const sealed = await sealPayload(payload, [
      { kid: agent.keyId, publicJwk: (await agentPublicJwk()) as Record<string, unknown> },
      { kid: 'someone-else', publicJwk },
    ]);
    await insertJob(other.db, { id, tenantId, userId, kind: 'unlock', sealed: JSON.stringify(sealed), createdAt: now.toISOString(), expiresAt, correlationId: null, cloudHash: null, cloudOptions: null });
    return id;
  }
  async function agentPublicJwk(): Promise<unknown> {
    const row = await other.db.selectFrom('writeback_agent_keys').select('public_jwk').where('kid', '=', agent.keyId).executeTakeFirstOrThrow();
    return JSON.parse(row.public_jwk);
  }

  it("an agent's long poll wakes for a job signalled between its query and its wait (not a poll later)", async () => {
    const user = await syncedUser(ctx, 'Unused-Password-1!');
    let jobId = '';
    let signalledAt = 0;
    // the agent's query found nothing; before its answer arrives, a job is inserted and signalled
    const plugin = onJobsRead(
      (rows) => rows.length === 0,
      async () => {
        jobId = await insertSealedJob(user.id);
        signalJob(tenantId);
        signalledAt = performance.now();
      },
    );
    const job = await claimNextJob({ ...services, db: services.db.withPlugin(plugin) }, { agentId: agent.agentId, tenantId }, 10);
    const waited = performance.now() - signalledAt;
    expect(plugin.fired()).toBe(1);
    expect(job?.id).toBe(jobId);
    // a missed signal waits out POLL_MS * 5 = 1 000 ms before the next query finds the job
    expect(waited).toBeLessThan(POLL_MS * 2.5);
    expect(listenerCount(`job:${tenantId}`)).toBe(0);
    await recordJobResult(services, { agentId: agent.agentId, tenantId }, jobId, succeeded());
  });

  // (the cloud's first wait needs no read: the job was just inserted; this is a later read, after a poll)
  it('the cloud wakes for a result recorded between its read of the job and its wait', async () => {
    const user = await syncedUser(ctx, 'Unused-Password-2!');
    let recordedAt = 0;
    // the cloud read the job still pending; before it sees that answer, the agent claims it and reports success
    const plugin = onJobsRead(
      (rows) => rows.length === 1 && rows[0]!['state'] === 'pending',
      async (rows) => {
        const id = String(rows[0]!['id']);
        expect(await claimJob(other.db, id, agent.agentId, services.clock.now().toISOString())).toBe(true);
        expect(await recordJobResult(other, { agentId: agent.agentId, tenantId }, id, succeeded())).toBe('recorded');
        recordedAt = performance.now();
      },
    );
    const done = await runJob({ ...services, db: services.db.withPlugin(plugin) }, { tenantId, userId: user.id, kind: 'unlock', timeoutMs: 10_000 });
    const waited = performance.now() - recordedAt;
    expect(plugin.fired()).toBe(1);
    expect(done.agentName).toBe('dc-wake');
    // a missed signal waits out POLL_MS (200 ms) before the next read sees the result
    expect(waited).toBeLessThan(POLL_MS * 0.75);
    expect(listenerCount(`done:${done.jobId}`)).toBe(0);
  });

  it('a long poll with no job still ends at its deadline and leaves no listener behind', async () => {
    const t0 = performance.now();
    const job = await claimNextJob(services, { agentId: agent.agentId, tenantId }, 1);
    expect(job).toBeNull();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    expect(listenerCount(`job:${tenantId}`)).toBe(0);
    expect(waitingCount(tenantId)).toBe(0); // nor a waiter a job could be handed to
  });
});
