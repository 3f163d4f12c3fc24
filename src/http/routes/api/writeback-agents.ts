import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { listAgentViews, requestAgentSync, setAgentWriteback } from '../../../writeback/agents.js';
import { createAgentRegistrationToken } from '../../../writeback/registration.js';
import { authorize, requestContext } from '../../auth.js';
import { doc } from '../../openapi.js';

/**
 * Admins' view of the tenant's writeback agents (reference §6: F45): health, counters, enable/disable,
 * registration tokens and "sync now". Capability writeback.manage: Global or Hybrid Identity Administrator.
 */
const noBody = z.strictObject({}).optional();
const agentParams = z.strictObject({ id: z.string().uuid() });
const patchBody = z.strictObject({ enabled: z.boolean() });
const FORBIDDEN = 'Needs the Global Administrator or Hybrid Identity Administrator role';

export function writebackAgentRoutes(app: FastifyInstance, services: Services): void {
  app.get(
    '/api/v1/writeback/agents',
    doc({
      summary: "The tenant's writeback agents with their health",
      description: 'Each agent: name, version, directoryKind, enabled, lastHeartbeatDateTime, directoryReachable and directoryDetail, jobsApplied, jobsRefused, and healthy (enabled, heard from within three heartbeats, directory reachable).',
      tags: ['Writeback'],
      auth: 'admin',
      responses: { 200: '{ value: [agent] }', 401: 'Not signed in', 403: FORBIDDEN },
    }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'writeback.manage');
      return reply.header('cache-control', 'no-store').send({ value: await listAgentViews(services, principal.tenantId) });
    },
  );

  app.post(
    '/api/v1/writeback/agents/registrationTokens',
    doc({
      summary: 'Create a one-time agent registration token (24 hours)',
      description: 'The token is shown once; only its hash is kept. Give it to `postern agent register` on the on-premises host.',
      tags: ['Writeback'],
      auth: 'admin',
      responses: { 201: '{ token, expiresDateTime }', 401: 'Not signed in', 403: FORBIDDEN },
    }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'writeback.manage');
      noBody.parse(request.body);
      const { token, expiresAt } = await createAgentRegistrationToken(services, principal.tenantId);
      return reply.code(201).header('cache-control', 'no-store').send({ token, expiresDateTime: expiresAt });
    },
  );

  app.patch(
    '/api/v1/writeback/agents/:id',
    doc({
      summary: "Enable or disable an agent's password writeback",
      description: 'A disabled agent is refused on the agent channel and takes no jobs. Audited as "Enable password writeback for directory" / "Disable password writeback for directory".',
      tags: ['Writeback'],
      auth: 'admin',
      params: agentParams,
      body: patchBody,
      responses: { 200: 'The agent', 400: 'Malformed body', 401: 'Not signed in', 403: FORBIDDEN, 404: 'No such agent in your tenant' },
    }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'writeback.manage');
      const { id } = agentParams.parse(request.params);
      const body = patchBody.parse(request.body);
      return reply.send(await setAgentWriteback(services, requestContext(request, principal), principal.tenantId, id, body.enabled));
    },
  );

  app.post(
    '/api/v1/writeback/agents/sync',
    doc({
      summary: 'Ask the agents for a directory sync now',
      description: 'The next heartbeat of an enabled agent carries syncRequested: true; the first agent to take it runs the sync.',
      tags: ['Writeback'],
      auth: 'admin',
      responses: { 202: '{ agentsAsked }', 401: 'Not signed in', 403: FORBIDDEN },
    }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'writeback.manage');
      noBody.parse(request.body);
      return reply.code(202).send(await requestAgentSync(services, principal.tenantId));
    },
  );
}
