import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { claimNextJob, recordJobResult } from '../../../writeback/claims.js';
import { AGENT_LONG_POLL_MAX_SECONDS, jobResult } from '../../../writeback/protocol.js';
import { authenticateAgent } from '../../agent-auth.js';
import { doc } from '../../openapi.js';

/** The agent's job channel: a long poll that claims one job, and the result of a job. */
const pollQuery = z.strictObject({
  wait: z.coerce.number().int().min(0).max(AGENT_LONG_POLL_MAX_SECONDS).optional().describe(`seconds to wait for a job (0–${AGENT_LONG_POLL_MAX_SECONDS}, default 25)`),
});
const jobParams = z.strictObject({ id: z.string().uuid() });

export function agentJobRoutes(app: FastifyInstance, services: Services): void {
  app.get(
    '/api/v1/agent/jobs',
    doc({
      summary: 'Long poll for the next writeback job (agents only: Authorization: Agent <credential>)',
      description:
        'Claims the oldest pending job sealed to one of this agent\'s keys; of several agents polling, exactly one gets each job. The job\'s payload is ' +
        'a flattened JWE (ECDH-ES+A256KW, A256GCM) for this agent\'s key, with the job id as additional authenticated data and inside the payload.',
      tags: ['Agent'],
      auth: 'none',
      querystring: pollQuery,
      responses: { 200: '{ id, kind, sealed, expiresAt }', 204: 'No job within the wait', 401: 'No or unknown agent credential', 403: 'The agent is disabled' },
    }),
    async (request, reply) => {
      const agent = await authenticateAgent(services, request);
      const q = pollQuery.parse(request.query ?? {});
      const gone = new AbortController();
      const hungUp = (): void => gone.abort();
      request.raw.once('close', hungUp);
      // only the wait needs to know; aborting afterwards (every request closes) made a DOMException per poll
      const job = await claimNextJob(services, agent, q.wait ?? 25, gone.signal).finally(() => request.raw.off('close', hungUp));
      reply.header('cache-control', 'no-store');
      return job ? reply.send(job) : reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/agent/jobs/:id/result',
    doc({
      summary: 'Report the outcome of a claimed writeback job (agents only: Authorization: Agent <credential>)',
      description:
        'Applied once: the same result again answers 204, a different one 409. A result for a job that already expired is recorded as late; a late ' +
        'success is then completed in the cloud (OnPremisesSuccessCloudFailure). detail carries the directory\'s words, never a password.',
      tags: ['Agent'],
      auth: 'none',
      params: jobParams,
      body: jobResult,
      responses: { 204: 'Recorded (or the same result again)', 400: 'Malformed result', 401: 'No or unknown agent credential', 403: 'The agent is disabled', 404: 'No such job claimed by this agent', 409: 'A different result was recorded' },
    }),
    async (request, reply) => {
      const agent = await authenticateAgent(services, request);
      const { id } = jobParams.parse(request.params);
      const body = jobResult.parse(request.body);
      await recordJobResult(services, agent, id, body);
      return reply.code(204).send();
    },
  );
}
