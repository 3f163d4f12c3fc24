import { createOutboxWorker, type OutboxWorker } from '../../src/delivery/outbox-worker.js';
import type { Clock } from '../../src/lib/clock.js';
import type { Dialect } from '../../src/store/database.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';

/**
 * A test context whose messages really leave: mail to an SMTP sink and, when asked, texts and calls
 * to a webhook sink, delivered by the real outbox worker — and the codes read back from them.
 */
export interface SsprHarness {
  ctx: TestContext;
  smtp: SmtpSink;
  /** present when the harness was started with phones */
  hooks: WebhookSink | undefined;
  worker: OutboxWorker;
  /** delivers the outbox, then the last 8-digit code mailed to `address` */
  mailedCode(address: string): Promise<string>;
  /** delivers the outbox, then the last code texted to `number` */
  textedCode(number: string): Promise<string>;
  close(): Promise<void>;
}

export async function startSsprHarness(dialect: Dialect, opts: { phones?: boolean; env?: Record<string, string>; clock?: Clock } = {}): Promise<SsprHarness> {
  const smtp = await startSmtpSink();
  const hooks = opts.phones ? await startWebhookSink() : undefined;
  const env: Record<string, string> = { SMTP_URL: smtp.url, MAIL_FROM: 'postern@contoso.test', ...opts.env };
  if (hooks) Object.assign(env, { SMS_WEBHOOK_URL: `${hooks.url}/sms`, VOICE_WEBHOOK_URL: `${hooks.url}/voice` });
  const ctx = await createTestContext(dialect, { env, ...(opts.clock ? { clock: opts.clock } : {}) });
  const worker = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice });
  return {
    ctx,
    smtp,
    hooks,
    worker,
    async mailedCode(address) {
      await worker.runOnce();
      const mail = smtp.messages.filter((m) => m.envelopeTo.includes(address)).at(-1);
      const code = /\b(\d{8})\b/.exec(mail?.text ?? '')?.[1];
      if (!code) throw new Error(`no code mailed to ${address}`);
      return code;
    },
    async textedCode(number) {
      await worker.runOnce();
      const hook = hooks?.received.filter((h) => h.path === '/sms' && (h.json as { to: string }).to === number).at(-1);
      const m = /(\d{4}) (\d{4})/.exec((hook?.json as { body: string } | undefined)?.body ?? '');
      if (!m) throw new Error(`no code texted to ${number}`);
      return `${m[1]}${m[2]}`;
    },
    async close() {
      await ctx.close();
      await smtp.close();
      await hooks?.close();
    },
  };
}
