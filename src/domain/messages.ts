import { brandingOf, isTemplateName, parseTemplateData, renderMessage, resolveLocale, type Branding, type BrandingSource, type RenderedMessage, type TemplateData, type TemplateName } from '../delivery/templates/index.js';
import type { Clock } from '../lib/clock.js';
import type { Random, SecretBox } from '../lib/crypto.js';
import { signalMessageQueued } from '../delivery/outbox-signal.js';
import type { Executor } from '../store/database.js';
import { findTenantSenders, insertOutboxMessage, listLatestMessages, type Channel, type OutboxRecord, type OutboxStatus, type TenantSender } from '../store/outbox.js';

export type { Channel } from '../store/outbox.js';
export type { TemplateData, TemplateName } from '../delivery/templates/index.js';

export interface MessageDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly secretBox: SecretBox;
}

export interface OutgoingMessage<T extends TemplateName = TemplateName> {
  tenantId: string;
  channel: Channel;
  /** an email address, or an E.164 phone number for sms/voice */
  to: string;
  template: T;
  /** BCP 47 tag or just the language; unsupported or missing → English */
  locale?: string | null | undefined;
  /** variables stored in clear: names, dates, counts. Never a password, code or token. */
  data: Partial<TemplateData[T]>;
  /**
   * Variables that are secrets (a verification code): stored sealed with the SecretBox and opened only
   * when the message is rendered for sending. Together with `data` they must fill the template.
   */
  secretData?: Partial<TemplateData[T]> | undefined;
}

/**
 * Queues a message inside the caller's transaction, so it exists exactly when the event that causes
 * it commits. The variables are checked against the template now: a bad call fails the use case
 * instead of a message failing later. Returns the outbox id.
 */
export async function enqueueMessage<T extends TemplateName>(trx: Executor, deps: MessageDeps, message: OutgoingMessage<T>): Promise<string> {
  if (!isTemplateName(message.template)) throw new Error(`unknown message template ${String(message.template)}`);
  const secret = message.secretData && Object.keys(message.secretData).length > 0 ? message.secretData : undefined;
  parseTemplateData(message.template, { ...message.data, ...secret });
  // Phones as Graph shows them ("+1 4255550100") are sent as E.164; a malformed recipient is not an
  // error here (it would undo the caller's event): the worker fails that message instead.
  const to = message.channel === 'email' ? message.to.trim() : message.to.replace(/[\s\-().]/g, '');
  if (to.length === 0 || to.length > 320 || /[\r\n]/.test(to)) throw new Error('message recipient is empty, too long or contains a line break');
  const id = deps.random.uuid();
  await insertOutboxMessage(trx, {
    id,
    tenantId: message.tenantId,
    channel: message.channel,
    recipient: to,
    template: message.template,
    locale: resolveLocale(message.locale),
    data: message.data,
    secretDataSealed: secret ? deps.secretBox.seal(JSON.stringify(secret)) : null,
    createdAt: deps.clock.now().toISOString(),
  });
  // before the commit: the worker keeps looking for this id a moment (outbox-signal.ts)
  signalMessageQueued(id);
  return id;
}

/**
 * Renders a stored message: opens its sealed variables, applies the tenant's branding. Throws when the
 * template is unknown, the variables do not fit or the seal does not open: none of these gets better
 * by retrying.
 */
/** The tenant's sender details; `logo` when the caller read it (the outbox worker does, for email, at send time). */
export type MessageSender = TenantSender & Pick<BrandingSource, 'logo'>;

export function renderStoredMessage(secretBox: SecretBox, publicUrl: string, record: OutboxRecord, sender: MessageSender | undefined): RenderedMessage {
  if (!isTemplateName(record.template)) throw new Error(`unknown message template ${record.template.slice(0, 64)}`);
  const secret = record.secretDataSealed === null ? {} : (JSON.parse(secretBox.open(record.secretDataSealed)) as Record<string, unknown>);
  const branding: Branding = brandingOf(sender ?? { displayName: 'Postern', settings: '{}' }, publicUrl);
  return renderMessage(record.template, resolveLocale(record.locale), { ...record.data, ...secret }, branding);
}

export interface DevOutboxEntry {
  id: string;
  tenantId: string;
  channel: OutboxRecord['channel'];
  to: string;
  template: string;
  locale: string;
  status: OutboxStatus;
  attempts: number;
  deliveredVia: string | null;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
  /** null for SMS and voice */
  subject: string | null;
  text: string | null;
  html: string | null;
  renderError: string | null;
}

/**
 * The latest messages, rendered, for the development page /dev/outbox. Sealed variables are opened
 * too: the page exists only when nothing is really sent and never in production.
 */
export async function listDevOutbox(deps: { db: Executor; secretBox: SecretBox; config: { publicUrl: string } }, limit = 100): Promise<DevOutboxEntry[]> {
  const records = await listLatestMessages(deps.db, limit);
  const senders = await findTenantSenders(deps.db, records.map((r) => r.tenantId));
  return records.map((r) => {
    let rendered: RenderedMessage | undefined;
    let renderError: string | null = null;
    try {
      rendered = renderStoredMessage(deps.secretBox, deps.config.publicUrl, r, senders.get(r.tenantId));
    } catch (err) {
      renderError = err instanceof Error ? err.message.slice(0, 200) : 'render failed';
    }
    const email = r.channel === 'email';
    return {
      id: r.id,
      tenantId: r.tenantId,
      channel: r.channel,
      to: r.recipient,
      template: r.template,
      locale: r.locale,
      status: r.status,
      attempts: r.attempts,
      deliveredVia: r.deliveredVia,
      lastError: r.lastError,
      createdAt: r.createdAt,
      sentAt: r.sentAt,
      subject: rendered && email ? rendered.subject : null,
      text: rendered ? (email ? rendered.text : rendered.short) : null,
      html: rendered && email ? rendered.html : null,
      renderError,
    };
  });
}
