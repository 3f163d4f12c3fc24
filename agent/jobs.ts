import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { FlattenedJWE, GeneralJWE } from 'jose';
import { openJwe } from '../src/writeback/jwe.js';
import { DEFAULT_JOB_TIMEOUT_MS, JOB_ORIGINS, type AgentJob, type JobKind, type JobOrigin, type JobResult, type SealedJobPayload } from '../src/writeback/protocol.js';
import { refusalEvent, type AgentLog, type EventName } from './events.js';
import type { StateKey } from './state.js';
import { DirectoryRefusal, type DirectoryTarget, type RefusalReason } from './target.js';

/**
 * One job, start to end: open the JWE with the key it names, check it belongs to this job and is not
 * expired, apply it to the directory once, and say what happened. A job id seen before gets the
 * result recorded the first time (the same promise while it is still running), never a second write:
 * Postern may hand a job out again when a result was lost on the way back.
 */

const EVENTS_OF: Record<JobKind, [EventName, EventName, EventName]> = {
  resetPassword: ['PasswordResetStart', 'PasswordResetSuccess', 'PasswordResetFail'],
  changePassword: ['ChangePasswordStart', 'ChangePasswordSuccess', 'ChangePasswordFail'],
  unlock: ['UnlockStart', 'UnlockSuccess', 'UnlockFail'],
  verifyPassword: ['PassThroughAuthSuccess', 'PassThroughAuthSuccess', 'PassThroughAuthFail'],
};

/** An admin reset logs as Azure's ResetUserPasswordByAdmin* (31009–31011), a self-service one as PasswordReset*. */
const ADMIN_RESET_EVENTS: [EventName, EventName, EventName] = ['ResetUserPasswordByAdminStart', 'ResetUserPasswordByAdminSuccess', 'ResetUserPasswordByAdminFail'];

/** The payload's origin for the log; a payload sealed before origins existed (or naming another) is 'unknown'. */
function originOf(p: SealedJobPayload): JobOrigin | 'unknown' {
  return (JOB_ORIGINS as readonly unknown[]).includes(p.origin) ? (p.origin as JobOrigin) : 'unknown';
}

export interface JobHandlerDeps {
  target: DirectoryTarget;
  log: AgentLog;
  /** the tenant this agent registered with: a job for another is refused (defence in depth) */
  tenantId: string;
  /** the private keys the agent holds now (current, and previous until it is dropped) */
  keys: () => StateKey[];
  now?: () => Date;
  /** how many recent results are remembered for replays (default 2000) */
  remember?: number;
}

export class JobHandler {
  /**
   * Private keys imported once, by the JWK object the state holds (a rotation brings a new object; a
   * dropped key's entry goes with it).
   */
  private readonly imported = new WeakMap<StateKey['jwk'], KeyObject>();
  private readonly recent = new Map<string, Promise<JobResult>>();
  private readonly now: () => Date;
  private readonly remember: number;
  applied = 0;
  refused = 0;

  constructor(private readonly deps: JobHandlerDeps) {
    this.now = deps.now ?? (() => new Date());
    this.remember = deps.remember ?? 2000;
  }

  handle(job: AgentJob): Promise<JobResult> {
    const seen = this.recent.get(job.id);
    if (seen) {
      this.deps.log.event('JobReplayed', 'job seen before: sending the recorded result again', { jobId: job.id, kind: job.kind });
      return seen;
    }
    const result = this.run(job);
    this.recent.set(job.id, result);
    // a Map iterates in insertion order: the oldest entry goes first
    while (this.recent.size > this.remember) this.recent.delete(this.recent.keys().next().value as string);
    return result;
  }

