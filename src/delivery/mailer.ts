import type { Transporter } from 'nodemailer';
import type { InlineImage } from './templates/index.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** images the HTML shows by `cid:`; the text part never refers to them */
  inlineImages?: readonly InlineImage[] | undefined;
  /**
   * A stable id for the Message-ID header (the outbox message's id): a message sent again after a crash
   * between the relay's acceptance and the outbox recording it (at-least-once delivery) carries the
   * same Message-ID, which mail systems use to drop the copy.
   */
  id?: string | undefined;
}

/** Sends one email. Throws when the message was not accepted (the outbox worker retries). */
export interface Mailer {
  /** recorded on the outbox row: 'smtp', or 'outbox' when nothing leaves the process */
  readonly transport: 'smtp' | 'outbox';
  /** how many sends may be in flight at once without queueing inside the mailer (its connections) */
  readonly maxConcurrent: number;
  send(message: MailMessage): Promise<void>;
  /**
   * Loads what the first send needs (nodemailer, the transport) in the background, so the first
   * message does not pay for it while a burst of them queues up behind it. Opens no connection.
   */
  prepare?(): void;
  /** closes idle connections at once, busy ones after their message; later sends fail (and are retried) */
  close(): void;
}

export interface SmtpMailerOptions {
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465; nodemailer reads the URL */
  url: string;
  from: string;
  /** ms; defaults suit a real relay, tests shorten them */
  connectionTimeoutMs?: number;
  socketTimeoutMs?: number;
  /** connections kept open to the relay (default 5, as nodemailer's pool) */
  maxConnections?: number;
  /** messages over one connection before it is replaced (default 100) */
  maxMessages?: number;
  /** an unused connection is closed (QUIT) after this long (default 30 s) */
  idleTimeoutMs?: number;
}

export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  // Timeouts bound how long one message can hold its outbox lease; parameters in the URL win.
  const connectionTimeout = options.connectionTimeoutMs ?? 15_000;
  // nodemailer lets the URL's parameters win (smtp://…?maxConnections=3 for a relay that allows
  // only a few), and the worker must know the figure the pool really uses
  const fromUrl = Number(URL.canParse(options.url) ? new URL(options.url).searchParams.get('maxConnections') : NaN);
  const maxConnections = Math.max(1, Number.isInteger(fromUrl) && fromUrl > 0 ? fromUrl : (options.maxConnections ?? 5));
  // nodemailer is loaded with the first message, not at start-up (it is ~40 modules the server may not need for a while)
  let transport: Promise<Transporter> | undefined;
  // the right-hand side of our Message-IDs: the sender's domain (RFC 5322 §3.6.4)
  const messageIdDomain = /@([^>\s]+)>?\s*$/.exec(options.from)?.[1] ?? 'postern.invalid';
  const open = (): Promise<Transporter> =>
    (transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport(
        {
          url: options.url,
          connectionTimeout,
          greetingTimeout: connectionTimeout,
          socketTimeout: options.socketTimeoutMs ?? 30_000,
          // A pool: a burst of reset codes goes over a few open connections instead of a TCP (and TLS)
          // handshake, greeting and AUTH per message. The outbox worker sends at most maxConcurrent at
          // once, so a message never waits in the pool's queue and its own timeouts bound it. Idle
          // connections are closed (QUIT) after idleTimeout, well before a relay's own limit (RFC 5321:
          // 5 minutes), and close() ends them at once.
          pool: true,
          maxConnections,
          maxMessages: options.maxMessages ?? 100,
          idleTimeout: options.idleTimeoutMs ?? 30_000,
        },
        { from: options.from },
      ),
    ));
  return {
    transport: 'smtp',
    maxConcurrent: maxConnections,
    prepare: () =>
      void open().catch(() => {
        transport = undefined; // the first send tries again and reports the error
      }),
    async send(m) {
      await (await open()).sendMail({
        to: m.to,
        subject: m.subject,
        text: m.text,
        html: m.html,
        // base64 parts: any text survives any relay, and tests decode it in one line
        textEncoding: 'base64',
        // a cid attachment goes into multipart/related beside the HTML, shown inline, never as a file to open
        attachments: (m.inlineImages ?? []).map((i) => ({ filename: i.filename, content: i.content, contentType: i.contentType, cid: i.cid, contentDisposition: 'inline' as const })),
        disableFileAccess: true,
        disableUrlAccess: true,
        ...(m.id ? { messageId: `<${m.id}@${messageIdDomain}>` } : {}),
      });
    },
    close: () => void transport?.then((t) => t.close()),
  };
}

/**
 * SMTP_URL unset: nothing leaves the process. The message is still rendered by the worker (so a broken
 * template shows up) and marked sent with transport 'outbox'; in development /dev/outbox shows it.
 */
export const outboxOnlyMailer: Mailer = {
  transport: 'outbox',
  maxConcurrent: 1,
  async send() {},
  close() {},
};

export function createMailer(config: { smtpUrl: string | undefined; mailFrom: string | undefined }): Mailer {
  if (!config.smtpUrl) return outboxOnlyMailer;
  if (!config.mailFrom) throw new Error('MAIL_FROM is required when SMTP_URL is set');
  return createSmtpMailer({ url: config.smtpUrl, from: config.mailFrom });
}
