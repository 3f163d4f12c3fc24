import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** One message as the sink received it, with its MIME parts decoded. */
export interface ReceivedMail {
  envelopeFrom: string;
  envelopeTo: string[];
  /** the SMTP AUTH user, when the client authenticated */
  authUser: string | undefined;
  headers: Map<string, string>;
  from: string;
  to: string;
  subject: string;
  text: string | undefined;
  html: string | undefined;
  raw: string;
}

export type SinkMode = 'accept' | 'reject-temporary' | 'reject-permanent';

export interface SmtpSink {
  readonly port: number;
  /** smtp://… URL for SMTP_URL (with credentials when the sink was made with some) */
  readonly url: string;
  readonly messages: ReceivedMail[];
  /** SMTP connections accepted so far (over restarts) */
  readonly connections: number;
  /** SMTP connections open right now */
  readonly openConnections: number;
  mode: SinkMode;
  /** recipients refused at RCPT TO with this reply code (451: try later, 550: never), whatever the mode */
  readonly rejectRecipients: Map<string, 451 | 550>;
  /** stop listening (connections are then refused) */
  stop(): Promise<void>;
  /** listen again on the same port */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real SMTP server on 127.0.0.1 that keeps what it receives. No STARTTLS (nodemailer would try to
 * upgrade and refuse the sink's self-signed certificate); AUTH over plain text is allowed for tests.
 */
export async function startSmtpSink(options: { user?: string; pass?: string; port?: number } = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  let mode: SinkMode = 'accept';
  let connections = 0;
  let openConnections = 0;
  const rejectRecipients = new Map<string, 451 | 550>();
  const requireAuth = options.user !== undefined;

  const makeServer = (): SMTPServer =>
    new SMTPServer({
      disabledCommands: requireAuth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !requireAuth,
      allowInsecureAuth: true,
      logger: false,
      // stop()/close() end open sessions (421) after this instead of waiting 30 s for the client:
      // a pooled client keeps its connection open, and a relay that goes down drops it
      closeTimeout: 200,
      onConnect(_session, callback) {
        connections += 1;
        openConnections += 1;
        callback();
      },
      onClose() {
        openConnections -= 1;
      },
      onAuth(auth, _session, callback) {
        if (auth.username === options.user && auth.password === options.pass) return callback(null, { user: auth.username });
        return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onMailFrom(_address, _session, callback) {
        if (mode === 'reject-temporary') return callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
        if (mode === 'reject-permanent') return callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
        return callback();
      },
      onRcptTo(address, _session, callback) {
        const code = rejectRecipients.get(address.address);
        if (code) return callback(Object.assign(new Error(code === 451 ? 'Try again later' : 'Mailbox unavailable'), { responseCode: code }));
        return callback();
      },
      onData(stream, session: SMTPServerSession, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          messages.push(parseMail(raw, session));
          callback();
        });
      },
    });

  let server = makeServer();
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port));
    });
  const port = await listen(options.port ?? 0);
  const close = (): Promise<void> => new Promise((resolve) => server.close(() => resolve()));
  const credentials = requireAuth ? `${encodeURIComponent(options.user!)}:${encodeURIComponent(options.pass ?? '')}@` : '';

  return {
    port,
    url: `smtp://${credentials}127.0.0.1:${port}`,
    messages,
    rejectRecipients,
    get connections() {
      return connections;
    },
    get openConnections() {
      return openConnections;
    },
    get mode() {
      return mode;
    },
    set mode(m: SinkMode) {
      mode = m;
    },
    stop: close,
    async restart() {
      server = makeServer();
      await listen(port);
    },
    close,
  };
}

/** Just enough MIME for what Postern sends: headers, RFC 2047 words, multipart, base64 / quoted-printable. */
export function parseMail(raw: string, session?: SMTPServerSession): ReceivedMail {
  const { headers, body } = splitEntity(raw);
  const parts = leafParts(headers, body);
  const partOf = (type: string) => parts.find((p) => (p.headers.get('content-type') ?? 'text/plain').toLowerCase().startsWith(type));
  return {
    envelopeFrom: session?.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    envelopeTo: session?.envelope.rcptTo.map((r) => r.address) ?? [],
    authUser: typeof session?.user === 'string' ? session.user : undefined,
    headers,
    from: decodeWords(headers.get('from') ?? ''),
    to: decodeWords(headers.get('to') ?? ''),
    subject: decodeWords(headers.get('subject') ?? ''),
    text: partOf('text/plain')?.content,
    html: partOf('text/html')?.content,
    raw,
  };
}

function splitEntity(entity: string): { headers: Map<string, string>; body: string } {
  const normalized = entity.replace(/\r\n/g, '\n');
  const end = normalized.indexOf('\n\n');
  const head = end === -1 ? normalized : normalized.slice(0, end);
  const body = end === -1 ? '' : normalized.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function leafParts(headers: Map<string, string>, body: string): { headers: Map<string, string>; content: string }[] {
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (type.toLowerCase().startsWith('multipart/') && boundary) {
    const sections = body.split(`--${boundary}`).slice(1);
    return sections
      .filter((s) => !s.startsWith('--'))
      .flatMap((s) => {
        const part = splitEntity(s.replace(/^\n/, ''));
        return leafParts(part.headers, part.body);
      });
  }
  return [{ headers, content: decodeBody(body, headers.get('content-transfer-encoding') ?? '7bit') }];
}

function decodeBody(body: string, encoding: string): string {
  switch (encoding.toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable':
      return decodeQuotedPrintable(body.replace(/=\n/g, ''));
    default:
      return body.replace(/\n$/, '');
  }
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words (=?UTF-8?B?…?= / =?UTF-8?Q?…?=); whitespace between adjacent words is dropped. */
export function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_m, _charset: string, enc: string, text: string) =>
      enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    );
}
