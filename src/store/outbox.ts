import { sql } from 'kysely';
import type { Dialect, Executor, OutboxTable } from './database.js';

/** What a row can carry: messages to people, and audit events for SIEM webhooks. */
export type OutboxChannel = OutboxTable['channel'];
/** The channels of messages to people (email, SMS, voice). */
export type Channel = Exclude<OutboxChannel, 'siem'>;
export type OutboxStatus = OutboxTable['status'];

/** One queued message as stored. `secretData` stays sealed here; only the renderer opens it. */
export interface OutboxRecord {
  id: string;
  tenantId: string;
  channel: OutboxChannel;
  recipient: string;
  template: string;
  locale: string;
  data: Record<string, unknown>;
  secretDataSealed: string | null;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  leaseOwner: string | null;
  leaseUntil: string | null;
  deliveredVia: string | null;
  createdAt: string;
  sentAt: string | null;
}

export interface NewOutboxRow {
  id: string;
  tenantId: string;
  channel: OutboxChannel;
  recipient: string;
  template: string;
  locale: string;
  data: Record<string, unknown>;
  secretDataSealed: string | null;
  createdAt: string;
}

export async function insertOutboxMessage(db: Executor, m: NewOutboxRow): Promise<void> {
  await db
    .insertInto('outbox')
    .values({
      id: m.id,
      tenant_id: m.tenantId,
      channel: m.channel,
      recipient: m.recipient,
      template: m.template,
      locale: m.locale,
      data: JSON.stringify(m.data),
      secret_data: m.secretDataSealed,
      status: 'pending',
      attempts: 0,
      next_attempt_at: m.createdAt,
      last_error: null,
      lease_owner: null,
      lease_until: null,
      delivered_via: null,
      created_at: m.createdAt,
      sent_at: null,
    })
    .execute();
}

export interface ClaimInput {
  owner: string;
  now: string;
  leaseUntil: string;
  limit: number;
}

/**
 * Claims up to `limit` due messages for `owner`: pending ones whose time has come, and ones whose
 * sender's lease ran out (it crashed or hung). One UPDATE statement, so the claim is atomic on both
 * dialects: PostgreSQL's `for update skip locked` lets concurrent workers take disjoint rows without
 * waiting, and re-checks the due condition on rows another worker claimed meanwhile; SQLite takes its
 * write lock at the start of the statement, so claims are serial. Each claim counts as an attempt, so
 * a message that keeps killing its sender still ends as 'failed'.
 */
export async function claimDueMessages(db: Executor, dialect: Dialect, c: ClaimInput): Promise<OutboxRecord[]> {
  const rows = await db
    .updateTable('outbox')
    .set((eb) => ({
      status: 'sending' as const,
      lease_owner: c.owner,
      lease_until: c.leaseUntil,
      attempts: eb('attempts', '+', 1),
    }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('outbox')
        .select('id')
        .where((w) =>
          w.or([
            w.and([w('status', '=', 'pending'), w('next_attempt_at', '<=', c.now)]),
            w.and([w('status', '=', 'sending'), w('lease_until', '<', c.now)]),
          ]),
        )
        .orderBy('next_attempt_at')
        .limit(c.limit)
        .$if(dialect === 'postgres', (q) => q.forUpdate().skipLocked()),
    )
    .returningAll()
    .execute();
  return rows.map(toRecord);
}

/** Who holds leases on messages being sent, among owners whose name starts with `prefix`. */
export async function listLeaseOwners(db: Executor, prefix: string): Promise<string[]> {
  const rows = await db.selectFrom('outbox').select('lease_owner').distinct().where('status', '=', 'sending').where('lease_owner', 'is not', null).execute();
  return rows.map((r) => r.lease_owner!).filter((o) => o.startsWith(prefix));
}

/**
 * Makes the messages `owner` was sending due again at `now`, its lease void: for an owner known to be
 * dead (outbox-worker.ts). A message it had handed to the relay goes out again, with the same Message-ID.
 */
export async function releaseLeasesOf(db: Executor, owner: string, now: string): Promise<number> {
  const r = await db
    .updateTable('outbox')
    .set({ status: 'pending', next_attempt_at: now, lease_owner: null, lease_until: null })
    .where('status', '=', 'sending')
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** The finishing writes only apply while `owner` still holds the lease: a sender that lost it changes nothing. */
export async function markSent(db: Executor, id: string, owner: string, sentAt: string, deliveredVia: string): Promise<boolean> {
  const r = await db
    .updateTable('outbox')
    .set({ status: 'sent', sent_at: sentAt, delivered_via: deliveredVia, lease_owner: null, lease_until: null, last_error: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'sending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function markRetry(db: Executor, id: string, owner: string, nextAttemptAt: string, error: string): Promise<boolean> {
  const r = await db
    .updateTable('outbox')
    .set({ status: 'pending', next_attempt_at: nextAttemptAt, last_error: error, lease_owner: null, lease_until: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'sending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function markFailed(db: Executor, id: string, owner: string, error: string): Promise<boolean> {
  const r = await db
    .updateTable('outbox')
    .set({ status: 'failed', last_error: error, lease_owner: null, lease_until: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'sending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function findOutboxMessage(db: Executor, id: string): Promise<OutboxRecord | undefined> {
  const row = await db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toRecord(row);
}

/** Newest first (ties broken by id so pages are stable). */
export async function listLatestMessages(db: Executor, limit: number): Promise<OutboxRecord[]> {
  const rows = await db.selectFrom('outbox').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map(toRecord);
}

export async function countMessagesByStatus(db: Executor): Promise<Record<OutboxStatus, number>> {
  const rows = await db
    .selectFrom('outbox')
    .select(['status', sql<number | string>`count(*)`.as('n')])
    .groupBy('status')
    .execute();
  const counts: Record<OutboxStatus, number> = { pending: 0, sending: 0, sent: 0, failed: 0 };
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}

/** What a message shows of its sender: the tenant's name and its raw settings JSON (branding lives there). */
export interface TenantSender {
  displayName: string;
  settings: string;
  /** tenant_branding (issue 8): the branded name and colour, null when the tenant has not set them */
  brandingName: string | null;
  brandingColor: string | null;
}

export async function findTenantSenders(db: Executor, tenantIds: readonly string[]): Promise<Map<string, TenantSender>> {
  const ids = [...new Set(tenantIds)];
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('tenants')
    .leftJoin('tenant_branding', 'tenant_branding.tenant_id', 'tenants.id')
    .select(['tenants.id', 'tenants.display_name', 'tenants.settings', 'tenant_branding.display_name as branding_name', 'tenant_branding.primary_color as branding_color'])
    .where('tenants.id', 'in', ids)
    .execute();
  return new Map(rows.map((r) => [r.id, { displayName: r.display_name, settings: r.settings, brandingName: r.branding_name, brandingColor: r.branding_color }]));
}

function toRecord(row: OutboxTable): OutboxRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    channel: row.channel,
    recipient: row.recipient,
    template: row.template,
    locale: row.locale,
    data: JSON.parse(row.data) as Record<string, unknown>,
    secretDataSealed: row.secret_data,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    deliveredVia: row.delivered_via,
    createdAt: row.created_at,
    sentAt: row.sent_at,
  };
}
