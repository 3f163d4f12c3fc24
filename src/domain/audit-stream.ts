import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/crypto.js';
import type { AuditEvent } from '../store/audit-events.js';
import { toDirectoryAudit } from './audit-view.js';
import { listAuditWebhookIds } from '../store/audit-webhooks.js';
import type { Executor } from '../store/database.js';
import { insertOutboxMessage } from '../store/outbox.js';

/**
 * SIEM streaming (issue 6 item 7): every audit event is queued for each of the tenant's webhooks in
 * the transaction that records it, so an event reaches the SIEM exactly when it exists — and keeps
 * existing there after retention removes it here. The outbox retries with backoff; the sender
 * (delivery/siem.ts) signs the body with the webhook's secret at send time, so the outbox row holds
 * only the webhook id and the event, never the secret.
 *
 * Cost per event for a tenant without webhooks: one index-only lookup (audit_webhooks_tenant), no
 * cache, so a webhook added or removed takes effect with the next event on every node.
 */

export const SIEM_TEMPLATE = 'directoryAudit';

/** Called by recordAudit right after the insert, in its transaction. */
export async function streamAuditEvent(deps: { clock: Clock; random: Random }, trx: Executor, event: AuditEvent): Promise<number> {
  const hooks = await listAuditWebhookIds(trx, event.tenantId);
  if (hooks.length === 0) return 0;
  const body = toDirectoryAudit(event);
  const createdAt = deps.clock.now().toISOString();
  for (const webhookId of hooks) {
    await insertOutboxMessage(trx, {
      id: deps.random.uuid(),
      tenantId: event.tenantId,
      channel: 'siem',
      recipient: webhookId,
      template: SIEM_TEMPLATE,
      locale: 'en',
      data: body,
      secretDataSealed: null,
      createdAt,
    });
  }
  return hooks.length;
}

export const MAX_SIEM_WEBHOOKS = 5;

/**
 * A SIEM webhook URL: https, or http to a loopback address outside production (a local collector,
 * the tests). No credentials in the URL (the signature authenticates) and no fragment. Returns why
 * it is refused, or null.
 */
export function siemUrlProblem(text: string, nodeEnv: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.username || url.password) return 'must not contain credentials (the X-Postern-Signature header authenticates the request)';
  if (url.hash) return 'must not contain a fragment';
  if (url.protocol === 'https:') return null;
  if (url.protocol !== 'http:') return 'must use https';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!loopback) return 'must use https (http is allowed only for a loopback address)';
  if (nodeEnv === 'production') return 'must use https in production';
  return null;
}
