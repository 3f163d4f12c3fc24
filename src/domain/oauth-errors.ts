/**
 * A protocol error of the OAuth endpoints in Azure's terms: the RFC 6749 `error`, the AADSTS code
 * and message, and the HTTP status. src/http/routes/oauth/errors.ts renders it in Azure's shape
 * (`AADSTS<code>: …` with trace and correlation ids, `error_codes`), so MSAL and scripts written
 * against Entra ID read it. These never go through the Graph or Postern API error shapes.
 */
export type OAuthErrorName =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_tenant'
  | 'server_error'
  | 'temporarily_unavailable';

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  constructor(
    readonly error: OAuthErrorName,
    readonly aadsts: number,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export const oauthErrors = {
  missingParameter: (name: string) => new OAuthError('invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`),
  repeatedParameter: (name: string) => new OAuthError('invalid_request', 90015, `Requested query string is too long or the parameter '${name}' is repeated.`),
  unknownTenant: (key: string) =>
    new OAuthError('invalid_request', 90002, `Tenant '${key.slice(0, 100)}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`),
  unsupportedGrant: (grant: string) => new OAuthError('unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant.slice(0, 60)}'.`),
  invalidScope: (detail: string) => new OAuthError('invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. ${detail}`),
  unknownClient: (clientId: string, tenantId: string) =>
    new OAuthError(
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId.slice(0, 60)}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
    ),
  secretRequired: () => new OAuthError('invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", 401),
  wrongSecret: (clientId: string) =>
    new OAuthError(
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
      401,
    ),
  publicClientCredentials: () =>
    new OAuthError('unauthorized_client', 700025, 'Client is public so neither \'client_assertion\' nor \'client_secret\' should be presented, and it cannot use the client_credentials grant.'),
  invalidCredentials: () => new OAuthError('invalid_grant', 50126, 'Error validating credentials due to invalid username or password.'),
  locked: () =>
    new OAuthError(
      'invalid_grant',
      50053,
      'Your account is temporarily locked to prevent unauthorized use. Try again later, and if you still have trouble, contact your admin.',
    ),
  disabled: () => new OAuthError('invalid_grant', 50057, 'The user account is disabled.'),
  passwordExpired: () => new OAuthError('invalid_grant', 50055, 'The password is expired or must be changed before signing in. Change it, then sign in again.'),
  badRefreshToken: () => new OAuthError('invalid_grant', 9002313, 'Invalid request. The refresh token is malformed, unknown, or was issued to another client or tenant.'),
  refreshExpired: () => new OAuthError('invalid_grant', 70008, 'The provided refresh token has expired. Sign in again.'),
  refreshReused: () =>
    new OAuthError('invalid_grant', 70008, 'The refresh token was already used. Every refresh token of this sign-in has been revoked; sign in again.'),
  refreshRevoked: () => new OAuthError('invalid_grant', 50173, 'The provided grant has expired due to it being revoked, a fresh auth token is needed. Sign in again.'),
} as const;
