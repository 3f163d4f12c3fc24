import { AppError } from '../../errors.js';
import { hmac, sha256, type SecretBox } from '../../lib/crypto.js';
import type { Db, Executor } from '../../store/database.js';
import { listRoleIdsOfPrincipal } from '../../store/role-assignments.js';
import { findFlowByTokenHash, insertFlow, type SsprFlow } from '../../store/sspr.js';
import { findTenantByDomain, findTenantById, type Tenant } from '../../store/tenants.js';
import { findUserById, findUserByUpn, upnLookupKey, type User } from '../../store/users.js';
import type { AuditDeps, RequestContext } from '../audit.js';
import type { Hasher } from '../hasher.js';
import type { MessageDeps } from '../messages.js';
import { maskEmail, maskPhone } from '../security-info/overview.js';
import { isAdministrator, loadRegisteredMethods, withProfileContacts, type RegisteredMethods } from '../security-info/status.js';
import { ssprPolicyOf, type SsprPolicy } from '../sspr-policy.js';
import { expireFlow } from './abandon.js';
import { recordSsprEvent, STEP, type SsprMethodName } from './audit.js';
import { spendCaptcha, type CaptchaDeps } from './captcha.js';
import { refusalError, tenantRefusal, userRefusal } from './eligibility.js';
import { assertNotBlocked, blockedError, countAttempt, FLOW_TTL_MS, type SmsBudget } from './limits.js';

export type SsprDeps = AuditDeps & MessageDeps & CaptchaDeps & { readonly db: Db; readonly hasher: Hasher; readonly smsBudget?: Partial<SmsBudget> | undefined };

export interface OfferedMethod {
  method: SsprMethodName;
  target: string | null;
}

export interface StartedFlow {
  flowId: string;
  expiresAt: string;
  requiredVerifications: number;
  intents: ('reset' | 'unlock')[];
  methods: OfferedMethod[];
}

const NO_USER = '00000000-0000-0000-0000-000000000000';

/**
 * The subject the limits count for an unknown UPN: keyed, so the table does not list typed names; of
 * the lookup's canonical form, so every spelling of one unknown name shares a bucket, as a real
 * user's spellings share theirs.
 */
export function decoySubject(box: SecretBox, upn: string): string {
  return `decoy:${hmac(box.derive('sspr-decoy'), upnLookupKey(upn.trim())).slice(0, 40)}`;
}

/** The methods a real user is offered, in the policy's order, with masked targets. */
export function offeredMethods(m: RegisteredMethods, policyMethods: readonly string[], admin: boolean): OfferedMethod[] {
  const phone = (type: string) => m.phones.find((p) => p.phoneType === type);
  const out: OfferedMethod[] = [];
  for (const method of policyMethods) {
    if (method === 'email' && m.email) out.push({ method, target: maskEmail(m.email.address) });
    if ((method === 'mobileSms' || method === 'mobileCall') && phone('mobile')) out.push({ method, target: maskPhone(phone('mobile')!.number) });
    if (method === 'officeCall' && phone('office')) out.push({ method, target: maskPhone(phone('office')!.number) });
    if (method === 'securityQuestions' && !admin && m.securityQuestions > 0) out.push({ method, target: null });
    if (method === 'appCode' && m.authenticators.length > 0) out.push({ method, target: null });
  }
  if (m.recoveryCodesRemaining > 0) out.push({ method: 'recoveryCode', target: null });
  return out;
}

/**
 * What an unknown user is shown: an email and a mobile, derived from a keyed hash of the typed UPN so
 * the same name always shows the same targets, never anything that exists.
 */
export function decoyMethods(box: SecretBox, upn: string, policyMethods: readonly string[]): OfferedMethod[] {
  const h = Buffer.from(hmac(box.derive('sspr-decoy-targets'), upnLookupKey(upn.trim())), 'base64url');
  const letter = String.fromCharCode(97 + (h[0]! % 26));
  const domain = upn.includes('@') ? upn.slice(upn.lastIndexOf('@') + 1).toLowerCase() : 'outlook.com';
  const tail = String(h.readUInt16BE(1) % 10_000).padStart(4, '0');
  const out: OfferedMethod[] = [];
  for (const method of policyMethods) {
    if (method === 'email') out.push({ method, target: `${letter}***@${domain}` });
    if (method === 'mobileSms' || method === 'mobileCall') out.push({ method, target: `+1 •••• ••• ${tail}` });
  }
  if (h[3]! % 4 === 0) out.push({ method: 'recoveryCode', target: null });
  return out;
}

