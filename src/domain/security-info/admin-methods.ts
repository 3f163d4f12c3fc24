import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { AppError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/crypto.js';
import {
  deleteEmailMethod,
  deletePhoneMethod,
  findEmailMethod,
  findPhoneMethod,
  insertEmailMethodIfAbsent,
  insertPhoneMethodIfAbsent,
  upsertEmailMethod,
  upsertPhoneMethod,
  type EmailMethod,
  type PhoneMethod,
  type PhoneType,
} from '../../store/auth-methods.js';
import type { Db, Executor } from '../../store/database.js';
import type { User } from '../../store/users.js';
import { modified, recordAudit, type RequestContext } from '../audit.js';
import { requireCapability, type Principal } from '../authorization.js';
import { assertMayActOnUser } from '../reset-permission.js';
import { getUser } from '../users.js';
import { PHONE_LABEL } from './contact.js';
import type { MethodLabel } from './events.js';
import { maskEmail, maskPhone } from './overview.js';
import { loadRegisteredMethods, type RegisteredMethods } from './status.js';

/**
 * An administrator (or an app with UserAuthenticationMethod.ReadWrite.All) sets, changes and removes
 * another user's phone and email methods through Graph (reference §8.4). Nothing is verified with the
 * user: the admin vouches for the data, and the methods count for SSPR at once; this is the only way
 * to set the office phone (reference §1.3). Who may act on whom is the "who can reset passwords" table
 * (reset-permission.ts); the caller's own methods go through /api/v1/me/security-info instead.
 */

export interface AdminMethodsDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly random: Random;
}

/** Graph's "+{country code} {number}x{extension}", stored as E.164 (the extension is dropped). */
export function graphNumberToE164(phoneNumber: string): string {
  const text = phoneNumber.trim();
  const parsed = text.startsWith('+') ? parsePhoneNumberFromString(text) : undefined;
  if (!parsed?.isValid()) {
    throw new AppError('security_info.invalid', {
      message: "Invalid value for 'phoneNumber': use the format '+{country code} {number}', for example '+1 4255550101'.",
      data: { field: 'phoneNumber' },
    });
  }
  return parsed.number;
}

/**
 * The target and what it has registered, for a caller allowed to read it: the user themselves, an app
 * with UserAuthenticationMethod.ReadWrite.All, or an admin whom the table lets act on the target.
 */
export async function readMethodsOf(deps: Pick<AdminMethodsDeps, 'db'>, principal: Principal, key: string): Promise<{ user: User; methods: RegisteredMethods }> {
  if (principal.kind === 'app') requireCapability(principal, 'users.authenticationMethods');
  const user = await getUser(deps, principal.tenantId, key);
  if (principal.kind === 'user' && principal.userId !== user.id) await assertMayActOnUser(deps.db, principal, user, 'authenticationMethods');
  return { user, methods: await loadRegisteredMethods(deps.db, user.id) };
}

type Change = 'registered' | 'updated' | 'deleted';
const ACTIVITY = { registered: 'Admin registered security info', updated: 'Admin updated security info', deleted: 'Admin deleted security info' } as const;
const OPERATION = { registered: 'Add', updated: 'Update', deleted: 'Delete' } as const;

/**
 * One admin change: checks the caller against the target, runs `apply` in a transaction and audits
 * it there. The free-text reason names only the method; the modified property carries the values
 * masked, so the audit log never holds a full number or address.
 */
async function adminChange<T>(
  deps: AdminMethodsDeps,
  ctx: RequestContext,
  key: string,
  apply: (trx: Executor, user: User) => Promise<{ result: T; audit: { change: Change; method: MethodLabel; property: string; old: string | null; new: string | null } | null }>,
): Promise<T> {
  const principal = ctx.principal;
  if (!principal) throw new AppError('auth.forbidden');
  const target = await getUser(deps, principal.tenantId, key);
  await assertMayActOnUser(deps.db, principal, target, 'authenticationMethods');
  return deps.db.transaction().execute(async (trx) => {
    const { result, audit } = await apply(trx, target);
    if (audit) {
      await recordAudit(deps, trx, ctx, {
        tenantId: target.tenantId,
        activity: ACTIVITY[audit.change],
        category: 'UserManagement',
        loggedByService: 'Authentication Methods',
        operationType: OPERATION[audit.change],
        resultReason: `Admin ${audit.change} ${audit.method}`,
        targets: [
          {
            id: target.id,
            displayName: target.displayName,
            type: 'User',
            userPrincipalName: target.userPrincipalName,
            modifiedProperties: [modified(audit.property, audit.old === null ? undefined : [audit.old], audit.new === null ? undefined : [audit.new])],
          },
        ],
        additionalDetails: [{ key: 'Method', value: audit.method }],
      });
    }
    return result;
  });
}

const phoneAudit = (change: Change, type: PhoneType, old: string | undefined, now: string | undefined) => ({
  change,
  method: PHONE_LABEL[type],
  property: 'PhoneNumber',
  old: old === undefined ? null : maskPhone(old),
  new: now === undefined ? null : maskPhone(now),
});

function notFound(what: string): AppError {
  return new AppError('request.not_found', { message: `The user has no ${what} authentication method.` });
}

