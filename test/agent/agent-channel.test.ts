import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentChannel, ChannelError } from '../../agent/channel.js';
import type { AgentConfig } from '../../agent/config.js';
import { createAgentLog } from '../../agent/events.js';
import { startAgent } from '../../agent/main.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { createTestCertificate, type TestCertificate } from '../helpers/tls.js';
import { FakeDirectory } from './fake-target.js';

/** The agent's HTTPS client against Postern serving TLS itself (TLS_CERT_FILE): verification is never off. */

const CONFIG: AgentConfig = {
  kind: 'openLdap',
  connection: { url: 'ldaps://ldap.invalid:636', startTls: false, caFile: null, bindDn: 'cn=svc', bindPassword: 'unused', baseDn: 'dc=contoso,dc=test', timeoutMs: 5000 },
  scope: { baseDn: 'dc=contoso,dc=test', userFilter: null },
  syncIntervalMinutes: 100_000,
};

describe.each(testDialects())('the agent channel over HTTPS on %s', (dialect) => {
  let ctx: TestContext;
  let cert: TestCertificate;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    cert = createTestCertificate();
    ctx = await createTestContext(dialect, { env: { TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile } });
    url = await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'postern-agent-tls-'));
  });
  afterAll(async () => {
    await ctx?.close();
    await cert?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("verifies Postern's certificate: refused without the CA file, registers and beats with it; plain http:// only on loopback", async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const tokenFile = join(dir, 'token');
    const token = (await createAgentRegistrationToken(ctx.services, ctx.tenant.tenant.id)).token;
    writeFileSync(tokenFile, token);
    const fake = new FakeDirectory('openLdap');
    const options = { url, tokenFile, config: CONFIG, factories: { activeDirectory: () => fake, openLdap: () => fake }, log: createAgentLog(() => undefined), runner: { heartbeatSeconds: 3600, syncOnStart: false, pollWaitSeconds: 1 } };
    const untrusted = await startAgent(options).catch((e: unknown) => e);
    expect(untrusted).toBeInstanceOf(ChannelError);
    expect((untrusted as ChannelError).failure).toBe('network');
    expect(readFileSync(tokenFile, 'utf8')).toBe(token); // nothing was spent

    const runner = await startAgent({ ...options, caFile: cert.certFile });
    try {
      await runner.heartbeat();
      const row = await ctx.services.db.selectFrom('writeback_agents').selectAll().where('id', '=', runner.state.agentId).executeTakeFirstOrThrow();
      expect(row.last_heartbeat_at).not.toBeNull();
    } finally {
      await runner.stop();
    }
    expect(() => new AgentChannel({ url: 'http://postern.example.com' })).toThrow(/loopback/);
    expect(() => new AgentChannel({ url: 'http://10.0.0.5:8080' })).toThrow(/loopback/);
  });
});
