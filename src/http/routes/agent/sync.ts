import type { FastifyInstance } from 'fastify';
import { applySyncBatch } from '../../../domain/directory-sync.js';
import type { Services } from '../../../services.js';
import { syncBatch } from '../../../writeback/protocol.js';
import { authenticateAgent } from '../../agent-auth.js';
import { requestContext } from '../../auth.js';
import { doc } from '../../openapi.js';

/** A batch holds up to 1,000 users and 1,000 groups: far beyond the API's default body limit. */
const SYNC_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/** POST /api/v1/agent/sync — one page of a directory sync run from an on-premises agent (SPEC 3.6). */
export function agentSyncRoutes(app: FastifyInstance, services: Services): void {
  app.post(
    '/api/v1/agent/sync',
    {
      bodyLimit: SYNC_BODY_LIMIT_BYTES,
      ...doc({
        summary: 'Apply one page of a directory sync run (agents only: Authorization: Agent <credential>)',
        description:
          'Groups, then users, matched by their on-premises anchor (objectGUID / entryUUID). Users are created or updated (password source hashSync when a ' +
          'password hash comes with them, else passThrough), their memberships in synced groups replaced, and the page with final=true disables the synced ' +
          'users the run did not see. The whole page is applied or nothing is.',
        tags: ['Agent'],
        auth: 'none',
        body: syncBatch,
        responses: {
          200: 'Counts: created, updated, disabled, groupsCreated, groupsUpdated',
          400: 'The batch is malformed (unknown fields, too many objects, an anchor twice); nothing was written',
          401: 'No or unknown agent credential',
          403: 'The agent is disabled',
        },
      }),
    },
    async (request, reply) => {
      const agent = await authenticateAgent(services, request);
      const batch = syncBatch.parse(request.body);
      const ctx = requestContext(request, null);
      const answer = await applySyncBatch({ ...services, syncDisableThreshold: services.config.syncDisableThreshold }, agent, batch, { ipAddress: ctx.ipAddress, correlationId: ctx.correlationId });
      return reply.header('cache-control', 'no-store').send(answer);
    },
  );
}
