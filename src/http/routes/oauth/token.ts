import type { FastifyInstance, FastifyRequest } from 'fastify';
import { issueAppAccessToken, issueUserAccessToken } from '../../../domain/access-tokens.js';
import { BUILT_IN_PUBLIC_CLIENTS } from '../../../domain/applications.js';
import { redeemRefreshToken, issueRefreshToken, type RefreshFailure } from '../../../domain/refresh-tokens.js';
import { signInWithPassword, type SignInFailure } from '../../../domain/sign-in.js';
import { resolveTenant } from '../../../domain/tenants.js';
import { ACCESS_TOKEN_LIFETIME_SECONDS, GRAPH_AUDIENCE } from '../../../domain/tokens.js';
import type { Services } from '../../../services.js';
import { findApplicationByClientId, type Application } from '../../../store/applications.js';
import { listRoleIdsOfPrincipal } from '../../../store/role-assignments.js';
import type { Tenant } from '../../../store/tenants.js';
import type { User } from '../../../store/users.js';
import { OAuthError, oauthErrors, sendOAuthError } from './errors.js';
import { parseDelegatedScope, type DelegatedScope } from './scopes.js';

type Form = Record<string, unknown>;

/** The client that asked, once authenticated: a registered app, or one of the built-in public clients. */
type Client = { kind: 'builtIn'; clientId: string } | { kind: 'app'; clientId: string; app: Application };

/**
 * POST /{tenant}/oauth2/v2.0/token — client_credentials, password and refresh_token grants, with
 * Azure's error bodies. OAuth errors are caught and rendered here, never in the Graph shape.
 */
export function tokenRoutes(app: FastifyInstance, services: Services): void {
  app.post<{ Params: { tenant: string } }>('/:tenant/oauth2/v2.0/token', async (request, reply) => {
    try {
      const body = await grant(app, services, request);
      return reply.code(200).header('cache-control', 'no-store').header('pragma', 'no-cache').send(body);
    } catch (err) {
      if (err instanceof OAuthError) return sendOAuthError(request, reply, err, services.clock.now());
      throw err;
    }
  });
}

async function grant(app: FastifyInstance, services: Services, request: FastifyRequest<{ Params: { tenant: string } }>): Promise<Record<string, unknown>> {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
    throw new OAuthError('invalid_request', 900144, "The request body must be application/x-www-form-urlencoded and contain the following parameter: 'grant_type'.");
  }
  const form: Form = request.body !== null && typeof request.body === 'object' ? (request.body as Form) : {};
  const tenantKey = request.params.tenant;
  const tenant = tenantKey.length <= 255 ? await resolveTenant(services, tenantKey) : undefined;
  if (!tenant) throw oauthErrors.unknownTenant(tenantKey);

  const grantType = required(form, 'grant_type');
  switch (grantType) {
    case 'client_credentials':
      return clientCredentialsGrant(services, request, form, tenant);
    case 'password':
      return passwordGrant(app, services, request, form, tenant);
    case 'refresh_token':
      return refreshTokenGrant(services, request, form, tenant);
    default:
      throw oauthErrors.unsupportedGrant(grantType);
  }
}

async function clientCredentialsGrant(services: Services, request: FastifyRequest, form: Form, tenant: Tenant): Promise<Record<string, unknown>> {
  const client = await authenticateClient(services, request, form, tenant, { confidential: true });
  if (client.kind !== 'app') throw oauthErrors.publicClientCredentials();
  const scope = required(form, 'scope').trim();
  const allowed: Record<string, string> = {
    [`${services.config.publicUrl}/.default`]: services.config.publicUrl,
    [`${GRAPH_AUDIENCE}/.default`]: GRAPH_AUDIENCE,
  };
  const audience = allowed[scope];
  if (audience === undefined) {
    throw oauthErrors.invalidScope(`The scope '${scope.slice(0, 200)}' is not valid: the client_credentials grant takes '${GRAPH_AUDIENCE}/.default' or '${services.config.publicUrl}/.default'.`);
  }
  return {
    token_type: 'Bearer',
    expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
    ext_expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
    access_token: await issueAppAccessToken(services.tokens, client.app, audience),
  };
}

async function passwordGrant(app: FastifyInstance, services: Services, request: FastifyRequest, form: Form, tenant: Tenant): Promise<Record<string, unknown>> {
  const client = await authenticateClient(services, request, form, tenant, { confidential: false });
  const username = required(form, 'username');
  const password = required(form, 'password');
  const scope = parseDelegatedScope(required(form, 'scope'), services.config.publicUrl);
  const result = await signInWithPassword(services, { userPrincipalName: username, password, tenantId: tenant.id });
  app.metrics.signIns.inc({ result: result.ok ? 'success' : result.reason });
  if (!result.ok) throw signInError(result.reason);
  return delegatedTokens(services, client.clientId, result.user, scope, undefined);
}

