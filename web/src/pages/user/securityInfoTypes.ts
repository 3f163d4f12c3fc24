import type { PhoneType, SecurityInfoView, UsableMethod } from '../../../../src/contracts/security-info';
import type { SsprMethod } from '../../../../src/contracts/sspr-policy';

/** GET /api/v1/me/security-info: the server's own types (src/contracts/security-info.ts). */
export type { PhoneType, SecurityInfoView, SsprMethod, UsableMethod };

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
