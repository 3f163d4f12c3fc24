import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  path: string;
  headers: IncomingHttpHeaders;
  json: unknown;
  /** the body exactly as received (to check a signature over its bytes) */
  body: string;
}

export interface WebhookSink {
  readonly url: string;
  readonly received: ReceivedHook[];
  /** the status to answer with; 'hang' never answers */
  status: number | 'hang';
  close(): Promise<void>;
}

/** A local HTTP server standing in for an SMS / voice gateway. */
export async function startWebhookSink(): Promise<WebhookSink> {
  const received: ReceivedHook[] = [];
  let status: number | 'hang' = 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      received.push({ path: req.url ?? '', headers: req.headers, json, body: text });
      if (status === 'hang') return;
      res.writeHead(status, { 'content-type': 'application/json' }).end('{"id":"gateway-1"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    get status() {
      return status;
    },
    set status(s: number | 'hang') {
      status = s;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
