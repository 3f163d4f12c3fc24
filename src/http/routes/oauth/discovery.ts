import type { FastifyInstance } from 'fastify';
import { OAuthError, oauthErrors } from '../../../domain/oauth-errors.js';
import { resolveTenant } from '../../../domain/tenants.js';
import { issuerFor } from '../../../domain/tokens.js';
import type { Services } from '../../../services.js';
import { sendOAuthError } from './errors.js';
import { tokenRoutes } from './token.js';

/** Every OAuth / OpenID Connect endpoint: discovery, keys and the token endpoint. */
export function oauthRoutes(app: FastifyInstance, services: Services): void {
  discoveryRoutes(app, services);
  tokenRoutes(app, services);
}

/**
 * GET /{tenant}/v2.0/.well-known/openid-configuration and GET /{tenant}/discovery/v2.0/keys. Every
 * URL is absolute and built from PUBLIC_URL; the issuer is the one tokens carry (issuerFor).
 */
export function discoveryRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;

  app.get<{ Params: { tenant: string } }>('/:tenant/v2.0/.well-known/openid-configuration', async (request, reply) => {
    const tenant = request.params.tenant.length <= 255 ? await resolveTenant(services, request.params.tenant) : undefined;
    if (!tenant) return sendOAuthError(request, reply, unknownTenant(request.params.tenant), services.clock.now());
    return reply.header('cache-control', 'public, max-age=3600').send({
      issuer: issuerFor(base, tenant.id),
      token_endpoint: `${base}/${tenant.id}/oauth2/v2.0/token`,
      jwks_uri: `${base}/${tenant.id}/discovery/v2.0/keys`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      grant_types_supported: ['client_credentials', 'password', 'refresh_token'],
      // No browser flows (authorization endpoint) yet: nothing is issued from the front channel.
      response_types_supported: [],
      response_modes_supported: [],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'ver', 'tid', 'oid', 'name', 'preferred_username', 'email'],
      tenant_region_scope: null,
      cloud_instance_name: new URL(base).host,
    });
  });

  app.get<{ Params: { tenant: string } }>('/:tenant/discovery/v2.0/keys', async (request, reply) => {
    const tenant = request.params.tenant.length <= 255 ? await resolveTenant(services, request.params.tenant) : undefined;
    if (!tenant) return sendOAuthError(request, reply, unknownTenant(request.params.tenant), services.clock.now());
    // Short cache: after a rotation clients must see the new key before tokens signed with it arrive.
    return reply.header('cache-control', 'public, max-age=300').send(await services.tokens.jwks());
  });
}

/** Azure answers discovery for an unknown tenant with `invalid_tenant` (the token endpoint says invalid_request). */
function unknownTenant(key: string): OAuthError {
  const err = oauthErrors.unknownTenant(key);
  return new OAuthError('invalid_tenant', err.aadsts, err.message);
}
