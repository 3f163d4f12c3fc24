import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { adminUnlockUser, revokeUserSignInSessions } from '../../../domain/admin-account.js';
import { requireCapability, type Principal } from '../../../domain/authorization.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import { authenticate, authorize, requestContext } from '../../auth.js';
import { doc } from '../../openapi.js';
import { userKey } from '../graph/users.js';

/**
 * Administrator actions on a user's account that are not a password reset:
 * - POST /api/v1/users/{id|upn}/unlock (Postern API: Graph has no unlock) → 204
 * - POST /v1.0/users/{id|upn}/revokeSignInSessions and /v1.0/me/revokeSignInSessions (Graph) → 200
 * Both sit here because they share the use-case module (domain/admin-account.ts).
 */

/** Does the key name the caller themselves (by id or UPN)? Decided before any lookup, so a refusal never reveals whether a user exists. */
function isSelf(principal: Principal, key: string): boolean {
  return principal.kind === 'user' && (key.toLowerCase() === principal.userId || key.toLowerCase() === principal.userPrincipalName.toLowerCase());
}

/** The actions take no parameters: no body, or an empty JSON object. */
const noParameters = z.strictObject({}).optional();

export function userAdminRoutes(app: FastifyInstance, services: Services): void {
  const revokedAnswer = { '@odata.context': `${services.config.publicUrl}/v1.0/$metadata#Edm.Boolean`, value: true };

  app.post('/api/v1/users/:key/unlock', doc({ summary: "Unlock a user's account locked by smart lockout (the password stays)", tags: ['Users'], auth: 'admin', params: z.strictObject({ key: z.string().describe('user id or userPrincipalName') }), responses: { 204: 'Unlocked, or was not locked (nothing recorded then)', 403: 'Your role may not unlock this user (the message names the rule)', 404: 'No such user in your tenant' } }), async (request: FastifyRequest, reply) => {
    const principal = await authorize(services, request, 'users.password');
    noParameters.parse(request.body);
    await adminUnlockUser(services, requestContext(request, principal), (request.params as { key: string }).key);
    return reply.code(204).send();
  });

  app.post('/v1.0/users/:key/revokeSignInSessions', async (request) => {
    const principal = await authenticate(services, request);
    const key = userKey(request);
    noParameters.parse(request.body);
    // anyone may sign themselves out everywhere; others need the permission, then the table decides per target
    if (!isSelf(principal, key)) requireCapability(principal, 'users.revokeSessions');
    await revokeUserSignInSessions(services, requestContext(request, principal), key);
    return revokedAnswer;
  });

  app.post('/v1.0/me/revokeSignInSessions', async (request) => {
    const principal = await authenticate(services, request);
    if (principal.kind !== 'user') throw new AppError('auth.delegated_only', { message: '/me request is only valid with delegated authentication flow.' });
    noParameters.parse(request.body);
    await revokeUserSignInSessions(services, requestContext(request, principal), principal.userId);
    return revokedAnswer;
  });
}
