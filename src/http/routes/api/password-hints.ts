import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { passwordHintsFor } from '../../../domain/password-hints.js';
import type { Services } from '../../../services.js';
import { doc } from '../../openapi.js';

// any length: a blank tenant names none (the defaults), an overlong one names no tenant (tenant.not_found), as for the branding
const hintsQuery = z.strictObject({ tenant: z.string().optional() });

/** GET /api/v1/password-policy/hints: the rules a new password must meet, for the pages' live hints. No sign-in. */
export function passwordHintsRoutes(app: FastifyInstance, services: Services): void {
  app.get(
    '/api/v1/password-policy/hints',
    doc({
      summary: "The password rules of a tenant, for live hints while choosing a password (no secrets: the banned lists are checked only by the server)",
      description: 'tenant: a tenant id or one of its domains; without it (or blank), the defaults every new tenant starts with. A named tenant that does not exist is tenant.not_found, as for GET /api/v1/branding.',
      tags: ['Policies'],
      auth: 'none',
      querystring: hintsQuery,
      responses: {
        200: '{profile, minLength, maxLength, requiredClasses, classes, allowedCharacters, historyCount, bannedListChecked}',
        400: 'A malformed query (request.invalid)',
        404: 'No tenant with that id or domain (tenant.not_found)',
      },
    }),
    async (request, reply) => {
      const { tenant } = hintsQuery.parse(request.query);
      return reply.header('cache-control', 'no-cache').send(await passwordHintsFor(services, tenant));
    },
  );
}
