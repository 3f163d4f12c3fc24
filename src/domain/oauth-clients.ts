import { findApplicationByClientId, type Application } from '../store/applications.js';
import type { Tenant } from '../store/tenants.js';
import { BUILT_IN_PUBLIC_CLIENTS } from './applications.js';
import type { DomainDeps } from './deps.js';
import { OAuthError, oauthErrors } from './oauth-errors.js';

/** The token request's form fields as parsed; a repeated field arrives as an array. */
export type TokenForm = Readonly<Record<string, unknown>>;

/** The client id and secret of an `Authorization: Basic` header, already decoded by the route. */
export interface BasicCredentials {
  clientId: string;
  secret: string;
}

/** The client that asked, once authenticated: a registered app, or one of the built-in public clients. */
export type Client = { kind: 'builtIn'; clientId: string } | { kind: 'app'; clientId: string; app: Application };

/**
 * Client authentication: HTTP Basic (RFC 6749 §2.3.1, form-encoded id and secret) or client_id and
 * client_secret in the body, never both. Public clients (built-in or registered) send no secret.
 */
export async function authenticateClient(
  deps: Pick<DomainDeps, 'db' | 'hasher'>,
  input: { tenant: Tenant; form: TokenForm; basic?: BasicCredentials | undefined },
  options: { confidential: boolean },
): Promise<Client> {
  const { tenant, form, basic } = input;
  const formSecret = optionalParameter(form, 'client_secret');
  if (basic && formSecret !== undefined) {
    throw new OAuthError('invalid_request', 90014, 'The client sent its credentials both in the Authorization header and in the body; use one.');
  }
  const formClientId = optionalParameter(form, 'client_id');
  if (basic && formClientId !== undefined && formClientId.toLowerCase() !== basic.clientId.toLowerCase()) {
    throw new OAuthError('invalid_request', 90014, "The 'client_id' in the body differs from the one in the Authorization header.");
  }
  const clientId = (basic?.clientId ?? formClientId)?.toLowerCase();
  if (clientId === undefined || clientId === '') throw oauthErrors.missingParameter('client_id');
  const secret = basic?.secret ?? formSecret;

  if (Object.hasOwn(BUILT_IN_PUBLIC_CLIENTS, clientId)) {
    if (options.confidential) throw oauthErrors.publicClientCredentials();
    return { kind: 'builtIn', clientId };
  }
  const application = clientId.length <= 64 ? await findApplicationByClientId(deps.db, tenant.id, clientId) : undefined;
  if (!application) throw oauthErrors.unknownClient(clientId, tenant.id);
  if (application.isPublic || application.secretHash === null) {
    if (options.confidential) throw oauthErrors.publicClientCredentials();
    return { kind: 'app', clientId: application.clientId, app: application };
  }
  if (secret === undefined || secret === '') throw oauthErrors.secretRequired();
  const ok = secret.length <= 512 && (await deps.hasher.verify(application.secretHash, secret));
  if (!ok) throw oauthErrors.wrongSecret(application.clientId);
  return { kind: 'app', clientId: application.clientId, app: application };
}

export function optionalParameter(form: TokenForm, name: string): string | undefined {
  const value = form[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw oauthErrors.repeatedParameter(name);
  return value;
}

export function requiredParameter(form: TokenForm, name: string): string {
  const value = optionalParameter(form, name);
  if (value === undefined || value === '') throw oauthErrors.missingParameter(name);
  return value;
}
