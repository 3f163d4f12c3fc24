import { namedTenant } from './branding.js';
import type { DomainDeps } from './deps.js';
import { DEFAULT_PASSWORD_POLICY, MAX_PASSWORD_CODE_POINTS, PROFILE_MIN_LENGTH, type PasswordPolicy, type PasswordProfile } from './password-policy.js';
import { passwordPolicyOf } from './policies.js';

/**
 * What a person choosing a password must know of the tenant's policy, for the pages' live hints
 * (web/src/lib/password-hints.ts evaluates them the way checkPasswordPolicy does). Public: it
 * names no banned term, no lockout setting and nothing about any user.
 */
export interface PasswordHints {
  profile: PasswordProfile;
  minLength: number;
  maxLength: number;
  requiredClasses: number;
  classes: ('lower' | 'upper' | 'digit' | 'symbol')[];
  allowedCharacters: 'azure' | 'any';
  historyCount: number;
  bannedListChecked: true;
}

export function hintsOf(policy: Pick<PasswordPolicy, 'profile' | 'minLength' | 'maxLength' | 'historyCount'>): PasswordHints {
  const azure = policy.profile !== 'nist';
  return {
    profile: azure ? 'azure' : 'nist',
    minLength: Math.max(PROFILE_MIN_LENGTH[azure ? 'azure' : 'nist'], policy.minLength),
    maxLength: Math.min(MAX_PASSWORD_CODE_POINTS, policy.maxLength),
    requiredClasses: azure ? 3 : 0,
    classes: ['lower', 'upper', 'digit', 'symbol'],
    allowedCharacters: azure ? 'azure' : 'any',
    historyCount: policy.historyCount,
    bannedListChecked: true,
  };
}

/**
 * The hints of the tenant named by id or domain (tenant.not_found when it does not exist, as for the
 * branding); without a name, the defaults every new tenant has.
 */
export async function passwordHintsFor(deps: Pick<DomainDeps, 'db'>, tenantKey: string | undefined): Promise<PasswordHints> {
  const tenant = await namedTenant(deps, tenantKey);
  return hintsOf(tenant ? passwordPolicyOf(tenant) : DEFAULT_PASSWORD_POLICY);
}