async function refreshTokenGrant(services: Services, request: FastifyRequest, form: Form, tenant: Tenant): Promise<Record<string, unknown>> {
  const client = await authenticateClient(services, request, form, tenant, { confidential: false });
  const presented = required(form, 'refresh_token');
  const result = await redeemRefreshToken(services, { tenantId: tenant.id, clientId: client.clientId, refreshToken: presented });
  if (!result.ok) throw refreshError(result.reason);
  return delegatedTokens(services, client.clientId, result.user, parseDelegatedScope(result.scope, services.config.publicUrl), result.refreshToken);
}

/** Access token, and an id token for `openid`, and a refresh token for `offline_access`. */
async function delegatedTokens(
  services: Services,
  clientId: string,
  user: User,
  scope: DelegatedScope,
  rotatedRefreshToken: string | undefined,
): Promise<Record<string, unknown>> {
  const roles = await listRoleIdsOfPrincipal(services.db, user.tenantId, user.id);
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    scope: scope.requested,
    expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
    ext_expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
    access_token: await issueUserAccessToken(services.tokens, { user, roles, clientId, scope: scope.scp, audience: scope.audience }),
  };
  if (scope.offlineAccess) {
    body.refresh_token =
      rotatedRefreshToken ??
      (await issueRefreshToken(services, services.db, { tenantId: user.tenantId, userId: user.id, clientId, scope: scope.requested }));
  }
  if (scope.openid) {
    body.id_token = await services.tokens.sign({
      aud: clientId,
      tid: user.tenantId,
      sub: user.id,
      oid: user.id,
      preferred_username: user.userPrincipalName,
      name: user.displayName,
      ...(scope.email && user.mail ? { email: user.mail } : {}),
    });
  }
  return body;
}

/**
 * Client authentication: HTTP Basic (RFC 6749 §2.3.1, form-encoded id and secret) or client_id and
 * client_secret in the body, never both. Public clients (built-in or registered) send no secret.
 */
async function authenticateClient(
  services: Services,
  request: FastifyRequest,
  form: Form,
  tenant: Tenant,
  options: { confidential: boolean },
): Promise<Client> {
  const basic = basicCredentials(request);
  const formSecret = optional(form, 'client_secret');
  if (basic && formSecret !== undefined) {
    throw new OAuthError('invalid_request', 90014, 'The client sent its credentials both in the Authorization header and in the body; use one.');
  }
  const formClientId = optional(form, 'client_id');
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
  const application = clientId.length <= 64 ? await findApplicationByClientId(services.db, tenant.id, clientId) : undefined;
  if (!application) throw oauthErrors.unknownClient(clientId, tenant.id);
  if (application.isPublic || application.secretHash === null) {
    if (options.confidential) throw oauthErrors.publicClientCredentials();
    return { kind: 'app', clientId: application.clientId, app: application };
  }
  if (secret === undefined || secret === '') throw oauthErrors.secretRequired();
  const ok = secret.length <= 512 && (await services.hasher.verify(application.secretHash, secret));
  if (!ok) throw oauthErrors.wrongSecret(application.clientId);
  return { kind: 'app', clientId: application.clientId, app: application };
}

function basicCredentials(request: FastifyRequest): { clientId: string; secret: string } | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) throw new OAuthError('invalid_client', 7000215, 'The Authorization header must be "Basic base64(client_id:client_secret)".', 401);
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 7000215, 'The Basic credentials must be "client_id:client_secret".', 401);
  try {
    const unescape = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { clientId: unescape(decoded.slice(0, colon)), secret: unescape(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError('invalid_client', 7000215, 'The Basic credentials are not correctly form-encoded.', 401);
  }
}

function optional(form: Form, name: string): string | undefined {
  const value = form[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw oauthErrors.repeatedParameter(name);
  return value;
}

function required(form: Form, name: string): string {
  const value = optional(form, name);
  if (value === undefined || value === '') throw oauthErrors.missingParameter(name);
  return value;
}

function signInError(reason: SignInFailure): OAuthError {
  switch (reason) {
    case 'invalid_credentials':
      return oauthErrors.invalidCredentials();
    case 'locked':
      return oauthErrors.locked();
    case 'disabled':
      return oauthErrors.disabled();
    case 'password_expired':
      return oauthErrors.passwordExpired();
  }
}

function refreshError(reason: RefreshFailure): OAuthError {
  switch (reason) {
    case 'invalid':
      return oauthErrors.badRefreshToken();
    case 'expired':
      return oauthErrors.refreshExpired();
    case 'reused':
      return oauthErrors.refreshReused();
    case 'revoked':
      return oauthErrors.refreshRevoked();
    case 'user_disabled':
      return oauthErrors.disabled();
  }
}
