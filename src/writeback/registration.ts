import { sha256 } from '../lib/crypto.js';
import type { Services } from '../services.js';
import { insertRegistrationToken } from '../store/writeback-agents.js';

/** One-time registration tokens live for a day (the admin hands one to whoever installs the agent). */
export const REGISTRATION_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Creates a one-time agent registration token for a tenant. Only its SHA-256 is stored (the token has
 * 256 bits of entropy, so a fast hash is enough); the caller shows the token once.
 */
export async function createAgentRegistrationToken(services: Services, tenantId: string): Promise<{ token: string; expiresAt: string }> {
  const token = `pat_${services.random.token(32)}`;
  const now = services.clock.now();
  const expiresAt = new Date(now.getTime() + REGISTRATION_TOKEN_TTL_MS).toISOString();
  await insertRegistrationToken(services.db, { tokenHash: sha256(token), tenantId, createdAt: now.toISOString(), expiresAt });
  return { token, expiresAt };
}
