import type { Db } from '../store/database.js';
import { listReminderCandidates, listSentMarks, listTenantSettings, recordSentMarks, type ReminderCandidate } from '../store/expiry-reminders.js';
import { releaseLease, tryAcquireLease } from '../store/job-leases.js';
import { enqueueMessage, type MessageDeps } from './messages.js';
import type { Tenant } from '../store/tenants.js';
import { passwordExpiry, type ExpiryPolicy } from './password-expiry.js';
import { passwordPolicyOf } from './policies.js';

/**
 * Password expiry reminders (beyond Azure: only ADSelfService Plus has them). Each user whose
 * password expires within one of the tenant's marks (default 14, 7, 3 and 1 days) gets one email —
 * and an SMS when a mobile phone is on file — per mark, once. A change of password starts a fresh
 * set, because sent marks are keyed by the password's change time. A user who enters the window
 * late (the policy was just switched on) gets one reminder for the nearest mark, not a burst.
 */

export const REMINDER_JOB = 'password-expiry-reminders';
const DAY = 86_400_000;
const PAGE = 200;

export interface ReminderDeps extends MessageDeps {
  readonly db: Db;
}

interface TenantReminderPolicy extends ExpiryPolicy {
  readonly reminderDays: readonly number[];
}

function reminderPolicyOf(tenant: Pick<Tenant, 'settings'>): TenantReminderPolicy {
  const policy = passwordPolicyOf(tenant);
  return { expiresAfterDays: policy.expiresAfterDays, notificationWindowDays: policy.notificationWindowDays, reminderDays: policy.expiryReminderDays };
}

/** Sends every reminder that is due now. Safe to run on several nodes at once: each mark is recorded once. */
export async function sendDueExpiryReminders(deps: ReminderDeps): Promise<{ sent: number }> {
  const now = deps.clock.now();
  let sent = 0;
  for (const tenant of await listTenantSettings(deps.db)) {
    const policy = reminderPolicyOf(tenant);
    if (policy.expiresAfterDays === null || policy.reminderDays.length === 0) continue;
    const widest = Math.max(...policy.reminderDays);
    // only passwords changed long enough ago can be inside the widest window
    const changedBefore = new Date(now.getTime() - Math.max(0, policy.expiresAfterDays - widest) * DAY).toISOString();
    let afterId: string | undefined;
    for (;;) {
      const page = await listReminderCandidates(deps.db, tenant.id, changedBefore, afterId, PAGE);
      for (const user of page) if (await remindIfDue(deps, user, policy, now)) sent += 1;
      if (page.length < PAGE) break;
      afterId = page[page.length - 1]!.id;
    }
  }
  return { sent };
}

async function remindIfDue(deps: ReminderDeps, user: ReminderCandidate, policy: TenantReminderPolicy, now: Date): Promise<boolean> {
  const expiry = passwordExpiry(user, policy, now);
  if (expiry.expiresAt === null || expiry.expired || expiry.daysLeft === null) return false;
  const daysLeft = expiry.daysLeft;
  const due = policy.reminderDays.filter((mark) => daysLeft <= mark);
  if (due.length === 0) return false;
  const passwordChangedAt = user.lastPasswordChangeDateTime ?? user.createdDateTime;
  const already = new Set(await listSentMarks(deps.db, user.id, passwordChangedAt));
  const unsent = due.filter((mark) => !already.has(mark));
  if (unsent.length === 0) return false;

  const data = { displayName: user.displayName, userPrincipalName: user.userPrincipalName, daysLeft, expiresAt: expiry.expiresAt.toISOString() };
  // Azure's notifications fall back to the UPN when no email is on file.
  const email = user.mail ?? user.otherMails[0] ?? user.userPrincipalName;
  try {
    await deps.db.transaction().execute(async (trx) => {
      const mine = await recordSentMarks(trx, user.id, passwordChangedAt, unsent, now.toISOString());
      // another node recorded one of these marks first: roll back so only its message goes out
      if (!mine) throw new ReminderRace();
      await enqueueMessage(trx, deps, { tenantId: user.tenantId, channel: 'email', to: email, template: 'password-expiry-reminder', data });
      if (user.mobilePhone) {
        await enqueueMessage(trx, deps, { tenantId: user.tenantId, channel: 'sms', to: user.mobilePhone, template: 'password-expiry-reminder', data });
      }
    });
  } catch (err) {
    if (err instanceof ReminderRace || isUniqueViolation(err)) return false;
    throw err;
  }
  return true;
}

class ReminderRace extends Error {}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || /UNIQUE constraint failed|duplicate key/i.test(e.message ?? '');
}

export interface ReminderScheduler {
  /** one round: take the lease, sweep, keep the lease until it runs out (no other node sweeps meanwhile) */
  runOnce(): Promise<{ ran: boolean; sent: number }>;
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

/**
 * Runs the sweep inside `serve` under a database lease, so at any time one node of a cluster does
 * the work; the sent-marks table makes a double run harmless anyway.
 */
export function createReminderScheduler(
  deps: ReminderDeps,
  owner: string,
  leaseMs = 10 * 60_000,
  log: { warn(obj: object, msg: string): void } = { warn: (obj, msg) => console.error(`postern: ${msg}`, obj) },
): ReminderScheduler {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const runOnce = async (): Promise<{ ran: boolean; sent: number }> => {
    const now = deps.clock.now();
    const until = new Date(now.getTime() + leaseMs).toISOString();
    if (!(await tryAcquireLease(deps.db, REMINDER_JOB, owner, now.toISOString(), until))) return { ran: false, sent: 0 };
    const { sent } = await sendDueExpiryReminders(deps);
    return { ran: true, sent };
  };
  return {
    runOnce,
    start(intervalMs) {
      timer = setInterval(() => {
        running = runOnce().catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'expiry reminder sweep failed'));
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running;
      await releaseLease(deps.db, REMINDER_JOB, owner).catch(() => undefined);
    },
  };
}
