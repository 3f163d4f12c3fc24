import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { hostname } from 'node:os';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { z } from 'zod';
import type { DirectoryKind } from '../src/writeback/protocol.js';
import { ChannelError, type AgentChannel } from './channel.js';
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

/**
 * What the state file holds between generating the key and receiving Postern's answer: the token and
 * the private key, so that after a crash (or a lost answer) the agent repeats the registration with
 * the same token and the same public key, and Postern, which already consumed the token, answers the
 * same agent again (src/writeback/agents.ts, repeatRegistration). Same file, same 0600 and atomic
 * rename: the registered state replaces it, so the token does not outlive the registration.
 */
const pendingSchema = z.object({
  version: z.literal(1),
  pending: z.literal(true),
  posternUrl: z.string(),
  token: z.string(),
  key: stateKey,
  createdAt: z.string(),
});
export type PendingRegistration = z.infer<typeof pendingSchema>;

export class AgentStateError extends Error {
  override readonly name = 'AgentStateError';
}

/** The first line of a spent token file; a second start with it (and no state) is refused plainly. */
export const SPENT_MARKER = '# spent:';

export function defaultStateFile(tokenFile: string): string {
  return `${tokenFile}.state.json`;
}

/** The state file as it is: registered, a registration in progress, or nothing yet. */
export function readStateFile(file: string): { state: AgentState } | { pending: PendingRegistration } | null {
  if (!existsSync(file)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AgentStateError(`state file ${file}: ${(err as Error).message}`);
  }
  const pending = pendingSchema.safeParse(raw);
  if (pending.success) return { pending: pending.data };
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) throw new AgentStateError(`state file ${file}: not an agent state (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''})`);
  return { state: parsed.data };
}

/** The registered state, or null (no file, or a registration still in progress). */
export function readState(file: string): AgentState | null {
  const read = readStateFile(file);
  return read && 'state' in read ? read.state : null;
}

export function writeState(file: string, state: AgentState | PendingRegistration): void {
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
 * Order matters, so that no crash costs the admin a token:
 *   1. the key pair and the token are saved as a PENDING state (0600, atomic rename);
 *   2. register: Postern consumes the token;
 *   3. the registered state (credential + private key, no token) replaces the pending one;
 *   4. the token file is overwritten with a note (a service unit that names it keeps working).
 * A crash (or a lost answer) between 1 and 3 leaves the pending state: the next start repeats the
 * registration with the same token and key, which Postern accepts for ten minutes while the agent's
 * credential has never been used. A new token in the token file wins over a pending one.
 */
export async function loadOrRegister(o: LoadOrRegisterOptions): Promise<AgentState> {
  const now = o.now ?? (() => new Date());
  const existing = readStateFile(o.stateFile);
  if (existing && 'state' in existing) {
    checkSameServer(existing.state.posternUrl, o);
    return existing.state;
  }
  let pending = existing?.pending ?? null;
  if (pending) checkSameServer(pending.posternUrl, o);
  const fromFile = readToken(o.tokenFile, o.stateFile, pending === null);
  if (fromFile !== null && fromFile !== pending?.token) pending = null; // the admin put a new token in place
  const repeat = pending !== null;
  if (!pending) {
    const { key } = await newKeyPair(now());
    pending = { version: 1, pending: true, posternUrl: o.url, token: fromFile!, key, createdAt: now().toISOString() };
    writeState(o.stateFile, pending);
  }
  o.log.event('OnboardingEventStart', repeat ? 'repeating a registration whose answer never arrived' : 'registering with Postern', { url: new URL(o.url).origin, repeat });
  let answer;
  try {
    answer = await o.channel.register({ token: pending.token, name: o.name ?? hostname(), version: o.version, directoryKind: o.directoryKind, publicKey: publicOf(pending.key) }, o.signal);
  } catch (err) {
    // refused outright (unknown, expired or used token): nothing was consumed, nothing worth keeping
    if (!repeat && err instanceof ChannelError && err.failure === 'auth') rmSync(o.stateFile, { force: true });
    if (repeat && err instanceof ChannelError && err.failure === 'auth') {
      o.log.event('AuthTokenError', 'Postern refused to repeat the registration', { status: err.status, error: err.code });
      throw new AgentStateError(
        `the registration token was consumed by an earlier attempt whose answer never arrived, and Postern no longer accepts it (it expired, or the agent was registered more than 10 minutes ago or has already used its credential); run \`postern agent register --tenant …\` for a new token and put it in ${o.tokenFile}`,
      );
    }
    throw err;
  }
  const state: AgentState = {
    version: 1,
    posternUrl: o.url,
    tenantId: answer.tenantId,
    agentId: answer.agentId,
    credential: answer.credential,
    current: { ...pending.key, kid: answer.keyId },
    previous: null,
  };
  writeState(o.stateFile, state);
  writeFileSync(o.tokenFile, `${SPENT_MARKER} registered as agent ${answer.agentId} at ${now().toISOString()}; identity kept in ${o.stateFile}\n`, { mode: 0o600 });
  o.log.event('OnboardingEventSuccess', 'registered', { agentId: answer.agentId, tenantId: answer.tenantId, kid: answer.keyId, repeat });
  o.log.event('KeyPairCreationSuccess', 'key pair created', { kid: answer.keyId });
  return state;
}

function checkSameServer(posternUrl: string, o: LoadOrRegisterOptions): void {
  if (new URL(posternUrl).origin !== new URL(o.url).origin) {
    throw new AgentStateError(`state file ${o.stateFile} belongs to ${posternUrl}, not ${o.url}; register again with a new token and another --token-file`);
  }
}

/**
 * The token in the token file, or null when it holds none usable and a pending registration can go on
 * without it (`required` false). Without a pending registration every problem is an error.
 */
function readToken(tokenFile: string, stateFile: string, required: boolean): string | null {
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    if (!required) return null;
    throw new AgentStateError(`token file ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const problem = token.startsWith(SPENT_MARKER)
    ? `holds a spent token and ${stateFile} is missing; run \`postern agent register --tenant …\` for a new one`
    : token.length < 20 || /\s/.test(token)
      ? 'does not hold a registration token'
      : null;
  if (problem === null) return token;
  if (!required) return null;
  throw new AgentStateError(`token file ${tokenFile} ${problem}`);
}
