import type { FastifyInstance } from 'fastify';
import { getUser } from '../../../domain/users.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import { authenticate } from '../../auth.js';
import { graphUser, odataContext, USER_SELECTABLE } from '../../graph-views.js';
import { parseEntityQuery } from '../../odata.js';

/** `GET /v1.0/me`: the signed-in user. An application token has no "me". */
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
}
