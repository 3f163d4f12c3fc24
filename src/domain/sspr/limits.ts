import { AppError } from '../../errors.js';
import type { Executor } from '../../store/database.js';
import { countAttemptsSince, findBlock, insertAttempt, upsertBlock } from '../../store/sspr.js';
import type { User } from '../../store/users.js';
import type { AuditDeps, RequestContext } from '../audit.js';
import { recordSsprEvent, STEP } from './audit.js';

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
    await recordSsprEvent(deps, trx, ctx, user, 'Blocked from self-service password reset', STEP.blocked, 'success', [{ key: 'Limit', value: kind }]);
    await recordSsprEvent(deps, trx, ctx, user, 'Self-service password reset flow activity progress', STEP.blocked, 'failure');
  }
  return until;
}
