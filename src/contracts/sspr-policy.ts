/**
 * src/contracts: the JSON shapes the Postern API answers, as types only, so the server (which builds
 * them) and the web portals (which read them) check against one definition. Nothing here may import
 * anything but another contract: the web app's compiler reads these files without Node's types.
 */

export type SsprMethod = 'email' | 'mobileSms' | 'mobileCall' | 'officeCall' | 'securityQuestions' | 'appCode' | 'appNotification';

/** GET/PATCH /api/v1/policies/sspr (SPEC 4.5). */
export interface SsprPolicyView {
  enabledFor: 'none' | 'selected' | 'all';
  groupId: string | null;
  methodsRequired: 1 | 2;
  methods: SsprMethod[];
  /**
   * predefined: the ids of the predefined questions users may choose (src/domain/security-questions-catalog.ts),
   * in the admin's order; every one of them unless the admin chose.
   */
  securityQuestions: { toRegister: number; toReset: number; custom: string[]; predefined: string[] };
  requireRegistrationOnSignIn: boolean;
  reconfirmAfterDays: number;
  notifyUserOnReset: boolean;
  notifyAdminsOnAdminReset: boolean;
  helpdeskUrl: string | null;
  helpdeskEmail: string | null;
  allowUnlockWithoutReset: boolean;
  writebackEnabled: boolean;
}

/** GET /api/v1/policies/sspr/predefined-questions: every predefined question, in the requested language. */
export interface PredefinedQuestionsView {
  value: { id: string; text: string }[];
}
