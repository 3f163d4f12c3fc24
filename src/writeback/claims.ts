import type { GeneralJWE } from 'jose';
import type { DomainDeps } from '../domain/deps.js';
import { AppError } from '../errors.js';
import { countAgentOutcome, listAgentKids } from '../store/writeback-agents.js';
import { claimJob, releaseJob, finishClaimedJob, finishExpiredJobLate, findJob, listPendingJobs, type JobOutcome } from '../store/writeback-jobs.js';
import { AGENT_LONG_POLL_MAX_SECONDS, type AgentJob, type JobKind, type JobResult } from './protocol.js';
import { recipientJwe } from './seal.js';
import { listen, POLL_MS, signalDone } from './signals.js';

/** The agent's side of the queue: the long poll that claims a job, and the result that finishes it. */

/**
 * Waits up to `waitSeconds` (≤ AGENT_LONG_POLL_MAX_SECONDS) for a pending job sealed to one of this
 * agent's keys and claims it with a conditional UPDATE, so of several agents polling exactly one takes
 * each job. The answer carries only this agent's recipient of the JWE.
 */
export async function claimNextJob(deps: DomainDeps, agent: { agentId: string; tenantId: string }, waitSeconds: number, signal?: AbortSignal): Promise<AgentJob | null> {
  const deadline = performance.now() + Math.min(Math.max(waitSeconds, 0), AGENT_LONG_POLL_MAX_SECONDS) * 1000;
  for (;;) {
    // listening before the query: a job inserted while it runs wakes this wait instead of a poll later
    const wake = listen(`job:${agent.tenantId}`);
    try {
      const job = await claimOnce(deps, agent, signal);
      if (job !== undefined) return job;
      const left = deadline - performance.now();
      if (left <= 0 || signal?.aborted) return null;
      await wake.wait(Math.min(POLL_MS * 5, left));
    } finally {
      wake.cancel();
    }
  }
}

/** One look at the pending jobs: the claimed job, null when the agent hung up, undefined when none is here for it. */
async function claimOnce(deps: DomainDeps, agent: { agentId: string; tenantId: string }, signal?: AbortSignal): Promise<AgentJob | null | undefined> {
  const kids = new Set(await listAgentKids(deps.db, agent.agentId));
  const now = deps.clock.now().toISOString();
  for (const job of await listPendingJobs(deps.db, agent.tenantId, now)) {
    if (!job.sealed) continue;
    const flat = recipientJwe(JSON.parse(job.sealed) as GeneralJWE, kids);
    if (!flat) continue; // sealed before this agent (or its current key) existed: another agent's job
    // the agent hung up (killed, network gone): claiming now would hand the job to nobody until it expires
    if (signal?.aborted) return null;
    if (await claimJob(deps.db, job.id, agent.agentId, now)) {
      // it hung up while we claimed: give the job back for a live agent rather than let it lapse
      if (signal?.aborted) {
        await releaseJob(deps.db, job.id, agent.agentId);
        return null;
      }
      return { id: job.id, kind: job.kind as JobKind, sealed: flat, expiresAt: job.expiresAt };
    }
  }
  return undefined;
}

const sameResult = (job: { state: string; reason: string | null }, r: JobResult) => job.state === r.outcome && (job.reason ?? null) === (r.reason ?? null);

/**
 * Records an agent's result once. A repeat of the same result is accepted (the agent may resend after
 * a lost answer); a different one is a conflict. A result after the job expired is still recorded
 * (the directory did act): a late success is then completed in the cloud by the retry sweep.
 * Returns what happened, for the route's status.
 */
export async function recordJobResult(deps: DomainDeps, agent: { agentId: string; tenantId: string }, jobId: string, r: JobResult): Promise<'recorded' | 'repeat' | 'late'> {
  const job = await findJob(deps.db, jobId);
  if (!job || job.tenantId !== agent.tenantId || job.agentId !== agent.agentId) throw new AppError('agent.job_not_found');
  const outcome: JobOutcome = { state: r.outcome, reason: r.outcome === 'refused' ? (r.reason ?? 'other') : null, detail: r.detail ?? null, durationMs: r.durationMs, finishedAt: deps.clock.now().toISOString() };
  const compare = { outcome: r.outcome, reason: outcome.reason ?? undefined } as JobResult;
  if (job.state === 'succeeded' || job.state === 'refused') {
    if (sameResult(job, compare)) return 'repeat';
    throw new AppError('agent.result_conflict', { data: { recorded: job.state } });
  }
  // the outcome and the agent's counter in one commit: one durable write fewer on the path the user waits on
  const finish = (write: typeof finishClaimedJob): Promise<boolean> =>
    deps.db.transaction().execute(async (trx) => {
      if (!(await write(trx, jobId, agent.agentId, outcome))) return false;
      await countAgentOutcome(trx, agent.agentId, r.outcome);
      return true;
    });
  if (job.state === 'claimed' && (await finish(finishClaimedJob))) {
    signalDone(jobId);
    return 'recorded';
  }
  if (await finish(finishExpiredJobLate)) return 'late';
  // lost a race with another write of this job: judge against what is there now
  const now = await findJob(deps.db, jobId);
  if (now && (now.state === 'succeeded' || now.state === 'refused') && sameResult(now, compare)) return 'repeat';
  throw new AppError('agent.result_conflict', { data: { recorded: now?.state ?? 'unknown' } });
}
