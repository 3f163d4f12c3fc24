import { randomInt } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { AppError } from '../../errors.js';
import { listPhoneMethods, findEmailMethod } from '../../store/auth-methods.js';
import type { Executor } from '../../store/database.js';
import { listSecurityAnswers } from '../../store/security-questions.js';
import { countAttemptsSince, updateFlow, type SsprFlow } from '../../store/sspr.js';
import type { RequestContext } from '../audit.js';
import { catalogQuestionText, questionLocaleOf } from '../security-questions-catalog.js';
import { CODE_TTL_MS, CODES_PER_HOUR, issueVerificationCode } from '../verification-codes.js';
import { withProfileContacts } from '../security-info/status.js';
import type { User } from '../../store/users.js';
import { recordSsprEvent, STEP, type SsprMethodName } from './audit.js';
import { loadFlow, type LoadedFlow, type SsprDeps } from './flows.js';
import { blockedError, countAttempt, spendSmsBudget } from './limits.js';

/**
 * The verification gates of a flow (reference §2.2 steps 5–6): each required gate with a different
 * method; codes by email, SMS or call to what is on file (a phone method first needs the user to type
 * the number on file); security questions; the authenticator app; a recovery code (beyond Azure).
 * Every failed gate counts towards the hourly limit; a decoy flow answers like a real one and fails.
 */
const CODE_CHANNEL = { email: 'email', mobileSms: 'sms', mobileCall: 'voice', officeCall: 'voice' } as const;
type CodeMethod = keyof typeof CODE_CHANNEL;
export const isCodeMethod = (m: string): m is CodeMethod => Object.hasOwn(CODE_CHANNEL, m);

export type StartAnswer = { kind: 'sent'; method: string; expiresAt: string } | { kind: 'questions'; questions: { id: string; text: string }[] };

function assertMethodOpen(flow: SsprFlow, method: string): void {
  if (!flow.methods.includes(method) || flow.verified.includes(method)) throw new AppError('sspr.method_unavailable', { data: { method } });
}

/** The E.164 the user typed, or null when it is not a valid number. */
function typedE164(typed: string | undefined): string | null {
  const parsed = typed === undefined ? undefined : parsePhoneNumberFromString(typed.trim());
  return parsed?.isValid() ? parsed.number : null;
}

/** Counts a failed gate in its own committed transaction; throws the block when it crossed the limit. */
export async function failGate(deps: SsprDeps, ctx: RequestContext, loaded: LoadedFlow, method: string, trx?: Executor, gate: string = method): Promise<string | null> {
  const run = async (t: Executor) => {
    // `gate` is what the hourly limit counts: the method, or 'phone' for typing the number on file
    const until = await countAttempt(t, deps, ctx, loaded.flow.subject, loaded.user ?? null, `gate:${gate}`, loaded.flow);
    if (loaded.user) await recordSsprEvent(deps, t, ctx, loaded.user, loaded.flow, 'Self-service password reset flow activity progress', STEP.failed(method as SsprMethodName), 'failure');
    return until;
  };
  return trx ? run(trx) : deps.db.transaction().execute(run);
}

