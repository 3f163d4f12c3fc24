import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DEFAULT_DAYS, MAX_DAYS, TOP_REASONS, getInsights } from '../../../domain/insights.js';
import type { Services } from '../../../services.js';
import { authorize } from '../../auth.js';
import { doc } from '../../openapi.js';

/**
 * GET /api/v1/reports/insights: the numbers behind the insights charts (SPEC 3.7) for a range of UTC
 * days. Readers: capability reports.read (AuditLog.Read.All, or the Global Administrator, Reports
 * Reader, Security Reader or Security Administrator role).
 */

const query = z.strictObject({
  from: z.string().max(10).optional().describe(`first UTC day, inclusive (2026-11-01); default ${DEFAULT_DAYS - 1} days before 'to'`),
  to: z.string().max(10).optional().describe('last UTC day, inclusive; default today'),
});

export function insightsRoutes(app: FastifyInstance, services: Services): void {
  app.get(
    '/api/v1/reports/insights',
    doc({
      summary: 'Insights: per-day password events by result, methods used, top failure reasons, registration coverage, admin resets by admin',
      description:
        `days: one entry per UTC day of the range (at most ${MAX_DAYS}), each series (selfServiceResets, passwordChanges, selfServiceUnlocks, adminUnlocks, registrations, blocks, adminResets) as {success, failure, timeout}, and flowOutcomes by the classic result. ` +
        `methodsUsed: methods of successful self-service resets and unlocks. topFailureReasons: the ${TOP_REASONS} most common result reasons of failed password events. ` +
        'registrationCoverage: the registration report totals now (not per range). writeback: success rate, average and median latency of writeback jobs in the range (pass-through sign-in checks excluded); null figures and a note when there were none.',
      tags: ['Reports'],
      auth: 'admin',
      querystring: query,
      responses: {
        200: '{ from, to, timeZone, days, totals, methodsUsed, topFailureReasons, registrationCoverage, adminResetsByAdmin, writeback }',
        400: "'from' or 'to' is not a date, 'from' is after 'to', or the range is too long (the message names it)",
        401: 'Not signed in',
        403: 'Needs AuditLog.Read.All or the Global, Reports Reader, Security Reader or Security Administrator role',
      },
    }),
    async (request) => {
      const principal = await authorize(services, request, 'reports.read');
      const q = query.parse(request.query ?? {});
      return getInsights(services, principal.tenantId, q);
    },
  );
}
