import { AppError, assertThat } from '../errors.js';
import { findDomain } from '../store/tenants.js';
import { findUserByUpn, insertUser, type User } from '../store/users.js';
import { modified, recordAudit, type RequestContext } from './audit.js';
import type { DomainDeps } from './deps.js';
import { BASIC_POLICY, checkPasswordPolicy } from './password-policy.js';
import { checkUpn, domainOf } from './upn.js';

export interface NewUserInput {
  tenantId: string;
  userPrincipalName: string;
  displayName: string;
  password: string;
  accountEnabled?: boolean;
  forceChangePasswordNextSignIn?: boolean;
  forceChangePasswordNextSignInWithMfa?: boolean;
  givenName?: string | null;
  surname?: string | null;
  mail?: string | null;
  otherMails?: string[];
  mobilePhone?: string | null;
  businessPhones?: string[];
  jobTitle?: string | null;
  passwordPolicies?: string | null;
  onPremisesImmutableId?: string | null;
}

/** Throws the registered error when the UPN is malformed, on a domain the tenant has not verified, or taken. */
export async function assertUpnUsable(deps: Pick<DomainDeps, 'db'>, tenantId: string, upn: string, exceptUserId?: string): Promise<void> {
  const problem = checkUpn(upn);
  assertThat(!problem, 'user.upn_invalid', {
    message: `The userPrincipalName "${upn.slice(0, 120)}" is not valid: ${problem?.reason ?? ''}.`,
  });
  const domain = await findDomain(deps.db, domainOf(upn));
  assertThat(domain && domain.tenantId === tenantId && domain.isVerified, 'user.upn_domain_unverified', {
    data: { domain: domainOf(upn) },
  });
  const existing = await findUserByUpn(deps.db, upn);
  assertThat(!existing || existing.id === exceptUserId, 'user.upn_taken');
}

/** Throws password.policy_violation with the violations when `password` fails the policy. Checked before hashing. */
export function assertPasswordAcceptable(password: string): void {
  const violations = checkPasswordPolicy(BASIC_POLICY, password);
  if (violations.length > 0) {
    throw new AppError('password.policy_violation', {
      message: violations.map((v) => v.message).join(' '),
      data: { violations },
    });
  }
}

/** Creates a cloud user with a password; writes the user and its "Add user" event together. */
export async function createUser(deps: DomainDeps, ctx: RequestContext, input: NewUserInput): Promise<User> {
  assertPasswordAcceptable(input.password);
  await assertUpnUsable(deps, input.tenantId, input.userPrincipalName);
  const passwordHash = await deps.hasher.hash(input.password);
  const now = deps.clock.now().toISOString();
  const user: User = {
    id: deps.random.uuid(),
    tenantId: input.tenantId,
    userPrincipalName: input.userPrincipalName,
    displayName: input.displayName,
    givenName: input.givenName ?? null,
    surname: input.surname ?? null,
    mail: input.mail ?? null,
    otherMails: input.otherMails ?? [],
    mobilePhone: input.mobilePhone ?? null,
    businessPhones: input.businessPhones ?? [],
    jobTitle: input.jobTitle ?? null,
    accountEnabled: input.accountEnabled ?? true,
    passwordPolicies: input.passwordPolicies ?? null,
    passwordHash,
    forceChangePasswordNextSignIn: input.forceChangePasswordNextSignIn ?? false,
    forceChangePasswordNextSignInWithMfa: input.forceChangePasswordNextSignInWithMfa ?? false,
    lastPasswordChangeDateTime: now,
    onPremisesSyncEnabled: null,
    onPremisesImmutableId: input.onPremisesImmutableId ?? null,
    passwordSource: 'cloud',
    failedSignInCount: 0,
    lockoutCount: 0,
    lockedUntil: null,
    recentBadHashes: [],
    signInSessionsValidFrom: now,
    createdDateTime: now,
    updatedDateTime: now,
  };
  await deps.db.transaction().execute(async (trx) => {
    await insertUser(trx, user);
    await recordAudit(deps, trx, ctx, {
      tenantId: user.tenantId,
      activity: 'Add user',
      category: 'UserManagement',
      operationType: 'Add',
      targets: [
        {
          id: user.id,
          displayName: user.displayName,
          type: 'User',
          userPrincipalName: user.userPrincipalName,
          modifiedProperties: [
            modified('AccountEnabled', undefined, [user.accountEnabled]),
            modified('DisplayName', undefined, [user.displayName]),
            modified('UserPrincipalName', undefined, [user.userPrincipalName]),
          ],
        },
      ],
    });
  });
  return user;
}

/**
 * A system-generated password that meets any policy we ship: 16 characters from all four classes,
 * without look-alikes. Shown once, never stored.
 */
export function generateTemporaryPassword(random: { token(bytes?: number): string }): string {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%+-=?@^_'];
  const bytes = Buffer.from(random.token(48), 'base64url');
  const chars: string[] = [];
  for (let i = 0; i < 16; i += 1) {
    const set = sets[i < 4 ? i : (bytes[i] ?? 0) % 4] ?? sets[0]!;
    chars.push(set[(bytes[i + 16] ?? 0) % set.length]!);
  }
  // shuffle so the class order is not predictable
  for (let i = chars.length - 1; i > 0; i -= 1) {
    const j = (bytes[32 + (i % 16)] ?? 0) % (i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
