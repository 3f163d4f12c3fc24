import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { passwordHintsFor } from '../../../domain/password-hints.js';
import type { Services } from '../../../services.js';
import { doc } from '../../openapi.js';

const hintsQuery = z.strictObject({ tenant: z.string().min(1).max(256).optional() });

/** GET /api/v1/password-policy/hints: the rules a new password must meet, for the pages' live hints. No sign-in. */
export function passwordHintsRoutes(app: FastifyInstance, services: Services): void {
  app.get(
    '/api/v1/password-policy/hints',
    doc({
      summary: "The password rules of a tenant, for live hints while choosing a password (no secrets: the banned lists are checked only by the server)",
      tags: ['Policies'],
      auth: 'none',
      querystring: hintsQuery,
      responses: {
        200: '{profile, minLength, maxLength, requiredClasses, classes, allowedCharacters, historyCount, bannedListChecked}',
        400: 'No tenant with that id or domain (tenant.not_found)',
      },
    }),
    async (request, reply) => {
      const { tenant } = hintsQuery.parse(request.query);
      return reply.header('cache-control', 'no-cache').send(await passwordHintsFor(services, tenant));
    },
  );
}
