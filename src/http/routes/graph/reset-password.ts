import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PASSWORD_METHOD_ID, resetPasswordByAdmin } from '../../../domain/admin-reset.js';
import type { Principal } from '../../../domain/authorization.js';
import { assertMayActOnUser } from '../../../domain/reset-permission.js';
import { getUser } from '../../../domain/users.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import { findAuthenticationOperation, type AuthenticationOperation } from '../../../store/authentication-operations.js';
import type { User } from '../../../store/users.js';
import { authenticate, authorize, requestContext } from '../../auth.js';
import { userKey } from './users.js';

/**
 * Graph's administrator password reset (reference §8.3): POST …/methods/{passwordMethodId}/resetPassword
 * (also under passwordMethods/) answers 202 with the Location of an authentication operation, and the
 * generated password once — the answer is never cached. GET on the operation polls it; GET on
 * passwordMethods lists the password method, whose password is always null.
 */

// bounded only loosely here: the policy names an oversized password without hashing it; null = generate
const resetPasswordBody = z.strictObject({ newPassword: z.string().max(4096).nullable().optional() });

const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');

/** Only the password method can be reset; any other id in the path does not exist here. */
function assertPasswordMethod(request: FastifyRequest): void {
  const id = (request.params as { methodId?: string }).methodId ?? '';
  if (id.toLowerCase() !== PASSWORD_METHOD_ID) {
    throw new AppError('request.not_found', { message: `The password authentication method '${id.slice(0, 64)}' does not exist. Use ${PASSWORD_METHOD_ID}.` });
  }
}

function delegatedOnly(principal: Principal): asserts principal is Extract<Principal, { kind: 'user' }> {
  if (principal.kind !== 'user') throw new AppError('auth.delegated_only', { message: '/me request is only valid with delegated authentication flow.' });
}

/** Reading a password method: yourself always; someone else as for their other authentication methods. */
async function assertMayReadMethods(services: Services, principal: Principal, target: User): Promise<void> {
  if (principal.kind === 'app') {
    if (principal.permissions.includes('UserAuthenticationMethod.ReadWrite.All')) return;
    throw new AppError('auth.forbidden', { message: 'Insufficient privileges to complete the operation: it needs the application permission UserAuthenticationMethod.ReadWrite.All.' });
  }
  if (principal.userId === target.id) return;
  await assertMayActOnUser(services.db, principal, target, 'authenticationMethods');
}

export function graphResetPasswordRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;
  const operationUrl = (op: AuthenticationOperation) => `${base}/v1.0/users/${op.userId}/authentication/operations/${op.id}`;

  for (const collection of ['methods', 'passwordMethods'] as const) {
    app.post(`/v1.0/users/:key/authentication/${collection}/:methodId/resetPassword`, async (request, reply) => {
      const key = userKey(request);
      const principal = await authorize(services, request, 'users.password');
      assertPasswordMethod(request);
      const body = resetPasswordBody.parse(request.body ?? {});
      const result = await resetPasswordByAdmin(services, requestContext(request, principal), principal.tenantId, key, { newPassword: body.newPassword ?? undefined });
      // Location from PUBLIC_URL only: a Host or X-Forwarded-Host header must not steer a client's poll elsewhere
      return noStore(reply)
        .code(202)
        .header('location', operationUrl(result.operation))
        .send({ '@odata.context': `${base}/v1.0/$metadata#microsoft.graph.passwordResetResponse`, newPassword: result.newPassword });
    });

    // Graph: "cannot be performed on a user's own account" — refused by the same rule as /users/{own id}
    app.post(`/v1.0/me/authentication/${collection}/:methodId/resetPassword`, async (request) => {
      const principal = await authenticate(services, request);
      delegatedOnly(principal);
      assertPasswordMethod(request);
      resetPasswordBody.parse(request.body ?? {});
      await assertMayActOnUser(services.db, principal, await getUser(services, principal.tenantId, principal.userId), 'password');
      throw new AppError('auth.forbidden');
    });
  }

  app.get('/v1.0/users/:key/authentication/operations/:operationId', async (request, reply) => {
    const principal = await authorize(services, request, 'users.password');
    const user = await getUser(services, principal.tenantId, userKey(request));
    await assertMayActOnUser(services.db, principal, user, 'password');
    const id = (request.params as { operationId: string }).operationId;
    const op = id.length <= 64 ? await findAuthenticationOperation(services.db, principal.tenantId, user.id, id) : undefined;
    if (!op) throw new AppError('request.not_found', { message: `The authentication operation '${id.slice(0, 64)}' does not exist for this user.` });
    return noStore(reply).send({
      '@odata.context': `${base}/v1.0/$metadata#users('${user.id}')/authentication/operations/$entity`,
      id: op.id,
      createdDateTime: op.createdAt,
      lastActionDateTime: op.lastActionAt,
      status: op.status,
      statusDetail: op.statusDetail,
      resourceLocation: op.resourceLocation === null ? null : `${base}${op.resourceLocation}`,
    });
  });

  const passwordMethod = (user: User) => ({
    '@odata.type': '#microsoft.graph.passwordAuthenticationMethod',
    id: PASSWORD_METHOD_ID,
    password: null,
    createdDateTime: user.lastPasswordChangeDateTime ?? user.createdDateTime,
  });
  const context = (user: User, entity: boolean) => `${base}/v1.0/$metadata#users('${user.id}')/authentication/passwordMethods${entity ? '/$entity' : ''}`;
  const methodOrNotFound = (request: FastifyRequest, user: User) => {
    const id = (request.params as { methodId: string }).methodId;
    if (id.toLowerCase() !== PASSWORD_METHOD_ID) throw new AppError('request.not_found', { message: `The password authentication method '${id.slice(0, 64)}' does not exist.` });
    return { '@odata.context': context(user, true), ...passwordMethod(user) };
  };
  const me = async (request: FastifyRequest) => {
    const principal = await authenticate(services, request);
    delegatedOnly(principal);
    return getUser(services, principal.tenantId, principal.userId);
  };
  const other = async (request: FastifyRequest) => {
    const principal = await authenticate(services, request);
    const user = await getUser(services, principal.tenantId, userKey(request));
    await assertMayReadMethods(services, principal, user);
    return user;
  };

  app.get('/v1.0/me/authentication/passwordMethods', async (request) => {
    const user = await me(request);
    return { '@odata.context': context(user, false), value: [passwordMethod(user)] };
  });
  app.get('/v1.0/me/authentication/passwordMethods/:methodId', async (request) => methodOrNotFound(request, await me(request)));
  app.get('/v1.0/users/:key/authentication/passwordMethods', async (request) => {
    const user = await other(request);
    return { '@odata.context': context(user, false), value: [passwordMethod(user)] };
  });
  app.get('/v1.0/users/:key/authentication/passwordMethods/:methodId', async (request) => methodOrNotFound(request, await other(request)));
}