export async function startVerification(
  deps: SsprDeps,
  ctx: RequestContext,
  token: string,
  input: { method: SsprMethodName; phoneNumber?: string | undefined; locale?: string | null },
): Promise<StartAnswer> {
  const loaded = await loadFlow(deps, deps.db, token, ['open']);
  const { flow, user } = loaded;
  const method = input.method;
  assertMethodOpen(flow, method);
  const now = deps.clock.now();

  if (method === 'securityQuestions') {
    if (!user) throw new AppError('sspr.method_unavailable', { data: { method } }); // decoys never offer questions
    const answers = await listSecurityAnswers(deps.db, user.id);
    const wanted = Math.min(loaded.policy.securityQuestions.toReset, answers.length);
    const pool = [...answers];
    const asked = Array.from({ length: wanted }, () => pool.splice(randomInt(0, pool.length), 1)[0]!);
    const locale = questionLocaleOf(input.locale);
    await saveFlow(deps, { ...flow, pending: { ...flow.pending, questions: asked.map((a) => a.position), lastStarted: method } });
    await deps.db.transaction().execute((trx) => recordSsprEvent(deps, trx, ctx, user, flow, 'Self-service password reset flow activity progress', STEP.started(method)));
    return { kind: 'questions', questions: asked.map((a) => ({ id: `q${a.position}`, text: a.customQuestion ?? catalogQuestionText(a.questionId ?? '', locale) ?? '' })) };
  }
  if (!isCodeMethod(method)) {
    // app code and recovery code: nothing to send, the user reads the code from what they hold
    await saveFlow(deps, { ...flow, pending: { ...flow.pending, lastStarted: method } });
    if (user) await deps.db.transaction().execute((trx) => recordSsprEvent(deps, trx, ctx, user, flow, 'Self-service password reset flow activity progress', STEP.started(method)));
    return { kind: 'sent', method, expiresAt: flow.expiresAt };
  }

  let target: string | undefined;
  if (method !== 'email') {
    const typed = typedE164(input.phoneNumber);
    const onFile = user
      ? (await contactsOf(deps, user)).phones.find((p) => p.phoneType === (method === 'officeCall' ? 'office' : 'mobile'))?.number
      : undefined; // a decoy has no number on file: every typed number is a mismatch, as for a guesser
    if (typed === null || onFile === undefined || typed !== onFile) {
      const until = await failGate(deps, ctx, loaded, method, undefined, 'phone');
      if (until) throw blockedError(until);
      throw new AppError('sspr.phone_mismatch');
    }
    target = onFile;
  } else if (user) {
    target = (await contactsOf(deps, user)).email?.address;
  }

  const to = target;
  // The flow records the code in the transaction that issues it (one commit, and a request that
  // loses a race with another change of the flow sends nothing).
  const remember = (trx: Executor, id: string | null) =>
    saveFlow(deps, { ...flow, pending: { ...flow.pending, codes: { ...flow.pending.codes, [method]: id ?? `decoy:${deps.random.uuid()}` }, lastStarted: method } }, trx);
  const issued = await deps.db.transaction().execute(async (trx): Promise<{ blocked: string } | { blocked?: undefined; expiresAt: string }> => {
    const emailUntil = method === 'email' ? await countAttempt(trx, deps, ctx, flow.subject, user ?? null, 'email', flow) : null;
    if (emailUntil) return { blocked: emailUntil };
    if (!user || to === undefined) {
      // a decoy spends the same budget a real user would, and answers the same when it is spent
      await countAttempt(trx, deps, ctx, flow.subject, null, `send:${method}`);
      const sent = await countAttemptsSince(trx, flow.subject, `send:${method}`, new Date(now.getTime() - 3_600_000).toISOString());
      if (method !== 'email' && sent > CODES_PER_HOUR) throw tooManyCodes();
      const expiresAt = new Date(now.getTime() + CODE_TTL_MS).toISOString();
      // the pretend code lapses when a real one would, so a late entry answers "expired" in both
      await saveFlow(deps, { ...flow, pending: { ...flow.pending, codes: { ...flow.pending.codes, [method]: `decoy:${deps.random.uuid()}` }, decoyExpiresAt: { ...flow.pending.decoyExpiresAt, [method]: expiresAt }, lastStarted: method } }, trx);
      return { expiresAt };
    }
    if (method !== 'email') await spendSmsBudget(trx, deps, ctx.ipAddress, to);
    const code = await issueVerificationCode(trx, deps, {
      tenantId: user.tenantId,
      userId: user.id,
      flowId: flow.id,
      purpose: `sspr-${method}`,
      channel: CODE_CHANNEL[method],
      target: to,
      displayName: user.displayName,
      locale: input.locale ?? null,
      // emails are held by the SSPR limit (10 per 10 minutes, then blocked), texts and calls by 5 an hour
      maxPerHour: method === 'email' ? null : CODES_PER_HOUR,
    });
    await recordSsprEvent(deps, trx, ctx, user, flow, 'Self-service password reset flow activity progress', STEP.started(method));
    await remember(trx, code.id);
    return { expiresAt: code.expiresAt };
  });
  if (issued.blocked !== undefined) throw blockedError(issued.blocked);
  return { kind: 'sent', method, expiresAt: issued.expiresAt };
}

/** The email and phones a code may go to: registered ones, else the profile's (the flow offered the same). */
async function contactsOf(deps: SsprDeps, user: User): Promise<{ email: { address: string } | undefined; phones: { phoneType: string; number: string }[] }> {
  const [email, phones] = await Promise.all([findEmailMethod(deps.db, user.id), listPhoneMethods(deps.db, user.id)]);
  return withProfileContacts({ email, phones, securityQuestions: 0, authenticators: [], recoveryCodesRemaining: 0, recoveryCodesTotal: 0, lastConfirmedAt: null }, user);
}

function tooManyCodes(): AppError {
  return new AppError('verification.too_many_codes', {
    message: `You have requested ${CODES_PER_HOUR} codes in the last hour. Wait a while, then request a new code.`,
    data: { limit: CODES_PER_HOUR, windowMinutes: 60 },
  });
}

/** Writes the flow's new state (optimistic, on the version read); a concurrent change wins and this one is refused. */
export async function saveFlow(deps: SsprDeps, after: SsprFlow, db: Executor = deps.db): Promise<void> {
  if (!(await updateFlow(db, after, deps.clock.now().toISOString()))) {
    throw new AppError('sspr.method_unavailable', { message: 'This password reset session changed at the same time. Try again.', data: { method: null } });
  }
}

