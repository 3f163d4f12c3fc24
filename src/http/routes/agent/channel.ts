import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { agentHeartbeat, registerAgent, rotateAgentKey } from '../../../writeback/agents.js';
import { heartbeat, publicJwk, registerRequest } from '../../../writeback/protocol.js';
import { authenticateAgent } from '../../agent-auth.js';
import { requestContext } from '../../auth.js';
import { doc } from '../../openapi.js';

/**
 * The agent channel's housekeeping (SPEC 3.6): registration with a one-time token, heartbeats and key
 * rotation. The agent always connects out; every call but register carries `Authorization: Agent <credential>`.
 */
const keysBody = z.strictObject({ publicKey: publicJwk });

export function agentChannelRoutes(app: FastifyInstance, services: Services): void {
  app.post(
    '/api/v1/agent/register',
    doc({
      summary: 'Register an on-premises writeback agent with a one-time registration token',
      description:
        'Consumes the token (24 hours, one use — repeatable for 10 minutes with the same key by an agent that never received its credential; from POST /api/v1/writeback/agents/registrationTokens or `postern agent register`), stores the agent\'s ' +
        'P-256 public key for sealing jobs and answers with the agent credential, shown once (only its hash is stored).',
      tags: ['Agent'],
      auth: 'none',
      body: registerRequest,
      responses: { 201: '{ agentId, tenantId, credential, keyId, heartbeatSeconds }', 400: 'Malformed request', 401: 'The token is unknown, expired or already used' },
    }),
    async (request, reply) => {
      const body = registerRequest.parse(request.body);
      const answer = await registerAgent(services, requestContext(request, null), body);
      return reply.code(201).header('cache-control', 'no-store').send(answer);
    },
  );

  app.post(
    '/api/v1/agent/heartbeat',
    doc({
      summary: 'Agent heartbeat: version and directory reachability (agents only: Authorization: Agent <credential>)',
      description: 'Every 60 seconds. An agent not heard from for three heartbeats, or whose directory is unreachable, takes no jobs. The answer says whether writeback is on and whether an admin asked for a sync.',
      tags: ['Agent'],
      auth: 'none',
      body: heartbeat,
      responses: { 200: '{ heartbeatSeconds, writebackEnabled, syncRequested }', 400: 'Malformed heartbeat', 401: 'No or unknown agent credential', 403: 'The agent is disabled' },
    }),
    async (request, reply) => {
      const agent = await authenticateAgent(services, request);
      const body = heartbeat.parse(request.body);
      return reply.header('cache-control', 'no-store').send(await agentHeartbeat(services, agent, body));
    },
  );

  app.post(
    '/api/v1/agent/keys',
    doc({
      summary: "Rotate the agent's sealing key (agents only: Authorization: Agent <credential>)",
      description: 'The new P-256 key becomes the one new jobs are sealed to; the older keys are retired and removed once no unexpired job can name them.',
      tags: ['Agent'],
      auth: 'none',
      body: keysBody,
      responses: { 200: '{ keyId }', 400: 'Malformed key', 401: 'No or unknown agent credential', 403: 'The agent is disabled' },
    }),
    async (request, reply) => {
      const agent = await authenticateAgent(services, request);
      const body = keysBody.parse(request.body);
      return reply.header('cache-control', 'no-store').send(await rotateAgentKey(services, agent, body.publicKey));
    },
  );
}
