import { AppError } from '../../errors.js';
import type { Executor } from '../../store/database.js';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/crypto.js';
import { countAttemptsSince, findBlock, insertAttempt, lockCounters, upsertBlock } from '../../store/sspr.js';
import type { User } from '../../store/users.js';
import type { AuditDeps, RequestContext } from '../audit.js';
import { recordSsprEvent, STEP, type FlowRef } from './audit.js';

/**
 * SPEC 3.4 limits, per account: 5 attempts per hour per gate, 5 flows per 24 hours, 10 emails per
 * 10 minutes; going beyond any of them blocks the account from self-service reset for 24 hours
 * ("Blocked from self-service password reset"). Every event is a row in sspr_attempts and the block
 * a row in sspr_blocks, so all nodes agree. Decoy flows count against an HMAC of the typed UPN, so an
 * unknown user is throttled exactly like a real one.
 */
export const FLOW_TTL_MS = 15 * 60_000;
export const BLOCK_MS = 24 * 3_600_000;

export type AttemptKind = 'flow' | 'email' | `gate:${string}` | `send:${string}`;

const LIMITS: Record<'flow' | 'email' | 'gate', { max: number; windowMs: number }> = {
  flow: { max: 5, windowMs: 24 * 3_600_000 },
  email: { max: 10, windowMs: 10 * 60_000 },
  gate: { max: 5, windowMs: 3_600_000 },
};

export function blockedError(blockedUntil: string): AppError {
  return new AppError('sspr.blocked', { data: { blockedUntil } });
}

export async function assertNotBlocked(db: Executor, subject: string, now: Date): Promise<void> {
  const block = await findBlock(db, subject);
  if (block && Date.parse(block.blockedUntil) > now.getTime()) throw blockedError(block.blockedUntil);
}

/**
 * Counts one event; when it goes beyond its limit, blocks the subject for 24 hours (audited for a real
 * user) and answers the block's end. Run it in a transaction that commits even when the caller then
 * refuses the request.
 */
export async function countAttempt(
  trx: Executor,
  deps: AuditDeps,
  ctx: RequestContext,
  subject: string,
  user: User | null,
  kind: AttemptKind,
  flow: FlowRef | null = null,
): Promise<string | null> {
  const now = deps.clock.now();
  await insertAttempt(trx, { id: deps.random.uuid(), subject, kind, createdAt: now.toISOString() });
  const family = kind.startsWith('gate:') ? 'gate' : kind.startsWith('send:') ? null : (kind as 'flow' | 'email');
  if (family === null) return null;
  const limit = LIMITS[family];
  const n = await countAttemptsSince(trx, subject, kind, new Date(now.getTime() - limit.windowMs).toISOString());
  if (n <= limit.max) return null;
  const until = new Date(now.getTime() + BLOCK_MS).toISOString();
  await upsertBlock(trx, subject, until, kind);
  if (user) {
    await recordSsprEvent(deps, trx, ctx, user, flow, 'Blocked from self-service password reset', STEP.blocked, 'success', [{ key: 'Limit', value: kind }]);
    await recordSsprEvent(deps, trx, ctx, user, flow, 'Self-service password reset flow activity progress', STEP.blocked, 'failure', [{ key: 'Result', value: 'Blocked' }, { key: 'Limit', value: kind }]);
  }
  return until;
}

/**
 * SPEC 3.4 budgets on texts and calls, beyond the per-account limits: per client address and per
 * country calling code, so one network (or a toll-fraud run on one expensive prefix) cannot spend
 * unbounded SMS/voice through many accounts. Counted in sspr_attempts under subjects `ip:<address>` and
 * `prefix:<calling code>` over a sliding hour. The numbers come from the configuration
 * (SSPR_SMS_PER_IP_PER_HOUR, SSPR_SMS_PER_PREFIX_PER_HOUR); these are its defaults.
 */
export interface SmsBudget {
  perIp: number;
  perPrefix: number;
}
export const SMS_BUDGET: Readonly<SmsBudget> = Object.freeze({ perIp: 20, perPrefix: 200 });
export const SMS_BUDGET_KIND = 'sms-budget';
const SMS_WINDOW_MS = 3_600_000;

export interface SmsBudgetDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly smsBudget?: Partial<SmsBudget> | undefined;
}

/**
 * Spends one text or call of both budgets, or refuses (nothing counted, nothing sent) when either is
 * used up. The budgets' counters are locked for the transaction, so concurrent requests on several
 * nodes cannot together overshoot them.
 */
export async function spendSmsBudget(trx: Executor, deps: SmsBudgetDeps, ipAddress: string | null, e164: string): Promise<void> {
  const budget = { ...SMS_BUDGET, ...deps.smsBudget };
  const now = deps.clock.now();
  const since = new Date(now.getTime() - SMS_WINDOW_MS).toISOString();
  const prefix = parsePhoneNumberFromString(e164)?.countryCallingCode ?? 'unknown';
  const scopes: { scope: 'ip' | 'prefix'; subject: string; limit: number }[] = [{ scope: 'prefix', subject: `prefix:${prefix}`, limit: budget.perPrefix }];
  if (ipAddress) scopes.unshift({ scope: 'ip', subject: `ip:${ipAddress}`, limit: budget.perIp });
  await lockCounters(trx, scopes.map((s) => s.subject));
  for (const s of scopes) {
    if ((await countAttemptsSince(trx, s.subject, SMS_BUDGET_KIND, since)) >= s.limit) {
      const windowMinutes = SMS_WINDOW_MS / 60_000;
      const message =
        s.scope === 'ip'
          ? `Too many text messages and calls were requested from your network (${s.limit} in ${windowMinutes} minutes). Try again later, use another verification method, or contact your admin.`
          : `Too many text messages and calls were requested to phone numbers in your country (${s.limit} in ${windowMinutes} minutes). Try again later, use another verification method, or contact your admin.`;
      throw new AppError('sspr.sms_budget', { message, data: { scope: s.scope, limit: s.limit, windowMinutes } });
    }
  }
  for (const s of scopes) await insertAttempt(trx, { id: deps.random.uuid(), subject: s.subject, kind: SMS_BUDGET_KIND, createdAt: now.toISOString() });
}
