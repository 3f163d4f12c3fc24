import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Principal } from '../../../domain/authorization.js';
import { resetRefusal, resetTargetFacts } from '../../../domain/reset-permission.js';
import { loadRegisteredMethods, type RegisteredMethods } from '../../../domain/security-info/status.js';
import { getUser } from '../../../domain/users.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import type { EmailMethod, PhoneMethod, PhoneType } from '../../../store/auth-methods.js';
import type { User } from '../../../store/users.js';
import { authenticate } from '../../auth.js';

/**
 * Graph's authentication methods of a user (reference §8.4), read-only: the password (never its
 * value), the email, the phones with Azure's fixed ids, and confirmed authenticator apps (never the
 * seed). Graph shows full phone numbers to the user and to admins; so do we.
 */
export const PASSWORD_METHOD_ID = '28c10230-6103-485e-b985-444c60001490';
export const EMAIL_METHOD_ID = '3ddfcfc8-9383-446f-83cc-3ab9be4be18f';
export const PHONE_METHOD_IDS: Record<PhoneType, string> = {
  mobile: '3179e48a-750b-4051-897c-87b9720928f7',
  alternateMobile: 'b6332ec1-7057-4abe-9331-3d72feddfe41',
  office: 'e37fc753-ff3b-4958-9484-eaa9425c82bc',
};

type Collection = 'methods' | 'phoneMethods' | 'emailMethods' | 'softwareOathMethods';
const COLLECTIONS: readonly Collection[] = ['methods', 'phoneMethods', 'emailMethods', 'softwareOathMethods'];

/** "+14255550101" → "+1 4255550101", Graph's `+{country code} {number}`. */
export function graphPhoneNumber(e164: string): string {
  const p = parsePhoneNumberFromString(e164);
  return p ? `+${p.countryCallingCode} ${p.nationalNumber}` : e164;
}

function passwordMethod(user: User) {
  return { '@odata.type': '#microsoft.graph.passwordAuthenticationMethod', id: PASSWORD_METHOD_ID, password: null, createdDateTime: user.lastPasswordChangeDateTime ?? user.createdDateTime };
}
/** Graph's emailAuthenticationMethod and phoneAuthenticationMethod views (also used by the write routes). */
export const emailMethodView = (e: EmailMethod) => ({ '@odata.type': '#microsoft.graph.emailAuthenticationMethod', id: EMAIL_METHOD_ID, emailAddress: e.address });
export const phoneMethodView = (p: PhoneMethod) => ({
  '@odata.type': '#microsoft.graph.phoneAuthenticationMethod',
  id: PHONE_METHOD_IDS[p.phoneType],
  phoneNumber: graphPhoneNumber(p.number),
  phoneType: p.phoneType,
  smsSignInState: 'notSupported',
});
const emailMethods = (m: RegisteredMethods) => (m.email ? [emailMethodView(m.email)] : []);
const phoneMethods = (m: RegisteredMethods) => m.phones.map(phoneMethodView);
const oathMethods = (m: RegisteredMethods) =>
  m.authenticators.map((o) => ({ '@odata.type': '#microsoft.graph.softwareOathAuthenticationMethod', id: o.id, secretKey: null }));

function view(collection: Collection, user: User, m: RegisteredMethods): Record<string, unknown>[] {
  switch (collection) {
    case 'methods':
      return [passwordMethod(user), ...emailMethods(m), ...phoneMethods(m), ...oathMethods(m)];
    case 'phoneMethods':
      return phoneMethods(m);
    case 'emailMethods':
      return emailMethods(m);
    case 'softwareOathMethods':
      return oathMethods(m);
  }
}

/** Self always; another user needs UserAuthenticationMethod.ReadWrite.All (apps) or a role that may reset the target's password. */
async function assertMayRead(services: Services, principal: Principal, target: User): Promise<void> {
  if (principal.kind === 'app') {
    if (principal.permissions.includes('UserAuthenticationMethod.ReadWrite.All')) return;
    throw new AppError('auth.forbidden', { message: 'Insufficient privileges to complete the operation: it needs the application permission UserAuthenticationMethod.ReadWrite.All.' });
  }
  if (principal.userId === target.id) return;
  const reason = resetRefusal(principal.roles, await resetTargetFacts(services.db, target.tenantId, target.id), 'authenticationMethods');
  if (reason !== null) throw new AppError('auth.forbidden', { message: `Insufficient privileges to complete the operation. ${reason}`, data: { reason: 'targetRole' } });
}

export function graphAuthenticationMethodRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;
  const answer = (user: User, collection: Collection, m: RegisteredMethods) => ({
    '@odata.context': `${base}/v1.0/$metadata#users('${user.id}')/authentication/${collection}`,
    value: view(collection, user, m),
  });

  for (const collection of COLLECTIONS) {
    app.get(`/v1.0/me/authentication/${collection}`, async (request) => {
      const principal = await authenticate(services, request);
      if (principal.kind !== 'user') throw new AppError('auth.delegated_only', { message: '/me request is only valid with delegated authentication flow.' });
      const user = await getUser(services, principal.tenantId, principal.userId);
      return answer(user, collection, await loadRegisteredMethods(services.db, user.id));
    });

    app.get(`/v1.0/users/:key/authentication/${collection}`, async (request: FastifyRequest) => {
      const principal = await authenticate(services, request);
      const user = await getUser(services, principal.tenantId, (request.params as { key: string }).key);
      await assertMayRead(services, principal, user);
      return answer(user, collection, await loadRegisteredMethods(services.db, user.id));
    });
  }
}
