import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Path segments that are credentials: an SSPR flow id is the only handle of a reset in progress,
 * so whoever reads it from a log could continue the flow. Logged URLs show a placeholder instead.
 */
const SECRET_SEGMENTS = [/(\/api\/v1\/sspr\/flows\/)[^/?#]+/g];

export function redactUrl(url: string): string {
  return SECRET_SEGMENTS.reduce((u, re) => u.replace(re, '$1[redacted]'), url);
}

/*
 * The serializers below ARE the log's redaction: pino runs them on every `req` and `res` a line
 * carries, and they copy named fields only. Headers — authorization, cookies, set-cookie — are never
 * among them, so no line can hold a token or a session. (pino's `redact` on those header paths ran
 * on every line and could never match anything these serializers return: ≈ 2–4 µs a line for
 * nothing, BENCHMARKS.md, graph-read.)
 */

/** pino's request serializer, as Fastify's default but with the URL redacted. */
export function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** pino's reply serializer, as Fastify's default: the status only, never the headers (set-cookie). */
export function serializeReply(reply: Pick<FastifyReply, 'statusCode'>): { statusCode: number } {
  return { statusCode: reply.statusCode };
}
