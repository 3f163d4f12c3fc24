import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { escapeHtml } from '../../delivery/templates/index.js';
import { listDevOutbox, type DevOutboxEntry } from '../../domain/messages.js';
import type { Services } from '../../services.js';

const query = z.object({ format: z.enum(['html', 'json']).optional() }).strict();

/**
 * The development page exists only when nothing is really sent, never in production, and only
 * while PUBLIC_URL is a loopback address: it shows reset codes, so a real deployment that merely
 * forgot NODE_ENV=production must not publish it.
 */
export function devOutboxEnabled(config: Services['config']): boolean {
  const host = new URL(config.publicUrl).hostname;
  const loopback = host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host.endsWith('.localhost');
  return !config.smtpUrl && config.nodeEnv !== 'production' && loopback;
}

/**
 * GET /dev/outbox: the latest 100 queued messages, rendered (sealed codes included), as a page or as
 * JSON (`?format=json`). Not registered at all otherwise, so it answers 404 like any unknown path.
 */
export function devOutboxRoutes(app: FastifyInstance, services: Services): void {
  if (!devOutboxEnabled(services.config)) return;
  app.get('/dev/outbox', async (request, reply) => {
    const { format } = query.parse(request.query);
    const messages = await listDevOutbox(services, 100);
    void reply.header('cache-control', 'no-store');
    if (format === 'json') return reply.send({ messages });
    return reply.type('text/html; charset=utf-8').send(page(messages));
  });
}

function page(messages: DevOutboxEntry[]): string {
  const e = escapeHtml;
  const items = messages.map((m) =>
    [
      '<article>',
      `<h2>${e(m.subject ?? `${m.channel.toUpperCase()} to ${m.to}`)}</h2>`,
      '<dl>',
      ...(
        [
          ['to', m.to],
          ['channel', m.channel],
          ['template', `${m.template} (${m.locale})`],
          ['status', `${m.status}${m.deliveredVia ? ` via ${m.deliveredVia}` : ''}, ${m.attempts} attempt(s)`],
          ['created', m.createdAt],
          ['sent', m.sentAt ?? '—'],
          ['tenant', m.tenantId],
          ...(m.lastError ? [['last error', m.lastError]] : []),
          ...(m.renderError ? [['render error', m.renderError]] : []),
        ] as [string, string][]
      ).map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`),
      '</dl>',
      m.text !== null ? `<pre>${e(m.text)}</pre>` : '',
      m.html !== null ? `<details><summary>HTML part</summary><pre>${e(m.html)}</pre></details>` : '',
      '</article>',
    ].join('\n'),
  );
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"><title>Postern dev outbox</title></head><body>',
    '<h1>Dev outbox</h1>',
    '<p>SMTP_URL is not set, so messages are not sent; this page shows the latest 100. It does not exist in production.</p>',
    messages.length === 0 ? '<p>No messages yet.</p>' : items.join('\n<hr>\n'),
    '</body></html>',
  ].join('\n');
}
