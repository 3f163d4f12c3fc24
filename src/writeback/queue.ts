import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/crypto.js';
import type { Db } from '../store/database.js';
import { findUserById } from '../store/users.js';
import { listHealthyAgentKeys } from '../store/writeback-agents.js';
import { expireJob, findJob, insertJob } from '../store/writeback-jobs.js';
import { AGENT_HEARTBEAT_SECONDS, DEFAULT_JOB_TIMEOUT_MS, type JobKind, type JobOrigin, type SealedJobPayload } from './protocol.js';
import { refusalError, unreachableError } from './refusals.js';
import { sealPayload } from './seal.js';
import { reserveWaiter } from './handoff.js';
import { listen, POLL_MS, signalJob, type DoneOutcome } from './signals.js';
import type { NodeSignals } from './node-signals.js';

export interface QueueDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly random: Random;
  /** wake-ups to and from the other nodes on one PostgreSQL database (unset: one node) */
  readonly nodeSignals?: NodeSignals | undefined;
}

/** An agent is healthy when heard from within three heartbeats, enabled, and its directory reachable. */
export const HEALTHY_WITHIN_MS = 3 * AGENT_HEARTBEAT_SECONDS * 1000;

export interface JobSecrets {
  newPassword?: string;
  oldPassword?: string;
  password?: string;
}

export interface RunJobInput {
  tenantId: string;
  userId: string;
  kind: JobKind;
  /** who asked (the agent's log names it); unset for pass-through sign-in */
  origin?: JobOrigin;
  secrets?: JobSecrets;
  options?: { mustChange?: boolean; unlock?: boolean };
  /** argon2 hash of the new password, kept for the cloud side after an on-premises success */
  cloudHash?: string | null;
  correlationId?: string | null;
  timeoutMs?: number;
}

export interface JobDone {
  jobId: string;
  agentName: string;
  durationMs: number;
}

/**
 * Runs one operation through the tenant's writeback agents, synchronously: the job is sealed to every
 * healthy agent's key, inserted, and waited for. No healthy agent → SSPR_0030 at once; no answer within
 * the timeout → the job expires (its sealed payload dropped) and SSPR_0030, nothing changed in the cloud;
 * a refusal → writeback.refused naming the reason in the user's words.
 */
export async function runJob(deps: QueueDeps, input: RunJobInput): Promise<JobDone> {
  const timeoutMs = input.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
  const now = deps.clock.now();
  const keys = await listHealthyAgentKeys(deps.db, input.tenantId, new Date(now.getTime() - HEALTHY_WITHIN_MS).toISOString());
  if (keys.length === 0) throw unreachableError();
  const user = await findUserById(deps.db, input.tenantId, input.userId);
  if (!user) throw unreachableError();

  const jobId = deps.random.uuid();
  const expiresAt = new Date(now.getTime() + timeoutMs).toISOString();
  const payload: SealedJobPayload = {
    jobId,
    tenantId: input.tenantId,
    kind: input.kind,
    user: { anchor: user.onPremisesImmutableId, name: user.userPrincipalName },
    ...input.secrets,
    ...input.options,
    ...(input.origin ? { origin: input.origin } : {}),
    expiresAt,
  };
  const sealed = await sealPayload(payload, keys);
  // An agent's long poll waiting in this process takes the job straight away: inserted already claimed
  // by it (one durable commit, the claim exclusive from the start), then handed over without a read.
  const taker = reserveWaiter(input.tenantId, sealed);
  try {
    await insertJob(deps.db, {
      id: jobId,
      tenantId: input.tenantId,
      userId: input.userId,
      kind: input.kind,
      sealed: JSON.stringify(sealed),
      createdAt: now.toISOString(),
      expiresAt,
      correlationId: input.correlationId ?? null,
      cloudHash: input.cloudHash ?? null,
      cloudOptions: input.options ? JSON.stringify(input.options) : null,
      ...(taker ? { claimedBy: { agentId: taker.agentId, at: deps.clock.now().toISOString() } } : {}),
    });
  } catch (err) {
    taker?.cancel();
    throw err;
  }
  if (taker) taker.hand({ id: jobId, kind: input.kind, expiresAt });
  else {
    signalJob(input.tenantId);
    // no agent waits here: one long-polling another node takes it as soon as that node hears
    deps.nodeSignals?.publish(`job:${input.tenantId}`);
  }
  // and the result may be recorded on another node: hear it from there
  deps.nodeSignals?.attend();

  // Waiting is measured on the monotonic clock: a pinned test clock must not stop it.
  const deadline = performance.now() + timeoutMs;
  let signalled: DoneOutcome | undefined;
  // nothing to read before the first wait: the job was inserted a moment ago and no agent has it yet
  let justQueued = true;
  for (;;) {
    // listening before the read: a result recorded while it runs ends the wait at once (not a poll later)
    const wake = listen(`done:${jobId}`);
    try {
      // the result signalled in this process after its commit is the recorded one: no need to read it back
      const job = signalled ?? (justQueued ? undefined : await findJob(deps.db, jobId));
      justQueued = false;
      if (job?.state === 'succeeded' || job?.state === 'refused') {
        if (job.state === 'refused') throw refusalError(job.reason);
        const agent = keys.find((k) => k.agentId === job.agentId);
        return { jobId, agentName: agent?.agentName ?? 'Postern writeback agent', durationMs: job.durationMs ?? 0 };
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        // Only the expiry that wins leaves nothing behind; a result that slipped in first is used.
        if (await expireJob(deps.db, jobId, deps.clock.now().toISOString())) throw unreachableError();
        continue;
      }
      await wake.wait(Math.min(POLL_MS, left));
      signalled = wake.outcome;
    } finally {
      wake.cancel();
    }
  }
}
