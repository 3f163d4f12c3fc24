import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { sha256 } from '../lib/crypto.js';
import type { Services } from '../services.js';
import { agentsGeneration, findAgentByCredentialHash } from '../store/writeback-agents.js';
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
 *
 * An enabled agent found for a credential is kept, by the credential's hash, for at most
 * AGENT_TTL_MS and only while no store write has changed an agent's enablement or credential on this
 * node (agentsGeneration, src/store/writeback-agents.ts): a job's poll and result then cost no lookup
 * (BENCHMARKS.md, writeback), a disable through Postern applies to the very next request, and one made
 * on another node within the second. Refusals are never kept.
 */
export async function authenticateAgent(services: Services, request: FastifyRequest): Promise<AgentPrincipal> {
  const header = headerValue(request, 'authorization');
  const match = header === undefined ? null : /^Agent\s+(\S{20,300})$/i.exec(header);
  if (!match?.[1]) throw new AppError('agent.unauthenticated');
  const hash = sha256(match[1]);

  const cache = agentCacheOf(services);
  // read before the lookup: a change committed while it runs leaves what it read stale at once
  const generation = agentsGeneration();
  const now = performance.now();
  const hit = cache.get(hash);
  if (hit && hit.generation === generation && hit.until > now) return hit.agent;

  const agent = await findAgentByCredentialHash(services.db, hash);
  if (!agent) throw new AppError('agent.unauthenticated');
  if (!agent.enabled) throw new AppError('agent.disabled');
  const principal: AgentPrincipal = Object.freeze({ agentId: agent.id, tenantId: agent.tenantId, name: agent.name });
  if (cache.size >= AGENT_CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(hash, { agent: principal, generation, until: now + AGENT_TTL_MS });
  return principal;
}

const AGENT_TTL_MS = 1000;
const AGENT_CACHE_MAX = 1024;
type AgentCache = Map<string, { agent: AgentPrincipal; generation: number; until: number }>;
const agentCaches = new WeakMap<Services, AgentCache>();

function agentCacheOf(services: Services): AgentCache {
  let cache = agentCaches.get(services);
  if (!cache) agentCaches.set(services, (cache = new Map() as AgentCache));
  return cache;
}
