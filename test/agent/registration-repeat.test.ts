import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentChannel, ChannelError } from '../../agent/channel.js';
import { createAgentLog } from '../../agent/events.js';
import { loadOrRegister, newKeyPair, readState, readStateFile, type LoadOrRegisterOptions } from '../../agent/state.js';
import { REGISTRATION_REPEAT_MS } from '../../src/writeback/agents.js';
import type { RegisterRequest } from '../../src/writeback/protocol.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

/**
 * A crash between "Postern consumed the token" and "the agent saved its state" no longer costs a token:
 * the agent keeps its key and token in a pending state file, and Postern answers a repeat of the same
 * registration (same token, same key) while the credential was never used and within ten minutes.
 */

const HEARTBEAT = { version: '1.0.0-test', directory: { reachable: true, detail: 'ok' } };

describe.each(testDialects())('agent registration that survives a crash on %s', (dialect) => {
  let ctx: TestContext;
  let url: string;
  let dir: string;
  let n = 0;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    url = await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'postern-register-'));
  });
  afterAll(async () => {
    await ctx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const newToken = async () => (await createAgentRegistrationToken(ctx.services, ctx.tenant.tenant.id)).token;
  const register = (body: RegisterRequest) => ctx.app.inject({ method: 'POST', url: '/api/v1/agent/register', payload: body });
  const asAgent = (credential: string, method: 'GET' | 'POST', path: string, payload?: object) =>
    ctx.app.inject({ method, url: path, headers: { authorization: `Agent ${credential}` }, ...(payload ? { payload } : {}) });
  async function body(token: string) {
    n += 1;
    const { publicKey } = await newKeyPair(ctx.clock.now());
    return { token, name: `dc-repeat-${n}`, version: '1.0.0-test', directoryKind: 'activeDirectory' as const, publicKey };
  }
  const agentRows = (name: string) => ctx.services.db.selectFrom('writeback_agents').selectAll().where('name', '=', name).execute();
  const registrations = async (agentId: string) =>
    (await ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', '=', 'Register password writeback agent').orderBy('seq').execute()).filter((e) => e.target_resources.includes(agentId));

  it('the answer is lost after Postern consumed the token: the restarted agent repeats it from its pending state and is the same agent', async () => {
    const token = await newToken();
    const tokenFile = join(dir, 'crash.token');
    const stateFile = `${tokenFile}.state.json`;
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const lines: string[] = [];
    const options = (channel: AgentChannel): LoadOrRegisterOptions => ({ url, tokenFile, stateFile, directoryKind: 'activeDirectory', version: '1.0.0-test', name: 'dc-crash', channel, log: createAgentLog((l) => lines.push(l)) });

    // the first start: Postern registers the agent, then the answer is dropped on the way back
    const lossy = new AgentChannel({ url });
    const real = lossy.register.bind(lossy);
    let consumedAs: string | undefined;
    lossy.register = async (req, signal) => {
      consumedAs = (await real(req, signal)).agentId;
      throw new ChannelError('network', 'POST /api/v1/agent/register: socket hang up');
    };
    await expect(loadOrRegister(options(lossy))).rejects.toThrow(/socket hang up/);
    lossy.close();
    expect(consumedAs).toEqual(expect.any(String));
    const tokenRow = await ctx.services.db.selectFrom('agent_registration_tokens').selectAll().where('agent_id', '=', consumedAs!).executeTakeFirstOrThrow();
    expect(tokenRow.used_at).not.toBeNull();
    // what survived the "crash": a 0600 pending state with the key and the token, no registered state
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    expect(readState(stateFile)).toBeNull();
    const pending = readStateFile(stateFile);
    expect(pending && 'pending' in pending ? pending.pending.token : null).toBe(token);

    // the restart repeats the registration with the same token and key: the same agent, a working credential
    const channel = new AgentChannel({ url });
    try {
      const state = await loadOrRegister(options(channel));
      expect(state.agentId).toBe(consumedAs);
      expect(pending && 'pending' in pending ? state.current.jwk : null).toEqual(pending && 'pending' in pending ? pending.pending.key.jwk : 'no pending state');
      expect(readState(stateFile)).toEqual(state);
      expect(readFileSync(stateFile, 'utf8')).not.toContain(token);
      expect(readFileSync(tokenFile, 'utf8')).toMatch(/^# spent: registered as agent /);
      channel.setCredential(state.credential);
      await expect(channel.heartbeat(HEARTBEAT)).resolves.toMatchObject({ heartbeatSeconds: 60 });
    } finally {
      channel.close();
    }
    expect(await agentRows('dc-crash')).toHaveLength(1);
    const audited = await registrations(consumedAs!);
    expect(audited).toHaveLength(2);
    expect(audited[1]!.additional_details).toContain('RegistrationRepeated');
    // the token is in no log line, neither the attempt that was cut off nor the repeat
    expect(lines.join('')).not.toContain(token);
    const codes = lines.map((l) => (JSON.parse(l) as { code: number; repeat?: boolean }));
    expect(codes.filter((c) => c.code === 31004).map((c) => c.repeat)).toEqual([false, true]);
    expect(codes.some((c) => c.code === 31005 && c.repeat === true)).toBe(true);
  });

  it('the repeat answers a new credential; the first one, never delivered, stops working', async () => {
    const b = await body(await newToken());
    const first = await register(b);
    expect(first.statusCode).toBe(201);
    const again = await register(b);
    expect(again.statusCode).toBe(201);
    const [one, two] = [first.json<{ agentId: string; credential: string; keyId: string }>(), again.json<{ agentId: string; credential: string; keyId: string }>()];
    expect(two).toMatchObject({ agentId: one.agentId, keyId: one.keyId });
    expect(two.credential).not.toBe(one.credential);
    expect((await asAgent(one.credential, 'POST', '/api/v1/agent/heartbeat', HEARTBEAT)).statusCode).toBe(401);
    expect((await asAgent(two.credential, 'POST', '/api/v1/agent/heartbeat', HEARTBEAT)).statusCode).toBe(200);
    expect(await agentRows(b.name)).toHaveLength(1);
  });

  it('another key with the consumed token is refused; the same key still is not', async () => {
    const b = await body(await newToken());
    expect((await register(b)).statusCode).toBe(201);
    const { publicKey: other } = await newKeyPair(ctx.clock.now());
    const thief = await register({ ...b, publicKey: other });
    expect(thief.statusCode).toBe(401);
    expect(thief.json().error.code).toBe('agent.registration_token_invalid');
    expect((await register(b)).statusCode).toBe(201);
    expect(await agentRows(b.name)).toHaveLength(1);
  });

  it('once the agent has sent a heartbeat, or polled, its registration cannot be repeated', async () => {
    for (const firstCall of [
      (c: string) => asAgent(c, 'POST', '/api/v1/agent/heartbeat', HEARTBEAT),
      (c: string) => asAgent(c, 'GET', '/api/v1/agent/jobs?wait=0'),
    ]) {
      const b = await body(await newToken());
      const first = await register(b);
      expect(first.statusCode).toBe(201);
      const used = await firstCall(first.json<{ credential: string }>().credential);
      expect(used.statusCode).toBeLessThan(300);
      const again = await register(b);
      expect(again.statusCode).toBe(401);
      expect(again.json().error.code).toBe('agent.registration_token_invalid');
    }
  });

  it('a token Postern refuses outright leaves no pending state behind (nothing was consumed)', async () => {
    const tokenFile = join(dir, 'unknown.token');
    const stateFile = `${tokenFile}.state.json`;
    writeFileSync(tokenFile, `pat_${'x'.repeat(43)}\n`, { mode: 0o600 });
    const channel = new AgentChannel({ url });
    const lines: string[] = [];
    try {
      await expect(loadOrRegister({ url, tokenFile, stateFile, directoryKind: 'openLdap', version: '1', name: 'dc-unknown', channel, log: createAgentLog((l) => lines.push(l)) })).rejects.toThrow(/HTTP 401 agent.registration_token_invalid/);
    } finally {
      channel.close();
    }
    expect(readStateFile(stateFile)).toBeNull();
    expect(lines.join('')).not.toContain('x'.repeat(43));
  });

  it('the repeat is accepted up to ten minutes after the token was consumed, not later (and the agent then says so)', async () => {
    const b = await body(await newToken());
    expect((await register(b)).statusCode).toBe(201);
    ctx.clock.advance(REGISTRATION_REPEAT_MS);
    expect((await register(b)).statusCode).toBe(201);
    ctx.clock.advance(1000);
    const late = await register(b);
    expect(late.statusCode).toBe(401);
    expect(late.json().error.code).toBe('agent.registration_token_invalid');

    // the agent side of the same: a pending state older than that is refused with a plain instruction
    const token = await newToken();
    const tokenFile = join(dir, 'late.token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const lines: string[] = [];
    const lossy = new AgentChannel({ url });
    const real = lossy.register.bind(lossy);
    lossy.register = async (req, signal) => {
      await real(req, signal);
      throw new ChannelError('network', 'socket hang up');
    };
    const options = (channel: AgentChannel): LoadOrRegisterOptions => ({ url, tokenFile, stateFile: `${tokenFile}.state.json`, directoryKind: 'openLdap', version: '1', name: 'dc-late', channel, log: createAgentLog((l) => lines.push(l)) });
    await expect(loadOrRegister(options(lossy))).rejects.toThrow(/socket hang up/);
    lossy.close();
    ctx.clock.advance(REGISTRATION_REPEAT_MS + 1000);
    const channel = new AgentChannel({ url });
    await expect(loadOrRegister(options(channel))).rejects.toThrow(/no longer accepts it.*postern agent register/);
    // a new token in the token file wins over the stale pending registration
    writeFileSync(tokenFile, `${await newToken()}\n`, { mode: 0o600 });
    const state = await loadOrRegister(options(channel));
    channel.close();
    expect(state.agentId).toEqual(expect.any(String));
    expect(await agentRows('dc-late')).toHaveLength(2);
    expect(lines.join('')).not.toContain(token);
    expect(lines.some((l) => (JSON.parse(l) as { code: number }).code === 32009)).toBe(true);
  });
});
