import type { Executor } from './database.js';

/** Authenticator app (TOTP) enrolments and recovery codes. */

export interface SoftwareOathMethod {
  id: string;
  userId: string;
  secretSealed: string;
  confirmedAt: string | null;
  lastUsedStep: number;
  createdAt: string;
}

export async function listSoftwareOathMethods(db: Executor, userId: string): Promise<SoftwareOathMethod[]> {
  const rows = await db.selectFrom('auth_software_oath_methods').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
  return rows.map((r) => ({ id: r.id, userId: r.user_id, secretSealed: r.secret_sealed, confirmedAt: r.confirmed_at, lastUsedStep: Number(r.last_used_step), createdAt: r.created_at }));
}

export async function insertSoftwareOathMethod(db: Executor, m: SoftwareOathMethod): Promise<void> {
  await db
    .insertInto('auth_software_oath_methods')
    .values({ id: m.id, user_id: m.userId, secret_sealed: m.secretSealed, confirmed_at: m.confirmedAt, last_used_step: m.lastUsedStep, created_at: m.createdAt })
    .execute();
}

export async function deletePendingSoftwareOath(db: Executor, userId: string): Promise<void> {
  await db.deleteFrom('auth_software_oath_methods').where('user_id', '=', userId).where('confirmed_at', 'is', null).execute();
}

/** Deletes the user's confirmed enrolments except `keepId`; all of them when keepId is null. */
export async function deleteConfirmedSoftwareOath(db: Executor, userId: string, keepId: string | null): Promise<number> {
  let q = db.deleteFrom('auth_software_oath_methods').where('user_id', '=', userId).where('confirmed_at', 'is not', null);
  if (keepId !== null) q = q.where('id', '!=', keepId);
  const r = await q.executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function deleteSoftwareOathMethod(db: Executor, userId: string, id: string): Promise<boolean> {
  const r = await db.deleteFrom('auth_software_oath_methods').where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/**
 * Accepts `step` for the enrolment only if it is later than every step accepted before; confirms a
 * pending enrolment on the way. The condition lives in the UPDATE, so a code is accepted once even
 * under concurrent submissions.
 */
export async function acceptOathStep(db: Executor, id: string, step: number, at: string): Promise<boolean> {
  const r = await db
    .updateTable('auth_software_oath_methods')
    .set((eb) => ({ last_used_step: step, confirmed_at: eb.fn.coalesce('confirmed_at', eb.val(at)) }))
    .where('id', '=', id)
    .where('last_used_step', '<', step)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export interface RecoveryCode {
  id: string;
  codeHash: string;
  usedAt: string | null;
  createdAt: string;
}

export async function replaceRecoveryCodes(db: Executor, userId: string, codes: RecoveryCode[]): Promise<void> {
  await db.deleteFrom('auth_recovery_codes').where('user_id', '=', userId).execute();
  await db
    .insertInto('auth_recovery_codes')
    .values(codes.map((c) => ({ id: c.id, user_id: userId, code_hash: c.codeHash, used_at: c.usedAt, created_at: c.createdAt })))
    .execute();
}

export async function listRecoveryCodes(db: Executor, userId: string): Promise<RecoveryCode[]> {
  const rows = await db.selectFrom('auth_recovery_codes').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
  return rows.map((r) => ({ id: r.id, codeHash: r.code_hash, usedAt: r.used_at, createdAt: r.created_at }));
}

/** Uses the unused code with this hash, once (conditional UPDATE). For the reset flow. */
export async function useRecoveryCode(db: Executor, userId: string, codeHash: string, at: string): Promise<boolean> {
  const r = await db
    .updateTable('auth_recovery_codes')
    .set({ used_at: at })
    .where('user_id', '=', userId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
