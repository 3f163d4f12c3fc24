import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOutboxWorker } from '../../src/delivery/outbox-worker.js';
import { findOutboxMessage } from '../../src/store/outbox.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { enqueue } from './helpers.js';

/**
 * A worker killed while sending leaves its messages leased for 10 minutes. A starting worker gives back
 * the leases of workers of this host whose process is gone, and of no one else: not a live process of
 * this host, not another host's worker, not an owner named some other way
 * (test/security/crash-consistency.test.ts shows it after a real kill -9).
 */
describe.each(testDialects())('leases of dead workers of this host (%s)', (dialect) => {
  let sink: SmtpSink;
  let ctx: TestContext;
  beforeAll(async () => {
    sink = await startSmtpSink();
    ctx = await createTestContext(dialect, { env: { SMTP_URL: sink.url, MAIL_FROM: 'no-reply@contoso.test' } });
  });
  afterAll(async () => {
    await ctx.close();
    await sink.close();
  });

  it('are given back at start; live, foreign and unnamed owners keep theirs', async () => {
    // a pid no process has: above the kernel's pid_max (4 194 304 at most)
    const deadPid = 4_194_305;
    const owners = { dead: `${hostname()}:${deadPid}:abc`, live: `${hostname()}:${process.pid}:def`, foreign: `another-host-name:${deadPid}:ghi`, unnamed: 'worker-x' };
    const ids: Record<string, string> = {};
    const leaseUntil = new Date(ctx.clock.now().getTime() + 10 * 60_000).toISOString();
    for (const [who, owner] of Object.entries(owners)) {
      ids[who] = await enqueue(ctx.services, { tenantId: ctx.tenant.tenant.id, channel: 'email', to: `${who}@contoso.test`, template: 'test', data: { note: `LEASE-${who}` } });
      await ctx.services.db.updateTable('outbox').set({ status: 'sending', lease_owner: owner, lease_until: leaseUntil, attempts: 1 }).where('id', '=', ids[who]).execute();
    }
    const warnings: string[] = [];
    const worker = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice, log: { warn: (_o, msg) => warnings.push(msg) } });
    worker.start(60_000);
    try {
      await vi.waitFor(async () => expect((await findOutboxMessage(ctx.services.db, ids.dead!))?.status).toBe('sent'), { timeout: 10_000 });
    } finally {
      await worker.stop();
    }
    expect(sink.messages.filter((m) => m.text?.includes('LEASE-dead'))).toHaveLength(1);
    for (const who of ['live', 'foreign', 'unnamed']) {
      expect(await findOutboxMessage(ctx.services.db, ids[who]!), who).toMatchObject({ status: 'sending', leaseOwner: owners[who as keyof typeof owners] });
    }
    expect(warnings).toContain('messages a stopped worker of this host was sending are due again');
  });
});
