import type { Executor } from './database.js';

/** A registered security question: a predefined one (by id) or a custom one (its text), with the answer's hash. */
export interface SecurityAnswer {
  position: number;
  questionId: string | null;
  customQuestion: string | null;
  answerHash: string;
  createdAt: string;
}

export async function listSecurityAnswers(db: Executor, userId: string): Promise<SecurityAnswer[]> {
  const rows = await db.selectFrom('auth_security_answers').selectAll().where('user_id', '=', userId).orderBy('position').execute();
  return rows.map((r) => ({ position: Number(r.position), questionId: r.question_id, customQuestion: r.custom_question, answerHash: r.answer_hash, createdAt: r.created_at }));
}

export async function countSecurityAnswers(db: Executor, userId: string): Promise<number> {
  const r = await db
    .selectFrom('auth_security_answers')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Replaces the whole set: answers are registered together or not at all. */
export async function replaceSecurityAnswers(db: Executor, userId: string, answers: SecurityAnswer[]): Promise<void> {
  await db.deleteFrom('auth_security_answers').where('user_id', '=', userId).execute();
  if (answers.length === 0) return;
  await db
    .insertInto('auth_security_answers')
    .values(
      answers.map((a) => ({
        user_id: userId,
        position: a.position,
        question_id: a.questionId,
        custom_question: a.customQuestion,
        answer_hash: a.answerHash,
        created_at: a.createdAt,
      })),
    )
    .execute();
}

export async function deleteSecurityAnswers(db: Executor, userId: string): Promise<boolean> {
  const r = await db.deleteFrom('auth_security_answers').where('user_id', '=', userId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
