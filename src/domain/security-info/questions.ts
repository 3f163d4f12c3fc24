import { AppError } from '../../errors.js';
import { replaceSecurityAnswers, type SecurityAnswer } from '../../store/security-questions.js';
import { findTenantById } from '../../store/tenants.js';
import type { RequestContext } from '../audit.js';
import { catalogQuestionTexts, isCatalogQuestion, listAvailableQuestions, type CatalogQuestion, type QuestionLocale } from '../security-questions-catalog.js';
import { ssprPolicyOf } from '../sspr-policy.js';
import { auditedChange, loadMe, type Me, type SecurityInfoDeps } from './events.js';
import { isAdministrator } from './status.js';
import { listRoleIdsOfPrincipal } from '../../store/role-assignments.js';

/**
 * Security questions (reference §1.4): exactly the tenant's number to register, from our catalog or
 * the tenant's custom list; answers 3–40 characters; no question twice, no answer twice; an answer
 * may not contain its question. Answers are compared and hashed in a normal form, so " Blue  Car"
 * and "blue car" are the same answer at registration and at reset.
 *
 * Only the predefined questions the admin selected (policy securityQuestions.predefined) and the
 * custom ones are offered and accepted here. Answers a user registered to a question the admin later
 * deselects (or to a custom question later removed) stay usable for reset: the reference says
 * nothing about deselection, and they were valid when registered (sspr/verify.ts asks the stored
 * questions as they are). The user is offered only the current list the next time they register.
 */

export const ANSWER_MIN = 3;
export const ANSWER_MAX = 40;

export type QuestionRef = { questionId: string; customQuestion?: undefined } | { customQuestion: string; questionId?: undefined };
export type AnswerInput = QuestionRef & { answer: string };

/** NFKC, trimmed, inner whitespace collapsed, lower-cased: the form that is hashed and compared. */
export function normalizeAnswer(answer: string): string {
  return answer.normalize('NFKC').trim().replace(/\s+/gu, ' ').toLowerCase();
}

export async function listQuestionCatalog(deps: SecurityInfoDeps, me: Me, locale: QuestionLocale): Promise<{ toRegister: number; questions: CatalogQuestion[] }> {
  const tenant = await findTenantById(deps.db, me.tenantId);
  if (!tenant) throw new AppError('tenant.not_found');
  const policy = ssprPolicyOf(tenant);
  return { toRegister: policy.securityQuestions.toRegister, questions: listAvailableQuestions(locale, policy.securityQuestions.predefined, policy.securityQuestions.custom) };
}

function invalid(message: string, data: Record<string, unknown>): AppError {
  return new AppError('security_info.invalid', { message, data });
}

/** Replaces the user's questions and answers with `answers`, after every rule passes. */
export async function registerSecurityQuestions(deps: SecurityInfoDeps, ctx: RequestContext, me: Me, answers: AnswerInput[]): Promise<void> {
  const tenant = await findTenantById(deps.db, me.tenantId);
  if (!tenant) throw new AppError('tenant.not_found');
  const policy = ssprPolicyOf(tenant);
  if (!policy.methods.includes('securityQuestions')) {
    throw new AppError('security_info.method_not_allowed', { message: 'Your organization does not use security questions.', data: { method: 'securityQuestions' } });
  }
  if (isAdministrator(await listRoleIdsOfPrincipal(deps.db, me.tenantId, me.userId))) {
    throw new AppError('security_info.method_not_allowed', { message: 'Administrators cannot use security questions to reset their password.', data: { method: 'securityQuestions' } });
  }
  const wanted = policy.securityQuestions.toRegister;
  if (answers.length !== wanted) throw invalid(`Answer exactly ${wanted} security questions (you sent ${answers.length}).`, { field: 'answers', rule: 'count', expected: wanted });

  // the selected predefined questions (ids of the catalogue only, see ssprPolicyOf)
  const offered = new Set(policy.securityQuestions.predefined.filter(isCatalogQuestion));
  const seenQuestions = new Set<string>();
  const seenAnswers = new Set<string>();
  const normalized = answers.map((a, index) => {
    const key = a.questionId !== undefined ? `id:${a.questionId}` : `custom:${a.customQuestion.trim()}`;
    const texts = a.questionId !== undefined ? catalogQuestionTexts(a.questionId) : [a.customQuestion.trim()];
    if (a.questionId !== undefined ? !offered.has(a.questionId) : !policy.securityQuestions.custom.includes(a.customQuestion.trim())) {
      throw invalid('One of the questions is not offered by your organization. Choose from the list.', { field: `answers.${index}`, rule: 'unknownQuestion' });
    }
    if (seenQuestions.has(key)) throw invalid('You cannot answer the same question twice.', { field: `answers.${index}`, rule: 'repeatedQuestion' });
    seenQuestions.add(key);
    const answer = normalizeAnswer(a.answer);
    const length = [...answer].length;
    if (length < ANSWER_MIN || length > ANSWER_MAX) {
      throw invalid(`Each answer must be ${ANSWER_MIN} to ${ANSWER_MAX} characters long.`, { field: `answers.${index}`, rule: 'length', min: ANSWER_MIN, max: ANSWER_MAX });
    }
    if (seenAnswers.has(answer)) throw invalid('You cannot give the same answer to two questions.', { field: `answers.${index}`, rule: 'repeatedAnswer' });
    seenAnswers.add(answer);
    if (texts.some((t) => answer.includes(normalizeAnswer(t)))) {
      throw invalid('An answer cannot contain its question.', { field: `answers.${index}`, rule: 'answerContainsQuestion' });
    }
    return { ref: a, answer };
  });

  const at = deps.clock.now().toISOString();
  const hashed: SecurityAnswer[] = await Promise.all(
    normalized.map(async ({ ref, answer }, position) => ({
      position,
      questionId: ref.questionId ?? null,
      customQuestion: ref.questionId === undefined ? ref.customQuestion.trim() : null,
      answerHash: await deps.hasher.hash(answer),
      createdAt: at,
    })),
  );
  await deps.db.transaction().execute(async (trx) => {
    const user = await loadMe(trx, me);
    await auditedChange(deps, trx, ctx, user, { kind: 'registered', method: 'Security questions' }, () => replaceSecurityAnswers(trx, user.id, hashed));
  });
}
