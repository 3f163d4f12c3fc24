import { createHmac } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import type { SecretBox } from '../lib/crypto.js';
import { findAuditWebhook } from '../store/audit-webhooks.js';
import type { Executor } from '../store/database.js';
import type { OutboxRecord } from '../store/outbox.js';

/**
 * Delivers one queued audit event to a tenant's SIEM webhook: POST of the Graph directoryAudit JSON
 * with
 *   X-Postern-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes, keyed with the secret>
 *   X-Postern-Event-Id:  the audit event's id (the receiver's de-duplication key: the outbox delivers
 *                        at least once)
 *   X-Postern-Timestamp: when this attempt was sent (ISO 8601 UTC); not covered by the signature
 * Any 2xx is success; anything else, a timeout or a refused redirect is a failure the outbox retries.
 * Errors name the status only: never the URL, the body or the secret.
 */

export interface SiemSender {
  /** 'gone' when the webhook was removed since the event was queued (nothing to retry) */
  send(record: OutboxRecord): Promise<'sent' | 'gone'>;
}

export interface SiemDeps {
  readonly db: Executor;
  readonly clock: Clock;
  readonly secretBox: SecretBox;
}

export function signSiemBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export function createSiemSender(deps: SiemDeps, options: { timeoutMs?: number } = {}): SiemSender {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async send(record) {
      const hook = await findAuditWebhook(deps.db, record.recipient);
      if (!hook || hook.tenantId !== record.tenantId) return 'gone';
      const body = JSON.stringify(record.data);
      const secret = deps.secretBox.open(hook.secretSealed);
      const eventId = typeof record.data.id === 'string' ? record.data.id : record.id;
      let response: Response;
      try {
        response = await fetch(hook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-postern-signature': signSiemBody(secret, body),
            'x-postern-event-id': eventId,
            'x-postern-timestamp': deps.clock.now().toISOString(),
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
      } catch (err) {
        const reason = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError') ? `no answer within ${timeoutMs} ms` : 'request failed';
        const detail = err instanceof Error && err.cause instanceof Error && 'code' in err.cause ? ` (${String(err.cause.code)})` : '';
        throw new Error(`SIEM webhook ${reason}${detail}`);
      }
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`SIEM webhook answered HTTP ${response.status}`);
      return 'sent';
    },
  };
}