/** POST /api/v1/sspr/flows: CAPTCHA, eligibility in Azure's order, then a flow (a decoy for unknown users). */
export async function startFlow(deps: SsprDeps, ctx: RequestContext, input: { userPrincipalName: string; captcha: string }): Promise<StartedFlow> {
  await spendCaptcha(deps.db, deps, input.captcha);
  const upn = input.userPrincipalName.trim();
  const user = upn.length <= 256 ? await findUserByUpn(deps.db, upn) : undefined;
  const domain = upnLookupKey(upn.slice(upn.lastIndexOf('@') + 1));
  const tenant = user ? await findTenantById(deps.db, user.tenantId) : upn.includes('@') ? await findTenantByDomain(deps.db, domain) : undefined;
  const policy: SsprPolicy = ssprPolicyOf(tenant ?? { settings: {} as Tenant['settings'] });
  const subject = user ? user.id : decoySubject(deps.secretBox, upn);
  const now = deps.clock.now();
  await assertNotBlocked(deps.db, subject, now);

  let admin = false;
  let methods: OfferedMethod[];
  let required: number;
  if (user && tenant) {
    admin = isAdministrator(await listRoleIdsOfPrincipal(deps.db, tenant.id, user.id));
    // what the user registered, or what an admin or sync put in their profile (reference F08/F09)
    const registered = withProfileContacts(await loadRegisteredMethods(deps.db, user.id), user);
    const { refusal, effective } = await userRefusal(deps.db, tenant, policy, user, admin, registered);
    if (refusal) {
      await deps.db.transaction().execute((trx) => recordSsprEvent(deps, trx, ctx, user, null, 'Self-service password reset flow activity progress', refusal.step, 'failure', [{ key: 'Result', value: 'Failed' }]));
      throw refusalError(refusal);
    }
    methods = offeredMethods(registered, effective.methods, admin);
    required = effective.methodsRequired;
  } else {
    const refusal = tenant ? tenantRefusal(tenant, policy, false) : null;
    if (refusal) throw refusalError(refusal);
    // the reads a real user's start costs, so the decoy does comparable work (the response floor in
    // the route evens out the rest)
    if (tenant) {
      await listRoleIdsOfPrincipal(deps.db, tenant.id, NO_USER);
      await loadRegisteredMethods(deps.db, NO_USER);
    }
    methods = decoyMethods(deps.secretBox, upn, policy.methods);
    required = policy.methodsRequired;
  }

  const token = deps.random.token(32);
  const flow: SsprFlow = {
    id: deps.random.uuid(),
    tokenHash: sha256(`sspr-flow:${token}`),
    tenantId: tenant?.id ?? null,
    userId: user?.id ?? null,
    subject,
    decoy: !user,
    admin,
    intent: null,
    methodsRequired: required,
    methods: methods.map((m) => m.method),
    verified: [],
    pending: {},
    status: 'open',
    version: 0,
    expiresAt: new Date(now.getTime() + FLOW_TTL_MS).toISOString(),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    ip: ctx.ipAddress,
  };
  const blockedUntil = await deps.db.transaction().execute(async (trx) => {
    const until = await countAttempt(trx, deps, ctx, subject, user ?? null, 'flow');
    if (until) return until;
    await insertFlow(trx, flow);
    if (user) await recordSsprEvent(deps, trx, ctx, user, flow, 'Self-service password reset flow activity progress', STEP.submittedUserId);
    return null;
  });
  if (blockedUntil) throw blockedError(blockedUntil);
  return {
    flowId: token,
    expiresAt: flow.expiresAt,
    requiredVerifications: required,
    intents: policy.allowUnlockWithoutReset ? ['reset', 'unlock'] : ['reset'],
    methods,
  };
}

export interface LoadedFlow {
  flow: SsprFlow;
  /** undefined for a decoy flow */
  user: User | undefined;
  tenant: Tenant | undefined;
  policy: SsprPolicy;
}

/** The open (or verified) flow behind a client token; anything else is "not found". */
export async function loadFlow(deps: SsprDeps, db: Executor, token: string, statuses: SsprFlow['status'][] = ['open', 'verified']): Promise<LoadedFlow> {
  // made when thrown: an Error captures its stack when constructed, and most loads succeed
  const notFound = (): AppError => new AppError('sspr.flow_not_found');
  if (token.length < 16 || token.length > 128) throw notFound();
  const flow = await findFlowByTokenHash(db, sha256(`sspr-flow:${token}`));
  if (!flow) throw notFound();
  const now = deps.clock.now();
  if (flow.expiresAt <= now.toISOString()) {
    if (flow.status === 'open' || flow.status === 'verified') await expireFlow(deps, flow);
    throw notFound();
  }
  if (!statuses.includes(flow.status)) throw notFound();
  await assertNotBlocked(db, flow.subject, now);
  const tenant = flow.tenantId ? await findTenantById(db, flow.tenantId) : undefined;
  const user = flow.userId && flow.tenantId ? await findUserById(db, flow.tenantId, flow.userId) : undefined;
  if (!flow.decoy && !user) throw notFound();
  // A password set since the flow began (a change, an admin reset, another flow, a sync) ends it:
  // what the flow proved was about the account as it was then (Django binds its reset tokens to the
  // password hash for the same reason). It answers as any spent flow does.
  if (user?.lastPasswordChangeDateTime && Date.parse(user.lastPasswordChangeDateTime) > Date.parse(flow.createdAt)) throw notFound();
  return { flow, user, tenant, policy: ssprPolicyOf(tenant ?? { settings: {} as Tenant['settings'] }) };
}
