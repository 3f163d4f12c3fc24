import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { recordAudit, type RequestContext } from '../audit.js';
import { setLastConfirmedAt } from '../../store/auth-methods.js';
import { loadMe, type Me, type SecurityInfoDeps } from './events.js';
import { loadSnapshot } from './status.js';
import type { SecurityInfoView } from '../../contracts/security-info.js';

/** "adele@contoso.com" → "a***@contoso.com" */
export function maskEmail(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${[...address.slice(0, at)][0]}***${address.slice(at)}`;
}

/** "+14255550101" → "+1 •••• ••• 0101": the country code and the last two or four digits only. */
export function maskPhone(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  const national = parsed?.nationalNumber ?? e164.replace(/\D/g, '');
  const tail = national.length > 6 ? national.slice(-4) : national.slice(-2);
  return `+${parsed?.countryCallingCode ?? '?'} •••• ••• ${tail}`;
}

export type { SecurityInfoView };

/** GET /api/v1/me/security-info: what is registered (masked), what the policy asks, whether registration is due. */
export async function getSecurityInfo(deps: SecurityInfoDeps, me: Me): Promise<SecurityInfoView> {
  const user = await loadMe(deps.db, me);
  const s = await loadSnapshot(deps, user);
  const oath = s.methods.authenticators.at(-1);
  return {
    email: s.methods.email ? { address: maskEmail(s.methods.email.address), verifiedDateTime: s.methods.email.verifiedAt } : null,
    phones: s.methods.phones.map((p) => ({ type: p.phoneType, number: maskPhone(p.number), verifiedDateTime: p.verifiedAt })),
    securityQuestions: { registered: s.methods.securityQuestions },
    authenticatorApp: { registered: oath !== undefined, createdDateTime: oath?.confirmedAt ?? null },
    recoveryCodes: { total: s.methods.recoveryCodesTotal, remaining: s.methods.recoveryCodesRemaining },
    policy: {
      ssprEnabled: s.enabled,
      methodsRequired: s.effective.methodsRequired,
      methods: s.effective.methods,
      securityQuestionsToRegister: s.effective.securityQuestionsToRegister,
      isAdmin: s.effective.admin,
    },
    usableMethods: s.usable,
    isRegistered: s.usable.length >= s.effective.methodsRequired,
    registrationRequired: s.status.required,
    registrationReason: s.status.reason,
    lastConfirmedDateTime: s.methods.lastConfirmedAt,
  };
}

/** "Looks good": the user confirms their registered info is current, which restarts the reconfirmation clock. */
export async function confirmSecurityInfo(deps: SecurityInfoDeps, ctx: RequestContext, me: Me): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const user = await loadMe(trx, me);
    await setLastConfirmedAt(trx, user.id, deps.clock.now().toISOString());
    await recordAudit(deps, trx, ctx, {
      tenantId: user.tenantId,
      activity: 'User reviewed security info',
      category: 'UserManagement',
      loggedByService: 'Authentication Methods',
      operationType: 'Update',
      targets: [{ id: user.id, displayName: user.displayName, type: 'User', userPrincipalName: user.userPrincipalName, modifiedProperties: [] }],
    });
  });
}
