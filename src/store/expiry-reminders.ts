import { DEFAULT_TENANT_SETTINGS, type Tenant, type TenantSettings } from './tenants.js';
import type { Executor } from './database.js';

/** The marks (days before expiry) already sent for this user's current password. */
export async function listSentMarks(db: Executor, userId: string, passwordChangedAt: string): Promise<number[]> {
  const rows = await db
    .selectFrom('expiry_reminders_sent')
    .select('days_before')
    .where('user_id', '=', userId)
    .where('password_changed_at', '=', passwordChangedAt)
    .execute();
  return rows.map((r) => Number(r.days_before));
}

/**
 * Records marks as sent. Returns false when another worker recorded any of them first (the caller's
 * transaction must then roll back so the message it enqueued is not sent twice).
 */
export async function recordSentMarks(db: Executor, userId: string, passwordChangedAt: string, marks: number[], sentAt: string): Promise<boolean> {
  const result = await db
    .insertInto('expiry_reminders_sent')
    .values(marks.map((days_before) => ({ user_id: userId, password_changed_at: passwordChangedAt, days_before, sent_at: sentAt })))
    .onConflict((oc) => oc.columns(['user_id', 'password_changed_at', 'days_before']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) === marks.length;
}

/** What a reminder needs to know about a user. */
export interface ReminderCandidate {
  id: string;
  tenantId: string;
  userPrincipalName: string;
  displayName: string;
  mail: string | null;
  otherMails: string[];
  mobilePhone: string | null;
  passwordPolicies: string | null;
  lastPasswordChangeDateTime: string | null;
  createdDateTime: string;
}

/**
 * Enabled users of a tenant with a password whose last change (or creation, when never changed)
 * is at or before `changedBefore` — the only ones that can be inside the reminder window. Keyset
 * paged by id.
 */
export async function listReminderCandidates(
  db: Executor,
  tenantId: string,
  changedBefore: string,
  afterId: string | undefined,
  limit: number,
): Promise<ReminderCandidate[]> {
  let query = db
    .selectFrom('users')
    .select([
      'id',
      'tenant_id',
      'user_principal_name',
      'display_name',
      'mail',
      'other_mails',
      'mobile_phone',
      'password_policies',
      'last_password_change_at',
      'created_at',
    ])
    .where('tenant_id', '=', tenantId)
    .where('account_enabled', '=', 1)
    .where('password_hash', 'is not', null)
    .where((eb) =>
      eb.or([
        eb('last_password_change_at', '<=', changedBefore),
        eb.and([eb('last_password_change_at', 'is', null), eb('created_at', '<=', changedBefore)]),
      ]),
    );
  if (afterId !== undefined) query = query.where('id', '>', afterId);
  const rows = await query.orderBy('id').limit(limit).execute();
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    userPrincipalName: r.user_principal_name,
    displayName: r.display_name,
    mail: r.mail,
    otherMails: JSON.parse(r.other_mails) as string[],
    mobilePhone: r.mobile_phone,
    passwordPolicies: r.password_policies,
    lastPasswordChangeDateTime: r.last_password_change_at,
    createdDateTime: r.created_at,
  }));
}

/** Every tenant's id and settings (the reminder sweep reads each tenant's expiry policy). */
export async function listTenantSettings(db: Executor): Promise<Pick<Tenant, 'id' | 'settings'>[]> {
  const rows = await db.selectFrom('tenants').select(['id', 'settings']).orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, settings: { ...DEFAULT_TENANT_SETTINGS, ...(JSON.parse(r.settings) as Partial<TenantSettings>) } }));
}
