import type { LightMyRequestResponse } from 'fastify';
import { exportJWK, flattenedDecrypt, generateKeyPair, type FlattenedJWE, type GenerateKeyPairResult } from 'jose';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import type { User } from '../../src/store/users.js';
import type { AgentJob, JobResult, SealedJobPayload } from '../../src/writeback/protocol.js';
import type { TestContext } from '../helpers/context.js';

/**
 * A scripted writeback agent: it speaks the agent channel over HTTP (app.inject) with its own P-256
 * key pair, exactly as agent/channel.ts would, so the tests drive the service side through its front door.
 */
export interface ScriptedAgent {
  name: string;
  agentId: string;
  credential: string;
  keyId: string;
  privateKey: GenerateKeyPairResult['privateKey'];
  call(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<LightMyRequestResponse>;
  heartbeat(reachable?: boolean): Promise<LightMyRequestResponse>;
  /** one long poll; the job or null (204) */
  poll(waitSeconds?: number): Promise<AgentJob | null>;
  open(job: AgentJob): Promise<SealedJobPayload>;
  result(jobId: string, body: JobResult): Promise<LightMyRequestResponse>;
  /** polls until a job arrives (up to `polls` polls), opens it and answers with `answer(payload)` */
  serveOne(answer: (p: SealedJobPayload) => JobResult, polls?: number): Promise<SealedJobPayload>;
}

export async function newAgentKeys(): Promise<{ publicJwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string }; privateKey: GenerateKeyPairResult['privateKey'] }> {
  const { publicKey, privateKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
  const jwk = await exportJWK(publicKey);
  return { publicJwk: { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y) }, privateKey };
}

export async function adminRegistrationToken(ctx: TestContext, adminToken: string): Promise<string> {
  const res = await ctx.app.inject({ method: 'POST', url: '/api/v1/writeback/agents/registrationTokens', headers: { authorization: `Bearer ${adminToken}` } });
  if (res.statusCode !== 201) throw new Error(`registration token: ${res.statusCode} ${res.body}`);
  return res.json<{ token: string }>().token;
}

export async function registerAgent(ctx: TestContext, token: string, name: string): Promise<ScriptedAgent> {
  const keys = await newAgentKeys();
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/api/v1/agent/register',
    payload: { token, name, version: '1.0.0-test', directoryKind: 'activeDirectory', publicKey: keys.publicJwk },
  });
  if (res.statusCode !== 201) throw new Error(`register: ${res.statusCode} ${res.body}`);
  const answer = res.json<{ agentId: string; credential: string; keyId: string }>();
  const agent: ScriptedAgent = {
    name,
    agentId: answer.agentId,
    credential: answer.credential,
    keyId: answer.keyId,
    privateKey: keys.privateKey,
    call: (method, url, payload) =>
      ctx.app.inject({ method, url, headers: { authorization: `Agent ${answer.credential}` }, ...(payload !== undefined ? { payload: payload as object } : {}) }),
    heartbeat: (reachable = true) => agent.call('POST', '/api/v1/agent/heartbeat', { version: '1.0.0-test', directory: { reachable, detail: reachable ? 'ldaps://dc1 ok' : 'ldaps://dc1 refused' } }),
    async poll(waitSeconds = 2) {
      const res = await agent.call('GET', `/api/v1/agent/jobs?wait=${waitSeconds}`);
      if (res.statusCode === 204) return null;
      if (res.statusCode !== 200) throw new Error(`poll: ${res.statusCode} ${res.body}`);
      return res.json<AgentJob>();
    },
    async open(job) {
      const { plaintext, additionalAuthenticatedData } = await flattenedDecrypt(job.sealed as FlattenedJWE, agent.privateKey);
      const payload = JSON.parse(new TextDecoder().decode(plaintext)) as SealedJobPayload;
      // the agent's own checks: the payload and the AAD name the job it was handed
      if (payload.jobId !== job.id || new TextDecoder().decode(additionalAuthenticatedData) !== job.id) throw new Error('sealed payload is not bound to this job');
      return payload;
    },
    result: (jobId, body) => agent.call('POST', `/api/v1/agent/jobs/${jobId}/result`, body),
    async serveOne(answer, polls = 10) {
      for (let i = 0; i < polls; i++) {
        const job = await agent.poll(2);
        if (!job) continue;
        const payload = await agent.open(job);
        const res = await agent.result(job.id, answer(payload));
        if (res.statusCode !== 204) throw new Error(`result: ${res.statusCode} ${res.body}`);
        return payload;
      }
      throw new Error('no job arrived');
    },
  };
  const beat = await agent.heartbeat();
  if (beat.statusCode !== 200) throw new Error(`heartbeat: ${beat.statusCode} ${beat.body}`);
  return agent;
}

let n = 0;
/** A synced user whose password lives on-premises (hashSync), with an on-premises anchor. */
export async function syncedUser(ctx: TestContext, password: string, prefix = 'synced'): Promise<User> {
  n += 1;
  const user = await createUser(ctx.services, systemContext(ctx.services), {
    tenantId: ctx.tenant.tenant.id,
    userPrincipalName: `${prefix}${n}-${Math.random().toString(36).slice(2, 8)}@contoso.test`,
    displayName: `Synced ${n}`,
    password,
    onPremisesImmutableId: `anchor-${n}-${Math.random().toString(36).slice(2, 10)}`,
  });
  await ctx.services.db.updateTable('users').set({ password_source: 'hashSync', on_premises_sync_enabled: 1 }).where('id', '=', user.id).execute();
  return { ...user, passwordSource: 'hashSync', onPremisesSyncEnabled: true };
}

export const succeeded = (durationMs = 42): JobResult => ({ outcome: 'succeeded', durationMs });
export const refused = (reason: JobResult['reason'], detail = 'the directory said no'): JobResult => ({ outcome: 'refused', reason, detail, durationMs: 17 });
