import type { Executor } from '../../store/database.js';
import type { SsprFlow } from '../../store/sspr.js';
import type { User } from '../../store/users.js';
import { recordAudit, type AuditActivity, type AuditDeps, type RequestContext } from '../audit.js';

/**
 * Audit of the reset flow, Azure's way (reference §5.2, §5.3): the user is both actor and target,
 * the service is "Self-service Password Management", and each step of the flow is one "Self-service
 * password reset flow activity progress" event whose result reason is the step's text.
 */

export type SsprMethodName = 'email' | 'mobileSms' | 'mobileCall' | 'officeCall' | 'securityQuestions' | 'appCode' | 'appNotification' | 'recoveryCode';

/** How the Details table names each method ("the mobile SMS verification option"). */
export const METHOD_PHRASE: Record<SsprMethodName, string> = {
  email: 'email verification option',
  mobileSms: 'mobile SMS verification option',
  mobileCall: 'mobile voice call verification option',
  officeCall: 'office voice call verification option',
  securityQuestions: 'security questions option',
  appCode: 'authenticator app code verification option',
  appNotification: 'authenticator app notification verification option',
  recoveryCode: 'recovery code verification option',
};

export const STEP = {
  submittedUserId: 'User submitted their user ID',
  notEnabled: 'Password reset has been disabled entirely for this tenant. See http://aka.ms/ssprtroubleshoot to resolve this.',
  notInScope: 'Password reset is not enabled for this user. Enable password reset under the configure tab to resolve this',
  notInGroup: 'This user is not a member of the password reset users group. Add this user to that group to resolve this.',
  notLicensed: 'User does not have a license. You can add a license to the user to resolve this',
  notEnoughMethods: "User's account has insufficient authentication methods defined. Add authentication info to resolve this",
  writebackOff: "User's password is managed on-premises. You can enable Password Writeback to resolve this",
  onPremUnreachable: 'We could not reach your on-premises password reset service. Check your sync machine\'s event log',
  started: (m: SsprMethodName) => `User started the ${METHOD_PHRASE[m]}`,
  completed: (m: SsprMethodName) => `User completed the ${METHOD_PHRASE[m]}`,
  failed: (m: SsprMethodName) => `User failed the ${METHOD_PHRASE[m]}`,
  cancelledBeforeMethods: 'User cancelled before passing the required authentication methods',
  cancelledBeforePassword: 'User cancelled before submitting a new password',
  succeeded: 'User successfully reset password',
  unlocked: 'User successfully unlocked their account',
  contactedAdmin: 'User contacted an admin',
  blocked: 'User tried to reset a password, use a specific gate, or validate a phone number too many times and is blocked for 24 hours',
} as const;

/** The flow acts for its user: audit events name them as the initiator, with the request's address. */
export function actingAs(ctx: RequestContext, user: User): RequestContext {
  return {
    ...ctx,
    principal: { kind: 'user', tenantId: user.tenantId, userId: user.id, userPrincipalName: user.userPrincipalName, displayName: user.displayName, roles: [], clientId: null, scopes: [] },
  };
}

/** The part of a flow its events carry: the DB id (never the client token) and what the methods report needs. */
export type FlowRef = Pick<SsprFlow, 'id' | 'methods' | 'verified' | 'pending'>;

/** The methods a flow used: verified, or started (a code sent, questions asked), in the order offered. */
export function usedMethods(flow: FlowRef): string[] {
  const codes = flow.pending.codes ?? {};
  return flow.methods.filter((m) => flow.verified.includes(m) || codes[m] !== undefined || flow.pending.lastStarted === m);
}

/** The §5.2 Details text of "Contacted Admin": the option the user tried last, started or completed. */
export function contactedDetails(flow: FlowRef): string {
  const last = flow.pending.lastStarted ?? flow.verified.at(-1);
  if (last === undefined || !Object.hasOwn(METHOD_PHRASE, last)) return STEP.contactedAdmin;
  const phrase = last === 'securityQuestions' ? 'security question verification option' : METHOD_PHRASE[last as SsprMethodName];
  return `User contacted an admin after trying the ${phrase}`;
}

/**
 * Records one SSPR event. Every event of a flow carries `FlowId` (the flow's DB id), so the activity
 * report can tie its steps together; an outcome event (one with a `Result` detail) also carries
 * `Methods`, the methods the flow used, so the report reads one row per outcome without joining.
 */
export async function recordSsprEvent(
  deps: AuditDeps,
  trx: Executor,
  ctx: RequestContext,
  user: User,
  flow: FlowRef | null,
  activity: Extract<AuditActivity, 'Self-service password reset flow activity progress' | 'Reset password (self-service)' | 'Unlock user account (self-service)' | 'Blocked from self-service password reset'>,
  reason: string,
  result: 'success' | 'failure' = 'success',
  details: { key: string; value: string }[] = [],
): Promise<void> {
  const extra: { key: string; value: string }[] = [];
  if (flow) {
    extra.push({ key: 'FlowId', value: flow.id });
    if (details.some((d) => d.key === 'Result') && !details.some((d) => d.key === 'Methods')) extra.push({ key: 'Methods', value: usedMethods(flow).join(', ') });
  }
  await recordAudit(deps, trx, actingAs(ctx, user), {
    tenantId: user.tenantId,
    activity,
    category: 'UserManagement',
    loggedByService: 'Self-service Password Management',
    operationType: 'Update',
    result,
    resultReason: reason,
    targets: [{ id: user.id, displayName: user.displayName, type: 'User', userPrincipalName: user.userPrincipalName, modifiedProperties: [] }],
    additionalDetails: [...details, ...extra],
  });
}
