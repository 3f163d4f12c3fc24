import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as FastifyModule from 'fastify';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';

/**
 * Issue 10, deliverable 8 — headers on every page (security-requirements §4 case 2 for the reset
 * pages; ASVS5 3.4). The route list is not written here: it is read from Fastify itself (an onRoute
 * hook put on every app the moment Fastify builds it, below), so a route added later is requested
 * here too and fails if its answer lacks the headers. Each route is requested once per method with
 * no credentials, and once per config (a plain-http PUBLIC_URL and an https one).
 *
 * What every answer must carry (src/http/security-headers.ts): a CSP with frame-ancestors 'none',
 * X-Content-Type-Options nosniff, HSTS exactly when PUBLIC_URL is https, and a request id. Pages
 * (everything that is not the JSON API: the portals, the reset and unlock pages, /healthz, unknown
 * paths) also carry Referrer-Policy no-referrer, X-Frame-Options and the page CSP (scripts and styles
 * from 'self' only, no inline); the JSON API (/v1.0, /api, the OAuth JSON endpoints) carries the
 * API set instead, with a CSP that loads nothing — the deliberate split that
 * test/http/security-headers.test.ts checks value by value.
 */

interface SeenRoute {
  method: string;
  url: string;
}
const seen = vi.hoisted(() => ({ routes: new WeakMap<object, SeenRoute[]>(), matched: new Map<string, string>() }));

// Every Fastify app built in this file records its routes (onRoute) and, per request id, which route
// answered (so a URL made up for a route is known to have reached it, not the 404 handler).
vi.mock('fastify', async (importOriginal) => {
  const mod = await importOriginal<typeof FastifyModule>();
  const factory = mod.default as unknown as (opts?: object) => FastifyInstance;
  const recording = (opts?: object): FastifyInstance => {
    const app = factory(opts);
    const routes: SeenRoute[] = [];
    seen.routes.set(app, routes);
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url ?? route.path });
    });
    app.addHook('onRequest', (request, _reply, done) => {
      seen.matched.set(request.id, request.routeOptions.url ?? '(not found)');
      done();
    });
    return app;
  };
  return { ...mod, default: Object.assign(recording, mod.default), fastify: recording };
});

/** The JSON API, as src/http/security-headers.ts documents it: /v1.0, /api and the three OAuth JSON endpoints. */
const OAUTH_JSON = ['/:tenant/oauth2/v2.0/token', '/:tenant/v2.0/.well-known/openid-configuration', '/:tenant/discovery/v2.0/keys'];
const isApi = (routeUrl: string) => routeUrl.startsWith('/v1.0/') || routeUrl.startsWith('/api/') || OAUTH_JSON.includes(routeUrl);

const HSTS = 'max-age=31536000; includeSubDomains';

function expectHeaders(res: LightMyRequestResponse, https: boolean, page: boolean, what: string): void {
  const h = res.headers;
  expect(res.statusCode, `${what}: no 5xx`).toBeLessThan(500);
  const csp = String(h['content-security-policy'] ?? '');
  expect(csp, `${what}: CSP frame-ancestors`).toMatch(/frame-ancestors 'none'(;|$)/);
  expect(h['x-content-type-options'], `${what}: nosniff`).toBe('nosniff');
  expect(h['request-id'], `${what}: request id`).toMatch(/^[0-9a-f-]{36}$/);
  if (https) expect(h['strict-transport-security'], `${what}: HSTS over https`).toBe(HSTS);
  else expect(h['strict-transport-security'], `${what}: no HSTS over http`).toBeUndefined();
  if (page) {
    expect(h['referrer-policy'], `${what}: Referrer-Policy`).toBe('no-referrer');
    expect(h['x-frame-options'], `${what}: X-Frame-Options`).toBe('SAMEORIGIN');
    expect(csp, `${what}: page CSP`).toMatch(/default-src 'self'/);
    expect(csp, `${what}: page CSP scripts`).toMatch(/script-src 'self'(;|$)/);
    expect(csp, `${what}: page CSP`).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    if (https) expect(csp, `${what}: upgrade-insecure-requests`).toContain('upgrade-insecure-requests');
  } else {
    expect(csp, `${what}: API CSP`).toMatch(/^default-src 'none'/);
  }
}

