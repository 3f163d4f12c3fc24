import type { Db, Executor } from '../../store/database.js';
import { findBlock, listLapsedFlows, setFlowStatus, type SsprFlow } from '../../store/sspr.js';
import { findUserById } from '../../store/users.js';
import type { AuditDeps, RequestContext } from '../audit.js';
import { METHOD_PHRASE, recordSsprEvent, type SsprMethodName } from './audit.js';
import { BLOCK_MS } from './limits.js';

/**
 * Flows nobody finished: when a flow's 15 minutes pass while it is still open (or verified), it ends as
 * Azure's "Abandoned", with the step text of where the user stopped (reference §5.2 Details table).
 * The status change is conditional, so of several nodes (a request that finds the flow lapsed, the
 * hourly sweep) exactly one records the event.
 */
const isMethod = (m: string | undefined): m is SsprMethodName => m !== undefined && Object.hasOwn(METHOD_PHRASE, m);

export function abandonedStep(flow: Pick<SsprFlow, 'status' | 'verified' | 'pending'>): string {
  if (flow.status === 'verified') {
    return flow.pending.passwordTried ? 'User abandoned while selecting a new password' : 'User abandoned before selecting a new password';
  }
  const started = flow.pending.lastStarted;
  if (isMethod(started) && !flow.verified.includes(started)) return `User abandoned after starting the ${METHOD_PHRASE[started]}`;
  const completed = flow.verified.at(-1);
  if (isMethod(completed)) return `User abandoned after completing the ${METHOD_PHRASE[completed]}`;
  return 'User abandoned after entering their user ID';
}

/** Ends one lapsed flow; answers whether this call ended it (and so audited it). */
export async function expireFlow(deps: AuditDeps & { readonly db: Db }, flow: SsprFlow): Promise<boolean> {
  const now = deps.clock.now().toISOString();
  return deps.db.transaction().execute(async (trx) => {
    if (!(await setFlowStatus(trx, flow.id, ['open', 'verified'], 'expired', now))) return false;
    const user = !flow.decoy && flow.tenantId && flow.userId ? await findUserById(trx, flow.tenantId, flow.userId) : undefined;
    if (user) {
      const ctx: RequestContext = { principal: null, ipAddress: flow.ip, userAgent: null, correlationId: flow.id };
      // A flow that contacted an admin or was blocked already has its report outcome; the step is still audited.
      const outcomeKnown = flow.pending.contacted === true || (await blockedDuring(trx, flow));
      await recordSsprEvent(deps, trx, ctx, user, flow, 'Self-service password reset flow activity progress', abandonedStep(flow), 'success', outcomeKnown ? [] : [{ key: 'Result', value: 'Abandoned' }]);
    }
    return true;
  });
}

/** Was the flow's subject blocked after the flow started (the block's 24 hours began at or after its start)? */
async function blockedDuring(trx: Executor, flow: SsprFlow): Promise<boolean> {
  const block = await findBlock(trx, flow.subject);
  return block !== undefined && Date.parse(block.blockedUntil) - BLOCK_MS >= Date.parse(flow.createdAt);
}

/** The housekeeping pass: every flow past its expiry that is still open or verified, in batches. */
export async function sweepAbandonedFlows(deps: AuditDeps & { readonly db: Db }, batch = 200): Promise<number> {
  let ended = 0;
  for (;;) {
    const lapsed = await listLapsedFlows(deps.db, deps.clock.now().toISOString(), batch);
    for (const flow of lapsed) if (await expireFlow(deps, flow)) ended++;
    if (lapsed.length < batch) return ended;
  }
}
