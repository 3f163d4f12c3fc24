import type { GeneralJWE } from 'jose';
import type { DomainDeps } from '../domain/deps.js';
import { AppError } from '../errors.js';
import { countAgentOutcome, listAgentKids } from '../store/writeback-agents.js';
import { claimJob, releaseJob, finishClaimedJob, finishExpiredJobLate, findJob, listPendingJobs, type JobOutcome } from '../store/writeback-jobs.js';
import { AGENT_LONG_POLL_MAX_SECONDS, type AgentJob, type JobKind, type JobResult } from './protocol.js';
import { recipientJwe } from './seal.js';
import { registerWaiter } from './handoff.js';
import { listen, listenerCount, POLL_MS, signalDone, signalJob } from './signals.js';
import type { NodeSignals } from './node-signals.js';

/** The deps of the agent's side: the domain's, and the wake-ups to and from other nodes. */
type ClaimDeps = DomainDeps & { readonly nodeSignals?: NodeSignals | undefined };

/** The agent's side of the queue: the long poll that claims a job, and the result that finishes it. */

/**
 * Waits up to `waitSeconds` (≤ AGENT_LONG_POLL_MAX_SECONDS) for a pending job sealed to one of this
 * agent's keys and claims it with a conditional UPDATE, so of several agents polling exactly one takes
 * each job. While it waits, a job queued in this process may be handed to it directly, inserted already
 * claimed by this agent (src/writeback/handoff.ts). The answer carries only this agent's recipient of
 * the JWE.
 */
export async function claimNextJob(deps: ClaimDeps, agent: { agentId: string; tenantId: string }, waitSeconds: number, signal?: AbortSignal): Promise<AgentJob | null> {
  const deadline = performance.now() + Math.min(Math.max(waitSeconds, 0), AGENT_LONG_POLL_MAX_SECONDS) * 1000;
  // jobs queued on other nodes wake this wait as those queued here do
  deps.nodeSignals?.attend();
  for (;;) {
    // listening before the query: a job inserted while it runs wakes this wait instead of a poll later
    const wake = listen(`job:${agent.tenantId}`);
    try {
      const look = await claimOnce(deps, agent, signal);
      if (!('kids' in look)) return look.job;
      const left = deadline - performance.now();
      if (left <= 0 || signal?.aborted) return null;
      const waiter = registerWaiter(agent.tenantId, { agentId: agent.agentId, kids: look.kids, signal });
      const woken = await Promise.race([waiter.handed, wake.wait(Math.min(POLL_MS * 5, left)).then((): typeof NOT_HANDED => NOT_HANDED)]);
      // reserved by a job while the wait ended: its insert is in flight, and the job is ours to take
      const handed = woken === NOT_HANDED ? (waiter.leave() ? NOT_HANDED : await waiter.handed) : woken;
      if (handed === NOT_HANDED || handed === null) continue;
      if (!signal?.aborted) return handed;
      // it hung up while the job was being inserted for it: give the job back for a live agent
      await releaseJob(deps.db, handed.id, agent.agentId);
      signalJob(agent.tenantId);
      deps.nodeSignals?.publish(`job:${agent.tenantId}`);
      return null;
    } finally {
      wake.cancel();
    }
  }
}

const NOT_HANDED = Symbol('not handed');

/** One look at the pending jobs: the claimed job (null when the agent hung up), or the kids it looked with when none is here for it. */
async function claimOnce(deps: DomainDeps, agent: { agentId: string; tenantId: string }, signal?: AbortSignal): Promise<{ job: AgentJob | null } | { kids: ReadonlySet<string> }> {
  const kids = new Set(await listAgentKids(deps.db, agent.agentId));
  const now = deps.clock.now().toISOString();
  for (const job of await listPendingJobs(deps.db, agent.tenantId, now)) {
    if (!job.sealed) continue;
    const flat = recipientJwe(JSON.parse(job.sealed) as GeneralJWE, kids);
    if (!flat) continue; // sealed before this agent (or its current key) existed: another agent's job
    // the agent hung up (killed, network gone): claiming now would hand the job to nobody until it expires
    if (signal?.aborted) return { job: null };
    if (await claimJob(deps.db, job.id, agent.agentId, now)) {
      // it hung up while we claimed: give the job back for a live agent rather than let it lapse
      if (signal?.aborted) {
        await releaseJob(deps.db, job.id, agent.agentId);
        return { job: null };
      }
      return { job: { id: job.id, kind: job.kind as JobKind, sealed: flat, expiresAt: job.expiresAt } };
    }
  }
  return { kids };
}

const sameResult = (job: { state: string; reason: string | null }, r: JobResult) => job.state === r.outcome && (job.reason ?? null) === (r.reason ?? null);

/**
 * Records an agent's result once. A repeat of the same result is accepted (the agent may resend after
 * a lost answer); a different one is a conflict. A result after the job expired is still recorded
 * (the directory did act): a late success is then completed in the cloud by the retry sweep.
 * Returns what happened, for the route's status.
 */
export async function recordJobResult(deps: ClaimDeps, agent: { agentId: string; tenantId: string }, jobId: string, r: JobResult): Promise<'recorded' | 'repeat' | 'late'> {
  const outcome: JobOutcome = { state: r.outcome, reason: r.outcome === 'refused' ? (r.reason ?? 'other') : null, detail: r.detail ?? null, durationMs: r.durationMs, finishedAt: deps.clock.now().toISOString() };
  const compare = { outcome: r.outcome, reason: outcome.reason ?? undefined } as JobResult;
  // the outcome and the agent's counter in one commit: one durable write fewer on the path the user waits on
  const finish = (write: typeof finishClaimedJob): Promise<boolean> =>
    deps.db.transaction().execute(async (trx) => {
      if (!(await write(trx, jobId, agent.agentId, outcome))) return false;
      await countAgentOutcome(trx, agent.agentId, r.outcome);
      return true;
    });
  const recorded = (): 'recorded' => {
    // after the commit: a waiter in this process takes this as the job's result without reading it back
    signalDone(jobId, { state: outcome.state, reason: outcome.reason, agentId: agent.agentId, durationMs: outcome.durationMs });
    // nobody waits for it here: the request that queued it waits on another node
    if (listenerCount(`done:${jobId}`) === 0) deps.nodeSignals?.publish(`done:${jobId}`);
    return 'recorded';
  };
  // The usual case first, without reading the job: a job claimed by this agent (so of its tenant: an
  // agent only ever claims its own tenant's jobs) that is still running. Anything else is judged below.
  if (await finish(finishClaimedJob)) return recorded();
  const job = await findJob(deps.db, jobId);
  if (!job || job.tenantId !== agent.tenantId || job.agentId !== agent.agentId) throw new AppError('agent.job_not_found');
  if (job.state === 'succeeded' || job.state === 'refused') {
    if (sameResult(job, compare)) return 'repeat';
    throw new AppError('agent.result_conflict', { data: { recorded: job.state } });
  }
  if (job.state === 'claimed' && (await finish(finishClaimedJob))) return recorded();
  if (await finish(finishExpiredJobLate)) return 'late';
  // lost a race with another write of this job: judge against what is there now
  const now = await findJob(deps.db, jobId);
  if (now && (now.state === 'succeeded' || now.state === 'refused') && sameResult(now, compare)) return 'repeat';
  throw new AppError('agent.result_conflict', { data: { recorded: now?.state ?? 'unknown' } });
}
