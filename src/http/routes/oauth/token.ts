import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requiredParameter, type BasicCredentials, type TokenForm } from '../../../domain/oauth-clients.js';
import { OAuthError, oauthErrors } from '../../../domain/oauth-errors.js';
import { clientCredentialsGrant, passwordGrant, refreshTokenGrant, type OAuthGrantDeps, type TokenResponse } from '../../../domain/oauth-grants.js';
import { resolveTenant } from '../../../domain/tenants.js';
import type { Services } from '../../../services.js';
import { sendOAuthError } from './errors.js';

/**
 * POST /{tenant}/oauth2/v2.0/token — client_credentials, password and refresh_token grants, with
 * Azure's error bodies. OAuth errors are caught and rendered here, never in the Graph shape.
 */
export function tokenRoutes(app: FastifyInstance, services: Services): void {
  const deps: OAuthGrantDeps = {
    db: services.db,
    clock: services.clock,
    random: services.random,
    hasher: services.hasher,
    secretBox: services.secretBox,
    tokens: services.tokens,
    publicUrl: services.config.publicUrl,
    // pass-through users are verified by a writeback agent
    writeback: services.writeback,
  };
  app.post<{ Params: { tenant: string } }>('/:tenant/oauth2/v2.0/token', async (request, reply) => {
    try {
      const body = await grant(app, deps, request);
      return reply.code(200).header('cache-control', 'no-store').header('pragma', 'no-cache').send(body);
    } catch (err) {
      if (err instanceof OAuthError) return sendOAuthError(request, reply, err, services.clock.now());
      throw err;
    }
  });
}

async function grant(app: FastifyInstance, deps: OAuthGrantDeps, request: FastifyRequest<{ Params: { tenant: string } }>): Promise<TokenResponse> {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
    throw new OAuthError('invalid_request', 900144, "The request body must be application/x-www-form-urlencoded and contain the following parameter: 'grant_type'.");
  }
  const form: TokenForm = request.body !== null && typeof request.body === 'object' ? (request.body as TokenForm) : {};
  const tenantKey = request.params.tenant;
  const tenant = tenantKey.length <= 255 ? await resolveTenant(deps, tenantKey) : undefined;
  if (!tenant) throw oauthErrors.unknownTenant(tenantKey);

  // The Authorization header is read only once the grant type is known, as before the use cases
  // moved to the domain: an unsupported grant answers unsupported_grant_type whatever the header.
  const grantType = requiredParameter(form, 'grant_type');
  switch (grantType) {
    case 'client_credentials':
      return clientCredentialsGrant(deps, { tenant, form, basic: basicCredentials(request) });
    case 'password':
      return passwordGrant(deps, {
        tenant,
        form,
        basic: basicCredentials(request),
        onSignIn: (result) => app.metrics.signIns.inc({ result }),
      });
    case 'refresh_token':
      return refreshTokenGrant(deps, { tenant, form, basic: basicCredentials(request) });
    default:
      throw oauthErrors.unsupportedGrant(grantType);
  }
}

/** HTTP Basic client credentials (RFC 6749 §2.3.1): base64 of the form-encoded id and secret. */
function basicCredentials(request: FastifyRequest): BasicCredentials | undefined {
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
