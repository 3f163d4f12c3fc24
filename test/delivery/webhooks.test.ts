import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookSmsSender, createWebhookVoiceCaller } from '../../src/delivery/sms.js';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';

describe('JSON webhook SMS and voice', () => {
  let sink: WebhookSink;
  beforeAll(async () => {
    sink = await startWebhookSink();
  });
  afterAll(async () => sink.close());

  it('POSTs {to, body} as JSON', async () => {
    sink.status = 200;
    const before = sink.received.length;
    await createWebhookSmsSender({ url: `${sink.url}/sms` }).send('+4915112345678', 'Your code is 123456');
    const hook = sink.received[before]!;
    expect(hook.path).toBe('/sms');
    expect(hook.headers['content-type']).toBe('application/json');
    expect(hook.json).toEqual({ to: '+4915112345678', body: 'Your code is 123456' });
    expect(hook.headers.authorization).toBeUndefined();
  });

  it('places voice calls the same way at its own URL', async () => {
    sink.status = 202;
    const before = sink.received.length;
    await createWebhookVoiceCaller({ url: `${sink.url}/voice` }).call('+14255550100', 'Hello');
    expect(sink.received[before]).toMatchObject({ path: '/voice', json: { to: '+14255550100', body: 'Hello' } });
  });

  it('moves credentials from the URL into a Basic Authorization header', async () => {
    sink.status = 200;
    const before = sink.received.length;
    const url = sink.url.replace('http://', 'http://gw%20user:p%40ss@');
    await createWebhookSmsSender({ url: `${url}/sms?account=7` }).send('+4915112345678', 'x');
    const hook = sink.received[before]!;
    expect(hook.path).toBe('/sms?account=7');
    expect(hook.headers.authorization).toBe(`Basic ${Buffer.from('gw user:p@ss').toString('base64')}`);
  });

  it.each([500, 503, 404, 400, 302])('treats HTTP %i as a failure, naming only the status', async (status) => {
    sink.status = status;
    const sender = createWebhookSmsSender({ url: `${sink.url}/sms?token=SECRET-TOKEN` });
    const error = await sender.send('+4915112345678', 'code 987654').then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toMatch(status === 302 ? /^SMS webhook request failed/ : new RegExp(`^SMS webhook answered HTTP ${status}$`));
    expect(error!.message).not.toContain('SECRET-TOKEN');
    expect(error!.message).not.toContain('987654');
  });

  it('gives up after the timeout', async () => {
    sink.status = 'hang';
    const started = Date.now();
    await expect(createWebhookVoiceCaller({ url: `${sink.url}/voice`, timeoutMs: 200 }).call('+14255550100', 'x')).rejects.toThrow(
      'voice webhook no answer within 200 ms',
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('fails when nothing listens', async () => {
    const other = await startWebhookSink();
    await other.close();
    await expect(createWebhookSmsSender({ url: other.url }).send('+4915112345678', 'x')).rejects.toThrow(/^SMS webhook request failed \(ECONNREFUSED\)$/);
  });
});
