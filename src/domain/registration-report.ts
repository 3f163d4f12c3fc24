import { AppError } from '../errors.js';
import type { Executor } from '../store/database.js';
import { transitiveMembersAmong } from '../store/groups.js';
import { listRoleIdsOfPrincipals, loadRegisteredMethodsOf, type RegisteredMethodRows } from '../store/registration-report.js';
import { findTenantById, type Tenant } from '../store/tenants.js';
import { findUserById, listUsers, type User } from '../store/users.js';
import { isSsprAllowedForAdmins } from './authorization-policy.js';
import { effectivePolicy, isAdministrator, usableMethods } from './security-info/status.js';
import { ssprPolicyOf, type SsprPolicy } from './sspr-policy.js';
import { userNotFound } from './users.js';

/**
 * Graph's registration report, `reports/authenticationMethods/userRegistrationDetails` (reference
 * §8.6; issue 4 deliverable 8): per user, what they registered and whether self-service password
 * reset is enabled for them, registered enough for it, and so capable of it. Computed live from the
 * same rules the flow uses (security-info/status.ts), a page of users at a time in a few queries.
 */

export type GraphMethodName = 'email' | 'mobilePhone' | 'alternateMobilePhone' | 'officePhone' | 'securityQuestion' | 'softwareOneTimePasscode';
export type PreferredMethod = 'oath' | 'sms' | 'voiceAlternateMobile' | 'voiceOffice' | 'none';

export interface UserRegistrationDetails {
  id: string;
  userPrincipalName: string;
  userDisplayName: string;
  userType: 'member';
  isAdmin: boolean;
  isSsprRegistered: boolean;
  isSsprEnabled: boolean;
  isSsprCapable: boolean;
  isMfaRegistered: boolean;
  isMfaCapable: boolean;
  isPasswordlessCapable: boolean;
  isSystemPreferredAuthenticationMethodEnabled: boolean;
  systemPreferredAuthenticationMethods: string[];
  userPreferredMethodForSecondaryAuthentication: PreferredMethod;
  methodsRegistered: GraphMethodName[];
  lastUpdatedDateTime: string;
}

export type ReportBooleanField = 'isAdmin' | 'isSsprRegistered' | 'isSsprEnabled' | 'isSsprCapable' | 'isMfaRegistered' | 'isMfaCapable' | 'isPasswordlessCapable';

/** Name filters run in SQL (as on /users); the computed ones on each user of the page. */
export type ReportFilter =
  | { field: 'userPrincipalName' | 'userDisplayName'; op: 'eq' | 'startswith'; value: string }
  | { field: ReportBooleanField; value: boolean }
  | { field: 'userType'; value: string }
  | { field: 'methodsRegistered'; value: string };

export interface ReportQuery {
  filters: ReportFilter[];
  afterId: string | undefined;
  top: number;
}

export interface ReportPage {
  items: UserRegistrationDetails[];
  /** continue after this user id; undefined when no users remain */
  nextAfterId: string | undefined;
}

/**
 * Users examined per request at most. A selective filter over a large tenant therefore answers a
 * short (even empty) page with a nextLink rather than scanning everything in one request; Graph
 * clients follow nextLink until it is absent, so nothing is lost.
 */
export const MAX_SCANNED_PER_REQUEST = 5000;
const MIN_BATCH = 100;
const MAX_BATCH = 500;

interface ReportContext {
  tenant: Tenant;
  policy: SsprPolicy;
  now: string;
}

export async function listRegistrationDetails(deps: { db: Executor; clock: { now(): Date } }, tenantId: string, q: ReportQuery): Promise<ReportPage> {
  const rc = await reportContext(deps, tenantId);
  const sqlFilters = q.filters.flatMap((f) =>
    f.field === 'userPrincipalName' || f.field === 'userDisplayName'
      ? [{ field: f.field === 'userPrincipalName' ? ('userPrincipalName' as const) : ('displayName' as const), op: f.op, value: f.value }]
      : [],
  );
  const computed = q.filters.filter((f) => f.field !== 'userPrincipalName' && f.field !== 'userDisplayName');
  // without computed filters every user fetched is answered, so fetch exactly a page
  const batch = computed.length === 0 ? q.top : Math.min(Math.max(q.top * 2, MIN_BATCH), MAX_BATCH);

  const items: UserRegistrationDetails[] = [];
  let cursor = q.afterId;
  let scanned = 0;
  for (;;) {
    const { users, more } = await listUsers(deps.db, tenantId, { filters: sqlFilters, afterId: cursor, limit: batch });
    const matching = (await detailsOf(deps.db, rc, users)).filter((d) => computed.every((f) => matches(d, f)));
    scanned += users.length;
    const room = q.top - items.length;
    if (matching.length > room) {
      // the page fills inside this batch and a match is left over: continue right after the last one answered
      items.push(...matching.slice(0, room));
      return { items, nextAfterId: items.at(-1)!.id };
    }
    items.push(...matching);
    cursor = users.at(-1)?.id ?? cursor;
    if (!more) return { items, nextAfterId: undefined };
    if (items.length === q.top || scanned >= MAX_SCANNED_PER_REQUEST) return { items, nextAfterId: cursor };
  }
}

