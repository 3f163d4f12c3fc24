import type { FastifyInstance } from 'fastify';
import { requireCapability, type Capability } from '../../../domain/authorization.js';
import { deleteUser, updateUser } from '../../../domain/users.js';
import type { Services } from '../../../services.js';
import type { UserPatch } from '../../../store/users.js';
import { authorize, requestContext } from '../../auth.js';
import { updateUserBody, type UpdateUserBody } from './user-input.js';
import { userKey } from './users.js';

/** PATCH and DELETE on `users/{id | userPrincipalName}`. */
export function graphUserWriteRoutes(app: FastifyInstance, services: Services): void {
  app.patch('/v1.0/users/:key', async (request, reply) => {
    const key = userKey(request);
    const principal = await authorize(services, request);
    const body = updateUserBody.parse(request.body);
    for (const capability of capabilitiesFor(body)) requireCapability(principal, capability);
    const { passwordProfile, mailNickname: _ignored, '@odata.type': _type, ...profile } = body;
    const patch: UserPatch = { ...profile };
    const newPassword = passwordProfile?.password;
    if (passwordProfile?.forceChangePasswordNextSignIn !== undefined) patch.forceChangePasswordNextSignIn = passwordProfile.forceChangePasswordNextSignIn;
    if (passwordProfile?.forceChangePasswordNextSignInWithMfa !== undefined) {
      patch.forceChangePasswordNextSignInWithMfa = passwordProfile.forceChangePasswordNextSignInWithMfa;
    }
    await updateUser(services, requestContext(request, principal), principal.tenantId, key, { patch, newPassword });
    return reply.code(204).send();
  });

  app.delete('/v1.0/users/:key', async (request, reply) => {
    const principal = await authorize(services, request, 'users.write');
    await deleteUser(services, requestContext(request, principal), principal.tenantId, userKey(request));
    return reply.code(204).send();
  });
}

/**
 * Profile properties need users.write; the contact data self-service reset relies on (mobilePhone,
 * businessPhones, otherMails) needs users.ssprProperties, which Authentication and Privileged
 * Authentication Administrators hold too (reference §4.3); anything in passwordProfile needs
 * users.password (so a Helpdesk Administrator can reset passwords without being able to rename users).
 * Who may act on which target is then decided per target by the use case.
 */
const SSPR_PROPERTIES = ['mobilePhone', 'businessPhones', 'otherMails'] as const;

function capabilitiesFor(body: UpdateUserBody): Capability[] {
  const { passwordProfile, mailNickname: _m, '@odata.type': _t, ...profile } = body;
  const caps: Capability[] = [];
  const given = Object.entries(profile).filter(([, v]) => v !== undefined).map(([k]) => k);
  const sspr = given.filter((k) => (SSPR_PROPERTIES as readonly string[]).includes(k));
  if (given.length > sspr.length || (given.length === 0 && passwordProfile === undefined)) caps.push('users.write');
  if (sspr.length > 0) caps.push('users.ssprProperties');
  if (passwordProfile !== undefined) caps.push('users.password');
  return caps;
}
