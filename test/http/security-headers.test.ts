import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createTestContext, type TestContext } from '../helpers/context.js';

/**
 * src/http/security-headers.ts: the security headers are worked out once at start-up and copied onto
 * every answer — successes, errors raised before and after authentication, unknown paths, bodies
 * that fail to parse — and depend on whether PUBLIC_URL is https (HSTS, upgrade-insecure-requests).
 * Pages and unknown paths get the full set (COMMON); the JSON API's routes (/v1.0, /api) and the OAuth
 * endpoints that answer JSON (token, discovery, keys) get the API set OWASP's REST cheat sheet asks
 * for (API), and none of the page-only headers.
 */
const COMMON = {
  'content-security-policy':
    "default-src 'self';base-uri 'self';font-src 'self' data:;form-action 'self';frame-ancestors 'none';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self';connect-src 'self'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

const API = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};
const PAGE_ONLY = Object.keys(COMMON).filter((name) => !(name in API));

describe('security headers', () => {
  let plain: TestContext;
  let https: TestContext;
  beforeAll(async () => {
    plain = await createTestContext('sqlite');
    https = await createTestContext('sqlite', { env: { PUBLIC_URL: 'https://id.contoso.test' } });
  });
  afterAll(async () => {
    await plain?.close();
    await https?.close();
  });

  const pages = [
    { name: 'a health check', method: 'GET', url: '/healthz', status: 200 },
    { name: 'an unknown path', method: 'GET', url: '/no-such-thing', status: 404 },
    { name: 'an unknown path under /v1.0', method: 'GET', url: '/v1.0/no-such-thing', status: 404 },
  ] as const;
  const api = [
    { name: 'a Graph call without a token', method: 'GET', url: '/v1.0/users', status: 401 },
    { name: 'a body that is not JSON', method: 'POST', url: '/api/v1/sspr/flows', status: 400, payload: '{"a":', contentType: 'application/json' },
  ] as const;
  type Case = (typeof pages)[number] | (typeof api)[number];
  const send = (ctx: TestContext, r: Case) =>
    ctx.app.inject({ method: r.method, url: r.url, ...('payload' in r ? { payload: r.payload, headers: { 'content-type': r.contentType } } : {}) });

  it.each(pages)('$name gets every page header, over http', async (r) => {
    const res = await send(plain, r);
    expect(res.statusCode).toBe(r.status);
    for (const [name, value] of Object.entries(COMMON)) expect(res.headers[name], name).toBe(value);
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each(api)('$name gets the JSON API headers and no page headers, over http', async (r) => {
    const res = await send(plain, r);
    expect(res.statusCode).toBe(r.status);
    for (const [name, value] of Object.entries(API)) expect(res.headers[name], name).toBe(value);
    for (const name of PAGE_ONLY) expect(res.headers[name], name).toBeUndefined();
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives the JSON API headers to an authenticated Graph read and to an error raised after authentication', async () => {
    const token = await plain.appToken(['User.Read.All']);
    for (const [url, status] of [[`/v1.0/users/${plain.tenant.admin.id}`, 200], ['/v1.0/users/nobody@contoso.test', 404]] as const) {
      const res = await plain.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode, url).toBe(status);
      for (const [name, value] of Object.entries(API)) expect(res.headers[name], name).toBe(value);
      for (const name of PAGE_ONLY) expect(res.headers[name], name).toBeUndefined();
    }
  });

  it('gives the OAuth token endpoint the JSON API headers with Pragma no-cache, on a token and on an error', async () => {
    const url = `/${plain.tenant.tenant.id}/oauth2/v2.0/token`;
    const form = { grant_type: 'password', client_id: '14d82eec-204b-4c2f-b7e8-296a70dab67e', username: 'admin@contoso.test', scope: 'https://graph.microsoft.com/.default' };
    for (const [password, status] of [[ADMIN_PASSWORD, 200], ['Wrong-Password-1', 400]] as const) {
      const res = await plain.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...form, password }).toString(),
      });
      expect(res.statusCode, password).toBe(status);
      expect(res.json<Record<string, unknown>>()[status === 200 ? 'access_token' : 'error']).toBeTypeOf('string');
      for (const [name, value] of Object.entries(API)) expect(res.headers[name], name).toBe(value);
      for (const name of PAGE_ONLY) expect(res.headers[name], name).toBeUndefined();
      expect(res.headers.pragma).toBe('no-cache');
      expect(res.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('gives OpenID discovery and the signing keys the JSON API headers with their own Cache-Control', async () => {
    for (const [path, cache] of [['v2.0/.well-known/openid-configuration', 'public, max-age=3600'], ['discovery/v2.0/keys', 'public, max-age=300']] as const) {
      const res = await plain.app.inject({ method: 'GET', url: `/${plain.tenant.tenant.id}/${path}` });
      expect(res.statusCode, path).toBe(200);
      expect(res.headers['cache-control'], path).toBe(cache);
      for (const [name, value] of Object.entries(API)) if (name !== 'cache-control') expect(res.headers[name], name).toBe(value);
      for (const name of PAGE_ONLY) expect(res.headers[name], name).toBeUndefined();
    }
  });

  it('lets an API route that sets its own Cache-Control keep it', async () => {
    const res = await plain.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('over https adds HSTS to the JSON API headers', async () => {
    const res = await https.app.inject({ method: 'GET', url: '/v1.0/users' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    for (const [name, value] of Object.entries(API)) expect(res.headers[name], name).toBe(value);
  });

  it('over https adds HSTS and upgrade-insecure-requests', async () => {
    const res = await https.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(res.headers['content-security-policy']).toBe(COMMON['content-security-policy'].replace("style-src 'self';", "style-src 'self';upgrade-insecure-requests;"));
    for (const [name, value] of Object.entries(COMMON)) if (name !== 'content-security-policy') expect(res.headers[name], name).toBe(value);
  });

  it('gives each answer its own request id, and copies the headers rather than sharing them', async () => {
    const a = await plain.app.inject({ method: 'GET', url: '/healthz' });
    const b = await plain.app.inject({ method: 'GET', url: '/healthz' });
    expect(a.headers['request-id']).not.toBe(b.headers['request-id']);
    expect(b.headers['x-frame-options']).toBe('SAMEORIGIN');
  });
});
