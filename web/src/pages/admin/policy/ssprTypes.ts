import type { PredefinedQuestionsView, SsprMethod, SsprPolicyView } from '../../../../../src/contracts/sspr-policy';

/** The SSPR policy as GET/PATCH /api/v1/policies/sspr answer it: the server's own type. */
export type { PredefinedQuestionsView, SsprMethod, SsprPolicyView };

export const SSPR_METHODS: readonly SsprMethod[] = ['email', 'mobileSms', 'mobileCall', 'officeCall', 'securityQuestions', 'appCode', 'appNotification'];

/** Azure's pages of the Password reset blade, in its order; the path segment of each. */
export const SSPR_TABS = ['properties', 'authentication-methods', 'registration', 'notifications', 'customization', 'on-premises'] as const;
export type SsprTab = (typeof SSPR_TABS)[number];

/**
 * The PATCH body: only the fields that changed; methods compared as a set (order is not a change);
 * securityQuestions field by field (the server merges it field by field too), its predefined ids as
 * a set too (the page ticks and unticks, it does not reorder; a change sends the draft's order).
 */
export function ssprPatch(saved: SsprPolicyView, draft: SsprPolicyView): Partial<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const key of Object.keys(draft) as (keyof SsprPolicyView)[]) {
    if (key === 'securityQuestions') {
      const q: Record<string, unknown> = {};
      for (const k of ['toRegister', 'toReset', 'custom'] as const) if (!same(saved.securityQuestions[k], draft.securityQuestions[k])) q[k] = draft.securityQuestions[k];
      if (!same([...saved.securityQuestions.predefined].sort(), [...draft.securityQuestions.predefined].sort())) q.predefined = draft.securityQuestions.predefined;
      if (Object.keys(q).length > 0) out.securityQuestions = q;
    } else if (key === 'methods') {
      if (!same([...saved.methods].sort(), [...draft.methods].sort())) out.methods = SSPR_METHODS.filter((m) => draft.methods.includes(m));
    } else if (!same(saved[key], draft[key])) {
      out[key] = draft[key];
    }
  }
  return out;
}
