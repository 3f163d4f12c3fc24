import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../agent/config.js';
import { createAgentLog } from '../../agent/events.js';
import { startAgent } from '../../agent/main.js';
import type { AgentRunner } from '../../agent/runner.js';
import { publicOf } from '../../agent/state.js';
import { upsertEmailMethod } from '../../src/store/auth-methods.js';
import type { SealedJobPayload } from '../../src/writeback/protocol.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import { recipientJwe, sealPayload } from '../../src/writeback/seal.js';
import { testDialects, type TestContext } from '../helpers/context.js';
import { setSsprPolicy } from '../http/security-info-helpers.js';
import { startSsprHarness, type SsprHarness } from '../http/sspr-harness.js';
import { NEW_PASSWORD, OLD_PASSWORD, post, SSPR, startFlow } from '../http/sspr-helpers.js';
import { syncedUser } from '../http/writeback-helpers.js';
import { FakeDirectory } from './fake-target.js';

/**
 * The agent's log says who asked for a reset, with Azure's codes (reference §6.9): a self-service reset
 * is PasswordReset* (31001–31003), an admin reset ResetUserPasswordByAdmin* (31009–31011). The real
 * agent runs against a real Postern on loopback; the operations come through the front door; only the
 * directory is a fake.
 */

const PW_ID = '28c10230-6103-485e-b985-444c60001490';
const BASE = 'http://localhost:8080';
const GIVEN = 'Tangerine-Quokka-93!';
const CONFIG: AgentConfig = {
  kind: 'activeDirectory',
  connection: { url: 'ldaps://dc.invalid:636', startTls: false, caFile: null, bindDn: 'CN=svc', bindPassword: 'unused', baseDn: 'DC=contoso,DC=test', timeoutMs: 5000 },
  scope: { baseDn: 'DC=contoso,DC=test', userFilter: null },
  syncIntervalMinutes: 100_000,
};

interface Line {
  code: number;
  event: string;
  origin?: string;
  user?: string;
  jobId?: string;
}

describe.each(testDialects())('the agent log names who asked for the operation on %s', (dialect) => {
  let h: SsprHarness;
  let ctx: TestContext;
  let dir: string;
  let runner: AgentRunner;
  let admin: string;
  const fake = new FakeDirectory();
  const lines: string[] = [];

  beforeAll(async () => {
    h = await startSsprHarness(dialect);
    ctx = h.ctx;
    const url = await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    admin = await ctx.userToken('admin@contoso.test');
    await setSsprPolicy(ctx, { enabledFor: 'all', groupId: null, methodsRequired: 1, writebackEnabled: true });
    dir = mkdtempSync(join(tmpdir(), 'postern-origin-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${(await createAgentRegistrationToken(ctx.services, ctx.tenant.tenant.id)).token}\n`, { mode: 0o600 });
    runner = await startAgent({
      url,
      tokenFile,
      config: CONFIG,
      name: 'dc-origin',
      factories: { activeDirectory: () => fake, openLdap: () => fake },
      log: createAgentLog((line) => lines.push(line)),
      runner: { heartbeatSeconds: 3600, pollers: 2, pollWaitSeconds: 5, syncOnStart: false, now: () => ctx.clock.now() },
    });
    await runner.heartbeat();
  });
  afterAll(async () => {
    await runner?.stop();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const linesOf = (upn: string) => lines.map((l) => JSON.parse(l) as Line).filter((l) => l.user === upn);

  async function adminReset(upn: string, userId: string) {
    const res = await ctx.app.inject({ method: 'POST', url: `/v1.0/users/${userId}/authentication/methods/${PW_ID}/resetPassword`, headers: { authorization: `Bearer ${admin}` }, payload: { newPassword: GIVEN } });
    expect(res.statusCode).toBe(202);
    const op = await ctx.app.inject({ method: 'GET', url: String(res.headers.location).slice(BASE.length), headers: { authorization: `Bearer ${admin}` } });
    return { op: op.json<{ status: string }>(), lines: linesOf(upn) };
  }

  it('an admin reset logs 31009/31010 (ResetUserPasswordByAdmin*), a self-service reset 31001/31002 (PasswordReset*), each naming its origin', async () => {
    const byAdmin = await syncedUser(ctx, OLD_PASSWORD, 'adm');
    const a = await adminReset(byAdmin.userPrincipalName, byAdmin.id);
    expect(a.op.status).toBe('succeeded');
    expect(a.lines.map((l) => [l.code, l.event, l.origin])).toEqual([
      [31009, 'ResetUserPasswordByAdminStart', 'admin'],
      [31010, 'ResetUserPasswordByAdminSuccess', 'admin'],
    ]);

    const self = await syncedUser(ctx, OLD_PASSWORD, 'sspr');
    const address = `${self.id.slice(0, 8)}@example.test`;
    const at = ctx.clock.now().toISOString();
    await upsertEmailMethod(ctx.services.db, { userId: self.id, address, verifiedAt: at, createdAt: at });
    const started = await startFlow(ctx, self.userPrincipalName);
    expect(started.statusCode).toBe(201);
    const F = `${SSPR}/flows/${started.json<{ flowId: string }>().flowId}`;
    expect((await post(ctx, `${F}/verifications`, { method: 'email' })).statusCode).toBe(202);
    expect((await post(ctx, `${F}/verifications/email/complete`, { code: await h.mailedCode(address) })).statusCode).toBe(200);
    expect((await post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD })).statusCode).toBe(200);
    expect(linesOf(self.userPrincipalName).map((l) => [l.code, l.event, l.origin])).toEqual([
      [31001, 'PasswordResetStart', 'selfService'],
      [31002, 'PasswordResetSuccess', 'selfService'],
    ]);
  });

  it('an admin reset the directory refuses logs 31011 (ResetUserPasswordByAdminFail) before the 33xxx reason', async () => {
    const user = await syncedUser(ctx, OLD_PASSWORD, 'admref');
    fake.refusals.set(user.userPrincipalName, ['recentlyUsed', '0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM)']);
    const { op, lines: seen } = await adminReset(user.userPrincipalName, user.id);
    expect(op.status).toBe('failed');
    expect(seen.map((l) => [l.code, l.origin])).toEqual([
      [31009, 'admin'],
      [31011, 'admin'],
      [33008, 'admin'],
    ]);
  });

  it('a payload sealed without an origin (or with one the agent does not know) is still applied, logged as a reset of unknown origin', async () => {
    const key = runner.state.current;
    for (const origin of [undefined, 'robot']) {
      const jobId = randomUUID();
      const name = `legacy-${origin ?? 'none'}@contoso.test`;
      const expiresAt = new Date(ctx.clock.now().getTime() + 10_000).toISOString();
      const payload = { jobId, tenantId: ctx.tenant.tenant.id, kind: 'resetPassword', user: { anchor: null, name }, newPassword: GIVEN, mustChange: false, unlock: true, expiresAt, ...(origin ? { origin } : {}) } as SealedJobPayload;
      const general = await sealPayload(payload, [{ kid: key.kid!, publicJwk: publicOf(key) }]);
      const result = await runner.jobs.handle({ id: jobId, kind: 'resetPassword', sealed: recipientJwe(general, new Set([key.kid!])), expiresAt });
      expect(result.outcome).toBe('succeeded');
      expect(linesOf(name).map((l) => [l.code, l.origin])).toEqual([
        [31001, 'unknown'],
        [31002, 'unknown'],
      ]);
    }
  });
});
