import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';

interface Operation {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  requestBody?: { content: Record<string, { schema: { type?: string; required?: string[]; additionalProperties?: unknown; properties?: Record<string, unknown> } }> };
  parameters?: { name: string; in: string }[];
  responses: Record<string, { description: string }>;
}
type Doc = { openapi: string; info: { title: string; version: string }; servers: { url: string }[]; paths: Record<string, Record<string, Operation>> };

/** SPEC 4.5: the Postern API is documented at /api/v1/openapi.json, from the schemas the handlers use. */
describe('the OpenAPI document', () => {
  let ctx: TestContext;
  let doc: Doc;
  beforeAll(async () => {
    ctx = await createTestContext('sqlite');
    const res = await ctx.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    doc = res.json<Doc>();
  });
  afterAll(async () => ctx?.close());

  it('is OpenAPI 3.1 for the Postern API at PUBLIC_URL, without Graph or OAuth paths', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Postern API', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(doc.servers).toEqual([{ url: 'http://localhost:8080' }]);
    const paths = Object.keys(doc.paths);
    expect(paths.length).toBeGreaterThan(20);
    expect(paths.every((p) => p.startsWith('/api/v1/'))).toBe(true);
    expect(paths).not.toContain('/api/v1/openapi.json');
  });

  it('documents every /api/v1 operation with a summary, a tag and its answers', () => {
    const undocumented: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!op.summary || !op.tags?.length || Object.keys(op.responses).every((s) => op.responses[s]!.description === 'Default Response')) {
          undocumented.push(`${method.toUpperCase()} ${path}`);
        }
      }
    }
    expect(undocumented).toEqual([]);
  });

  it('gives request bodies from the handlers’ zod schemas: required fields, no extra properties', () => {
    const start = doc.paths['/api/v1/sspr/flows']!['post']!;
    const schema = start.requestBody!.content['application/json']!.schema;
    expect(schema.required).toEqual(expect.arrayContaining(['userPrincipalName', 'captcha']));
    expect(schema.additionalProperties).toBe(false);
    expect(start.security).toEqual([]); // the flow needs no sign-in
    const verify = doc.paths['/api/v1/sspr/flows/{flowId}/verifications']!['post']!;
    expect(verify.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(['path:flowId']);
    const policy = doc.paths['/api/v1/policies/sspr']!['patch']!;
    expect(Object.keys(policy.requestBody!.content['application/json']!.schema.properties ?? {})).toEqual(expect.arrayContaining(['enabledFor', 'methodsRequired', 'writebackEnabled']));
    expect(policy.security).toEqual([{ bearer: [] }, { session: [] }]);
  });

  it('documents without validating: a bad body still gets the API error body from the handler', async () => {
    const res = await ctx.app.inject({ method: 'POST', url: '/api/v1/sspr/flows', payload: { userPrincipalName: 'a@contoso.test', captcha: 'x', extra: 1 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBeTypeOf('string');
    expect(res.json().error.message).toMatch(/extra/);
  });
});
