import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker, type OutboxWorker } from '../../src/delivery/outbox-worker.js';
import { siemUrlProblem } from '../../src/domain/audit-stream.js';
import { toDirectoryAudit } from '../../src/domain/audit-view.js';
import { findAuditEvent } from '../../src/store/audit-events.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';

const SECRET = 'siem-shared-secret-0123456789';

/** SIEM streaming (issue 6 item 7) against a real HTTP receiver. */
describe.each(testDialects())('SIEM webhooks on %s', (dialect) => {
  let ctx: TestContext;
  let sink: WebhookSink;
  let worker: OutboxWorker;
  let admin: string;
  let writer: string;
  let users = 0;

  beforeAll(async () => {
    sink = await startWebhookSink();
    ctx = await createTestContext(dialect);
    worker = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice, owner: 'siem-worker' });
    admin = await ctx.appToken(['Policy.ReadWrite.AuthenticationMethod']);
    writer = await ctx.appToken(['User.ReadWrite.All']);
  });
  afterAll(async () => {
    await ctx.close();
    await sink.close();
  });

  const policy = (method: 'GET' | 'PATCH', payload?: Record<string, unknown>) =>
    ctx.app.inject({ method, url: '/api/v1/policies/audit', headers: { authorization: `Bearer ${admin}` }, ...(payload ? { payload } : {}) });
  const addUser = async (): Promise<string> => {
    users += 1;
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1.0/users',
      headers: { authorization: `Bearer ${writer}` },
      payload: { accountEnabled: true, displayName: `User ${users}`, mailNickname: `u${users}`, userPrincipalName: `u${users}@contoso.test`, passwordProfile: { password: 'Plinth-Quokka-Vortex-8' } },
    });
    expect(res.statusCode).toBe(201);
    return res.json<{ id: string }>().id;
  };
  const siemRows = () => ctx.services.db.selectFrom('outbox').selectAll().where('channel', '=', 'siem').orderBy('created_at').orderBy('id').execute();

  it('queues nothing while the tenant has no webhook', async () => {
    await addUser();
    expect(await siemRows()).toEqual([]);
  });

  it('refuses bad webhooks, naming the field', async () => {
    const cases: [unknown, string][] = [
      [[{ url: 'http://siem.example.com/in', secret: SECRET }], 'siemWebhooks[0].url'],
      [[{ url: 'ftp://127.0.0.1/in', secret: SECRET }], 'siemWebhooks[0].url'],
      [[{ url: 'https://user:pw@siem.example.com/in', secret: SECRET }], 'siemWebhooks[0].url'],
      [[{ url: 'https://siem.example.com/in' }], 'siemWebhooks[0].secret'],
      [[{ url: 'https://siem.example.com/in', secret: 'short' }], 'secret'],
      [[{ id: '7d4f3c0e-1b2a-4c5d-8e9f-0a1b2c3d4e5f', url: 'https://siem.example.com/in' }], 'siemWebhooks[0].id'],
      [Array.from({ length: 6 }, () => ({ url: 'https://siem.example.com/in', secret: SECRET })), 'siemWebhooks'],
    ];
    for (const [siemWebhooks, field] of cases) {
      const res = await policy('PATCH', { siemWebhooks });
      expect(res.statusCode, JSON.stringify(siemWebhooks)).toBe(400);
      expect(res.body).toContain(field);
      expect(res.body).not.toContain(SECRET);
    }
    expect(siemUrlProblem('http://127.0.0.1:9/in', 'development')).toBeNull();
    expect(siemUrlProblem('http://[::1]:9/in', 'test')).toBeNull();
    expect(siemUrlProblem('http://127.0.0.1:9/in', 'production')).toMatch(/https in production/);
    expect(siemUrlProblem('https://siem.example.com/in', 'production')).toBeNull();
    expect(await siemRows()).toEqual([]);
  });

  it('POSTs each event as Graph directoryAudit JSON, HMAC-signed, with the secret never stored or shown in clear', async () => {
    const set = await policy('PATCH', { siemWebhooks: [{ url: `${sink.url}/siem`, secret: SECRET }] });
    expect(set.statusCode).toBe(200);
    const hook = set.json<{ siemWebhooks: { id: string; url: string }[] }>().siemWebhooks[0]!;
    expect(set.json()).toEqual({ retentionDays: 365, siemWebhooks: [{ id: hook.id, url: `${sink.url}/siem`, createdDateTime: ctx.clock.now().toISOString() }] });
    expect((await policy('GET')).body).not.toContain(SECRET);
    const stored = await ctx.services.db.selectFrom('audit_webhooks').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(SECRET);

    const userId = await addUser();
    const rows = await siemRows();
    // the policy change itself (its event follows the new webhook) and the new user
    expect(rows.map((r) => [r.recipient, r.template, r.status, r.secret_data])).toEqual([
      [hook.id, 'directoryAudit', 'pending', null],
      [hook.id, 'directoryAudit', 'pending', null],
    ]);
    expect(JSON.stringify(rows)).not.toContain(SECRET);

    const before = sink.received.length;
    const run = await worker.runOnce();
    expect(run.sent).toBeGreaterThanOrEqual(2);
    const got = sink.received.slice(before);
    expect(got).toHaveLength(2);
    // same created_at (a pinned clock): put rows and requests in chain order
    const events = (await Promise.all(rows.map((r) => findAuditEvent(ctx.services.db, ctx.tenant.tenant.id, (JSON.parse(r.data) as { id: string }).id)))).sort((a, b) => a!.seq - b!.seq);
    expect(events.map((e) => e!.activityDisplayName)).toEqual(['Update audit log policy', 'Add user']);
    const order = events.map((e) => e!.id);
    got.sort((a, b) => order.indexOf(String(a.headers['x-postern-event-id'])) - order.indexOf(String(b.headers['x-postern-event-id'])));
    for (const [i, hit] of got.entries()) {
      expect(hit.path).toBe('/siem');
      expect(hit.headers['content-type']).toBe('application/json');
      expect(hit.headers['x-postern-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(hit.body).digest('hex')}`);
      expect(hit.headers['x-postern-event-id']).toBe(events[i]!.id);
      expect(hit.headers['x-postern-timestamp']).toBe(ctx.clock.now().toISOString());
      expect(hit.json).toEqual(toDirectoryAudit(events[i]!));
      expect(hit.body).not.toContain(SECRET);
    }
    expect(got[1]!.json).toMatchObject({ activityDisplayName: 'Add user', targetResources: [{ id: userId, type: 'User' }], initiatedBy: { user: null } });
    // a receiver with the wrong secret would not match
    expect(got[0]!.headers['x-postern-signature']).not.toBe(`sha256=${createHmac('sha256', 'another-secret-000000').update(got[0]!.body).digest('hex')}`);
    const sent = await siemRows();
    expect(sent.map((r) => [r.status, r.delivered_via])).toEqual([
      ['sent', 'siem'],
      ['sent', 'siem'],
    ]);
    // the policy change is audited without the secret
    const change = events[0]!;
    expect(change.targetResources[0]!.modifiedProperties).toEqual([{ displayName: 'siemWebhooks', oldValue: '[]', newValue: JSON.stringify([{ id: hook.id, url: `${sink.url}/siem` }]) }]);
    expect(JSON.stringify(change)).not.toContain(SECRET);
  });

  it('retries after a 500 from the outbox, with the same event id and signature', async () => {
    sink.status = 500;
    await addUser();
    const before = sink.received.length;
    expect(await worker.runOnce()).toMatchObject({ sent: 0, retried: 1 });
    const [row] = (await siemRows()).filter((r) => r.status !== 'sent');
    expect(row).toMatchObject({ status: 'pending', attempts: 1, last_error: 'SIEM webhook answered HTTP 500' });
    expect(await worker.runOnce()).toMatchObject({ claimed: 0 }); // not due yet: backoff
    sink.status = 200;
    ctx.clock.advance(31_000);
    expect(await worker.runOnce()).toMatchObject({ sent: 1 });
    const [first, second] = sink.received.slice(before);
    expect(sink.received.length - before).toBe(2);
    expect(second!.headers['x-postern-event-id']).toBe(first!.headers['x-postern-event-id']);
    expect(second!.headers['x-postern-signature']).toBe(first!.headers['x-postern-signature']);
    expect(second!.body).toBe(first!.body);
    expect((await siemRows()).every((r) => r.status === 'sent')).toBe(true);
  });

  it('rotates a secret by webhook id and stops streaming when the webhook is removed', async () => {
    const hook = (await policy('GET')).json<{ siemWebhooks: { id: string }[] }>().siemWebhooks[0]!;
    const rotated = await policy('PATCH', { siemWebhooks: [{ id: hook.id, secret: 'a-new-secret-9876543210' }] });
    expect(rotated.json()).toMatchObject({ siemWebhooks: [{ id: hook.id, url: `${sink.url}/siem` }] });
    const before = sink.received.length;
    await worker.runOnce();
    const hit = sink.received[before]!;
    expect(hit.json).toMatchObject({ activityDisplayName: 'Update audit log policy' });
    expect(hit.headers['x-postern-signature']).toBe(`sha256=${createHmac('sha256', 'a-new-secret-9876543210').update(hit.body).digest('hex')}`);
    expect(JSON.stringify(hit.json)).toContain('siemWebhookSecretReplaced');
    expect(hit.body).not.toContain('a-new-secret-9876543210');

    // an event queued before the webhook goes fails for good instead of retrying
    await addUser();
    expect((await policy('PATCH', { siemWebhooks: [] })).json()).toMatchObject({ siemWebhooks: [] });
    expect(await worker.runOnce()).toMatchObject({ failed: 1 });
    const count = (await siemRows()).length;
    await addUser();
    expect((await siemRows()).length).toBe(count);
  });
});
