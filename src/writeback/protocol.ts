import { createPublicKey } from 'node:crypto';
import { z } from 'zod';

/**
 * The agent channel (SPEC 3.6): the agent connects OUT to Postern over HTTPS and long-polls for jobs;
 * Postern never connects in. Shared by the server routes (src/http/routes/agent/*) and the agent
 * (agent/channel.ts), so both sides validate the same shapes.
 *
 *   POST /api/v1/agent/register          {token, name, version, directoryKind, publicKey}   -> RegisterAnswer
 *   POST /api/v1/agent/heartbeat         Heartbeat                                            -> HeartbeatAnswer
 *   POST /api/v1/agent/keys              {publicKey}                                          -> {keyId}
 *   GET  /api/v1/agent/jobs?wait=25      long poll (≤ 30 s)                                   -> 200 AgentJob | 204
 *   POST /api/v1/agent/jobs/{id}/result  JobResult                                            -> 204 (a repeat of the same result is 204 too)
 *   POST /api/v1/agent/sync              SyncBatch                                            -> SyncAnswer
 *
 * Every call but register carries `Authorization: Agent <credential>` (the credential returned by
 * register; Postern stores only its hash). Payloads with secrets are JWE (jose GeneralEncrypt,
 * ECDH-ES+A256KW / A256GCM) sealed to the public keys of the tenant's healthy agents, so any of them
 * can take the job and Postern keeps no plaintext at rest.
 */

export const AGENT_HEARTBEAT_SECONDS = 60;
export const AGENT_LONG_POLL_MAX_SECONDS = 30;
/** interactive operations (reset, change, unlock, pass-through) */
export const DEFAULT_JOB_TIMEOUT_MS = 10_000;

export const directoryKind = z.enum(['activeDirectory', 'openLdap']);
export type DirectoryKind = z.infer<typeof directoryKind>;

const coordinate = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 43 base64url characters (a 32-byte P-256 coordinate)');

/** Whether x, y is a point on P-256: jobs are sealed to it later, when a bad key could only fail. */
function isP256Point(jwk: { x: string; y: string }): boolean {
  try {
    createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}

/** An EC P-256 public JWK (ECDH-ES); the private half never leaves the agent's state file. */
export const publicJwk = z
  .object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: coordinate, y: coordinate })
  .strict()
  .refine(isP256Point, { message: 'is not a point on the P-256 curve', path: ['x'] });

export const registerRequest = z.object({
  token: z.string().min(20).max(200),
  name: z.string().min(1).max(200),
  version: z.string().min(1).max(50),
  directoryKind,
  publicKey: publicJwk,
}).strict();
export type RegisterRequest = z.infer<typeof registerRequest>;

export interface RegisterAnswer {
  agentId: string;
  tenantId: string;
  /** shown once; the agent keeps it in its state file */
  credential: string;
  keyId: string;
  heartbeatSeconds: number;
}

export const heartbeat = z.object({
  version: z.string().min(1).max(50),
  directory: z.object({ reachable: z.boolean(), detail: z.string().max(500) }).strict(),
}).strict();
export type Heartbeat = z.infer<typeof heartbeat>;

export interface HeartbeatAnswer {
  heartbeatSeconds: number;
  writebackEnabled: boolean;
  /** ask the agent to run a sync now (an admin's "sync now") */
  syncRequested: boolean;
}

export type JobKind = 'resetPassword' | 'changePassword' | 'unlock' | 'verifyPassword';

/**
 * Who asked for a job, so the agent's log names the operation as Azure's does (reference §6.9: an admin
 * reset is 31009–31011, a self-service one 31001–31003): 'selfService' (SSPR reset or unlock), 'admin'
 * (admin reset or unlock), 'user' (a signed-in user's change). Absent in payloads sealed before it existed.
 */
export const JOB_ORIGINS = ['selfService', 'admin', 'user'] as const;
export type JobOrigin = (typeof JOB_ORIGINS)[number];

/** The plaintext inside the JWE. jobId is inside too, so a sealed payload cannot be replayed under another job. */
export interface SealedJobPayload {
  jobId: string;
  tenantId: string;
  kind: JobKind;
  user: { anchor: string | null; name: string };
  newPassword?: string;
  oldPassword?: string;
  /** verifyPassword */
  password?: string;
  mustChange?: boolean;
  unlock?: boolean;
  /** who asked; sealed with the rest, so it cannot be altered on the way */
  origin?: JobOrigin;
  expiresAt: string;
}

export interface AgentJob {
  id: string;
  kind: JobKind;
  /** JWE JSON (flattened) for this agent's key */
  sealed: unknown;
  expiresAt: string;
}

export const refusalReason = z.enum([
  'tooShort', 'recentlyUsed', 'tooYoung', 'notComplex', 'accountDisabled', 'notFound', 'protectedAccount',
  'wrongPassword', 'lockedOut', 'accessDenied', 'unreachable', 'other',
]);

export const jobResult = z.object({
  outcome: z.enum(['succeeded', 'refused']),
  reason: refusalReason.optional(),
  /** the directory's words, never a password */
  detail: z.string().max(1000).optional(),
  durationMs: z.number().int().min(0).max(600_000),
}).strict();
export type JobResult = z.infer<typeof jobResult>;

const syncedUser = z.object({
  anchor: z.string().min(1).max(200),
  dn: z.string().max(2000),
  name: z.string().min(1).max(256),
  userPrincipalName: z.string().max(256).nullable(),
  mail: z.string().max(256).nullable(),
  displayName: z.string().max(256).nullable(),
  givenName: z.string().max(64).nullable(),
  surname: z.string().max(64).nullable(),
  enabled: z.boolean(),
  groupAnchors: z.array(z.string().max(200)).max(5000),
  passwordHash: z.string().max(1000).nullable(),
  passwordChangedAt: z.string().max(40).nullable(),
}).strict();

const syncedGroup = z.object({
  anchor: z.string().min(1).max(200),
  dn: z.string().max(2000),
  displayName: z.string().min(1).max(256),
  description: z.string().max(1024).nullable(),
}).strict();

/** One page of a sync run. Groups come before users; `final` closes the run (unseen users are disabled). */
export const syncBatch = z.object({
  runId: z.string().uuid(),
  groups: z.array(syncedGroup).max(1000),
  users: z.array(syncedUser).max(1000),
  final: z.boolean(),
}).strict();
export type SyncBatch = z.infer<typeof syncBatch>;

export interface SyncAnswer {
  created: number;
  updated: number;
  disabled: number;
  groupsCreated: number;
  groupsUpdated: number;
  /** set when the final batch would have disabled more users than the threshold allows: nobody was disabled */
  disablePrevented?: { wouldDisable: number; threshold: number };
}
