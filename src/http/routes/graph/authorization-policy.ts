import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { getAuthorizationPolicy, updateAuthorizationPolicy, type AuthorizationPolicy } from '../../../domain/authorization-policy.js';
import type { Services } from '../../../services.js';
import { authorize, requestContext } from '../../auth.js';

/**
 * Only allowedToUseSSPR can be written (reference §8.7); every other property is reported with the
 * value that describes what Postern actually does (no guest invitations, no self-service sign-up,
 * members may read other users but not create groups, apps or tenants) and refused by name in a
 * PATCH (the strict body turns it into request.unknown_property).
 */
const patchBody = z.strictObject({
  '@odata.type': z.literal('#microsoft.graph.authorizationPolicy').optional(),
  allowedToUseSSPR: z.boolean().optional(),
});

export function authorizationPolicyRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;
  const url = '/v1.0/policies/authorizationPolicy';

  app.get(url, async (request, reply) => {
    const principal = await authorize(services, request, 'policies.authorization.read');
    const policy = await getAuthorizationPolicy(services, principal.tenantId);
    return reply.header('cache-control', 'no-store').send(graphAuthorizationPolicy(base, policy));
  });

  app.patch(url, async (request, reply) => {
    const principal = await authorize(services, request, 'policies.authorization.write');
    const { '@odata.type': _type, ...patch } = patchBody.parse(request.body);
    await updateAuthorizationPolicy(services, requestContext(request, principal), principal.tenantId, patch);
    return reply.code(204).send();
  });
}

function graphAuthorizationPolicy(base: string, p: AuthorizationPolicy) {
  return {
    '@odata.context': `${base}/v1.0/$metadata#policies/authorizationPolicy/$entity`,
    id: 'authorizationPolicy',
    displayName: 'Authorization Policy',
    description: 'Used to manage authorization related settings across the company.',
    allowInvitesFrom: 'none',
    allowedToSignUpEmailBasedSubscriptions: false,
    allowedToUseSSPR: p.allowedToUseSSPR,
    allowEmailVerifiedUsersToJoinOrganization: false,
    allowUserConsentForRiskyApps: false,
    blockMsolPowerShell: false,
    // Azure's "Guest User" role template id
    guestUserRoleId: '10dae51f-b6af-4016-8d66-8c2a99b929b3',
    defaultUserRolePermissions: {
      allowedToCreateApps: false,
      allowedToCreateSecurityGroups: false,
      allowedToCreateTenants: false,
      allowedToReadBitlockerKeysForOwnedDevice: false,
      allowedToReadOtherUsers: true,
      permissionGrantPoliciesAssigned: [],
    },
  };
}
