import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { changeOwnPassword } from '../../../domain/password-change.js';
import { getUser } from '../../../domain/users.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import { authenticate, requestContext } from '../../auth.js';
import { sessionTokenOf } from '../../session-auth.js';
import { graphUser, odataContext, USER_SELECTABLE } from '../../graph-views.js';
import { parseEntityQuery } from '../../odata.js';

const changePasswordBody = z.strictObject({
  // bounded only loosely here: the policy names an oversized password without hashing it
  currentPassword: z.string().min(1).max(4096),
  newPassword: z.string().max(4096),
});

/** `GET /v1.0/me` and `POST /v1.0/me/changePassword`: the signed-in user. An application token has no "me". */
export function graphMeRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;

  app.get('/v1.0/me', async (request) => {
    const principal = await authenticate(services, request);
    if (principal.kind !== 'user') {
      throw new AppError('auth.delegated_only', { message: '/me request is only valid with delegated authentication flow.' });
    }
    const { select } = parseEntityQuery(request.query, USER_SELECTABLE, 'user');
    const user = await getUser(services, principal.tenantId, principal.userId);
    return { '@odata.context': odataContext(base, 'users', select, true), ...graphUser(user, select) };
  });

  app.post('/v1.0/me/changePassword', async (request, reply) => {
    const principal = await authenticate(services, request);
    if (principal.kind !== 'user') {
      throw new AppError('auth.delegated_only', { message: '/me request is only valid with delegated authentication flow.' });
    }
    const body = changePasswordBody.parse(request.body);
    await changeOwnPassword(services, requestContext(request, principal), {
      tenantId: principal.tenantId,
      userId: principal.userId,
      currentPassword: body.currentPassword,
      newPassword: body.newPassword,
      keepSessionToken: sessionTokenOf(request),
    });
    return reply.code(204).send();
  });
}
