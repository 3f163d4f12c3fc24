import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync, chmodSync } from 'node:fs';
import { hostname } from 'node:os';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { z } from 'zod';
import type { DirectoryKind } from '../src/writeback/protocol.js';
import type { AgentChannel } from './channel.js';
import type { AgentLog } from './events.js';

/**
 * The agent's state file: who it is (agent id, credential) and its private keys. Mode 0600, written
 * to a temporary file and renamed over the old one, so a crash leaves either the old or the new state,
 * never half of one. The private keys never leave this file; Postern only ever sees the public halves.
 */

const privateJwk = z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), d: z.string() }).passthrough();
const stateKey = z.object({
  /** Postern's key id; null while the key is generated but not yet announced (a crash in between is retried) */
  kid: z.string().nullable(),
  jwk: privateJwk,
  createdAt: z.string(),
});
const stateSchema = z.object({
  version: z.literal(1),
  posternUrl: z.string(),
  tenantId: z.string(),
  agentId: z.string(),
  credential: z.string(),
  current: stateKey,
  /** the key before the last rotation, kept until jobs sealed to it have expired */
  previous: stateKey.extend({ dropAfter: z.string() }).nullable(),
});
export type AgentState = z.infer<typeof stateSchema>;
export type StateKey = z.infer<typeof stateKey>;

export class AgentStateError extends Error {
  override readonly name = 'AgentStateError';
}

/** The first line of a spent token file; a second start with it (and no state) is refused plainly. */
export const SPENT_MARKER = '# spent:';

export function defaultStateFile(tokenFile: string): string {
  return `${tokenFile}.state.json`;
}

export function readState(file: string): AgentState | null {
  if (!existsSync(file)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AgentStateError(`state file ${file}: ${(err as Error).message}`);
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) throw new AgentStateError(`state file ${file}: not an agent state (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''})`);
  return parsed.data;
}

export function writeState(file: string, state: AgentState): void {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600); // a umask cannot widen it, but be explicit
  renameSync(tmp, file);
}

/** A fresh P-256 key pair for ECDH-ES; the private JWK goes into the state, the public one to Postern. */
export async function newKeyPair(now: Date): Promise<{ key: StateKey; publicKey: { kty: 'EC'; crv: 'P-256'; x: string; y: string } }> {
  const { privateKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
  const jwk = (await exportJWK(privateKey)) as JWK & { x: string; y: string; d: string };
  return {
    key: { kid: null, jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d: jwk.d }, createdAt: now.toISOString() },
    publicKey: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y },
  };
}

export function publicOf(key: StateKey): { kty: 'EC'; crv: 'P-256'; x: string; y: string } {
  return { kty: 'EC', crv: 'P-256', x: key.jwk.x, y: key.jwk.y };
}

export interface LoadOrRegisterOptions {
  url: string;
  tokenFile: string;
  stateFile: string;
  directoryKind: DirectoryKind;
  version: string;
  name?: string;
  channel: AgentChannel;
  log: AgentLog;
  now?: () => Date;
  signal?: AbortSignal;
}

/**
 * The state if there is one; otherwise register with the one-time token from the token file.
 * Order matters: the state (credential + private key) is saved BEFORE the token file is overwritten,
 * so a crash in between leaves a usable state and a token Postern already counts as spent.
 * The token file is overwritten rather than deleted: a service unit that names it keeps working,
 * and its content says what happened instead of holding a secret.
 */
export async function loadOrRegister(o: LoadOrRegisterOptions): Promise<AgentState> {
  const now = o.now ?? (() => new Date());
  const existing = readState(o.stateFile);
  if (existing) {
    if (new URL(existing.posternUrl).origin !== new URL(o.url).origin) {
      throw new AgentStateError(`state file ${o.stateFile} belongs to ${existing.posternUrl}, not ${o.url}; register again with a new token and another --token-file`);
    }
    return existing;
  }
  let token: string;
  try {
    token = readFileSync(o.tokenFile, 'utf8').trim();
  } catch (err) {
    throw new AgentStateError(`token file ${o.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (token.startsWith(SPENT_MARKER)) throw new AgentStateError(`token file ${o.tokenFile} holds a spent token and ${o.stateFile} is missing; run \`postern agent register --tenant …\` for a new one`);
  if (token.length < 20 || /\s/.test(token)) throw new AgentStateError(`token file ${o.tokenFile} does not hold a registration token`);
  o.log.event('OnboardingEventStart', 'registering with Postern', { url: new URL(o.url).origin });
  const { key, publicKey } = await newKeyPair(now());
  const answer = await o.channel.register({ token, name: o.name ?? hostname(), version: o.version, directoryKind: o.directoryKind, publicKey }, o.signal);
  const state: AgentState = {
    version: 1,
    posternUrl: o.url,
    tenantId: answer.tenantId,
    agentId: answer.agentId,
    credential: answer.credential,
    current: { ...key, kid: answer.keyId },
    previous: null,
  };
  writeState(o.stateFile, state);
  writeFileSync(o.tokenFile, `${SPENT_MARKER} registered as agent ${answer.agentId} at ${now().toISOString()}; identity kept in ${o.stateFile}\n`, { mode: 0o600 });
  o.log.event('OnboardingEventSuccess', 'registered', { agentId: answer.agentId, tenantId: answer.tenantId, kid: answer.keyId });
  o.log.event('KeyPairCreationSuccess', 'key pair created', { kid: answer.keyId });
  return state;
}
