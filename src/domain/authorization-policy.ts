import { AppError } from '../errors.js';
import { lockAuditChain } from '../store/audit-events.js';
import { findTenantById, updateTenantSettings, type Tenant, type TenantSettings } from '../store/tenants.js';
import { modified, recordAudit, type RequestContext } from './audit.js';
import type { DomainDeps } from './deps.js';

/**
 * Graph's authorizationPolicy (reference §8.7). Postern honours one switch of it,
 * `allowedToUseSSPR`: false takes self-service password reset away from administrators (their
 * two-gate policy is otherwise always on, whatever the user policy says). Stored in the tenant's
 * settings under `authorizationPolicy`; missing reads as Azure's default, true.
 */
export interface AuthorizationPolicy {
  allowedToUseSSPR: boolean;
}

export const DEFAULT_AUTHORIZATION_POLICY: Readonly<AuthorizationPolicy> = Object.freeze({ allowedToUseSSPR: true });

export function authorizationPolicyOf(tenant: Pick<Tenant, 'settings'>): AuthorizationPolicy {
  const raw = (tenant.settings as unknown as Record<string, unknown>).authorizationPolicy;
  const v = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).allowedToUseSSPR : undefined;
  return { allowedToUseSSPR: typeof v === 'boolean' ? v : DEFAULT_AUTHORIZATION_POLICY.allowedToUseSSPR };
}

/** For the SSPR flow: may holders of an admin role use self-service password reset? */
export function isSsprAllowedForAdmins(tenant: Pick<Tenant, 'settings'>): boolean {
  return authorizationPolicyOf(tenant).allowedToUseSSPR;
}

export async function getAuthorizationPolicy(deps: Pick<DomainDeps, 'db'>, tenantId: string): Promise<AuthorizationPolicy> {
  const tenant = await findTenantById(deps.db, tenantId);
  if (!tenant) throw new AppError('tenant.not_found');
  return authorizationPolicyOf(tenant);
}

/** PATCH: writes and records "Update authorization policy" (old and new) only when something changed. */
export async function updateAuthorizationPolicy(
  deps: DomainDeps,
  ctx: RequestContext,
  tenantId: string,
  patch: Partial<AuthorizationPolicy>,
): Promise<AuthorizationPolicy> {
  return deps.db.transaction().execute(async (trx) => {
    await lockAuditChain(trx, tenantId);
    const tenant = await findTenantById(trx, tenantId);
    if (!tenant) throw new AppError('tenant.not_found');
    const before = authorizationPolicyOf(tenant);
    const after: AuthorizationPolicy = { allowedToUseSSPR: patch.allowedToUseSSPR ?? before.allowedToUseSSPR };
    if (after.allowedToUseSSPR === before.allowedToUseSSPR) return before;
    await updateTenantSettings(trx, tenantId, { ...(tenant.settings as TenantSettings & Record<string, unknown>), authorizationPolicy: after });
    await recordAudit(deps, trx, ctx, {
      tenantId,
      activity: 'Update authorization policy',
      category: 'Policy',
      loggedByService: 'Core Directory',
      operationType: 'Update',
      targets: [
        {
          id: 'authorizationPolicy',
          displayName: 'Authorization Policy',
          type: 'Policy',
          userPrincipalName: null,
          modifiedProperties: [modified('allowedToUseSSPR', before.allowedToUseSSPR, after.allowedToUseSSPR)],
        },
      ],
    });
    return after;
  });
}
