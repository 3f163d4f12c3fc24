import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { AppError } from '../../errors.js';
import { deleteEmailMethod, deletePhoneMethod, findEmailMethod, listPhoneMethods, upsertEmailMethod, upsertPhoneMethod, type PhoneType } from '../../store/auth-methods.js';
import type { RequestContext } from '../audit.js';
import { checkVerificationCode, codeCheckError, issueVerificationCode, type CodeCheck, type IssuedCode } from '../verification-codes.js';
import { auditedChange, loadMe, type Me, type MethodLabel, type SecurityInfoDeps } from './events.js';

/**
 * Authentication email and phones: a code goes to the address or number, and the method is stored
 * (or replaced) only when that code comes back. The office phone is admin-set only (reference §1.3).
 */

export type UserPhoneType = Exclude<PhoneType, 'office'>;
export const PHONE_LABEL: Record<PhoneType, MethodLabel> = { mobile: 'Mobile phone', alternateMobile: 'Alternate mobile phone', office: 'Office phone' };

/** E.164 from what the user typed (country code required); throws a 400 naming the field. */
export function toE164(number: string): string {
  const parsed = parsePhoneNumberFromString(number.trim());
  if (!parsed?.isValid()) {
    throw new AppError('security_info.invalid', {
      message: "The phone number is not valid. Enter it with its country code, for example '+1 425 555 0100'. Extensions are not supported.",
      data: { field: 'number' },
    });
  }
  return parsed.number;
}

export async function startEmailRegistration(deps: SecurityInfoDeps, me: Me, input: { address: string; locale?: string | null }): Promise<IssuedCode> {
  return deps.db.transaction().execute(async (trx) => {
    const user = await loadMe(trx, me);
    return issueVerificationCode(trx, deps, {
      tenantId: user.tenantId,
      userId: user.id,
      purpose: 'register-email',
      channel: 'email',
      target: input.address,
      displayName: user.displayName,
      locale: input.locale ?? null,
    });
  });
}

export async function verifyEmailRegistration(deps: SecurityInfoDeps, ctx: RequestContext, me: Me, input: { verificationId: string; code: string }): Promise<void> {
  const check = await deps.db.transaction().execute(async (trx): Promise<CodeCheck> => {
    const user = await loadMe(trx, me);
    const result = await checkVerificationCode(trx, deps, { id: input.verificationId, userId: user.id, purpose: 'register-email', code: input.code });
    if (!result.ok) return result; // commits the wrong-entry count
    const existing = await findEmailMethod(trx, user.id);
    const at = deps.clock.now().toISOString();
    await auditedChange(deps, trx, ctx, user, { kind: 'registered', method: 'Email', replaced: existing !== undefined }, () =>
      upsertEmailMethod(trx, { userId: user.id, address: result.record.target, verifiedAt: at, createdAt: existing?.createdAt ?? at }),
    );
    return result;
  });
  if (!check.ok) throw codeCheckError(check);
}

export async function startPhoneRegistration(
  deps: SecurityInfoDeps,
  me: Me,
  input: { type: UserPhoneType; number: string; method?: 'sms' | 'voice' | undefined; locale?: string | null },
): Promise<IssuedCode> {
  const method = input.method ?? (input.type === 'mobile' ? 'sms' : 'voice');
  if (input.type === 'alternateMobile' && method === 'sms') {
    throw new AppError('security_info.invalid', { message: 'The alternate mobile phone is called, never texted: use method "voice".', data: { field: 'method' } });
  }
  const e164 = toE164(input.number);
  return deps.db.transaction().execute(async (trx) => {
    const user = await loadMe(trx, me);
    return issueVerificationCode(trx, deps, {
      tenantId: user.tenantId,
      userId: user.id,
      purpose: 'register-phone',
      channel: method,
      target: e164,
      detail: input.type,
      displayName: user.displayName,
      locale: input.locale ?? null,
    });
  });
}

export async function verifyPhoneRegistration(deps: SecurityInfoDeps, ctx: RequestContext, me: Me, input: { verificationId: string; code: string }): Promise<void> {
  const check = await deps.db.transaction().execute(async (trx): Promise<CodeCheck> => {
    const user = await loadMe(trx, me);
    const result = await checkVerificationCode(trx, deps, { id: input.verificationId, userId: user.id, purpose: 'register-phone', code: input.code });
    if (!result.ok) return result;
    const type: UserPhoneType = result.record.detail === 'alternateMobile' ? 'alternateMobile' : 'mobile';
    const existing = (await listPhoneMethods(trx, user.id)).find((p) => p.phoneType === type);
    const at = deps.clock.now().toISOString();
    await auditedChange(deps, trx, ctx, user, { kind: 'registered', method: PHONE_LABEL[type], replaced: existing !== undefined }, () =>
      upsertPhoneMethod(trx, { userId: user.id, phoneType: type, number: result.record.target, verifiedAt: at, createdAt: existing?.createdAt ?? at }),
    );
    return result;
  });
  if (!check.ok) throw codeCheckError(check);
}

export async function deleteEmail(deps: SecurityInfoDeps, ctx: RequestContext, me: Me): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const user = await loadMe(trx, me);
    if (!(await findEmailMethod(trx, user.id))) throw new AppError('request.not_found', { message: 'You have no authentication email registered.' });
    await auditedChange(deps, trx, ctx, user, { kind: 'deleted', method: 'Email' }, () => deleteEmailMethod(trx, user.id));
  });
}

export async function deletePhone(deps: SecurityInfoDeps, ctx: RequestContext, me: Me, type: PhoneType): Promise<void> {
  if (type === 'office') {
    throw new AppError('security_info.method_not_allowed', { message: 'The office phone is set by your administrator; you cannot change it here.', data: { phoneType: type } });
  }
  await deps.db.transaction().execute(async (trx) => {
    const user = await loadMe(trx, me);
    if (!(await listPhoneMethods(trx, user.id)).some((p) => p.phoneType === type)) {
      throw new AppError('request.not_found', { message: `You have no ${type} phone registered.` });
    }
    await auditedChange(deps, trx, ctx, user, { kind: 'deleted', method: PHONE_LABEL[type] }, () => deletePhoneMethod(trx, user.id, type));
  });
}
