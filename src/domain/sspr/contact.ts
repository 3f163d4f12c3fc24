import { AppError } from '../../errors.js';
import type { Executor } from '../../store/database.js';
import { updateFlow } from '../../store/sspr.js';
import type { User } from '../../store/users.js';
import type { RequestContext } from '../audit.js';
import { enqueueMessage } from '../messages.js';
import { listRoleMembers } from '../role-assignments.js';
import { ROLE } from '../roles.js';
import { contactedDetails, recordSsprEvent, STEP } from './audit.js';
import { loadFlow, type SsprDeps } from './flows.js';

/**
 * POST …/contact-admin, "Contact your administrator" (reference §1.7, SPEC 3.4). With a helpdesk link
 * or address in the policy the user is pointed there and nothing is sent; otherwise one email goes to
 * each password administrator, else each user administrator, else each global administrator (the
 * first group with members, at most 100). Once per flow. A decoy flow answers the same and sends nothing.
 */
export const CONTACT_ROUTE = [ROLE.passwordAdministrator, ROLE.userAdministrator, ROLE.globalAdministrator] as const;
export const MAX_CONTACT_RECIPIENTS = 100;

export type ContactResult = { result: 'ContactedHelpdesk'; helpdeskUrl: string | null; helpdeskEmail: string | null } | { result: 'ContactedAdmin' };

/** The first non-empty group of enabled administrators along CONTACT_ROUTE, without the user asking. */
export async function contactRecipients(db: Executor, tenantId: string, exceptUserId: string | null): Promise<User[]> {
  for (const role of CONTACT_ROUTE) {
    const members = (await listRoleMembers({ db }, tenantId, role)).filter((u) => u.accountEnabled && u.id !== exceptUserId);
    if (members.length > 0) return members.slice(0, MAX_CONTACT_RECIPIENTS);
  }
  return [];
}

export function addressOf(u: User): string {
  return u.mail ?? u.otherMails[0] ?? u.userPrincipalName;
}

export async function contactAdmin(deps: SsprDeps, ctx: RequestContext, token: string): Promise<ContactResult> {
  const { flow, user, policy } = await loadFlow(deps, deps.db, token, ['open', 'verified']);
  if (flow.pending.contacted) throw new AppError('sspr.already_contacted');
  const helpdesk = policy.helpdeskUrl !== null || policy.helpdeskEmail !== null;
  const answer: ContactResult = helpdesk ? { result: 'ContactedHelpdesk', helpdeskUrl: policy.helpdeskUrl, helpdeskEmail: policy.helpdeskEmail } : { result: 'ContactedAdmin' };
  const now = deps.clock.now().toISOString();
  await deps.db.transaction().execute(async (trx) => {
    // Optimistic on the version read: of two concurrent contacts exactly one is sent.
    if (!(await updateFlow(trx, { ...flow, pending: { ...flow.pending, contacted: true } }, now))) throw new AppError('sspr.already_contacted');
    if (!user) return;
    if (!helpdesk) {
      for (const admin of await contactRecipients(trx, user.tenantId, user.id)) {
        await enqueueMessage(trx, deps, {
          tenantId: user.tenantId,
          channel: 'email',
          to: addressOf(admin),
          template: 'contact-admin',
          data: { displayName: admin.displayName, userDisplayName: user.displayName, userPrincipalName: user.userPrincipalName, requestedAt: now },
        });
      }
    }
    await recordSsprEvent(deps, trx, ctx, user, flow, 'Self-service password reset flow activity progress', STEP.contactedAdmin, 'success', [
      { key: 'Result', value: 'Contacted Admin' },
      { key: 'Route', value: helpdesk ? 'helpdesk' : 'administrators' },
      { key: 'Details', value: contactedDetails(flow) },
    ]);
  });
  return answer;
}
