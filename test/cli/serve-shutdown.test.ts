import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { bootstrapIfEmpty } from '../../src/domain/tenants.js';
import { createServices } from '../../src/services.js';
import { findOutboxMessage } from '../../src/store/outbox.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { enqueue } from '../delivery/helpers.js';
import { freePort, spawnPostern, stopAllSpawned, type SpawnedProcess } from '../helpers/spawn-server.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';

/**
 * `postern serve` must end on SIGTERM while clients hold connections to it: keep-alive ones between
 * requests, requests in flight, and connections opened and never used (an HTTP client's spare, a
 * browser's preconnect), which Node's server.close() waits for and closeIdleConnections() does not
 * close — after the reset bench's load the server never exited. Also its pooled SMTP connection,
 * idle after a delivery, must not keep it alive.
 */
describe('serve ends promptly on SIGTERM under load', () => {
  let dir: string;
  let sink: SmtpSink;
  let server: SpawnedProcess;
  let base: string;
  let messageId: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'postern-shutdown-'));
    sink = await startSmtpSink();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      DATABASE_URL: `sqlite:${join(dir, 'postern.db')}`,
      POSTERN_DATA_DIR: dir,
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: base,
      LOG_LEVEL: 'warn',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_ITERATIONS: '1',
      SMTP_URL: sink.url,
      MAIL_FROM: 'no-reply@postern.test',
    };
    // a message waiting in the outbox: the server's worker sends it when it starts, over its pool
    const services = createServices(loadConfig(env));
    try {
      await migrateToLatest(services.db);
      const created = await bootstrapIfEmpty(services);
      messageId = await enqueue(services, { tenantId: created!.tenant.id, channel: 'email', to: 'someone@postern.test', template: 'test', data: { note: 'SHUTDOWN-TEST-END' } });
    } finally {
      await services.close();
    }
    server = spawnPostern(['serve'], { env });
    await server.waitForLine(/listening on/, 45_000);
  }, 60_000);

  afterAll(async () => {
    await stopAllSpawned();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits with code 0 within a couple of seconds, the idle SMTP connection and all client connections closed', async () => {
    // the outbox delivered over a pooled connection, which now idles open
    for (let i = 0; i < 500 && !sink.messages.some((m) => m.text?.includes('SHUTDOWN-TEST-END')); i++) await sleep(20);
    expect(sink.messages.filter((m) => m.text?.includes('SHUTDOWN-TEST-END'))).toHaveLength(1);
    expect(sink.openConnections).toBeGreaterThan(0);

    // connections opened and never used
    const silent: Socket[] = [];
    for (let i = 0; i < 5; i++) {
      const s = connect(Number(new URL(base).port), '127.0.0.1');
      s.on('error', () => {});
      silent.push(s);
    }
    // one that sent half a request
    const half = connect(Number(new URL(base).port), '127.0.0.1', () => half.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
    half.on('error', () => {});
    // keep-alive clients in a loop, so requests are in flight and connections idle between them
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    let stopping = false;
    let answered = 0;
    const get = (): Promise<number> =>
      new Promise((ok) => {
        const req = request(`${base}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', () => ok(res.statusCode ?? 0));
          res.on('error', () => ok(-1));
        });
        req.on('error', () => ok(-1));
        req.end();
      });
    const clients = Array.from({ length: 16 }, async () => {
      while (!stopping) {
        if ((await get()) === 200) answered += 1;
        else await sleep(5);
      }
    });
    await sleep(500);
    expect(answered).toBeGreaterThan(0);
    await sleep(100); // let the half request sit

    const started = Date.now();
    server.child.kill('SIGTERM');
    const code = await Promise.race([server.exited, sleep(15_000).then(() => 'still running after 15 s')]);
    const seconds = (Date.now() - started) / 1000;
    stopping = true;
    await Promise.all(clients);
    agent.destroy();
    for (const s of [...silent, half]) s.destroy();

    expect(code, server.stderr()).toBe(0);
    // the grace for requests in hand is 5 s; nothing here needs it
    expect(seconds).toBeLessThan(3);
    expect(sink.openConnections).toBe(0);
    // the database was closed cleanly after the outbox's batch: the row says sent
    const services = createServices(loadConfig(env));
    try {
      expect(await findOutboxMessage(services.db, messageId)).toMatchObject({ status: 'sent', deliveredVia: 'smtp' });
    } finally {
      await services.close();
    }
  }, 60_000);
});