/** One user's row, by id (the report's key). Other tenants' users are not found. */
export async function getRegistrationDetails(deps: { db: Executor; clock: { now(): Date } }, tenantId: string, id: string): Promise<UserRegistrationDetails> {
  const user = id.length <= 64 ? await findUserById(deps.db, tenantId, id.toLowerCase()) : undefined;
  if (!user) throw userNotFound(id);
  const [details] = await detailsOf(deps.db, await reportContext(deps, tenantId), [user]);
  return details!;
}

async function reportContext(deps: { db: Executor; clock: { now(): Date } }, tenantId: string): Promise<ReportContext> {
  const tenant = await findTenantById(deps.db, tenantId);
  if (!tenant) throw new AppError('tenant.not_found');
  return { tenant, policy: ssprPolicyOf(tenant), now: deps.clock.now().toISOString() };
}

/** The rows of a batch of users, in their order: five method queries, one role query, at most one membership query. */
async function detailsOf(db: Executor, rc: ReportContext, users: readonly User[]): Promise<UserRegistrationDetails[]> {
  if (users.length === 0) return [];
  const ids = users.map((u) => u.id);
  const [methods, roles] = await Promise.all([loadRegisteredMethodsOf(db, ids), listRoleIdsOfPrincipals(db, rc.tenant.id, ids)]);
  const admins = new Set(ids.filter((id) => isAdministrator(roles.get(id) ?? [])));
  const members = await scopeMembers(db, rc, ids.filter((id) => !admins.has(id)));
  return users.map((u) => {
    const admin = admins.has(u.id);
    const m = methods.get(u.id)!;
    // the same rules as isSsprEnabledFor (security-info/status.ts), with the membership read in one query
    const enabled = admin ? isSsprAllowedForAdmins(rc.tenant) : rc.tenant.edition !== 'free' && (rc.policy.enabledFor === 'all' || members.has(u.id.toLowerCase()));
    const effective = effectivePolicy(rc.policy, admin);
    const registered = usableMethods(m, effective).length >= effective.methodsRequired;
    const mfa = m.phones.length > 0 || m.authenticators.length > 0;
    return {
      id: u.id,
      userPrincipalName: u.userPrincipalName,
      userDisplayName: u.displayName,
      userType: 'member',
      isAdmin: admin,
      isSsprRegistered: registered,
      isSsprEnabled: enabled,
      isSsprCapable: enabled && registered,
      // Postern has no MFA policy that could switch a registered method off, so registered is capable
      isMfaRegistered: mfa,
      isMfaCapable: mfa,
      isPasswordlessCapable: false,
      isSystemPreferredAuthenticationMethodEnabled: false,
      systemPreferredAuthenticationMethods: [],
      userPreferredMethodForSecondaryAuthentication: preferred(m),
      methodsRegistered: graphMethods(m),
      lastUpdatedDateTime: rc.now,
    };
  });
}

/** Non-admin users the selected-group scope covers (none unless the policy is `selected` with a group). */
async function scopeMembers(db: Executor, rc: ReportContext, ids: string[]): Promise<Set<string>> {
  const { policy, tenant } = rc;
  if (tenant.edition === 'free' || policy.enabledFor !== 'selected' || policy.groupId === null) return new Set();
  return transitiveMembersAmong(db, tenant.id, policy.groupId.toLowerCase(), ids);
}

function graphMethods(m: RegisteredMethodRows): GraphMethodName[] {
  const out: GraphMethodName[] = [];
  const phone = (t: 'mobile' | 'alternateMobile' | 'office') => m.phones.some((p) => p.phoneType === t);
  if (m.email) out.push('email');
  if (phone('mobile')) out.push('mobilePhone');
  if (phone('alternateMobile')) out.push('alternateMobilePhone');
  if (phone('office')) out.push('officePhone');
  if (m.securityQuestions > 0) out.push('securityQuestion');
  if (m.authenticators.length > 0) out.push('softwareOneTimePasscode');
  return out;
}

function preferred(m: RegisteredMethodRows): PreferredMethod {
  if (m.authenticators.length > 0) return 'oath';
  const types = m.phones.map((p) => p.phoneType);
  if (types.includes('mobile')) return 'sms';
  if (types.includes('alternateMobile')) return 'voiceAlternateMobile';
  if (types.includes('office')) return 'voiceOffice';
  return 'none';
}

function matches(d: UserRegistrationDetails, f: ReportFilter): boolean {
  switch (f.field) {
    case 'methodsRegistered':
      return d.methodsRegistered.some((name) => name.toLowerCase() === f.value.toLowerCase());
    case 'userType':
      return d.userType === f.value.toLowerCase();
    case 'userPrincipalName':
    case 'userDisplayName':
      return true; // applied in SQL
    default:
      return d[f.field] === f.value;
  }
}
