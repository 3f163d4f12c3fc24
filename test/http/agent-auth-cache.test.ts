import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { adminRegistrationToken, registerAgent, type ScriptedAgent } from './writeback-helpers.js';

/**
 * src/http/agent-auth.ts keeps an agent's authentication for up to a second, and only while no store
 * write changed an agent's enablement or credential on this node: a disable through Postern refuses
 * the very next request of an agent that was just authenticated; a change behind Postern's back
 * (another node) applies within the second; a refusal is never kept.
 */
describe.each(testDialects())('an agent credential follows changes on %s', (dialect) => {
  let ctx: TestContext;
  let admin: string;
  let agent: ScriptedAgent;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    admin = await ctx.userToken('admin@contoso.test');
    agent = await registerAgent(ctx, await adminRegistrationToken(ctx, admin), 'dc-agent-cache');
  });
  afterAll(async () => ctx?.close());

  const setEnabled = async (enabled: boolean) => {
    const res = await ctx.app.inject({ method: 'PATCH', url: `/api/v1/writeback/agents/${agent.agentId}`, headers: { authorization: `Bearer ${admin}` }, payload: { enabled } });
    expect(res.statusCode).toBe(200);
  };
  const setEnabledBehindPosternsBack = (enabled: boolean) => ctx.services.db.updateTable('writeback_agents').set({ enabled: enabled ? 1 : 0 }).where('id', '=', agent.agentId).execute();
  const heartbeat = async () => {
    const res = await agent.heartbeat();
    return res.statusCode === 200 ? 200 : `${res.statusCode} ${String(res.json<{ error: { code: string } }>().error.code)}`;
  };

  it('a disable through Postern refuses the next request at once, on every agent route; an enable admits the next one', async () => {
    expect(await heartbeat()).toBe(200);
    expect(await heartbeat()).toBe(200);
    await setEnabled(false);
    expect(await heartbeat()).toBe('403 agent.disabled');
    expect((await agent.call('GET', '/api/v1/agent/jobs?wait=0')).statusCode).toBe(403);
    expect((await agent.call('POST', '/api/v1/agent/sync', { runId: 'r', page: 0, final: false, users: [], groups: [] })).statusCode).toBe(403);
    await setEnabled(true);
    expect(await heartbeat()).toBe(200);
    expect((await agent.call('GET', '/api/v1/agent/jobs?wait=0')).statusCode).toBe(204);
  });

  it('a disable written behind Postern’s back applies within the second; a refusal is not kept', async () => {
    expect(await heartbeat()).toBe(200);
    await setEnabledBehindPosternsBack(false);
    await sleep(1100);
    expect(await heartbeat()).toBe('403 agent.disabled');
    await setEnabledBehindPosternsBack(true);
    // the refusal was not remembered: the next request reads the agent again
    expect(await heartbeat()).toBe(200);
  });

  it('an unknown or malformed credential is refused, also right after the real one was accepted', async () => {
    expect(await heartbeat()).toBe(200);
    const forged = `${agent.credential.slice(0, -4)}${agent.credential.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const res = await ctx.app.inject({ method: 'POST', url: '/api/v1/agent/heartbeat', headers: { authorization: `Agent ${forged}` }, payload: { version: '1', directory: { reachable: true, detail: '' } } });
    expect(res.statusCode).toBe(401);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('agent.unauthenticated');
    const none = await ctx.app.inject({ method: 'POST', url: '/api/v1/agent/heartbeat', payload: { version: '1', directory: { reachable: true, detail: '' } } });
    expect(none.statusCode).toBe(401);
  });
});
