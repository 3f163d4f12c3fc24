import type { Executor } from './database.js';

/** The authentication email and phones a user registered (SPEC 2: one email; one phone per type). */

export type PhoneType = 'mobile' | 'alternateMobile' | 'office';

export interface EmailMethod {
  userId: string;
  address: string;
  verifiedAt: string;
  createdAt: string;
}

export interface PhoneMethod {
  userId: string;
  phoneType: PhoneType;
  /** E.164 */
  number: string;
  verifiedAt: string | null;
  createdAt: string;
}

export async function findEmailMethod(db: Executor, userId: string): Promise<EmailMethod | undefined> {
  const r = await db.selectFrom('auth_email_methods').selectAll().where('user_id', '=', userId).executeTakeFirst();
  return r && { userId: r.user_id, address: r.address, verifiedAt: r.verified_at, createdAt: r.created_at };
}

/** Insert or replace: a user has one authentication email. */
export async function upsertEmailMethod(db: Executor, m: EmailMethod): Promise<void> {
  await db
    .insertInto('auth_email_methods')
    .values({ user_id: m.userId, address: m.address, verified_at: m.verifiedAt, created_at: m.createdAt })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ address: m.address, verified_at: m.verifiedAt }))
    .execute();
}

export async function deleteEmailMethod(db: Executor, userId: string): Promise<boolean> {
  const r = await db.deleteFrom('auth_email_methods').where('user_id', '=', userId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function listPhoneMethods(db: Executor, userId: string): Promise<PhoneMethod[]> {
  const rows = await db.selectFrom('auth_phone_methods').selectAll().where('user_id', '=', userId).execute();
  const order: PhoneType[] = ['mobile', 'alternateMobile', 'office'];
  return rows
    .map((r) => ({ userId: r.user_id, phoneType: r.phone_type, number: r.number, verifiedAt: r.verified_at, createdAt: r.created_at }))
    .sort((a, b) => order.indexOf(a.phoneType) - order.indexOf(b.phoneType));
}

export async function upsertPhoneMethod(db: Executor, m: PhoneMethod): Promise<void> {
  await db
    .insertInto('auth_phone_methods')
    .values({ user_id: m.userId, phone_type: m.phoneType, number: m.number, verified_at: m.verifiedAt, created_at: m.createdAt })
    .onConflict((oc) => oc.columns(['user_id', 'phone_type']).doUpdateSet({ number: m.number, verified_at: m.verifiedAt }))
    .execute();
}

export async function deletePhoneMethod(db: Executor, userId: string, phoneType: PhoneType): Promise<boolean> {
  const r = await db.deleteFrom('auth_phone_methods').where('user_id', '=', userId).where('phone_type', '=', phoneType).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function findLastConfirmedAt(db: Executor, userId: string): Promise<string | null> {
  const r = await db.selectFrom('security_info_state').select('last_confirmed_at').where('user_id', '=', userId).executeTakeFirst();
  return r?.last_confirmed_at ?? null;
}

export async function setLastConfirmedAt(db: Executor, userId: string, at: string): Promise<void> {
  await db
    .insertInto('security_info_state')
    .values({ user_id: userId, last_confirmed_at: at })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ last_confirmed_at: at }))
    .execute();
}

/**
 * Adds a method only when the user has none of that kind (an admin's POST: a second one is refused,
 * never a silent replace). Returns false when one exists already; the primary key settles races.
 */
export async function insertEmailMethodIfAbsent(db: Executor, m: EmailMethod): Promise<boolean> {
  const r = await db
    .insertInto('auth_email_methods')
    .values({ user_id: m.userId, address: m.address, verified_at: m.verifiedAt, created_at: m.createdAt })
    .onConflict((oc) => oc.column('user_id').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function insertPhoneMethodIfAbsent(db: Executor, m: PhoneMethod): Promise<boolean> {
  const r = await db
    .insertInto('auth_phone_methods')
    .values({ user_id: m.userId, phone_type: m.phoneType, number: m.number, verified_at: m.verifiedAt, created_at: m.createdAt })
    .onConflict((oc) => oc.columns(['user_id', 'phone_type']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function findPhoneMethod(db: Executor, userId: string, phoneType: PhoneType): Promise<PhoneMethod | undefined> {
  return (await listPhoneMethods(db, userId)).find((p) => p.phoneType === phoneType);
}
