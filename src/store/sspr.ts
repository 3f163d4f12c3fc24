import { PostgresAdapter, sql, type Selectable } from 'kysely';
import type { Executor, SsprFlowsTable } from './database.js';
import { fromBool, toBool } from './database.js';
import { precompiled } from './precompiled.js';

/** Self-service password reset flows, their counters and blocks, and used CAPTCHA solutions. */

export type FlowStatus = 'open' | 'verified' | 'completed' | 'cancelled' | 'blocked' | 'expired';

export interface FlowPending {
  /** the live verification code per method */
  codes?: Record<string, string>;
  /** the registered-answer positions asked for security questions */
  questions?: number[];
  /** wrong answers a decoy flow has "counted" per method, to answer like a real one */
  decoyAttempts?: Record<string, number>;
  /** when a decoy flow's pretend code per method lapses, to answer "expired" when a real one would */
  decoyExpiresAt?: Record<string, string>;
  /** set once "Contact your administrator" was used (one contact per flow) */
  contacted?: boolean;
  /** the method whose verification was started last (for the "abandoned after starting" step) */
  lastStarted?: string;
  /** a new password was submitted and refused (for "abandoned while selecting a new password") */
  passwordTried?: boolean;
}

export interface SsprFlow {
  id: string;
  tokenHash: string;
  tenantId: string | null;
  userId: string | null;
  subject: string;
  decoy: boolean;
  admin: boolean;
  intent: 'reset' | 'unlock' | null;
  methodsRequired: number;
  methods: string[];
  verified: string[];
  pending: FlowPending;
  status: FlowStatus;
  version: number;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
  ip: string | null;
}

// The reads and writes every step of a flow makes (a reset runs them ~15 times) are built once
// (src/store/precompiled.ts), not per call.

export async function insertFlow(db: Executor, f: SsprFlow): Promise<void> {
  await flowInsert(db, f.id, f.tokenHash, f.tenantId, f.userId, f.subject, toBool(f.decoy), toBool(f.admin), f.intent, f.methodsRequired, JSON.stringify(f.methods), JSON.stringify(f.verified), JSON.stringify(f.pending), f.status, f.version, f.expiresAt, f.createdAt, f.updatedAt, f.ip);
}

const flowInsert = precompiled(
  (
    db: Executor,
    id: string,
    tokenHash: string,
    tenantId: string | null,
    userId: string | null,
    subject: string,
    decoy: 0 | 1,
    admin: 0 | 1,
    intent: SsprFlow['intent'],
    methodsRequired: number,
    methods: string,
    verified: string,
    pending: string,
    status: FlowStatus,
    version: number,
    expiresAt: string,
    createdAt: string,
    updatedAt: string,
    ip: string | null,
  ) =>
    db.insertInto('sspr_flows').values({
      id,
      token_hash: tokenHash,
      tenant_id: tenantId,
      user_id: userId,
      subject,
      decoy,
      admin,
      intent,
      methods_required: methodsRequired,
      methods,
      verified,
      pending,
      status,
      version,
      expires_at: expiresAt,
      created_at: createdAt,
      updated_at: updatedAt,
      ip,
    }),
);

const flowByTokenHash = precompiled((db: Executor, tokenHash: string) => db.selectFrom('sspr_flows').selectAll().where('token_hash', '=', tokenHash));

export async function findFlowByTokenHash(db: Executor, tokenHash: string): Promise<SsprFlow | undefined> {
  const [row] = await flowByTokenHash(db, tokenHash);
  return row && fromRow(row);
}

/**
 * Writes the flow's mutable state only if the row still has the version the caller read
 * (optimistic concurrency): of two concurrent writers exactly one wins, the other sees false.
 */
