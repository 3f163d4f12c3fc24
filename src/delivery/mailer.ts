import type { Transporter } from 'nodemailer';
import type { InlineImage } from './templates/index.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** images the HTML shows by `cid:`; the text part never refers to them */
  inlineImages?: readonly InlineImage[] | undefined;
}

/** Sends one email. Throws when the message was not accepted (the outbox worker retries). */
export interface Mailer {
  /** recorded on the outbox row: 'smtp', or 'outbox' when nothing leaves the process */
  readonly transport: 'smtp' | 'outbox';
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export interface SmtpMailerOptions {
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465; nodemailer reads the URL */
  url: string;
  from: string;
  /** ms; defaults suit a real relay, tests shorten them */
  connectionTimeoutMs?: number;
  socketTimeoutMs?: number;
}

export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  // Timeouts bound how long one message can hold its outbox lease; parameters in the URL win.
  const connectionTimeout = options.connectionTimeoutMs ?? 15_000;
  // nodemailer is loaded with the first message, not at start-up (it is ~40 modules the server may not need for a while)
  let transport: Promise<Transporter> | undefined;
  const open = (): Promise<Transporter> =>
    (transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport(
        { url: options.url, connectionTimeout, greetingTimeout: connectionTimeout, socketTimeout: options.socketTimeoutMs ?? 30_000 },
        { from: options.from },
      ),
    ));
  return {
    transport: 'smtp',
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
  async send() {},
  close() {},
};

export function createMailer(config: { smtpUrl: string | undefined; mailFrom: string | undefined }): Mailer {
  if (!config.smtpUrl) return outboxOnlyMailer;
  if (!config.mailFrom) throw new Error('MAIL_FROM is required when SMTP_URL is set');
  return createSmtpMailer({ url: config.smtpUrl, from: config.mailFrom });
}
