import { AppError } from '../errors.js';
import { lockAuditChain } from '../store/audit-events.js';
import type { Executor } from '../store/database.js';
import { findGroupById } from '../store/groups.js';
import { findTenantById, updateTenantSettings, type Tenant, type TenantSettings } from '../store/tenants.js';
import { modified, recordAudit, type AuditTarget, type RequestContext } from './audit.js';
import type { DomainDeps } from './deps.js';
import { isCatalogQuestion } from './security-questions-catalog.js';
import { isDefaultPredefined, ssprPolicyOf, type SsprMethod, type SsprPolicy } from './sspr-policy.js';

/**
 * GET/PATCH /api/v1/policies/sspr. The route checks each field on its own (ranges, formats); the
 * rules between fields are checked here on the merged policy, so a PATCH of one field cannot leave
 * the policy in a state Azure would refuse to save.
 */

export type SsprPolicyPatch = Partial<Omit<SsprPolicy, 'securityQuestions'>> & { securityQuestions?: Partial<SsprPolicy['securityQuestions']> };

const APP_METHODS: readonly SsprMethod[] = ['appCode', 'appNotification'];
const TOP_KEYS = [
  'enabledFor',
  'groupId',
  'methodsRequired',
  'methods',
  'requireRegistrationOnSignIn',
  'reconfirmAfterDays',
  'notifyUserOnReset',
  'notifyAdminsOnAdminReset',
  'helpdeskUrl',
  'helpdeskEmail',
  'allowUnlockWithoutReset',
  'writebackEnabled',
] as const satisfies readonly (keyof SsprPolicy)[];
const QUESTION_KEYS = ['toRegister', 'toReset', 'custom', 'predefined'] as const;

export async function getSsprPolicy(deps: Pick<DomainDeps, 'db'>, tenantId: string): Promise<SsprPolicy> {
  const tenant = await findTenantById(deps.db, tenantId);
  if (!tenant) throw new AppError('tenant.not_found');
  return ssprPolicyOf(tenant);
}

/**
 * Merges `patch` (securityQuestions field by field), checks the merged policy, and writes it with
 * one "Self-service password reset policy changes" event naming old and new value of each changed
 * field; turning writeback on or off also records Azure's "Enable/Disable password writeback for
 * directory". A patch that changes nothing writes and records nothing.
 */
export async function updateSsprPolicy(deps: DomainDeps, ctx: RequestContext, tenantId: string, patch: SsprPolicyPatch): Promise<SsprPolicy> {
  return deps.db.transaction().execute(async (trx) => {
    // Serialises every audited write of the tenant: two settings writers cannot lose each other's keys.
    await lockAuditChain(trx, tenantId);
    const tenant = await findTenantById(trx, tenantId);
    if (!tenant) throw new AppError('tenant.not_found');
    const before = ssprPolicyOf(tenant);
    const after = merge(before, patch);
    assertEdition(tenant, patch);
    assertConsistent(after, patch);
    await assertGroup(trx, tenantId, after, patch);

    const changes = [
      ...TOP_KEYS.filter((k) => !same(before[k], after[k])).map((k) => modified(k, before[k], after[k])),
      ...QUESTION_KEYS.filter((k) => !same(before.securityQuestions[k], after.securityQuestions[k])).map((k) =>
        modified(`securityQuestions.${k}`, before.securityQuestions[k], after.securityQuestions[k]),
      ),
    ];
    if (changes.length === 0) return before;

    await updateTenantSettings(trx, tenantId, { ...(tenant.settings as TenantSettings & Record<string, unknown>), sspr: stored(after) });
    const target = (modifiedProperties: AuditTarget['modifiedProperties']): AuditTarget => ({
      id: tenantId,
      displayName: 'Self-service password reset policy',
      type: 'Policy',
      userPrincipalName: null,
      modifiedProperties,
    });
    await recordAudit(deps, trx, ctx, {
      tenantId,
      activity: 'Self-service password reset policy changes',
      category: 'Policy',
      loggedByService: 'Self-service Password Management',
      operationType: 'Update',
      targets: [target(changes)],
    });
    if (before.writebackEnabled !== after.writebackEnabled) {
      await recordAudit(deps, trx, ctx, {
        tenantId,
        activity: after.writebackEnabled ? 'Enable password writeback for directory' : 'Disable password writeback for directory',
        category: 'DirectoryManagement',
        loggedByService: 'Self-service Password Management',
        operationType: 'Update',
        targets: [
          {
            id: tenantId,
            displayName: tenant.displayName,
            type: 'Directory',
            userPrincipalName: null,
            modifiedProperties: [modified('writebackEnabled', before.writebackEnabled, after.writebackEnabled)],
          },
        ],
      });
    }
    return after;
  });
}

function merge(before: SsprPolicy, patch: SsprPolicyPatch): SsprPolicy {
  const { securityQuestions, ...top } = patch;
  const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    ...before,
    ...defined(top),
    securityQuestions: { ...before.securityQuestions, ...defined(securityQuestions ?? {}) },
  };
}

