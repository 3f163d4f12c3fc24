import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../domain/audit.js';
import { requireCapability, type Capability, type Principal } from '../domain/authorization.js';
import { AppError } from '../errors.js';
import type { Services } from '../services.js';
import { findApplicationByClientId } from '../store/applications.js';
import { listRoleIdsOfPrincipal } from '../store/role-assignments.js';
import { principalGeneration } from '../store/principal-changes.js';
import { findTokenUser } from '../store/users.js';
import { headerValue } from './errors.js';
import { assertCsrf, readSession, sessionTokenOf } from './session-auth.js';

/**
 * Establishes the caller from a Bearer token or, without an Authorization header, from the web
 * session cookie. Cookie-authenticated writes must pass the CSRF check; Bearer requests need not
 * (a browser never attaches a Bearer token on its own).
 */
export async function authenticate(services: Services, request: FastifyRequest): Promise<Principal> {
  if (headerValue(request, 'authorization') !== undefined) return authenticateBearer(services, request);
  if (sessionTokenOf(request) === undefined) {
    // The web API speaks of sessions, Graph of tokens.
    throw new AppError(request.url.startsWith('/api/') ? 'auth.session_required' : 'auth.token_missing');
  }
  const active = await readSession(services, request);
  if (!active) throw new AppError('auth.session_required', { message: 'Your session has expired or was signed out. Sign in again.' });
  assertCsrf(services, request, active);
  const { user } = active;
  return {
    kind: 'user',
    tenantId: user.tenantId,
    userId: user.id,
    userPrincipalName: user.userPrincipalName,
    displayName: user.displayName,
    roles: await listRoleIdsOfPrincipal(services.db, user.tenantId, user.id),
    clientId: null,
    scopes: [],
  };
}

/**
 * Establishes the caller from `Authorization: Bearer <jwt>`. A user's roles and standing (enabled,
 * sessions not revoked since the token was issued) and an application's existence are read from the
 * database, so disabling a user, revoking their sessions or removing a role takes effect before the
 * token expires. What was read is kept with the token for at most PRINCIPAL_TTL_MS and only while no
 * store write has touched users, roles, groups or memberships on this node (src/store/principal-changes.ts):
 * a script reading with one token then costs one lookup a second instead of four per request
 * (BENCHMARKS.md, graph-read), and a change made on another node applies within that second.
 */
export async function authenticateBearer(services: Services, request: FastifyRequest): Promise<Principal> {
  const header = headerValue(request, 'authorization');
  if (!header) throw new AppError('auth.token_missing');
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw new AppError('auth.token_invalid', { message: 'The Authorization header must be "Bearer <access token>".' });
  const token = match[1];
  // tokens.verify checks the time claims on every call (signature, issuer and audience once per token string)
  const claims = await services.tokens.verify(token);
  if (!claims) throw new AppError('auth.token_invalid');

  const cache = principalCacheOf(services);
  const generation = principalGeneration();
  const now = performance.now();
  const hit = cache.get(token);
  if (hit && hit.generation === generation && hit.until > now) return hit.principal;

  const principal = await readPrincipal(services, claims);
  if (cache.size >= PRINCIPAL_CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(token, { principal, generation, until: now + PRINCIPAL_TTL_MS });
  return principal;
}

const PRINCIPAL_TTL_MS = 1000;
const PRINCIPAL_CACHE_MAX = 4096;
type PrincipalCache = Map<string, { principal: Principal; generation: number; until: number }>;
const principalCaches = new WeakMap<Services, PrincipalCache>();

function principalCacheOf(services: Services): PrincipalCache {
  let cache = principalCaches.get(services);
  if (!cache) principalCaches.set(services, (cache = new Map() as PrincipalCache));
  return cache;
}

type TokenClaims = NonNullable<Awaited<ReturnType<Services['tokens']['verify']>>>;

async function readPrincipal(services: Services, claims: TokenClaims): Promise<Principal> {
  const tenantId = claims.tid;
  if (claims.idtyp === 'app') {
    const clientId = typeof claims.appid === 'string' ? claims.appid : '';
    const app = await findApplicationByClientId(services.db, tenantId, clientId);
    if (!app) throw new AppError('auth.token_invalid', { message: 'The application of this token no longer exists.' });
    const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
    return Object.freeze({ kind: 'app', tenantId, clientId: app.clientId, displayName: app.displayName, permissions: Object.freeze(roles) as string[] });
  }

  const user = await findTokenUser(services.db, tenantId, typeof claims.oid === 'string' ? claims.oid : '');
  const issuedAt = (claims.iat ?? 0) * 1000;
  if (!user || !user.accountEnabled || issuedAt < Math.floor(Date.parse(user.signInSessionsValidFrom) / 1000) * 1000) {
    throw new AppError('auth.token_invalid', { message: 'The user of this token is disabled, deleted or was signed out.' });
  }
  return Object.freeze({
    kind: 'user',
    tenantId,
    userId: user.id,
    userPrincipalName: user.userPrincipalName,
    displayName: user.displayName,
    roles: Object.freeze(await listRoleIdsOfPrincipal(services.db, tenantId, user.id)) as string[],
    clientId: typeof claims.azp === 'string' ? claims.azp : null,
    scopes: Object.freeze(typeof claims.scp === 'string' ? claims.scp.split(' ') : []) as string[],
  });
}

export function requestContext(request: FastifyRequest, principal: Principal | null): RequestContext {
  return {
    principal,
    ipAddress: request.ip ?? null,
    userAgent: headerValue(request, 'user-agent') ?? null,
    correlationId: headerValue(request, 'client-request-id') ?? request.id,
  };
}

/** Authenticates the caller (Bearer token or session cookie) and checks every capability given. */
export async function authorize(services: Services, request: FastifyRequest, ...capabilities: Capability[]): Promise<Principal> {
  const principal = await authenticate(services, request);
  for (const c of capabilities) requireCapability(principal, c);
  return principal;
}
