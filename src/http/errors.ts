import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { AppError, errorCodes } from '../errors.js';
import { isDatabaseUnavailable } from '../store/database-errors.js';
import { appErrorAsOAuth, sendOAuthError } from './routes/oauth/errors.js';

/** Which body shape a path answers errors in. */
export type Surface = 'graph' | 'api' | 'oauth' | 'plain';

export function surfaceOf(url: string): Surface {
  if (url.startsWith('/v1.0/') || url === '/v1.0' || url.startsWith('/beta/')) return 'graph';
  if (url.startsWith('/api/')) return 'api';
  if (/^\/[^/]+\/oauth2\//.test(url)) return 'oauth';
  return 'plain';
}

/** Turns anything thrown into a registered AppError; unknown errors become `internal` (and are logged). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) {
    const unknownKeys = err.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys : []));
    if (unknownKeys.length > 0) {
      return new AppError('request.unknown_property', {
        message: `Property ${unknownKeys.map((k) => `'${k}'`).join(', ')} does not exist on this resource or cannot be set.`,
        data: { properties: unknownKeys },
      });
    }
    const first = err.issues[0];
    const where = first && first.path.length > 0 ? `'${first.path.join('.')}'` : 'the request';
    return new AppError('request.invalid', {
      message: `Invalid value for ${where}: ${first?.message ?? 'invalid input'}.`,
      data: { issues: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  const fe = err as Partial<FastifyError> & { type?: string };
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('request.too_large', { message: 'The request body is larger than the 64 KiB limit.' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('request.unsupported_media_type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('request.invalid_json', { message: 'The request body is empty; it must be a JSON object.' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('request.invalid_json', { message: `The request body is not valid JSON: ${fe.message ?? ''}` });
  }
  if (err instanceof SyntaxError && fe.statusCode === 400) {
    return new AppError('request.invalid_json', { message: `The request body is not valid JSON: ${err.message}` });
  }
  if (fe.statusCode === 429) return new AppError('request.rate_limited');
  if (isDatabaseUnavailable(err)) return new AppError('service.database_unavailable', { cause: err });
  if (isUnstorableText(err)) {
    return new AppError('request.invalid', { message: 'The request holds a NUL (zero) character or other text that cannot be stored or looked up; remove it.' });
  }
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new AppError('request.invalid', { message: fe.message ?? 'The request is invalid.' });
  }
  return new AppError('internal', { cause: err });
}

/**
 * PostgreSQL refuses a NUL character in text (22021 character_not_in_repertoire) and in JSON
 * (22P05 untranslatable_character); such a value can only have come from the request, so it is the
 * client's 400, not a 500. The statement failed, so its transaction wrote nothing.
 */
function isUnstorableText(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (code === '22021' || code === '22P05') && (err as { severity?: unknown }).severity !== undefined;
}

/** What a 503 asks the client to wait before sending the request again (RFC 9110 §10.2.3). */
export const RETRY_AFTER_SECONDS = 5;

/** Writes the error in the body shape of the path's surface. */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: AppError): FastifyReply {
  const surface = surfaceOf(request.url);
  if (surface === 'oauth') return sendOAuthError(request, reply, appErrorAsOAuth(err));
  void reply.code(err.status).header('cache-control', 'no-store');
  if (err.status === 503) void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  if (err.status === 401 && (surface === 'graph' || surface === 'api')) {
    // RFC 6750 §3: tell the client which scheme to use and why the token was refused
    const reason = err.code === 'auth.token_missing' || err.code === 'auth.session_required' ? '' : ', error="invalid_token"';
    void reply.header('www-authenticate', `Bearer realm="postern"${reason}`);
  }
  if (surface === 'graph') {
    return reply.send({
      error: {
        code: errorCodes[err.code].graph,
        message: err.message,
        // Graph's error body allows details; password policy refusals list each rule that failed
        ...(Array.isArray(err.data?.violations)
          ? { details: (err.data.violations as { code: string; message: string }[]).map((v) => ({ code: v.code, message: v.message, target: 'password' })) }
          : {}),
        innerError: {
          code: err.code,
          date: new Date().toISOString().slice(0, 19),
          'request-id': request.id,
          'client-request-id': headerValue(request, 'client-request-id') ?? request.id,
        },
      },
    });
  }
  const details = err.data && err.code !== 'internal' ? { details: err.data } : {};
  return reply.send({ error: { code: err.code, message: err.message, ...details, requestId: request.id } });
}

export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
