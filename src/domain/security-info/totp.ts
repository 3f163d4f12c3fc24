import { generateSecret, generateURI, verify } from 'otplib';
import { AppError } from '../../errors.js';
import type { Executor } from '../../store/database.js';
import { acceptOathStep, deleteConfirmedSoftwareOath, deletePendingSoftwareOath, insertSoftwareOathMethod, listSoftwareOathMethods, type SoftwareOathMethod } from '../../store/software-oath.js';
import { findTenantById } from '../../store/tenants.js';
import type { SecretBox } from '../../lib/crypto.js';
import type { Clock } from '../../lib/clock.js';
import { recordAudit, type AuditDeps, type RequestContext } from '../audit.js';
import type { User } from '../../store/users.js';
import { auditedChange, loadMe, type Me, type SecurityInfoDeps } from './events.js';

/**
 * Authenticator app (RFC 6238 TOTP, SHA-1, 6 digits, 30 s): the seed is sealed at rest, a code is
 * accepted within ±1 step of now, and each step at most once per enrolment (replay refused).
 */
export const TOTP_PERIOD = 30;

export interface AuthenticatorEnrolment {
  id: string;
  secret: string;
  otpauthUri: string;
  qrCodeSvg: string;
}

/** A new pending enrolment (replacing an earlier pending one); the confirmed app stays until this one is confirmed. */
export async function startAuthenticatorRegistration(deps: SecurityInfoDeps, me: Me): Promise<AuthenticatorEnrolment> {
  const tenant = await findTenantById(deps.db, me.tenantId);
  if (!tenant) throw new AppError('tenant.not_found');
  const secret = generateSecret({ length: 20 });
  const id = deps.random.uuid();
  const label = await deps.db.transaction().execute(async (trx) => {
    const user = await loadMe(trx, me);
    await deletePendingSoftwareOath(trx, user.id);
    await insertSoftwareOathMethod(trx, { id, userId: user.id, secretSealed: deps.secretBox.seal(secret), confirmedAt: null, lastUsedStep: 0, createdAt: deps.clock.now().toISOString() });
    return user.userPrincipalName;
  });
  const otpauthUri = generateURI({ issuer: tenant.displayName, label, secret, period: TOTP_PERIOD, digits: 6, algorithm: 'sha1' });
  // loaded on first enrolment: qrcode and its PNG encoder are a sizeable share of start-up otherwise
  const { default: QRCode } = await import('qrcode');
  const qrCodeSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { id, secret, otpauthUri, qrCodeSvg };
}

/**
 * Checks a TOTP code against one enrolment and, when it matches a step not used before, remembers
 * that step (and confirms a pending enrolment). Reused by the reset flow for the appCode method.
 */
export async function acceptTotpCode(deps: { clock: Clock; secretBox: SecretBox }, trx: Executor, method: SoftwareOathMethod, code: string): Promise<boolean> {
  if (!/^\d{6}$/.test(code)) return false;
  const secret = deps.secretBox.open(method.secretSealed);
  const now = deps.clock.now();
  const result = await verify({ secret, token: code, period: TOTP_PERIOD, epoch: Math.floor(now.getTime() / 1000), epochTolerance: TOTP_PERIOD, afterTimeStep: method.lastUsedStep });
  if (!result.valid || !('timeStep' in result)) return false;
  return acceptOathStep(trx, method.id, result.timeStep, now.toISOString());
}

/**
 * True when `code` is right for a step this enrolment has already accepted: a replay (RFC 6238 §5.2
 * refuses it; ASVS wants it logged, since the second use of a code is what a phished or shoulder-surfed
 * code looks like). Checked only after acceptTotpCode refused the code.
 */
export async function isReplayedTotpCode(deps: { clock: Clock; secretBox: SecretBox }, method: SoftwareOathMethod, code: string): Promise<boolean> {
  if (!/^\d{6}$/.test(code) || method.lastUsedStep <= 0) return false;
  const secret = deps.secretBox.open(method.secretSealed);
  const result = await verify({ secret, token: code, period: TOTP_PERIOD, epoch: Math.floor(deps.clock.now().getTime() / 1000), epochTolerance: TOTP_PERIOD });
  return result.valid && 'timeStep' in result && result.timeStep <= method.lastUsedStep;
}

/** The audit event of a refused replay, in the caller's transaction (which must commit though the request fails). */
export async function recordTotpReuse(deps: AuditDeps, trx: Executor, ctx: RequestContext, user: Pick<User, 'id' | 'tenantId' | 'displayName' | 'userPrincipalName'>): Promise<void> {
  await recordAudit(deps, trx, ctx, {
    tenantId: user.tenantId,
    activity: 'Authenticator app code reused',
    category: 'UserManagement',
    loggedByService: 'Authentication Methods',
    operationType: 'Update',
    result: 'failure',
    resultReason: 'An authenticator app code that had already been accepted was entered again and refused',
    targets: [{ id: user.id, displayName: user.displayName, type: 'User', userPrincipalName: user.userPrincipalName, modifiedProperties: [] }],
  });
}

/**
 * POST /authenticator/verify: confirms the pending enrolment with a code from the app (replacing the
 * previously confirmed app); without a pending one, checks the code against the confirmed app.
 */
export async function verifyAuthenticator(deps: SecurityInfoDeps, ctx: RequestContext, me: Me, code: string): Promise<void> {
  const replayed = await deps.db.transaction().execute(async (trx) => {
    const user = await loadMe(trx, me);
    const methods = await listSoftwareOathMethods(trx, user.id);
    const pending = methods.filter((m) => m.confirmedAt === null).at(-1);
    const target = pending ?? methods.at(-1);
    if (!target) throw new AppError('request.not_found', { message: 'Start the authenticator app registration first.' });
    if (!pending) {
      if (await acceptTotpCode(deps, trx, target, code)) return false;
      // a replay of an accepted code is refused like a wrong one, and audited: the transaction
      // commits the event and the request fails after it
      if (!(await isReplayedTotpCode(deps, target, code))) throw new AppError('verification.code_invalid');
      await recordTotpReuse(deps, trx, ctx, user);
      return true;
    }
    const replaced = methods.some((m) => m.confirmedAt !== null);
    await auditedChange(deps, trx, ctx, user, { kind: 'registered', method: 'Authenticator app', replaced }, async () => {
      if (!(await acceptTotpCode(deps, trx, pending, code))) throw new AppError('verification.code_invalid');
      await deleteConfirmedSoftwareOath(trx, user.id, pending.id);
    });
    return false;
  });
  if (replayed) throw new AppError('verification.code_invalid');
}

export async function deleteAuthenticator(deps: SecurityInfoDeps, ctx: RequestContext, me: Me): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const user = await loadMe(trx, me);
    const methods = await listSoftwareOathMethods(trx, user.id);
    if (methods.length === 0) throw new AppError('request.not_found', { message: 'You have no authenticator app registered.' });
    if (!methods.some((m) => m.confirmedAt !== null)) {
      await deletePendingSoftwareOath(trx, user.id); // an unfinished enrolment: nothing was registered, nothing to audit
      return;
    }
    await auditedChange(deps, trx, ctx, user, { kind: 'deleted', method: 'Authenticator app' }, async () => {
      await deletePendingSoftwareOath(trx, user.id);
      await deleteConfirmedSoftwareOath(trx, user.id, null);
    });
  });
}
