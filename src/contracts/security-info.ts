/** The API's JSON shapes for a user's security info (see src/contracts/sspr-policy.ts: types only). */
import type { SsprMethod } from './sspr-policy.js';

export type PhoneType = 'mobile' | 'alternateMobile' | 'office';
export type UsableMethod = 'email' | 'mobilePhone' | 'officePhone' | 'securityQuestions' | 'authenticatorApp';

/** GET /api/v1/me/security-info: what is registered (masked), what the policy asks, whether registration is due. */
export interface SecurityInfoView {
  email: { address: string; verifiedDateTime: string } | null;
  phones: { type: PhoneType; number: string; verifiedDateTime: string | null }[];
  securityQuestions: { registered: number };
  authenticatorApp: { registered: boolean; createdDateTime: string | null };
  recoveryCodes: { total: number; remaining: number };
  policy: { ssprEnabled: boolean; methodsRequired: 1 | 2; methods: SsprMethod[]; securityQuestionsToRegister: number; isAdmin: boolean };
  usableMethods: UsableMethod[];
  isRegistered: boolean;
  registrationRequired: boolean;
  registrationReason: 'notRegistered' | 'reconfirm' | null;
  lastConfirmedDateTime: string | null;
}
