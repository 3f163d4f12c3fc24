/** GET /api/v1/me/security-info (src/domain/security-info/overview.ts SecurityInfoView). */
export type PhoneType = 'mobile' | 'alternateMobile' | 'office';
export type SsprMethod = 'email' | 'mobileSms' | 'mobileCall' | 'officeCall' | 'securityQuestions' | 'appCode' | 'appNotification';
export type UsableMethod = 'email' | 'mobilePhone' | 'officePhone' | 'securityQuestions' | 'authenticatorApp';

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

export interface CatalogQuestion {
  questionId: string | null;
  customQuestion: string | null;
  text: string;
}

/** POST /api/v1/me/security-info/{email,phone}: a code was sent. */
export interface Verification {
  verificationId: string;
  expiresDateTime: string;
}
