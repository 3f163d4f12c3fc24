import { randomUUID } from 'node:crypto';
import { exportJWK, flattenedDecrypt, generateKeyPair, type FlattenedJWE } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentJob, RegisterAnswer, SealedJobPayload, SyncBatch } from '../../src/writeback/protocol.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const RIGHT = 'Directory-Password-1';

/**
 * Pass-through authentication (SPEC 3.6) end to end through the agent channel: a scripted agent
 * registers with a one-time token, reports its directory reachable, long-polls /api/v1/agent/jobs,
 * opens each verifyPassword job's JWE with its own private key and answers from a "directory" of
 * its own, exactly as agent/ would after its LDAP bind.
 */
describe.each(testDialects())('pass-through authentication on %s', (dialect) => {
  let ctx: TestContext;
  let tenantId: string;
  let agent: RegisterAnswer;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  const seen: SealedJobPayload[] = [];
  /** the directory: anchor → what a bind with a password answers */
  const directory = new Map<string, (password: string) => { outcome: 'succeeded' } | { outcome: 'refused'; reason: string }>();
  let running = false;
  let loop: Promise<void> | undefined;

  const asAgent = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    ctx.app.inject({ method, url, headers: { authorization: `Agent ${agent.credential}` }, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });

  beforeAll(async () => {
    // a short job timeout: the "agent does not answer" case waits for it
    ctx = await createTestContext(dialect, { env: { WRITEBACK_JOB_TIMEOUT_MS: '1500' } });
    tenantId = ctx.tenant.tenant.id;
    const keys = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
    privateKey = keys.privateKey;
    const { kty, crv, x, y } = await exportJWK(keys.publicKey);
    const { token } = await createAgentRegistrationToken(ctx.services, tenantId);
    const registered = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/agent/register',
      payload: { token, name: 'dc01', version: '0.7.0', directoryKind: 'activeDirectory', publicKey: { kty, crv, x, y } },
    });
    expect(registered.statusCode, registered.body).toBe(201);
    agent = registered.json();

    const batch: SyncBatch = {
      runId: randomUUID(),
      groups: [],
      final: false,
      users: ['alice', 'bob', 'carol', 'dave', 'erin'].map((name) => ({
        anchor: `guid-${name}`, dn: `CN=${name},CN=Users,DC=postern,DC=test`, name, userPrincipalName: `${name}@contoso.test`, mail: null,
        displayName: name, givenName: null, surname: null, enabled: true, groupAnchors: [], passwordHash: null, passwordChangedAt: null,
      })),
    };
    expect((await asAgent('POST', '/api/v1/agent/sync', batch)).json()).toMatchObject({ created: 5 });
    for (const name of ['alice', 'bob', 'erin']) directory.set(`guid-${name}`, (pw) => (pw === RIGHT ? { outcome: 'succeeded' } : { outcome: 'refused', reason: 'wrongPassword' }));
    directory.set('guid-carol', () => ({ outcome: 'refused', reason: 'lockedOut' }));
    directory.set('guid-dave', () => ({ outcome: 'refused', reason: 'accessDenied' }));
  }, 60_000);
  afterAll(async () => {
    running = false;
    await loop;
    await ctx.close();
  });

  /** Heartbeat "directory reachable", then take jobs until the suite ends. */
  async function startAgent(): Promise<void> {
    if (running) return;
    const beat = await asAgent('POST', '/api/v1/agent/heartbeat', { version: '0.7.0', directory: { reachable: true, detail: 'bound as svc-postern' } });
    expect(beat.statusCode, beat.body).toBe(200);
    running = true;
    loop = (async () => {
      while (running) {
        const polled = await asAgent('GET', '/api/v1/agent/jobs?wait=1');
        if (polled.statusCode !== 200) continue;
        const job = polled.json<AgentJob>();
        const opened = await flattenedDecrypt(job.sealed as FlattenedJWE, privateKey);
        const payload = JSON.parse(new TextDecoder().decode(opened.plaintext)) as SealedJobPayload;
        seen.push(payload);
        if (payload.user.anchor === 'guid-erin') continue; // the agent dies mid-job: no answer
        const answer = directory.get(payload.user.anchor ?? '')?.(payload.password ?? '') ?? { outcome: 'refused' as const, reason: 'notFound' };
        const result = await asAgent('POST', `/api/v1/agent/jobs/${job.id}/result`, { ...answer, durationMs: 3 });
        expect(result.statusCode, result.body).toBe(204);
      }
    })();
  }

  const signIn = (upn: string, password: string) => ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password } });
  const failures = async (name: string) =>
    (await ctx.services.db.selectFrom('users').select('failed_sign_in_count').where('upn_key', '=', `${name}@contoso.test`).executeTakeFirstOrThrow()).failed_sign_in_count;

  it('no agent: a clear "directory unreachable" error, not "wrong password", and nothing counted toward lockout', async () => {
    const res = await signIn('alice@contoso.test', RIGHT);
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('auth.onprem_unreachable');
    expect(await failures('alice')).toBe(0);
  });

  it('the agent verifies: the right password signs in; the job carried the anchor and the password sealed, nothing in the clear', async () => {
    await startAgent();
    const ok = await signIn('alice@contoso.test', RIGHT);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(seen.at(-1)).toMatchObject({ kind: 'verifyPassword', user: { anchor: 'guid-alice' }, password: RIGHT });
    const rows = await ctx.services.db.selectFrom('writeback_jobs').selectAll().where('tenant_id', '=', tenantId).execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(JSON.stringify(r)).not.toContain(RIGHT);
  });

  it('a wrong password is "invalid credentials" and counts toward lockout; once locked, the directory is not even asked', async () => {
    await startAgent();
    await ctx.services.db.updateTable('tenants').set({ settings: JSON.stringify({ lockoutThreshold: 3, lockoutDurationSeconds: 60 }) }).where('id', '=', tenantId).execute();
    for (let i = 1; i <= 2; i++) {
      const res = await signIn('bob@contoso.test', `Wrong-${i}-password`);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('auth.invalid_credentials');
      expect(await failures('bob')).toBe(i);
    }
    expect((await signIn('bob@contoso.test', 'Wrong-3-password')).statusCode).toBe(423);
    const asked = seen.length;
    const locked = await signIn('bob@contoso.test', RIGHT);
    expect(locked.statusCode).toBe(423);
    expect(locked.json().error.code).toBe('auth.account_locked');
    expect(seen.length).toBe(asked);
  });

  it('the directory says locked out: locked; the agent lacks rights: unreachable; the agent never answers: unreachable', async () => {
    await startAgent();
    const carol = await signIn('carol@contoso.test', RIGHT);
    expect(carol.statusCode).toBe(423);
    const dave = await signIn('dave@contoso.test', RIGHT);
    expect(dave.statusCode).toBe(503);
    expect(dave.json().error.code).toBe('auth.onprem_unreachable');
    const erin = await signIn('erin@contoso.test', RIGHT);
    expect(erin.statusCode).toBe(503);
    expect(erin.json().error.code).toBe('auth.onprem_unreachable');
    expect(await failures('erin')).toBe(0);
  }, 30_000);
});
