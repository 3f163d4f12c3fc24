import type { FastifyRequest } from 'fastify';

/**
 * Path segments that are credentials: an SSPR flow id is the only handle of a reset in progress,
 * so whoever reads it from a log could continue the flow. Logged URLs show a placeholder instead.
 */
const SECRET_SEGMENTS = [/(\/api\/v1\/sspr\/flows\/)[^/?#]+/g];

export function redactUrl(url: string): string {
  return SECRET_SEGMENTS.reduce((u, re) => u.replace(re, '$1[redacted]'), url);
}

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
