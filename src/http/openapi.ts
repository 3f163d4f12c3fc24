import swagger from '@fastify/swagger';
import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../config.js';

/**
 * The OpenAPI document of the Postern API (SPEC 4.5), served at /api/v1/openapi.json and built from
 * the same zod schemas the handlers parse with: a route names its schemas with `doc(...)`, and
 * @fastify/swagger + fastify-type-provider-zod turn them into JSON Schema. Validation stays in the
 * handlers (`schema.parse`, so errors keep our body and codes); the schemas on the route only document,
 * which is why the app's validator and serializer compilers are pass-throughs. Graph and OAuth routes
 * follow Microsoft's own documents and are left out.
 */
export const API_PREFIX = '/api/v1';

/**
 * The compilers every route gets: route schemas only document, so validation passes the value through
 * and serialization is JSON.stringify. Given to Fastify as its `schemaController` factories (app.ts),
 * they also keep Fastify from loading Ajv and fast-json-stringify at start-up, which it never uses.
 */
export const documentOnlyCompilers = {
  buildValidator: () => () => (value: unknown) => ({ value }),
  buildSerializer: () => () => (data: unknown) => JSON.stringify(data),
};

export async function registerOpenApi(app: FastifyInstance, config: Config, version: string): Promise<void> {
  app.setValidatorCompiler(documentOnlyCompilers.buildValidator());
  app.setSerializerCompiler(documentOnlyCompilers.buildSerializer());
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Postern API',
        version,
        description:
          'What Microsoft Graph has no resource for: password and SSPR policies, the self-service reset flow, security-info registration, sessions and admin actions. Errors are {"error":{"code","message","details"}}.',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /{tenant}/oauth2/v2.0/token' },
          session: { type: 'apiKey', in: 'cookie', name: 'postern_session', description: 'A web session; writes also need the X-CSRF-Token header' },
        },
      },
    },
    transform: (document) => {
      if (!document.url.startsWith(API_PREFIX) || document.url === `${API_PREFIX}/openapi.json`) return { schema: { hide: true }, url: document.url };
      return jsonSchemaTransform(document);
    },
  });
}

export function openApiRoute(app: FastifyInstance): void {
  app.get(`${API_PREFIX}/openapi.json`, async (_request, reply) => reply.header('cache-control', 'no-cache').send(app.swagger()));
}

type ZodSchema = z.ZodType;

export interface RouteDoc {
  summary: string;
  description?: string;
  tags: string[];
  /** how the caller proves who they are; 'none' for the anonymous SSPR flow and sign-in */
  auth: 'user' | 'admin' | 'none';
  body?: ZodSchema;
  params?: ZodSchema;
  querystring?: ZodSchema;
  /** status → what it means */
  responses: Record<number, string>;
}

/** Route options that document a route; merge them with any other route options. */
export function doc(d: RouteDoc): RouteShorthandOptions {
  const response: Record<number, ZodSchema> = {};
  for (const [status, text] of Object.entries(d.responses)) response[Number(status)] = z.unknown().describe(text);
  return {
    schema: {
      summary: d.summary,
      ...(d.description ? { description: d.description } : {}),
      tags: d.tags,
      ...(d.auth === 'none' ? { security: [] } : { security: [{ bearer: [] }, { session: [] }] }),
      ...(d.body ? { body: d.body } : {}),
      ...(d.params ? { params: d.params } : {}),
      ...(d.querystring ? { querystring: d.querystring } : {}),
      response,
    },
  };
}