  private async run(job: AgentJob): Promise<JobResult> {
    const started = Date.now();
    const done = (r: Omit<JobResult, 'durationMs'>): JobResult => {
      if (r.outcome === 'succeeded') this.applied += 1;
      else this.refused += 1;
      return { ...r, durationMs: Math.min(600_000, Date.now() - started) };
    };
    let payload: SealedJobPayload;
    try {
      payload = this.open(job);
    } catch (err) {
      this.deps.log.event('DecryptionError', 'the job could not be opened with any key the agent holds', { jobId: job.id, error: (err as Error).message });
      return done({ outcome: 'refused', reason: 'other', detail: 'the agent could not decrypt the job (key mismatch)' });
    }
    const problem = this.validate(job, payload);
    if (problem === 'expired') {
      this.deps.log.event('JobExpired', 'job expired before it could be applied; dropped', { jobId: job.id, kind: job.kind, expiresAt: payload.expiresAt });
      // nothing was written: to the user this is the agent not answering in time (SSPR_0030), not a
      // directory refusal; a clock skew between Postern and the agent shows up here, hence the hint
      return done({ outcome: 'refused', reason: 'unreachable', detail: "the job expired before the agent could apply it (check the agent machine's clock)" });
    }
    if (problem) {
      this.deps.log.event('InputValidationError', `job refused: ${problem}`, { jobId: job.id, kind: job.kind });
      return done({ outcome: 'refused', reason: 'other', detail: `invalid job: ${problem}` });
    }
    const origin = originOf(payload);
    const [start, success, fail] = payload.kind === 'resetPassword' && origin === 'admin' ? ADMIN_RESET_EVENTS : EVENTS_OF[payload.kind];
    const who = { jobId: job.id, kind: payload.kind, origin, user: payload.user.name, anchor: payload.user.anchor };
    if (payload.kind !== 'verifyPassword') this.deps.log.event(start, `${payload.kind} received`, who);
    try {
      await this.apply(payload);
      this.deps.log.event(success, `${payload.kind} applied`, { ...who, ms: Date.now() - started });
      return done({ outcome: 'succeeded' });
    } catch (err) {
      const { reason, detail } = asRefusal(err);
      this.deps.log.event(fail, `${payload.kind} refused: ${reason}`, { ...who, reason });
      this.deps.log.event(refusalEvent(reason), detail, { ...who, reason });
      return done({ outcome: 'refused', reason, detail });
    }
  }

  private open(job: AgentJob): SealedJobPayload {
    const keys = this.deps.keys();
    const sealed = job.sealed as FlattenedJWE | GeneralJWE;
    // Postern sends this agent's recipient as flattened JSON; a general JWE (every recipient) is accepted
    // too. Only the profile Postern seals with opens (src/writeback/jwe.ts): nothing weaker is accepted.
    const { plaintext } = openJwe(sealed, (kid) => {
      // without a kid, the current key; with one, only the key it names (never a guess among several)
      const key = kid === undefined ? keys[0] : keys.find((k) => k.kid === kid);
      return key && this.privateKey(key.jwk);
    });
    return JSON.parse(plaintext.toString('utf8')) as SealedJobPayload;
  }

  private privateKey(jwk: StateKey['jwk']): KeyObject {
    let key = this.imported.get(jwk);
    if (!key) this.imported.set(jwk, (key = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d: jwk.d }, format: 'jwk' })));
    return key;
  }

  private validate(job: AgentJob, p: SealedJobPayload): string | null {
    if (typeof p !== 'object' || p === null) return 'payload is not an object';
    if (p.jobId !== job.id) return 'the sealed payload belongs to another job';
    if (p.kind !== job.kind) return 'the sealed kind differs from the job kind';
    if (p.tenantId !== this.deps.tenantId) return 'the job belongs to another tenant';
    const expires = Date.parse(p.expiresAt);
    if (Number.isNaN(expires)) return 'no expiry';
    if (expires <= this.now().getTime()) return 'expired';
    if (typeof p.user?.name !== 'string' || !p.user.name) return 'no user';
    if (p.kind === 'resetPassword' && typeof p.newPassword !== 'string') return 'no new password';
    if (p.kind === 'changePassword' && (typeof p.newPassword !== 'string' || typeof p.oldPassword !== 'string')) return 'no old or new password';
    if (p.kind === 'verifyPassword' && typeof p.password !== 'string') return 'no password';
    return null;
  }

  private async apply(p: SealedJobPayload): Promise<void> {
    const user = { anchor: p.user.anchor ?? null, name: p.user.name };
    const t = this.deps.target;
    switch (p.kind) {
      case 'resetPassword':
        return t.resetPassword(user, p.newPassword!, { mustChange: p.mustChange === true, unlock: p.unlock === true });
      case 'changePassword':
        return t.changePassword(user, p.oldPassword!, p.newPassword!);
      case 'unlock':
        return t.unlock(user);
      case 'verifyPassword': {
        const left = Date.parse(p.expiresAt) - this.now().getTime();
        return t.verifyPassword(user, p.password!, Math.max(100, Math.min(DEFAULT_JOB_TIMEOUT_MS, left)));
      }
    }
  }
}

/** A DirectoryRefusal travels as it is; anything else is 'other' with a message that holds no secret. */
export function asRefusal(err: unknown): { reason: RefusalReason; detail: string } {
  if (err instanceof DirectoryRefusal) return { reason: err.reason, detail: err.detail.slice(0, 1000) };
  return { reason: 'other', detail: `the agent failed: ${err instanceof Error ? err.name : 'error'}` };
}
