import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueUserAccessToken } from '../../src/domain/access-tokens.js';
import { ADMIN_PASSWORD, createTestContext, testConfig, testDialects, type TestContext } from '../helpers/context.js';

type Jwk = { kid: string; kty: string; use: string; alg: string; crv?: string; n?: string; e?: string; d?: string };

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
    const keys = res.json().keys as Jwk[];
    expect(keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    for (const k of keys.filter((key) => key.kid === oldKid || key.kid === newKid)) expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', use: 'sig', alg: 'ES256' });
    for (const k of keys) expect(k.d).toBeUndefined(); // never the private part

    // Old keys leave the JWKS once every token they signed has expired.
    ctx.clock.advance(2 * 3600 * 1000 + 1000);
    const later = (await ctx.app.inject({ method: 'GET', url: `/${tenantId}/discovery/v2.0/keys` })).json().keys as { kid: string }[];
    expect(later.map((k) => k.kid)).not.toContain(oldKid);
    expect(later.map((k) => k.kid)).toContain(newKid);
  });

  const passwordGrant = (scope: string) =>
    ctx.app.inject({
      method: 'POST',
      url: `/${tenantId}/oauth2/v2.0/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'password', client_id: '14d82eec-204b-4c2f-b7e8-296a70dab67e', username: 'admin@contoso.test', password: ADMIN_PASSWORD, scope }).toString(),
    });

  it('signs access tokens with ES256 and ID tokens with RS256, both checkable against the published keys', async () => {
    const res = await passwordGrant('openid profile User.Read');
    expect(res.statusCode).toBe(200);
    const { access_token: access, id_token: id } = res.json<{ access_token: string; id_token: string }>();
    expect(decodeProtectedHeader(access).alg).toBe('ES256');
    expect(decodeProtectedHeader(id).alg).toBe('RS256');
    const jwks = createLocalJWKSet((await ctx.app.inject({ method: 'GET', url: `/${tenantId}/discovery/v2.0/keys` })).json<JSONWebKeySet>());
    const issuer = `http://localhost:8080/${tenantId}/v2.0`;
    const now = ctx.clock.now();
    expect((await jwtVerify(access, jwks, { issuer, currentDate: now, algorithms: ['ES256'] })).payload.aud).toBe('https://graph.microsoft.com');
    expect((await jwtVerify(id, jwks, { issuer, currentDate: now, algorithms: ['RS256'] })).payload.aud).toBe('14d82eec-204b-4c2f-b7e8-296a70dab67e');
    // the access token works on Graph; the ID token (another audience) does not
    expect((await ctx.app.inject({ method: 'GET', url: '/v1.0/me', headers: { authorization: `Bearer ${access}` } })).statusCode).toBe(200);
    expect((await ctx.app.inject({ method: 'GET', url: '/v1.0/me', headers: { authorization: `Bearer ${id}` } })).statusCode).toBe(401);
  });

  it('refuses a token whose header names another algorithm than its key’s', async () => {
    const access = (await passwordGrant('User.Read')).json<{ access_token: string }>().access_token;
    const { kid } = decodeProtectedHeader(access);
    const claims = await ctx.services.tokens.verify(access);
    expect(claims).toBeDefined();
    // the same claims under the EC key's kid, "signed" with HS256 using the published key as the secret
    const jwk = (await ctx.app.inject({ method: 'GET', url: `/${tenantId}/discovery/v2.0/keys` })).json<{ keys: Jwk[] }>().keys.find((k) => k.kid === kid)!;
    const forged = await new SignJWT({ ...claims, jti: 'forged' }).setProtectedHeader({ alg: 'HS256', kid: kid! }).sign(new TextEncoder().encode(JSON.stringify(jwk)));
    expect(await ctx.services.tokens.verify(forged)).toBeUndefined();
    expect((await ctx.app.inject({ method: 'GET', url: '/v1.0/me', headers: { authorization: `Bearer ${forged}` } })).statusCode).toBe(401);
  });
});

describe('ACCESS_TOKEN_ALG=RS256', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext('sqlite', { env: { ACCESS_TOKEN_ALG: 'RS256' } });
  });
  afterAll(async () => ctx.close());

  it('signs access tokens as Azure does, with the same key as ID tokens, and they work', async () => {
    const token = await ctx.userToken('admin@contoso.test');
    expect(decodeProtectedHeader(token).alg).toBe('RS256');
    expect((await ctx.app.inject({ method: 'GET', url: '/v1.0/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    const keys = (await ctx.app.inject({ method: 'GET', url: `/${ctx.tenant.tenant.id}/discovery/v2.0/keys` })).json<{ keys: Jwk[] }>().keys;
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
  });

  it('refuses an unknown algorithm name', () => {
    expect(() => testConfig('sqlite::memory:', { ACCESS_TOKEN_ALG: 'HS256' })).toThrow(/ACCESS_TOKEN_ALG/);
  });
});
