import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import type { AgentConfig } from '../../agent/config.js';
import { createAgentLog } from '../../agent/events.js';
import { startAgent } from '../../agent/main.js';
import type { AgentRunner } from '../../agent/runner.js';
import type { DirectoryConnection } from '../../agent/target.js';
import { systemClock } from '../../src/lib/clock.js';
import { upsertEmailMethod } from '../../src/store/auth-methods.js';
import type { Dialect } from '../../src/store/database.js';
import { findUserByUpn, type User } from '../../src/store/users.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import type { TestContext } from '../helpers/context.js';
import { spawnPostern, type SpawnedProcess } from '../helpers/spawn-server.js';
import { setSsprPolicy } from '../http/security-info-helpers.js';
import { startSsprHarness, type SsprHarness } from '../http/sspr-harness.js';
import { post, SSPR, startFlow } from '../http/sspr-helpers.js';

/**
 * End-to-end writeback fixture: a real Postern listening on loopback (SSPR with mail to an SMTP sink,
 * writeback enabled) and REAL agents — in-process (agent/main.ts startAgent) or as a separate
 * `node --import tsx src/main.ts agent …` process that can be killed.
 */
export interface WritebackServer {
  h: SsprHarness;
  ctx: TestContext;
  /** http://127.0.0.1:<port> */
  url: string;
  dir: string;
  close(): Promise<void>;
}

export async function startWritebackServer(dialect: Dialect, env: Record<string, string> = {}): Promise<WritebackServer> {
  // the real clock: the agent checks a job's expiresAt against its own clock, as a real one would
  const h = await startSsprHarness(dialect, { env, clock: systemClock });
  const ctx = h.ctx;
  await setSsprPolicy(ctx, { enabledFor: 'all', groupId: null, methodsRequired: 1, writebackEnabled: true, allowUnlockWithoutReset: true });
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = ctx.app.server.address() as AddressInfo;
  const dir = mkdtempSync(join(tmpdir(), 'postern-wb-e2e-'));
  return {
    h,
    ctx,
    url: `http://127.0.0.1:${port}`,
    dir,
    async close() {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let agents = 0;

/** A fresh one-time token in a token file of its own (mode 0600). */
async function tokenFile(server: WritebackServer, name: string): Promise<string> {
  const { token } = await createAgentRegistrationToken(server.ctx.services, server.ctx.tenant.tenant.id);
  const file = join(server.dir, `${name}.token`);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}

export interface InProcessAgent {
  runner: AgentRunner;
  /** the agent's JSON event lines */
  lines: string[];
  stop(): Promise<void>;
}

/**
 * The real agent in this process. A second call with the same `name` reuses its state file (the same
 * registered agent, restarted). No sync on start: tests call runner.sync.requestFull().
 */
export async function startInProcessAgent(server: WritebackServer, name: string, conn: DirectoryConnection, scopeBase: string): Promise<InProcessAgent> {
  const stateFile = join(server.dir, `${name}.state.json`);
  const file = join(server.dir, `${name}.token`);
  const tokenPath = existsSync(stateFile) ? file : await tokenFile(server, name);
  const lines: string[] = [];
  const config: AgentConfig = { kind: 'activeDirectory', connection: conn, scope: { baseDn: scopeBase, userFilter: null }, syncIntervalMinutes: 24 * 60 };
  const runner = await startAgent({
    url: server.url,
    tokenFile: tokenPath,
    stateFile,
    config,
    name,
    log: createAgentLog((l) => void lines.push(l)),
    runner: { syncOnStart: false, pollWaitSeconds: 5, pollers: 2 },
  });
  return { runner, lines, stop: () => runner.stop() };
}

/** The real agent as its own process (`postern agent --url … --token-file … --config …`). */
export async function spawnAgentProcess(server: WritebackServer, conn: DirectoryConnection, scopeBase: string): Promise<{ child: SpawnedProcess; agentId: string }> {
  agents += 1;
  const name = `agent-proc-${agents}`;
  const passwordFile = join(server.dir, `${name}.bindpw`);
  writeFileSync(passwordFile, conn.bindPassword, { mode: 0o600 });
  const configFile = join(server.dir, `${name}.json`);
  const config = {
    kind: 'activeDirectory',
    url: conn.url,
    caFile: conn.caFile,
    bindDn: conn.bindDn,
    bindPasswordFile: passwordFile,
    baseDn: scopeBase,
    timeoutMs: conn.timeoutMs,
    syncIntervalMinutes: 24 * 60,
  };
  writeFileSync(configFile, JSON.stringify(config));
  const token = await tokenFile(server, name);
  const child = spawnPostern(['agent', '--url', server.url, '--token-file', token, '--config', configFile], { env: {} });
  const registered = await child.waitForLine(/"event":"OnboardingEventSuccess"/, 60_000);
  await child.waitForLine(/"event":"WriteBackServiceStarted"/, 60_000);
  return { child, agentId: (JSON.parse(registered) as { agentId: string }).agentId };
}

/** Polls `check` (every 50 ms) until it returns a value other than undefined; throws after `ms`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const until = performance.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once the agent has sent a heartbeat saying its directory is reachable. */
export async function agentHealthy(server: WritebackServer, agentId: string): Promise<void> {
  await eventually(`agent ${agentId} healthy`, async () => {
    const row = await server.ctx.services.db.selectFrom('writeback_agents').selectAll().where('id', '=', agentId).executeTakeFirst();
    return row?.last_heartbeat_at && Number(row.directory_reachable) === 1 ? true : undefined;
  });
}

/** A Postern user by UPN (it must exist). */
export async function userByUpn(server: WritebackServer, upn: string): Promise<User> {
  const user = await findUserByUpn(server.ctx.services.db, upn);
  if (!user) throw new Error(`no user ${upn}`);
  return user;
}

let flows = 0;

/** An SSPR flow for `upn`, verified by a mailed code: the flow URL, ready for POST …/password. */
export async function verifiedFlow(server: WritebackServer, upn: string): Promise<string> {
  const { ctx, h } = server;
  const user = await userByUpn(server, upn);
  flows += 1;
  const address = `wb-${flows}-${user.id.slice(0, 8)}@example.test`;
  const at = ctx.clock.now().toISOString();
  await upsertEmailMethod(ctx.services.db, { userId: user.id, address, verifiedAt: at, createdAt: at });
  const started = await startFlow(ctx, upn);
  if (started.statusCode !== 201) throw new Error(`flow: ${started.statusCode} ${started.body}`);
  const F = `${SSPR}/flows/${started.json<{ flowId: string }>().flowId}`;
  const v = await post(ctx, `${F}/verifications`, { method: 'email' });
  if (v.statusCode !== 202) throw new Error(`verification: ${v.statusCode} ${v.body}`);
  const done = await post(ctx, `${F}/verifications/email/complete`, { code: await h.mailedCode(address) });
  if (done.statusCode !== 200) throw new Error(`code: ${done.statusCode} ${done.body}`);
  return F;
}

/** The whole SSPR reset: flow, mailed code, new password. */
export async function ssprReset(server: WritebackServer, upn: string, newPassword: string): Promise<LightMyRequestResponse> {
  const F = await verifiedFlow(server, upn);
  return post(server.ctx, `${F}/password`, { newPassword });
}
