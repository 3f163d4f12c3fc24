import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../../../domain/oauth-errors.js';
import type { AppError } from '../../../errors.js';

/** Azure's timestamp format: `2026-11-25 12:00:00Z`. */
function azureTimestamp(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/**
 * Renders an OAuthError (src/domain/oauth-errors.ts) in Azure's shape: an `AADSTS<code>: …`
 * description with trace and correlation ids, and `error_codes`.
 */
export function sendOAuthError(request: FastifyRequest, reply: FastifyReply, err: OAuthError, at: Date = new Date()): FastifyReply {
  const traceId = request.id;
  const correlationId = headerValue(request, 'client-request-id') ?? randomUUID();
  const timestamp = azureTimestamp(at);
  void reply.code(err.status).header('cache-control', 'no-store').header('pragma', 'no-cache');
  if (err.status === 503) void reply.header('retry-after', '5');
  if (err.error === 'invalid_client' && err.status === 401 && /^Basic\s/i.test(headerValue(request, 'authorization') ?? '')) {
    void reply.header('www-authenticate', 'Basic realm="postern"');
  }
  return reply.send({
    error: err.error,
    error_description: `AADSTS${err.aadsts}: ${err.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [err.aadsts],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
  });
}

/**
 * For errors raised before the route runs (body too large, unparsable body): the app's error
 * handler renders them here in the OAuth shape.
 */
export function appErrorAsOAuth(err: AppError): OAuthError {
  // Azure's AADSTS80001 (OnPremiseStoreIsNotAvailable): no authentication agent could reach the directory
  if (err.code === 'auth.onprem_unreachable') return new OAuthError('temporarily_unavailable', 80001, 'The authentication agent is unable to connect to the on-premises directory. Try again later.', 503);
  if (err.code === 'service.database_unavailable') return new OAuthError('temporarily_unavailable', 90033, 'The service is temporarily unavailable. Try again in a few seconds.', 503);
  if (err.code === 'internal') return new OAuthError('server_error', 500011, 'Something went wrong on our side. Try again.', 500);
  return new OAuthError('invalid_request', 9002313, `Invalid request. ${err.message}`, err.status >= 400 && err.status < 500 ? err.status : 400);
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