/** What is written: the default selection of predefined questions is left out, so it follows the catalogue. */
function stored(p: SsprPolicy): Record<string, unknown> {
  const { predefined, ...questions } = p.securityQuestions;
  return { ...p, securityQuestions: isDefaultPredefined(predefined) ? questions : { ...questions, predefined } };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

const invalid = (field: string, why: string): AppError => new AppError('request.invalid', { message: `Invalid value for '${field}': ${why}.`, data: { field } });

/**
 * SPEC 2 / reference §1.10: users reset only on basic or premium (free tenants: cloud admins only,
 * under the admin policy), writeback only on premium. The gate applies when a patch turns the
 * feature on; a tenant keeps its stored settings across an edition change (the flow checks the
 * edition again, SSPR_0012), so other fields stay editable.
 */
function assertEdition(tenant: Tenant, patch: SsprPolicyPatch): void {
  if (tenant.edition === 'free' && patch.enabledFor !== undefined && patch.enabledFor !== 'none') {
    throw new AppError('policy.edition_required', {
      message: `Invalid value for 'enabledFor': self-service password reset for users needs the basic or premium edition (this tenant is free); only 'none' can be set.`,
      data: { field: 'enabledFor', edition: tenant.edition, requiredEdition: 'basic' },
    });
  }
  if (patch.writebackEnabled === true && tenant.edition !== 'premium') {
    throw new AppError('policy.premium_required', {
      message: `Invalid value for 'writebackEnabled': password writeback needs the premium edition (this tenant is ${tenant.edition}).`,
      data: { field: 'writebackEnabled', edition: tenant.edition },
    });
  }
}

/** Azure's rules between fields (reference §1.3, §1.4, F05, F06). */
function assertConsistent(p: SsprPolicy, patch: SsprPolicyPatch): void {
  // Blame the field the caller sent: "methods" when they sent it, else the count they changed.
  const methodsField = patch.methods !== undefined || patch.methodsRequired === undefined ? 'methods' : 'methodsRequired';
  const n = p.methodsRequired;
  if (p.methods.length < n) {
    throw invalid(methodsField, `${n} methods are required to reset, so at least ${n} methods must be available (${p.methods.length} ${p.methods.length === 1 ? 'is' : 'are'})`);
  }
  if (n === 1 && p.methods.includes('appNotification')) {
    throw invalid(methodsField, 'mobile app notification can only be used when two methods are required (with one, only the mobile app code is offered)');
  }
  const app = p.methods.filter((m) => APP_METHODS.includes(m));
  const others = p.methods.length - app.length;
  if (app.length > 0 && others < n) {
    throw invalid(
      methodsField,
      n === 1
        ? 'the mobile app cannot be the only method: enable at least one other method with it'
        : 'with two methods required, the mobile app needs at least two other methods enabled besides it',
    );
  }
  const q = p.securityQuestions;
  if (q.toReset > q.toRegister) {
    const field = patch.securityQuestions?.toReset !== undefined || patch.securityQuestions?.toRegister === undefined ? 'securityQuestions.toReset' : 'securityQuestions.toRegister';
    throw invalid(field, `the number of questions required to reset (${q.toReset}) must not exceed the number required to register (${q.toRegister})`);
  }
  const sent = patch.securityQuestions;
  if (sent?.predefined !== undefined) {
    const seen = new Set<string>();
    for (const id of sent.predefined) {
      if (!isCatalogQuestion(id)) throw invalid('securityQuestions.predefined', `'${id}' is not a predefined question`);
      if (seen.has(id)) throw invalid('securityQuestions.predefined', `'${id}' appears more than once`);
      seen.add(id);
    }
  }
  // reference §1.4: the questions defined must be at least the number a user registers
  const defined = q.predefined.length + q.custom.length;
  if (defined < q.toRegister) {
    const field = sent?.predefined !== undefined ? 'securityQuestions.predefined' : sent?.custom !== undefined ? 'securityQuestions.custom' : 'securityQuestions.toRegister';
    throw invalid(
      field,
      `users must register ${q.toRegister} questions, so at least ${q.toRegister} predefined and custom questions must be available (${defined} ${defined === 1 ? 'is' : 'are'})`,
    );
  }
}

/**
 * 'selected' scopes SSPR to one group of this tenant. Like Azure, the group is kept when switching
 * to 'all' or 'none' (so switching back restores it); a group id sent explicitly is always checked.
 */
async function assertGroup(db: Executor, tenantId: string, p: SsprPolicy, patch: SsprPolicyPatch): Promise<void> {
  if (p.enabledFor === 'selected' && p.groupId === null) {
    throw invalid('groupId', "enabledFor 'selected' needs the id of the group whose members may use self-service password reset");
  }
  if (p.groupId !== null && (p.enabledFor === 'selected' || patch.groupId !== undefined)) {
    if (!(await findGroupById(db, tenantId, p.groupId))) throw invalid('groupId', `no group with id '${p.groupId}' exists in this tenant`);
  }
}
