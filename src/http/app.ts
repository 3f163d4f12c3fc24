import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { AppError } from '../errors.js';
import { findDuplicateKey } from '../lib/json-duplicates.js';
import type { Services } from '../services.js';
import { sendError, toAppError } from './errors.js';
import { serializeReply, serializeRequest } from './log-redaction.js';
import { apiSecurityHeaders, isApiRoute, securityHeaders } from './security-headers.js';
import { createMetrics, type Metrics } from './metrics.js';
import { registerRoutes } from './routes/index.js';
import { documentOnlyCompilers, openApiRoute, registerOpenApi } from './openapi.js';
import { POSTERN_VERSION } from '../version.js';
import { decodeUtf8Body, parseFormBody, unstorableText } from './body-encoding.js';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/**
 * One log line per request, written when it is answered and naming the request (Fastify's default
 * writes a second line on arrival: half of the logging cost of a Graph read, BENCHMARKS.md).
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

export interface AppOptions {
  /** false: no logging (most tests) */
  logger?: false;
  /** where log lines go (tests read them); default stdout */
  logStream?: { write(line: string): void };
  /** overrides LOG_LEVEL (tests that read the log) */
  logLevel?: 'info' | 'debug';
}

/** Builds the Fastify app. `app.inject()` drives it in tests; `serve` listens with it. */
export async function createApp(services: Services, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = services;
  const https = config.tls ? { key: readFileSync(config.tls.keyFile), cert: readFileSync(config.tls.certFile) } : null;
  // the security headers, worked out once (src/http/security-headers.ts)
  const pageHeaders = securityHeaders(config.publicUrl);
  const apiHeaders = apiSecurityHeaders(config.publicUrl);
  const app = Fastify({
    ...(https ? { https } : {}),
    logger:
      options.logger ?? {
        level: options.logLevel ?? config.logLevel,
        ...(options.logStream ? { stream: options.logStream } : {}),
        // never log bodies, cookies, authorization headers or credential path segments: the
        // serializers copy named fields only (src/http/log-redaction.ts)
        serializers: { req: serializeRequest, res: serializeReply },
      },
    bodyLimit: config.bodyLimitBytes,
    // a UPN in a path may be 113 characters (more when percent-encoded)
    routerOptions: { maxParamLength: 512 },
    // TRUST_PROXY means one proxy in front of us (hop 0, the socket's peer): the client address is
    // the one it appended to X-Forwarded-For (the last entry), never an earlier one the client wrote
    // itself, which would give every request a throttle bucket of its choosing (`true` trusts the
    // whole chain)
    trustProxy: config.trustProxy ? (_address: string, hop: number) => hop === 0 : false,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    logController: new OneLinePerRequest(),
    return503OnClosing: true,
    // Fastify's types describe Ajv's factory; at run time any factory returning a compiler will do
    schemaController: { compilersFactory: documentOnlyCompilers as unknown as CompilersFactory },
    // a URL the router refuses (a malformed %-escape, a path segment over maxParamLength) is answered
    // before any hook runs; Fastify's own answer would carry none of the security headers
    frameworkErrors: (err, request, reply) => {
      void reply.headers(isApiRoute(request.url) ? apiHeaders : pageHeaders).header('request-id', request.id);
      const message =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A segment of the URL path is longer than 512 characters.'
        : err.code === 'FST_ERR_BAD_URL' ? 'The URL path holds a malformed percent-encoding.'
        : undefined;
      void sendError(request, reply, message ? new AppError('request.invalid', { message }) : toAppError(err));
    },
  }) as unknown as FastifyInstance;

  const metrics = createMetrics();
  app.decorate('metrics', metrics);

  await app.register(cookie);
  // form bodies: strict UTF-8, repeated names as arrays (src/http/body-encoding.ts)
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit: config.bodyLimitBytes }, (_request, body, done) => {
    try {
      done(null, parseFormBody(body));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  // JSON bodies: Fastify's parser, plus a refusal of repeated keys (JSON.parse would keep the last
  // one silently) and, as Fastify does, of __proto__ / constructor.prototype keys.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: config.bodyLimitBytes }, (_request, body, done) => {
    let text: string;
    try {
      text = decodeUtf8Body(body);
    } catch (err) {
      return done(err as Error, undefined);
    }
    if (text.trim() === '') return done(new AppError('request.invalid_json', { message: 'The request body is empty; it must be a JSON object.' }), undefined);
    let parsed: unknown;
    let unstorable: string | null = null;
    try {
      parsed = JSON.parse(text, (key, value: unknown) => {
        if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype'))) {
          throw new SyntaxError(`the property name '${key}' is not allowed`);
        }
        unstorable ??= unstorableText(key, value);
        return value;
      });
    } catch (err) {
      return done(new AppError('request.invalid_json', { message: `The request body is not valid JSON: ${(err as Error).message}` }), undefined);
    }
    if (unstorable !== null) return done(new AppError('request.invalid', { message: unstorable }), undefined);
    const duplicate = findDuplicateKey(text);
    if (duplicate !== null) {
      return done(new AppError('request.invalid_json', { message: `The request body names the property '${duplicate}' twice in one object.`, data: { duplicateKey: duplicate } }), undefined);
    }
    return done(null, parsed);
  });

  // the security headers and the request id, on every answer; the JSON API's routes get the API's
  // shorter set, pages and unknown paths the page set
  app.addHook('onRequest', (request, reply, done) => {
    void reply.headers(isApiRoute(request.routeOptions.url) ? apiHeaders : pageHeaders).header('request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  app.setErrorHandler((err, request, reply) => {
    const appError = toAppError(err);
    if (appError.code === 'internal') request.log.error({ err }, 'unhandled error');
    // the driver's code and message only (a pg error may carry the query's parameters elsewhere)
    if (appError.code === 'service.database_unavailable') request.log.warn({ db: { code: (err as { code?: unknown }).code, message: (err as Error).message } }, 'database unavailable');
    return sendError(request, reply, appError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new AppError('request.not_found', { message: `Resource not found for the segment '${request.url.split('?')[0] ?? ''}'.` })),
  );

  await registerOpenApi(app, config, POSTERN_VERSION);
  registerRoutes(app, services);
  openApiRoute(app);
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}