describe.each([
  { name: 'http PUBLIC_URL', https: false, publicUrl: 'http://localhost:8080' },
  { name: 'https PUBLIC_URL', https: true, publicUrl: 'https://id.contoso.test' },
])('security headers on every route ($name)', ({ https, publicUrl }) => {
  const webDir = mkdtempSync(join(tmpdir(), 'postern-headers-web-'));
  let ctx: TestContext;
  let routes: SeenRoute[];

  beforeAll(async () => {
    mkdirSync(join(webDir, 'assets'));
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><html><body><div id="root"></div><script type="module" src="/assets/app-1.js"></script></body></html>');
    writeFileSync(join(webDir, 'assets', 'app-1.js'), 'export {}');
    ctx = await createTestContext('sqlite', { env: { PUBLIC_URL: publicUrl, WEB_DIR: webDir } });
    routes = seen.routes.get(ctx.app) ?? [];
  });
  afterAll(async () => {
    await ctx?.close();
    rmSync(webDir, { recursive: true, force: true });
  });

  /** A concrete URL that the route's pattern matches. */
  function concrete(routeUrl: string): string {
    if (routeUrl === '/assets/*') return '/assets/app-1.js';
    let url = routeUrl.replace(/:tenant\b/g, ctx.tenant.tenant.id).replace(/:\w+/g, 'x').replace(/\*/g, 'x');
    // /v1.0/directoryRoles(roleTemplateId=:key — the router takes `'…')` as the parameter
    if (url.includes('(') && !url.includes(')')) url = url.replace(/=x$/, "='x')");
    return url;
  }

  it('finds the routes of every part of the app through Fastify (so a new route is checked without being listed)', () => {
    const urls = new Set(routes.map((r) => r.url));
    for (const expected of ['/', '/healthz', '/metrics', '/reset', '/reset/*', '/unlock', '/signin', '/account/*', '/admin/*', '/assets/*', '/api/v1/sspr/flows', '/api/v1/session', '/v1.0/users', '/v1.0/me/changePassword', '/api/v1/agent/register', '/:tenant/oauth2/v2.0/token', '/api/v1/openapi.json']) {
      expect(urls, expected).toContain(expected);
    }
    expect(routes.length).toBeGreaterThan(100);
  });

  it('every route answers every method with the headers, with no credentials', async () => {
    const checked: string[] = [];
    for (const route of routes) {
      const url = concrete(route.url);
      const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method) ? { payload: {} } : {};
      const res = await ctx.app.inject({ method: route.method as 'GET', url, ...body });
      const what = `${route.method} ${route.url} (${url}) → ${res.statusCode}`;
      expect(seen.matched.get(String(res.headers['request-id'])), `${what}: reached its route`).toBe(route.url);
      expectHeaders(res, https, !isApi(route.url), what);
      checked.push(`${route.method} ${route.url}`);
    }
    expect(checked.length).toBe(routes.length);
  });

  it.each(['/', '/reset', '/reset/verify', '/reset/new-password?flow=abc', '/unlock', '/unlock/done', '/signin', '/account/password', '/admin/users/1'])('the portal page %s is the app shell with the page headers', async (url) => {
    const res = await ctx.app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expectHeaders(res, https, true, url);
  });

  it('an error page from the web portals, an asset, an unknown asset and unknown paths carry the page headers', async () => {
    for (const [url, status] of [['/assets/app-1.js', 200], ['/assets/missing.js', 404], ['/no-such-page', 404], ['/reset%2F..%2Fadmin', 404]] as const) {
      const res = await ctx.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(status);
      expectHeaders(res, https, true, url);
    }
  });

  // URLs the router itself refuses are answered before any hook runs (Fastify's frameworkErrors):
  // src/http/app.ts answers them like any other error, headers included (they carried none before)
  it.each([
    { name: 'a page path over the parameter limit', url: `/${'a'.repeat(3000)}`, api: false },
    { name: 'a Graph key over the parameter limit', url: `/v1.0/users/${'a'.repeat(600)}`, api: true },
    { name: 'a malformed %-escape in a Graph key', url: '/v1.0/users/%E0%A4%A', api: true },
    { name: 'a malformed %-escape in a reset flow id', url: '/api/v1/sspr/flows/%ZZ/password', api: true, method: 'POST' },
    { name: 'a malformed %-escape in a page path', url: '/reset/%E0%A4%A', api: false },
  ])('the router refusing $name answers 400 with the headers', async ({ url, api, method }) => {
    const res = await ctx.app.inject({ method: method === 'POST' ? 'POST' : 'GET', url, ...(method === 'POST' ? { payload: {} } : {}) });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { code: string } }>().error.code).toMatch(/^(request\.invalid|Request_BadRequest)$/);
    expectHeaders(res, https, !api, url.slice(0, 40));
  });

  const errors = [
    { name: '400 (a body that is not JSON)', status: 400, api: true, method: 'POST', url: '/api/v1/sspr/flows', payload: '{"userPrincipalName":', contentType: 'application/json' },
    { name: '400 (a Graph body with a repeated key)', status: 400, api: true, method: 'POST', url: '/v1.0/users', payload: '{"a":1,"a":2}', contentType: 'application/json' },
    { name: '401 (a Graph call without a token)', status: 401, api: true, method: 'GET', url: '/v1.0/users' },
    { name: '401 (an API call without a session)', status: 401, api: true, method: 'GET', url: '/api/v1/me/security-info' },
    { name: '401 (a bad bearer token)', status: 401, api: true, method: 'GET', url: '/v1.0/me', authorization: 'Bearer not-a-token' },
    { name: '404 (an unknown Graph path)', status: 404, api: false, method: 'GET', url: '/v1.0/no-such-thing' },
    { name: '404 (an unknown API path)', status: 404, api: false, method: 'GET', url: '/api/v1/no-such-thing' },
    // Fastify answers a method a path does not have as an unknown route (404), never a bare 405
    { name: '404/405 (a method the path does not have)', status: [404, 405], api: false, method: 'PUT', url: '/healthz', payload: '{}', contentType: 'application/json' },
    { name: '404/405 (a method the reset page does not have)', status: [404, 405], api: false, method: 'POST', url: '/reset', payload: '{}', contentType: 'application/json' },
    { name: '413 (a body over the limit)', status: 413, api: true, method: 'POST', url: '/api/v1/sspr/flows', payload: JSON.stringify({ userPrincipalName: 'x'.repeat(70 * 1024) }), contentType: 'application/json' },
    { name: '413 (a form over the limit on the token endpoint)', status: 413, api: true, method: 'POST', url: 'TOKEN', payload: `password=${'x'.repeat(70 * 1024)}`, contentType: 'application/x-www-form-urlencoded' },
    { name: '415 (a body that is not JSON by type)', status: 415, api: true, method: 'POST', url: '/api/v1/sspr/flows', payload: '<flow/>', contentType: 'application/xml' },
    { name: '415 (XML to Graph)', status: 415, api: true, method: 'POST', url: '/v1.0/users', payload: '<user/>', contentType: 'application/xml' },
    { name: '400/415 (JSON to the token endpoint)', status: [400, 415], api: true, method: 'POST', url: 'TOKEN', payload: '{}', contentType: 'application/json' },
  ] as const;

  it.each(errors)('the error answer $name carries the headers', async (e) => {
    const url = e.url === 'TOKEN' ? `/${ctx.tenant.tenant.id}/oauth2/v2.0/token` : e.url;
    const headers: Record<string, string> = {};
    if ('contentType' in e) headers['content-type'] = e.contentType;
    if ('authorization' in e) headers.authorization = e.authorization;
    const res = await ctx.app.inject({ method: e.method, url, headers, ...('payload' in e ? { payload: e.payload } : {}) });
    expect([e.status].flat()).toContain(res.statusCode);
    expectHeaders(res, https, !e.api, e.name);
  });
});
