import type { SsprMethod, SsprPolicyView } from '../contracts/sspr-policy.js';
import type { Tenant } from '../store/tenants.js';
import { isCatalogQuestion, SECURITY_QUESTIONS } from './security-questions-catalog.js';

/**
 * The tenant's self-service password reset policy (SPEC 4.5). It lives in the tenant's settings
 * JSON as one object under `sspr`; every field missing or of the wrong type reads as its default,
 * so tenants created before a field existed need no migration. Writes go through
 * updateSsprPolicy (sspr-policy-update.ts).
 */

export type { SsprMethod } from '../contracts/sspr-policy.js';

export const SSPR_METHODS: readonly SsprMethod[] = ['email', 'mobileSms', 'mobileCall', 'officeCall', 'securityQuestions', 'appCode', 'appNotification'];

/** The stored policy is exactly what the API shows (src/contracts/sspr-policy.ts). */
export type SsprPolicy = SsprPolicyView;

export const DEFAULT_SSPR_POLICY: Readonly<SsprPolicy> = Object.freeze({
  enabledFor: 'all',
  groupId: null,
  methodsRequired: 1,
  methods: ['email', 'mobileSms', 'appCode'],
  securityQuestions: { toRegister: 3, toReset: 3, custom: [], predefined: SECURITY_QUESTIONS.map((q) => q.id) },
  requireRegistrationOnSignIn: true,
  reconfirmAfterDays: 180,
  notifyUserOnReset: true,
  notifyAdminsOnAdminReset: true,
  helpdeskUrl: null,
  helpdeskEmail: null,
  allowUnlockWithoutReset: true,
  writebackEnabled: false,
} satisfies SsprPolicy);
// the nested values too, so no reader can change the defaults of every tenant by mistake
Object.freeze(DEFAULT_SSPR_POLICY.methods);
Object.freeze(DEFAULT_SSPR_POLICY.securityQuestions);
Object.freeze(DEFAULT_SSPR_POLICY.securityQuestions.custom);
Object.freeze(DEFAULT_SSPR_POLICY.securityQuestions.predefined);

/**
 * The predefined questions the admin selected (Azure's "Select predefined questions"). Not stored
 * (tenants that never chose, and a choice of all of them in the catalogue's order): every catalogue
 * question, new ones included. Stored ids the catalogue no longer has (a retired question) are
 * dropped, and a repeated id is kept once; the admin's order is kept.
 */
function predefinedOf(v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return [...DEFAULT_SSPR_POLICY.securityQuestions.predefined];
  return [...new Set(v.filter(isCatalogQuestion))];
}

/** True when `ids` is the default selection, which is then not stored (see predefinedOf). */
export function isDefaultPredefined(ids: readonly string[]): boolean {
  const all = DEFAULT_SSPR_POLICY.securityQuestions.predefined;
  return ids.length === all.length && ids.every((id, i) => id === all[i]);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isMethod = (v: unknown): v is SsprMethod => typeof v === 'string' && (SSPR_METHODS as readonly string[]).includes(v);

/** The policy stored in tenant.settings.sspr, each field type-checked and defaulted (a fresh object). */
export function ssprPolicyOf(tenant: Pick<Tenant, 'settings'>): SsprPolicy {
  const raw = (tenant.settings as unknown as Record<string, unknown>).sspr;
  const s = isObject(raw) ? raw : {};
  const d = DEFAULT_SSPR_POLICY;
  const bool = (v: unknown, fallback: boolean): boolean => (typeof v === 'boolean' ? v : fallback);
  const nullableString = (v: unknown, fallback: string | null): string | null => (v === null || typeof v === 'string' ? v : fallback);
  const q = isObject(s.securityQuestions) ? s.securityQuestions : {};
  return {
    enabledFor: s.enabledFor === 'none' || s.enabledFor === 'selected' || s.enabledFor === 'all' ? s.enabledFor : d.enabledFor,
    groupId: nullableString(s.groupId, d.groupId),
    methodsRequired: s.methodsRequired === 1 || s.methodsRequired === 2 ? s.methodsRequired : d.methodsRequired,
    methods: Array.isArray(s.methods) && s.methods.every(isMethod) ? [...s.methods] : [...d.methods],
    securityQuestions: {
      toRegister: isInt(q.toRegister) ? q.toRegister : d.securityQuestions.toRegister,
      toReset: isInt(q.toReset) ? q.toReset : d.securityQuestions.toReset,
      custom: Array.isArray(q.custom) && q.custom.every((x) => typeof x === 'string') ? [...q.custom] : [...d.securityQuestions.custom],
      predefined: predefinedOf(q.predefined),
    },
    requireRegistrationOnSignIn: bool(s.requireRegistrationOnSignIn, d.requireRegistrationOnSignIn),
    reconfirmAfterDays: isInt(s.reconfirmAfterDays) ? s.reconfirmAfterDays : d.reconfirmAfterDays,
    notifyUserOnReset: bool(s.notifyUserOnReset, d.notifyUserOnReset),
    notifyAdminsOnAdminReset: bool(s.notifyAdminsOnAdminReset, d.notifyAdminsOnAdminReset),
    helpdeskUrl: nullableString(s.helpdeskUrl, d.helpdeskUrl),
    helpdeskEmail: nullableString(s.helpdeskEmail, d.helpdeskEmail),
    allowUnlockWithoutReset: bool(s.allowUnlockWithoutReset, d.allowUnlockWithoutReset),
    writebackEnabled: bool(s.writebackEnabled, d.writebackEnabled),
  };
}