export async function updateFlow(db: Executor, f: Pick<SsprFlow, 'id' | 'intent' | 'verified' | 'pending' | 'status' | 'version'>, at: string): Promise<boolean> {
  const r = await db
    .updateTable('sspr_flows')
    .set({ intent: f.intent, verified: JSON.stringify(f.verified), pending: JSON.stringify(f.pending), status: f.status, version: f.version + 1, updated_at: at })
    .where('id', '=', f.id)
    .where('version', '=', f.version)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Sets the status unconditionally from one of `from` (completion, cancel); answers whether it changed. */
export async function setFlowStatus(db: Executor, id: string, from: FlowStatus[], to: FlowStatus, at: string): Promise<boolean> {
  const r = await db
    .updateTable('sspr_flows')
    .set((eb) => ({ status: to, updated_at: at, version: eb('version', '+', 1) })).where('id', '=', id).where('status', 'in', from).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Flows past their expiry that were never finished, oldest first. */
export async function listLapsedFlows(db: Executor, now: string, limit: number): Promise<SsprFlow[]> {
  const rows = await db.selectFrom('sspr_flows').selectAll().where('status', 'in', ['open', 'verified']).where('expires_at', '<=', now).orderBy('expires_at').limit(limit).execute();
  return rows.map(fromRow);
}

/**
 * Deletes what can no longer matter: flows that ended (or lapsed) before `flowsBefore`, counter rows
 * older than the longest limit window, blocks that have run out and CAPTCHA solutions past expiry.
 */
export async function deleteSsprLeftovers(db: Executor, at: { now: string; flowsBefore: string; attemptsBefore: string }): Promise<number> {
  const counts = await Promise.all([
    db.deleteFrom('sspr_flows').where('expires_at', '<', at.flowsBefore).where('status', 'not in', ['open', 'verified']).executeTakeFirst(),
    db.deleteFrom('sspr_attempts').where('created_at', '<', at.attemptsBefore).executeTakeFirst(),
    db.deleteFrom('sspr_blocks').where('blocked_until', '<', at.now).executeTakeFirst(),
    db.deleteFrom('sspr_captcha_uses').where('expires_at', '<', at.now).executeTakeFirst(),
  ]);
  return counts.reduce((n, r) => n + Number(r.numDeletedRows), 0);
}

/**
 * Serialises writers of these counters until the transaction ends (PostgreSQL advisory locks, taken
 * in a fixed order; SQLite already runs one writing transaction at a time).
 */
export async function lockCounters(trx: Executor, subjects: readonly string[]): Promise<void> {
  if (!(trx.getExecutor().adapter instanceof PostgresAdapter)) return;
  for (const subject of [...subjects].sort()) await sql`select pg_advisory_xact_lock(hashtext(${`sspr-counter:${subject}`}))`.execute(trx);
}

export async function insertAttempt(db: Executor, a: { id: string; subject: string; kind: string; createdAt: string }): Promise<void> {
  await attemptInsert(db, a.id, a.subject, a.kind, a.createdAt);
}
const attemptInsert = precompiled((db: Executor, id: string, subject: string, kind: string, createdAt: string) =>
  db.insertInto('sspr_attempts').values({ id, subject, kind, created_at: createdAt }),
);

export async function countAttemptsSince(db: Executor, subject: string, kind: string, since: string): Promise<number> {
  const [r] = await attemptsSince(db, subject, kind, since);
  return Number(r?.n ?? 0);
}
const attemptsSince = precompiled((db: Executor, subject: string, kind: string, since: string) =>
  db
    .selectFrom('sspr_attempts')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('subject', '=', subject)
    .where('kind', '=', kind)
    .where('created_at', '>=', since),
);

/** A successful reset resets every counter of the user (reference §2.3). */
export async function clearAttempts(db: Executor, subject: string): Promise<void> {
  await db.deleteFrom('sspr_attempts').where('subject', '=', subject).execute();
  await db.deleteFrom('sspr_blocks').where('subject', '=', subject).execute();
}

export async function findBlock(db: Executor, subject: string): Promise<{ blockedUntil: string; reason: string } | undefined> {
  const [r] = await blockOf(db, subject);
  return r && { blockedUntil: r.blocked_until, reason: r.reason };
}
const blockOf = precompiled((db: Executor, subject: string) => db.selectFrom('sspr_blocks').selectAll().where('subject', '=', subject));

export async function upsertBlock(db: Executor, subject: string, blockedUntil: string, reason: string): Promise<void> {
  await db
    .insertInto('sspr_blocks')
    .values({ subject, blocked_until: blockedUntil, reason })
    .onConflict((oc) => oc.column('subject').doUpdateSet({ blocked_until: blockedUntil, reason }))
    .execute();
}

/**
 * Records a CAPTCHA solution as used; false when it was used before (the primary key settles races,
 * one statement, so no transaction is needed). Used solutions past their expiry are removed by the
 * housekeeping sweep (deleteSsprLeftovers), not here: expires_at has no index, so a delete on every
 * use scanned the whole table — a cost that grew with the rate of resets.
 */
export async function useCaptcha(db: Executor, hash: string, expiresAt: string): Promise<boolean> {
  const r = await db
    .insertInto('sspr_captcha_uses')
    .values({ hash, expires_at: expiresAt })
    .onConflict((oc) => oc.column('hash').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

function fromRow(r: Selectable<SsprFlowsTable>): SsprFlow {
  return {
    id: r.id,
    tokenHash: r.token_hash,
    tenantId: r.tenant_id,
    userId: r.user_id,
    subject: r.subject,
    decoy: fromBool(r.decoy),
    admin: fromBool(r.admin),
    intent: r.intent === 'reset' || r.intent === 'unlock' ? r.intent : null,
    methodsRequired: Number(r.methods_required),
    methods: JSON.parse(r.methods) as string[],
    verified: JSON.parse(r.verified) as string[],
    pending: JSON.parse(r.pending) as FlowPending,
    status: r.status as FlowStatus,
    version: Number(r.version),
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ip: r.ip,
  };
}
