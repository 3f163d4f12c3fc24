import { AppError } from '../../errors.js';
import { listSecurityAnswers } from '../../store/security-questions.js';
import { listSoftwareOathMethods, useRecoveryCode } from '../../store/software-oath.js';
import { findFlowByTokenHash, updateFlow } from '../../store/sspr.js';
import type { RequestContext } from '../audit.js';
import { normalizeAnswer } from '../security-info/questions.js';
import { recoveryCodeHash } from '../security-info/recovery-codes.js';
import { acceptTotpCode, isReplayedTotpCode, recordTotpReuse } from '../security-info/totp.js';
import { checkVerificationCode, codeCheckError, MAX_WRONG_ENTRIES } from '../verification-codes.js';
import { actingAs, recordSsprEvent, STEP, type SsprMethodName } from './audit.js';
import { loadFlow, type LoadedFlow, type SsprDeps } from './flows.js';
import { blockedError } from './limits.js';
import { failGate, isCodeMethod, saveFlow } from './verify.js';

export interface CompleteInput {
  code?: string | undefined;
  answers?: { id: string; answer: string }[] | undefined;
}

export interface GateProgress {
  /** the methods verified so far in this flow */
  verified: string[];
  /** how many different methods the flow needs */
  required: number;
}

type Outcome = { ok: GateProgress } | { error: AppError };

/**
 * POST …/verifications/{method}/complete. A failure is committed (the code's wrong-entry count, the
 * gate's hourly count, its audit) before it is answered; the sixth failure of a gate in an hour
 * answers with the 24-hour block instead. Of concurrent correct entries of one code exactly one wins
 * (the code is marked used by a conditional UPDATE).
 */
export async function completeVerification(deps: SsprDeps, ctx: RequestContext, token: string, method: SsprMethodName, input: CompleteInput): Promise<GateProgress> {
  const loaded = await loadFlow(deps, deps.db, token, ['open']);
  const { flow, user } = loaded;
  if (!flow.methods.includes(method) || flow.verified.includes(method)) throw new AppError('sspr.method_unavailable', { data: { method } });
  if (isCodeMethod(method) && !flow.pending.codes?.[method]) throw new AppError('sspr.method_unavailable', { message: 'Request a code for this method first.', data: { method } });
  if (method === 'securityQuestions' && !flow.pending.questions) throw new AppError('sspr.method_unavailable', { message: 'Ask for the questions first.', data: { method } });
  if (!user) return failDecoy(deps, ctx, loaded, method, input);

  // Answers are compared with argon2 before the transaction: hashing holds no lock.
  let answersOk = false;
  if (method === 'securityQuestions') {
    const asked = flow.pending.questions ?? [];
    const stored = await listSecurityAnswers(deps.db, user.id);
    const given = new Map((input.answers ?? []).map((a) => [a.id, a.answer]));
    const checks = await Promise.all(
      asked.map(async (position) => {
        const hash = stored.find((s) => s.position === position)?.answerHash;
        const answer = given.get(`q${position}`);
        return hash !== undefined && answer !== undefined && (await deps.hasher.verify(hash, normalizeAnswer(answer)));
      }),
    );
    answersOk = asked.length > 0 && given.size === asked.length && checks.every(Boolean);
  }

  const outcome = await deps.db.transaction().execute(async (trx): Promise<Outcome> => {
    const code = input.code ?? '';
    const fail = async (error: AppError, clearQuestions = false): Promise<Outcome> => {
      const until = await failGate(deps, ctx, loaded, method, trx);
      if (clearQuestions) await updateFlow(trx, { ...flow, pending: { ...flow.pending, questions: undefined } }, deps.clock.now().toISOString());
      return { error: until ? blockedError(until) : error };
    };
    if (isCodeMethod(method)) {
      const check = await checkVerificationCode(trx, deps, { id: flow.pending.codes![method]!, userId: user.id, purpose: `sspr-${method}`, flowId: flow.id, code });
      if (!check.ok) return fail(codeCheckError(check));
    } else if (method === 'appCode') {
      const apps = (await listSoftwareOathMethods(trx, user.id)).filter((m) => m.confirmedAt !== null);
      let ok = false;
      for (const app of apps) if (!ok) ok = await acceptTotpCode(deps, trx, app, code);
      if (!ok) {
        // a replayed code is refused like a wrong one, and audited (committed with the failure)
        let replayed = false;
        for (const app of apps) if (!replayed) replayed = await isReplayedTotpCode(deps, app, code);
        if (replayed) await recordTotpReuse(deps, trx, actingAs(ctx, user), user);
        return fail(new AppError('verification.code_invalid'));
      }
    } else if (method === 'recoveryCode') {
      if (!(await useRecoveryCode(trx, user.id, recoveryCodeHash(code), deps.clock.now().toISOString()))) return fail(new AppError('verification.code_invalid'));
    } else if (method === 'securityQuestions') {
      if (!answersOk) return fail(new AppError('sspr.answers_wrong'), true);
    } else {
      return { error: new AppError('sspr.method_unavailable', { data: { method } }) };
    }
    // Re-read: another gate may have been verified since the flow was loaded.
    const fresh = (await findFlowByTokenHash(trx, flow.tokenHash)) ?? flow;
    const verified = [...new Set([...fresh.verified, method])];
    const status = verified.length >= fresh.methodsRequired ? 'verified' : 'open';
    if (!(await updateFlow(trx, { ...fresh, verified, status }, deps.clock.now().toISOString()))) {
      throw new AppError('sspr.method_unavailable', { message: 'This password reset session changed at the same time. Try again.', data: { method } });
    }
    await recordSsprEvent(deps, trx, ctx, user, flow, 'Self-service password reset flow activity progress', STEP.completed(method));
    return { ok: { verified, required: fresh.methodsRequired } };
  });
  if ('error' in outcome) throw outcome.error;
  return outcome.ok;
}

/** A decoy never verifies; it answers exactly what a real flow answers to a wrong entry, counts included. */
async function failDecoy(deps: SsprDeps, ctx: RequestContext, loaded: LoadedFlow, method: SsprMethodName, input: CompleteInput): Promise<never> {
  const { flow } = loaded;
  let error: AppError;
  let pending = flow.pending;
  if (isCodeMethod(method)) {
    const used = flow.pending.decoyAttempts?.[method] ?? 0;
    const remaining = Math.max(0, MAX_WRONG_ENTRIES - used);
    const left = Math.max(0, remaining - 1);
    const lapsed = (flow.pending.decoyExpiresAt?.[method] ?? '9999') <= deps.clock.now().toISOString();
    // in a real check's order: a lapsed code is "expired" (uncounted) before it can be "dead"
    if (lapsed) error = codeCheckError({ ok: false, reason: 'expired', attemptsRemaining: remaining });
    else error = remaining === 0 ? codeCheckError({ ok: false, reason: 'dead', attemptsRemaining: 0 }) : codeCheckError({ ok: false, reason: left === 0 ? 'dead' : 'wrong', attemptsRemaining: left });
    if (!lapsed) pending = { ...pending, decoyAttempts: { ...pending.decoyAttempts, [method]: used + 1 } };
  } else {
    error = new AppError(method === 'securityQuestions' ? 'sspr.answers_wrong' : 'verification.code_invalid');
  }
  void input;
  const until = await failGate(deps, ctx, loaded, method);
  if (pending !== flow.pending) await saveFlow(deps, { ...flow, pending }).catch(() => undefined);
  throw until ? blockedError(until) : error;
}
