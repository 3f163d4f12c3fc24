import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

/** Bad input on the users resource: every case a 4xx Graph error that names the problem, never a 500. */

const PASSWORD = 'Plinth-Quokka-Vortex-8';

function newUser(upn: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { accountEnabled: true, displayName: 'Test User', mailNickname: 'test', userPrincipalName: upn, passwordProfile: { password: PASSWORD }, ...extra };
}

interface GraphErrorBody {
  error: { code: string; message: string; innerError: { code: string } };
}

describe.each(testDialects())('Graph users input validation on %s', (dialect) => {
  let ctx: TestContext;
  let token: string;
  let userId: string;

  const send = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: string | Record<string, unknown>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    ctx.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, ...(typeof payload === 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(payload !== undefined ? { payload } : {}),
    });
  const errorOf = (res: LightMyRequestResponse): GraphErrorBody['error'] => res.json<GraphErrorBody>().error;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    token = await ctx.appToken(['User.ReadWrite.All']);
    const res = await send('POST', '/v1.0/users', newUser('existing.user@contoso.test'));
    userId = res.json().id;
    // a domain verified by another tenant
    await createTenant(ctx.services, systemContext(ctx.services), { name: 'Fabrikam', domain: 'fabrikam.test', adminUpn: 'admin@fabrikam.test', adminPassword: ADMIN_PASSWORD });
  });
  afterAll(async () => ctx.close());
  afterEach(() => vi.restoreAllMocks());

  it('answers malformed JSON with 400 BadRequest', async () => {
    const res = await send('POST', '/v1.0/users', '{"displayName": "x",');
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('BadRequest');
    expect(errorOf(res).innerError.code).toBe('request.invalid_json');
  });

  it('answers a body that is not a JSON object with 400 naming the expected shape', async () => {
    for (const [payload, type] of [['displayName=x', 'text/plain'], ['[1,2]', 'application/json'], ['null', 'application/json']]) {
      const res = await send('POST', '/v1.0/users', payload, { 'content-type': type! });
      expect(res.statusCode, payload).toBe(400);
      expect(errorOf(res).message).toContain('expected object');
    }
    expect((await send('POST', '/v1.0/users', '<x/>', { 'content-type': 'application/xml' })).statusCode).toBe(415);
  });

  it.each([
    [{ favouriteColour: 'blue' }, 'favouriteColour'],
    [{ passwordProfile: { password: PASSWORD, expires: 'never' } }, 'expires'],
  ])('refuses an unknown property %o naming it', async (extra, name) => {
    const res = await send('POST', '/v1.0/users', newUser('unknown.prop@contoso.test', extra));
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).innerError.code).toBe('request.unknown_property');
    expect(errorOf(res).message).toContain(`'${name}'`);
  });

  it.each([
    ['accountEnabled', { accountEnabled: undefined }],
    ['displayName', { displayName: undefined }],
    ['displayName', { displayName: '   ' }],
    ['passwordProfile', { passwordProfile: undefined }],
    ['passwordProfile.password', { passwordProfile: { forceChangePasswordNextSignIn: true } }],
    ['accountEnabled', { accountEnabled: 'yes' }],
    ['businessPhones', { businessPhones: ['+1 555 0100', '+1 555 0101'] }],
    ['mail', { mail: 'not an address' }],
    ['passwordPolicies', { passwordPolicies: 'NeverExpire' }],
    ['passwordPolicies', { passwordPolicies: 'None, DisableStrongPassword' }],
    ['@odata.type', { '@odata.type': '#microsoft.graph.group' }],
  ])('refuses a bad or missing %s', async (name, extra) => {
    const body = newUser('bad.field@contoso.test', extra);
    for (const [k, v] of Object.entries(extra)) if (v === undefined) delete body[k];
    const res = await send('POST', '/v1.0/users', body);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).innerError.code).toBe('request.invalid');
    expect(errorOf(res).message).toContain(`'${name}'`);
  });

  it('normalises valid passwordPolicies and stores the optional properties', async () => {
    const res = await send(
      'POST',
      '/v1.0/users',
      newUser('full.profile@contoso.test', { passwordPolicies: 'disableStrongPassword,DisablePasswordExpiration', otherMails: ['a@example.com'], onPremisesImmutableId: 'abc==', givenName: 'Full', surname: 'Profile' }),
    );
    expect(res.statusCode).toBe(201);
    const read = await send('GET', `/v1.0/users/${res.json().id}?$select=passwordPolicies,otherMails,onPremisesImmutableId,givenName,surname,onPremisesSyncEnabled`);
    expect(read.json()).toMatchObject({ passwordPolicies: 'DisableStrongPassword, DisablePasswordExpiration', otherMails: ['a@example.com'], onPremisesImmutableId: 'abc==', givenName: 'Full', onPremisesSyncEnabled: null });
  });

  it('answers a 1 MB body with 413 Request_EntityTooLarge without hashing', async () => {
    const hash = vi.spyOn(ctx.services.hasher, 'hash');
    const res = await send('POST', '/v1.0/users', newUser('big@contoso.test', { passwordProfile: { password: 'a'.repeat(1024 * 1024) } }));
    expect(res.statusCode).toBe(413);
    expect(errorOf(res).code).toBe('Request_EntityTooLarge');
    expect(hash).not.toHaveBeenCalled();
  });

  it('refuses a 60 KB password with password.policy_violation before hashing, on create and on reset', async () => {
    const resetter = await ctx.appToken(['User-PasswordProfile.ReadWrite.All']);
    const hash = vi.spyOn(ctx.services.hasher, 'hash');
    const huge = 'Aa1!'.repeat(15 * 1024);
    const started = performance.now();
    const res = await send('POST', '/v1.0/users', newUser('huge.password@contoso.test', { passwordProfile: { password: huge } }));
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).innerError.code).toBe('password.policy_violation');
    expect(errorOf(res).message).toContain('256');
    expect(res.body).not.toContain('Aa1!Aa1!');
    expect(performance.now() - started).toBeLessThan(1000);

    const reset = await ctx.app.inject({ method: 'PATCH', url: `/v1.0/users/${userId}`, headers: { authorization: `Bearer ${resetter}` }, payload: { passwordProfile: { password: huge } } });
    expect(errorOf(reset).innerError.code).toBe('password.policy_violation');
    expect(hash).not.toHaveBeenCalled();
  });

  it.each([
    ['no @', 'nobody.contoso.test', 'no @'],
    ['two @', 'a@b@contoso.test', 'more than one @'],
    ['65-character local part', `${'a'.repeat(65)}@contoso.test`, 'longer than 64'],
    ['49-character domain', `a@${'d'.repeat(44)}.test`, 'longer than 48'],
    ['114 characters in all', `${'a'.repeat(64)}@${'d'.repeat(44)}.test`, 'longer than 113'],
    ["'.' before the @", 'adele.@contoso.test', 'period'],
    ['a space', 'adele vance@contoso.test', 'may only contain'],
    ["a '%'", 'adele%vance@contoso.test', 'may only contain'],
    ['an empty local part', '@contoso.test', 'empty'],
  ])('refuses a UPN with %s', async (_case, upn, reason) => {
    const res = await send('POST', '/v1.0/users', newUser(upn));
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).innerError.code).toBe('user.upn_invalid');
    expect(errorOf(res).message).toContain(reason);
  });

  it('refuses a duplicate UPN in another case with Graph\'s message', async () => {
    const res = await send('POST', '/v1.0/users', newUser('EXISTING.User@Contoso.Test'));
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).innerError.code).toBe('user.upn_taken');
    expect(errorOf(res).message).toBe('Another object with the same value for property userPrincipalName already exists.');
  });

  it.each(['someone@unverified.test', 'someone@fabrikam.test'])('refuses a domain the tenant has not verified: %s', async (upn) => {
    const res = await send('POST', '/v1.0/users', newUser(upn));
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).innerError.code).toBe('user.upn_domain_unverified');
    expect(errorOf(res).message).toContain('verified domain');
  });

  it('validates PATCH bodies the same way', async () => {
    await send('POST', '/v1.0/users', newUser('taken@contoso.test'));
    const cases: [Record<string, unknown>, string][] = [
      [{ nickname: 'x' }, 'request.unknown_property'],
      [{ displayName: null }, 'request.invalid'],
      [{ passwordProfile: { password: PASSWORD, reason: 'x' } }, 'request.unknown_property'],
      [{ userPrincipalName: 'TAKEN@contoso.test' }, 'user.upn_taken'],
      [{ userPrincipalName: 'no-at-sign' }, 'user.upn_invalid'],
      [{ userPrincipalName: 'x@unverified.test' }, 'user.upn_domain_unverified'],
    ];
    for (const [body, code] of cases) {
      const res = await send('PATCH', `/v1.0/users/${userId}`, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).innerError.code).toBe(code);
    }
    expect((await send('PATCH', `/v1.0/users/${userId}`, '[1,')).statusCode).toBe(400);
    // a change of case only is the same user's own UPN
    expect((await send('PATCH', `/v1.0/users/${userId}`, { userPrincipalName: 'Existing.User@contoso.test', givenName: null })).statusCode).toBe(204);
    expect((await send('GET', `/v1.0/users/${userId}`)).json().userPrincipalName).toBe('Existing.User@contoso.test');
  });

  it.each([
    ["$filter=endswith(mail,'@contoso.test')", 'request.unsupported_query', 'endswith'],
    ['$orderby=displayName', 'request.unsupported_query', 'displayName'],
    ['$search="displayName:a"', 'request.unsupported_query', '$search'],
    ['$count=true', 'request.unsupported_query', '$count'],
    ["$filter=department eq 'x'", 'request.unsupported_query', 'department'],
    ['$select=id,passwordHash', 'request.invalid', 'passwordHash'],
    ['$top=1000', 'request.invalid', '1000'],
    ['$top=0', 'request.invalid', 'between 1 and 999'],
    ['$skiptoken=not-a-token!', 'request.invalid', '$skiptoken'],
    ["$filter=displayName eq 'unterminated", 'request.invalid', 'not closed'],
  ])('refuses the query %s', async (query, code, naming) => {
    const [name, value] = [query.slice(0, query.indexOf('=')), query.slice(query.indexOf('=') + 1)];
    const res = await send('GET', `/v1.0/users?${name}=${encodeURIComponent(value)}`);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).innerError.code).toBe(code);
    expect(errorOf(res).code).toBe(code === 'request.unsupported_query' ? 'Request_UnsupportedQuery' : 'Request_BadRequest');
    expect(errorOf(res).message).toContain(naming);
  });

  it('refuses query options that do not apply to a single user, and users/$count', async () => {
    expect(errorOf(await send('GET', `/v1.0/users/${userId}?$top=5`)).innerError.code).toBe('request.unsupported_query');
    expect(errorOf(await send('GET', `/v1.0/users/${userId}?$select=nope`)).message).toContain("'nope'");
    expect(errorOf(await send('GET', '/v1.0/users/$count')).innerError.code).toBe('request.unsupported_query');
  });

  it('answers an unknown key with 404 and an absurdly long one with a 4xx, never 500', async () => {
    for (const key of ['not-a-guid', 'nobody@contoso.test', 'x'.repeat(90), "x' or '1'='1"]) {
      const res = await send('GET', `/v1.0/users/${encodeURIComponent(key)}`);
      expect(res.statusCode, key.slice(0, 20)).toBe(404);
      expect(errorOf(res).code).toBe('Request_ResourceNotFound');
    }
    const long = await send('GET', `/v1.0/users/${'x'.repeat(2000)}`);
    expect(long.statusCode).toBeGreaterThanOrEqual(400);
    expect(long.statusCode).toBeLessThan(500);
  });
});
