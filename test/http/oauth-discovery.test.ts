import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueUserAccessToken } from '../../src/domain/access-tokens.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

describe.each(testDialects())('OpenID discovery and keys on %s', (dialect) => {
  let ctx: TestContext;
  let tenantId: string;
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    tenantId = ctx.tenant.tenant.id;
  });
  afterAll(async () => ctx.close());

  it('publishes the discovery document with absolute URLs from PUBLIC_URL, by tenant id or domain', async () => {
    for (const key of [tenantId, 'contoso.test', 'CONTOSO.test']) {
      const res = await ctx.app.inject({ method: 'GET', url: `/${key}/v2.0/.well-known/openid-configuration` });
      expect(res.statusCode).toBe(200);
      const doc = res.json();
      expect(doc).toMatchObject({
        issuer: `http://localhost:8080/${tenantId}/v2.0`,
        token_endpoint: `http://localhost:8080/${tenantId}/oauth2/v2.0/token`,
        jwks_uri: `http://localhost:8080/${tenantId}/discovery/v2.0/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      });
      expect(doc.grant_types_supported).toEqual(expect.arrayContaining(['client_credentials', 'password', 'refresh_token']));
    }
  });

  it('names the issuer that the tokens carry, and the token endpoint it names works', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: `/contoso.test/v2.0/.well-known/openid-configuration` })).json<{ token_endpoint: string; issuer: string }>();
    const tokenPath = new URL(doc.token_endpoint).pathname;
    const res = await ctx.app.inject({
      method: 'POST',
      url: tokenPath,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'password',
        client_id: '14d82eec-204b-4c2f-b7e8-296a70dab67e',
        username: 'admin@contoso.test',
        password: ADMIN_PASSWORD,
        scope: 'User.Read',
      }).toString(),
    });
    expect(res.statusCode).toBe(200);
    const claims = await ctx.services.tokens.verify(res.json<{ access_token: string }>().access_token);
    expect(claims?.iss).toBe(doc.issuer);
  });

  it('answers unknown tenants with AADSTS90002', async () => {
    for (const url of ['/nowhere.test/v2.0/.well-known/openid-configuration', '/nowhere.test/discovery/v2.0/keys']) {
      const res = await ctx.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_tenant', error_codes: [90002] });
    }
  });

  it('keeps verifying tokens signed before a key rotation, publishes both keys and signs new tokens with the new key', async () => {
    const user = ctx.tenant.admin;
    const before = await issueUserAccessToken(ctx.services.tokens, { user, roles: [], clientId: 'c', scope: 'User.Read' });
    const oldKid = decodeProtectedHeader(before).kid;
    expect(oldKid).toBeTruthy();

    const newKid = await ctx.services.tokens.rotate();
    expect(newKid).not.toBe(oldKid);
    ctx.clock.advance(1000);

    const after = await issueUserAccessToken(ctx.services.tokens, { user, roles: [], clientId: 'c', scope: 'User.Read' });
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    expect(await ctx.services.tokens.verify(before)).toBeDefined();
    expect(await ctx.services.tokens.verify(after)).toBeDefined();

    const res = await ctx.app.inject({ method: 'GET', url: `/${tenantId}/discovery/v2.0/keys` });
    expect(res.statusCode).toBe(200);
    const keys = res.json().keys as { kid: string; kty: string; use: string; alg: string; n: string; e: string; d?: string }[];
    expect(keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    for (const k of keys) {
      expect(k).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256' });
      expect(k.d).toBeUndefined(); // never the private part
    }

    // Old keys leave the JWKS once every token they signed has expired.
    ctx.clock.advance(2 * 3600 * 1000 + 1000);
    const later = (await ctx.app.inject({ method: 'GET', url: `/${tenantId}/discovery/v2.0/keys` })).json().keys as { kid: string }[];
    expect(later.map((k) => k.kid)).not.toContain(oldKid);
    expect(later.map((k) => k.kid)).toContain(newKid);
  });
});
