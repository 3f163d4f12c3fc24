import { PostgresAdapter, sql, type Selectable } from 'kysely';
import type { Executor, VerificationCodesTable } from './database.js';

export interface VerificationCodeRecord {
  id: string;
  tenantId: string;
  userId: string;
  flowId: string | null;
  purpose: string;
  channel: 'email' | 'sms' | 'voice';
  target: string;
  detail: string | null;
  codeHash: string;
  attempts: number;
  expiresAt: string;
  voidedAt: string | null;
  usedAt: string | null;
  createdAt: string;
}

/**
 * Serialises code issuance for one user until the transaction ends, so the per-hour count and the
 * void-and-carry of a resend see every earlier code. SQLite transactions are already serial.
 */
export async function lockUserCodes(trx: Executor, userId: string): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_advisory_xact_lock(hashtext(${`codes:${userId}`}))`.execute(trx);
  }
}

export async function insertVerificationCode(db: Executor, r: VerificationCodeRecord): Promise<void> {
  await db
    .insertInto('verification_codes')
    .values({
      id: r.id,
      tenant_id: r.tenantId,
      user_id: r.userId,
      flow_id: r.flowId,
      purpose: r.purpose,
      channel: r.channel,
      target: r.target,
      detail: r.detail,
      code_hash: r.codeHash,
      attempts: r.attempts,
      expires_at: r.expiresAt,
      voided_at: r.voidedAt,
      used_at: r.usedAt,
      created_at: r.createdAt,
    })
    .execute();
}

export async function findVerificationCode(db: Executor, id: string): Promise<VerificationCodeRecord | undefined> {
  const row = await db.selectFrom('verification_codes').selectAll().where('id', '=', id).executeTakeFirst();
  return row && fromRow(row);
}

/** Codes of a user and purpose created at or after `since` (the send limit counts rows). */
export async function countCodesSince(db: Executor, userId: string, purpose: string, since: string): Promise<number> {
  const row = await db
    .selectFrom('verification_codes')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('created_at', '>=', since)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Voids every live code of the user and purpose (and flow) and answers the highest failure count
 * among them, which the replacing code inherits: a resend must not reset the count.
 */
export async function voidLiveCodes(db: Executor, userId: string, purpose: string, flowId: string | null, at: string): Promise<number> {
  let q = db
    .selectFrom('verification_codes')
    .select(['id', 'attempts'])
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('voided_at', 'is', null)
    .where('expires_at', '>', at);
  q = flowId === null ? q.where('flow_id', 'is', null) : q.where('flow_id', '=', flowId);
  const live = await q.execute();
  if (live.length === 0) return 0;
  await db
    .updateTable('verification_codes')
    .set({ voided_at: at })
    .where('id', 'in', live.map((r) => r.id))
    .execute();
  return Math.max(...live.map((r) => Number(r.attempts)));
}

/**
 * Marks the code used if it is still usable. The condition is in the UPDATE itself, so of any number
 * of concurrent completions exactly one sees an affected row.
 */
export async function markCodeUsed(db: Executor, id: string, maxAttempts: number, at: string): Promise<boolean> {
  const result = await db
    .updateTable('verification_codes')
    .set({ used_at: at })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('voided_at', 'is', null)
    .where('attempts', '<', maxAttempts)
    .where('expires_at', '>', at)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Counts one wrong entry, never beyond the maximum; answers whether a row changed. */
export async function countWrongEntry(db: Executor, id: string, maxAttempts: number): Promise<boolean> {
  const result = await db
    .updateTable('verification_codes')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('attempts', '<', maxAttempts)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

function fromRow(r: Selectable<VerificationCodesTable>): VerificationCodeRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    userId: r.user_id,
    flowId: r.flow_id,
    purpose: r.purpose,
    channel: r.channel,
    target: r.target,
    detail: r.detail,
    codeHash: r.code_hash,
    attempts: Number(r.attempts),
    expiresAt: r.expires_at,
    voidedAt: r.voided_at,
    usedAt: r.used_at,
    createdAt: r.created_at,
  };
}

/** Codes issued before `before` (long dead: they live 5 minutes and count for an hour). */
export async function deleteVerificationCodesBefore(db: Executor, before: string): Promise<number> {
  const r = await db.deleteFrom('verification_codes').where('created_at', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}
