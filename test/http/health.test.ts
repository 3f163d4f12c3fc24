import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

describe.each(testDialects())('health and metrics on %s', (dialect) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => ctx.close());

  it('answers /healthz with the database dialect', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', database: dialect });
    expect(res.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('exposes Prometheus metrics including request durations', async () => {
    await ctx.app.inject({ method: 'GET', url: '/healthz' });
    const res = await ctx.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('postern_http_request_duration_seconds_bucket');
    expect(res.body).toContain('route="/healthz"');
  });

  it('answers unknown Graph paths with a Graph error body', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/v1.0/nothingHere' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('Request_ResourceNotFound');
    expect(res.json().error.innerError['request-id']).toBe(res.headers['request-id']);
  });
});
