import { listRoleIdsOfPrincipal } from '../store/role-assignments.js';
import type { Tenant } from '../store/tenants.js';
import type { User } from '../store/users.js';
import { issueAppAccessToken, issueUserAccessToken } from './access-tokens.js';
import { authenticateClient, requiredParameter, type BasicCredentials, type TokenForm } from './oauth-clients.js';
import { oauthErrors, type OAuthError } from './oauth-errors.js';
import { parseDelegatedScope, type DelegatedScope } from './oauth-scopes.js';
import { issueRefreshToken, redeemRefreshToken, type RefreshFailure } from './refresh-tokens.js';
import { signInWithPassword, type SignInDeps, type SignInFailure } from './sign-in.js';
import { ACCESS_TOKEN_LIFETIME_SECONDS, GRAPH_AUDIENCE, type TokenService } from './tokens.js';

export interface OAuthGrantDeps extends SignInDeps {
  readonly tokens: TokenService;
  /** PUBLIC_URL: Postern's own resource, an audience besides Graph */
  readonly publicUrl: string;
}

/**
 * A token request as the route read it. The form stays whole rather than pre-validated: the client
 * is authenticated before the grant's own parameters are read, and that order decides which error
 * a faulty request gets.
 */
export interface GrantInput {
  tenant: Tenant;
  form: TokenForm;
  /** the decoded `Authorization: Basic` credentials, if the request had the header */
  basic?: BasicCredentials | undefined;
}

/** What a sign-in came to, for the caller's metrics. */
export type SignInOutcome = 'success' | SignInFailure;

export interface PasswordGrantInput extends GrantInput {
  /** called once the password was checked, before a failure is thrown */
  onSignIn?: (outcome: SignInOutcome) => void;
}

/** The token endpoint's success body, in Azure's shape (and key order). */
export interface TokenResponse {
  token_type: 'Bearer';
  scope?: string;
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
  refresh_token?: string;
  id_token?: string;
}

/** client_credentials: an app token for Graph or for Postern itself, confidential clients only. */
export async function clientCredentialsGrant(deps: OAuthGrantDeps, input: GrantInput): Promise<TokenResponse> {
  const client = await authenticateClient(deps, input, { confidential: true });
  if (client.kind !== 'app') throw oauthErrors.publicClientCredentials();
  const scope = requiredParameter(input.form, 'scope').trim();
  const allowed: Record<string, string> = {
    [`${deps.publicUrl}/.default`]: deps.publicUrl,
    [`${GRAPH_AUDIENCE}/.default`]: GRAPH_AUDIENCE,
  };
  const audience = allowed[scope];
  if (audience === undefined) {
    throw oauthErrors.invalidScope(`The scope '${scope.slice(0, 200)}' is not valid: the client_credentials grant takes '${GRAPH_AUDIENCE}/.default' or '${deps.publicUrl}/.default'.`);
  }
  return {
    token_type: 'Bearer',
    expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
    ext_expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
    access_token: await issueAppAccessToken(deps.tokens, client.app, audience),
  };
}

/** password (ROPC): a user's UPN and password, through the same sign-in as the portals. */
export async function passwordGrant(deps: OAuthGrantDeps, input: PasswordGrantInput): Promise<TokenResponse> {
  const client = await authenticateClient(deps, input, { confidential: false });
  const username = requiredParameter(input.form, 'username');
  const password = requiredParameter(input.form, 'password');
  const scope = parseDelegatedScope(requiredParameter(input.form, 'scope'), deps.publicUrl);
  const result = await signInWithPassword(deps, { userPrincipalName: username, password, tenantId: input.tenant.id, tenant: input.tenant });
  input.onSignIn?.(result.ok ? 'success' : result.reason);
  if (!result.ok) throw signInError(result.reason);
  return delegatedTokens(deps, client.clientId, result.user, scope, undefined);
}

/** refresh_token: redeems (and rotates) a refresh token issued to the same client in the same tenant. */
export async function refreshTokenGrant(deps: OAuthGrantDeps, input: GrantInput): Promise<TokenResponse> {
  const client = await authenticateClient(deps, input, { confidential: false });
  const presented = requiredParameter(input.form, 'refresh_token');
  const result = await redeemRefreshToken(deps, { tenantId: input.tenant.id, clientId: client.clientId, refreshToken: presented });
  if (!result.ok) throw refreshError(result.reason);
  return delegatedTokens(deps, client.clientId, result.user, parseDelegatedScope(result.scope, deps.publicUrl), result.refreshToken);
}

/** Access token, and an id token for `openid`, and a refresh token for `offline_access`. */
async function delegatedTokens(
  deps: OAuthGrantDeps,
  clientId: string,
  user: User,
  scope: DelegatedScope,
  rotatedRefreshToken: string | undefined,
): Promise<TokenResponse> {
  const roles = await listRoleIdsOfPrincipal(deps.db, user.tenantId, user.id);
  const body: TokenResponse = {
    token_type: 'Bearer',
    scope: scope.requested,
    expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
    ext_expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
    access_token: await issueUserAccessToken(deps.tokens, { user, roles, clientId, scope: scope.scp, audience: scope.audience }),
  };
  if (scope.offlineAccess) {
    body.refresh_token =
      rotatedRefreshToken ?? (await issueRefreshToken(deps, deps.db, { tenantId: user.tenantId, userId: user.id, clientId, scope: scope.requested }));
  }
  if (scope.openid) {
    body.id_token = await deps.tokens.sign({
      aud: clientId,
      tid: user.tenantId,
      sub: user.id,
      oid: user.id,
      preferred_username: user.userPrincipalName,
      name: user.displayName,
      ...(scope.email && user.mail ? { email: user.mail } : {}),
    }, undefined, 'id');
  }
  return body;
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