export async function addPhoneMethod(deps: AdminMethodsDeps, ctx: RequestContext, key: string, input: { phoneType: PhoneType; phoneNumber: string }): Promise<PhoneMethod> {
  const number = graphNumberToE164(input.phoneNumber);
  return adminChange(deps, ctx, key, async (trx, user) => {
    // Graph: a user can't have an alternateMobile number without a mobile number
    if (input.phoneType === 'alternateMobile' && !(await findPhoneMethod(trx, user.id, 'mobile'))) {
      throw new AppError('security_info.invalid', { message: 'Add a mobile phone before an alternate mobile phone.', data: { field: 'phoneType' } });
    }
    const at = deps.clock.now().toISOString();
    // verifiedAt stays null: the admin set the number, the user never proved it
    const method: PhoneMethod = { userId: user.id, phoneType: input.phoneType, number, verifiedAt: null, createdAt: at };
    if (!(await insertPhoneMethodIfAbsent(trx, method))) {
      throw new AppError('security_info.method_exists', {
        message: `The user already has a ${input.phoneType} phone method: update it (PATCH) or delete it first.`,
        data: { field: 'phoneType', phoneType: input.phoneType },
      });
    }
    return { result: method, audit: phoneAudit('registered', input.phoneType, undefined, number) };
  });
}

export async function updatePhoneMethod(
  deps: AdminMethodsDeps,
  ctx: RequestContext,
  key: string,
  type: PhoneType,
  input: { phoneNumber: string; phoneType?: PhoneType | undefined },
): Promise<PhoneMethod> {
  // Graph: a phone's type cannot change; add one of the new type and delete the old one
  if (input.phoneType !== undefined && input.phoneType !== type) {
    throw new AppError('security_info.invalid', { message: "A phone method's phoneType cannot be changed: add a method of the new type, then delete this one.", data: { field: 'phoneType' } });
  }
  const number = graphNumberToE164(input.phoneNumber);
  return adminChange(deps, ctx, key, async (trx, user) => {
    const existing = await findPhoneMethod(trx, user.id, type);
    if (!existing) throw notFound(`${type} phone`);
    if (existing.number === number) return { result: existing, audit: null };
    const method: PhoneMethod = { ...existing, number, verifiedAt: null };
    await upsertPhoneMethod(trx, method);
    return { result: method, audit: phoneAudit('updated', type, existing.number, number) };
  });
}

export async function removePhoneMethod(deps: AdminMethodsDeps, ctx: RequestContext, key: string, type: PhoneType): Promise<void> {
  await adminChange(deps, ctx, key, async (trx, user) => {
    const existing = await findPhoneMethod(trx, user.id, type);
    if (!existing) throw notFound(`${type} phone`);
    if (type === 'mobile' && (await findPhoneMethod(trx, user.id, 'alternateMobile'))) {
      throw new AppError('security_info.invalid', {
        message: 'The user has an alternate mobile phone, which needs a mobile phone: update the mobile number instead, or delete the alternate mobile phone first.',
        data: { field: 'phoneType' },
      });
    }
    await deletePhoneMethod(trx, user.id, type);
    return { result: undefined, audit: phoneAudit('deleted', type, existing.number, undefined) };
  });
}

const emailAudit = (change: Change, old: string | undefined, now: string | undefined) => ({
  change,
  method: 'Email' as const,
  property: 'EmailAddress',
  old: old === undefined ? null : maskEmail(old),
  new: now === undefined ? null : maskEmail(now),
});

export async function addEmailMethod(deps: AdminMethodsDeps, ctx: RequestContext, key: string, emailAddress: string): Promise<EmailMethod> {
  return adminChange(deps, ctx, key, async (trx, user) => {
    const at = deps.clock.now().toISOString();
    // the column is not nullable: for an admin-set address it records when the admin vouched for it
    const method: EmailMethod = { userId: user.id, address: emailAddress, verifiedAt: at, createdAt: at };
    if (!(await insertEmailMethodIfAbsent(trx, method))) {
      throw new AppError('security_info.method_exists', { message: 'The user already has an email method: update it (PATCH) or delete it first.', data: { field: 'emailAddress' } });
    }
    return { result: method, audit: emailAudit('registered', undefined, emailAddress) };
  });
}

export async function updateEmailMethod(deps: AdminMethodsDeps, ctx: RequestContext, key: string, emailAddress: string): Promise<EmailMethod> {
  return adminChange(deps, ctx, key, async (trx, user) => {
    const existing = await findEmailMethod(trx, user.id);
    if (!existing) throw notFound('email');
    if (existing.address === emailAddress) return { result: existing, audit: null };
    const method: EmailMethod = { ...existing, address: emailAddress, verifiedAt: deps.clock.now().toISOString() };
    await upsertEmailMethod(trx, method);
    return { result: method, audit: emailAudit('updated', existing.address, emailAddress) };
  });
}

export async function removeEmailMethod(deps: AdminMethodsDeps, ctx: RequestContext, key: string): Promise<void> {
  await adminChange(deps, ctx, key, async (trx, user) => {
    const existing = await findEmailMethod(trx, user.id);
    if (!existing) throw notFound('email');
    await deleteEmailMethod(trx, user.id);
    return { result: undefined, audit: emailAudit('deleted', existing.address, undefined) };
  });
}
