import { AppError, assertThat } from '../errors.js';
import { countTenants, DEFAULT_TENANT_SETTINGS, findDomain, findTenantByDomain, findTenantById, insertDomain, insertTenant, type Edition, type Tenant } from '../store/tenants.js';
import type { User } from '../store/users.js';
import { recordAudit, type RequestContext } from './audit.js';
import type { DomainDeps } from './deps.js';
import { insertRoleAssignmentAudited } from './role-assignments.js';
import { findRole, ROLE } from './roles.js';
import { checkDomainName, checkUpn, domainOf } from './upn.js';
import { assertPasswordAllowed } from './password-rules.js';
import { passwordPolicyOf } from './policies.js';
import { generateTemporaryPassword } from './temporary-password.js';
import { insertUserAudited, newCloudUser } from './users.js';

export const DEFAULT_TENANT_DOMAIN = 'postern.local';

export interface CreateTenantInput {
  name: string;
  domain: string;
  adminUpn: string;
  /** omitted: a one-time password is generated, returned once, and must be changed at first sign-in */
  adminPassword?: string | undefined;
  edition?: Edition;
}

export interface CreatedTenant {
  tenant: Tenant;
  admin: User;
  /** set only when the password was generated */
  oneTimePassword: string | undefined;
}

/**
 * Creates a tenant with one verified domain and a Global Administrator, all in one transaction:
 * a failure anywhere leaves nothing behind.
 */
export async function createTenant(deps: DomainDeps, ctx: RequestContext, input: CreateTenantInput): Promise<CreatedTenant> {
  const domain = input.domain.toLowerCase();
  const problem = checkDomainName(domain);
  assertThat(!problem, 'tenant.domain_invalid', { message: `The domain name is not valid: ${problem?.reason ?? ''}.` });
  assertThat(input.name.trim().length > 0 && input.name.length <= 256, 'request.invalid', { message: 'The tenant name must be 1 to 256 characters.' });
  const upnProblem = checkUpn(input.adminUpn);
  assertThat(!upnProblem, 'user.upn_invalid', { message: `The admin UPN "${input.adminUpn.slice(0, 120)}" is not valid: ${upnProblem?.reason ?? ''}.` });
  assertThat(domainOf(input.adminUpn) === domain, 'user.upn_domain_unverified', {
    message: `The admin UPN must be on the tenant's domain ${domain}.`,
    data: { domain: domainOf(input.adminUpn) },
  });
  const tenant: Tenant = {
    id: deps.random.uuid(),
    displayName: input.name.trim(),
    edition: input.edition ?? 'premium',
    settings: { ...DEFAULT_TENANT_SETTINGS },
    createdAt: deps.clock.now().toISOString(),
  };
  // the new tenant's default policy, with its name banned inside the password like any tenant's
  const noNames = { givenName: null, surname: null, passwordPolicies: null };
  if (input.adminPassword !== undefined) await assertPasswordAllowed(deps, { tenant, user: noNames, candidate: input.adminPassword, purpose: 'create' });
  assertThat(!(await findDomain(deps.db, domain)), 'tenant.domain_taken', { data: { domain } });

  // generated like an admin's reset: from a CSPRNG, to the new tenant's policy, without its name
  const oneTimePassword =
    input.adminPassword === undefined
      ? generateTemporaryPassword(passwordPolicyOf(tenant), undefined, { context: { tenantName: tenant.displayName, edition: tenant.edition } })
      : undefined;
  const passwordHash = await deps.hasher.hash(input.adminPassword ?? oneTimePassword!);
  // The one-time password only reaches the operator who ran the command; making it change at
  // first sign-in waits for the password-change step (next issue), or the admin could never sign in.
  const admin = newCloudUser(deps, { tenantId: tenant.id, userPrincipalName: input.adminUpn, displayName: 'Global Administrator' }, passwordHash);
  const globalAdministrator = findRole(ROLE.globalAdministrator)!;

  try {
    await deps.db.transaction().execute(async (trx) => {
      await insertTenant(trx, tenant);
      await insertDomain(trx, { domain, tenantId: tenant.id, isVerified: true, isDefault: true }, tenant.createdAt);
      await recordAudit(deps, trx, ctx, {
        tenantId: tenant.id,
        activity: 'Add tenant',
        category: 'DirectoryManagement',
        operationType: 'Add',
        targets: [{ id: tenant.id, displayName: tenant.displayName, type: 'Directory', userPrincipalName: null, modifiedProperties: [] }],
      });
      await insertUserAudited(deps, trx, ctx, admin);
      await insertRoleAssignmentAudited(deps, trx, ctx, admin, globalAdministrator);
    });
  } catch (err) {
    // another process registered the domain between our check and our insert
    if (await findDomain(deps.db, domain)) throw new AppError('tenant.domain_taken', { data: { domain } });
    throw err;
  }
  return { tenant, admin, oneTimePassword };
}

/** `serve` on an empty database: the default tenant on postern.local and its first admin. */
export async function bootstrapIfEmpty(deps: DomainDeps): Promise<CreatedTenant | undefined> {
  if ((await countTenants(deps.db)) > 0) return undefined;
  return createTenant(deps, systemContext(deps), {
    name: 'Postern',
    domain: DEFAULT_TENANT_DOMAIN,
    adminUpn: `admin@${DEFAULT_TENANT_DOMAIN}`,
  });
}

/** The `{tenant}` path segment of the OAuth endpoints: a tenant id or one of its domains. */
export async function resolveTenant(deps: Pick<DomainDeps, 'db'>, key: string): Promise<Tenant | undefined> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(key)) return findTenantById(deps.db, key);
  return findTenantByDomain(deps.db, key);
}

/** The context for work the system does itself (CLI, bootstrap): no principal. */
export function systemContext(deps: Pick<DomainDeps, 'random'>): RequestContext {
  return { principal: null, ipAddress: null, userAgent: 'postern-cli', correlationId: deps.random.uuid() };
}
