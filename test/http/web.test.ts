import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';

/**
 * src/http/routes/web.ts: every portal path answers the built index.html (uncached) under the strict
 * security headers; hashed assets are served with a year's cache; without a build the portal paths say
 * how to build it, and the API is unaffected.
 */
describe('web portals (static serving)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-web-test-'));
  let built: TestContext;
  let unbuilt: TestContext;

  beforeAll(async () => {
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log("portal")');
    built = await createTestContext('sqlite', { env: { WEB_DIR: dir } });
    unbuilt = await createTestContext('sqlite', { env: { WEB_DIR: join(dir, 'missing') } });
  });
  afterAll(async () => {
    await built?.close();
    await unbuilt?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['/', '/signin', '/account', '/account/security-info', '/reset', '/unlock', '/admin', '/admin/users/123', '/admin/policies/sspr/registration'])('%s answers the app shell with the security headers', async (url) => {
    const res = await built.app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<div id="root">');
    expect(res.headers['cache-control']).toBe('no-cache');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src 'self'(;|$)/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves hashed assets with a long cache, and nothing outside the build', async () => {
    const asset = await built.app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(String(asset.headers['cache-control'])).toContain('immutable');
    expect((await built.app.inject({ method: 'GET', url: '/assets/../index.html' })).statusCode).not.toBe(500);
    expect((await built.app.inject({ method: 'GET', url: '/assets/%2e%2e/%2e%2e/package.json' })).statusCode).toBe(404);
    expect((await built.app.inject({ method: 'GET', url: '/assets/nope.js' })).statusCode).toBe(404);
  });

  it('unknown paths outside the portals stay JSON 404s; the API is untouched', async () => {
    const res = await built.app.inject({ method: 'GET', url: '/nothing-here' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('request.not_found');
    expect((await built.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('without a build, portal paths say how to build it (503) and the API works', async () => {
    const res = await unbuilt.app.inject({ method: 'GET', url: '/signin' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build');
    expect((await unbuilt.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
