import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { sha256 } from '../lib/crypto.js';
import type { Services } from '../services.js';
import { findAgentByCredentialHash } from '../store/writeback-agents.js';
import { headerValue } from './errors.js';

/** The caller of an agent-channel route (src/http/routes/agent/*). */
export interface AgentPrincipal {
  agentId: string;
  tenantId: string;
  name: string;
}

/**
 * Establishes the agent from `Authorization: Agent <credential>`. The credential is random (256 bits)
 * and stored only as its SHA-256, so the lookup is by hash. A disabled agent is refused: the admin's
 * "disable writeback" must stop it taking jobs and syncing at once.
 */
export async function authenticateAgent(services: Services, request: FastifyRequest): Promise<AgentPrincipal> {
  const header = headerValue(request, 'authorization');
  const match = header === undefined ? null : /^Agent\s+(\S{20,300})$/i.exec(header);
  if (!match?.[1]) throw new AppError('agent.unauthenticated');
  const agent = await findAgentByCredentialHash(services.db, sha256(match[1]));
  if (!agent) throw new AppError('agent.unauthenticated');
  if (!agent.enabled) throw new AppError('agent.disabled');
  return { agentId: agent.id, tenantId: agent.tenantId, name: agent.name };
}
