import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

/**
 * Whatever a client sends, the answer is a documented 2xx/4xx with a Graph error body — never a
 * 500. Random JSON bodies, random property bags resembling users, and random OData query strings.
 */
describe.each(testDialects())('Graph API never answers 5xx on %s', (dialect) => {
  let ctx: TestContext;
  let token: string;
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    token = await ctx.appToken(['User.ReadWrite.All', 'Group.ReadWrite.All', 'RoleManagement.ReadWrite.Directory']);
  });
  afterAll(async () => ctx.close());

  const send = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: string) =>
    ctx.app.inject({ method, url, payload, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });

  const expectClientOrSuccess = (res: { statusCode: number; body: string }) => {
    expect(res.statusCode, res.body).toBeLessThan(500);
    if (res.statusCode >= 400) {
      const body = JSON.parse(res.body) as { error: { code: string; message: string } };
      expect(body.error.code).toEqual(expect.any(String));
      expect(body.error.message.length).toBeGreaterThan(0);
    }
  };

  const userLike = fc.record(
    {
      accountEnabled: fc.oneof(fc.boolean(), fc.string(), fc.constant(null)),
      displayName: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      userPrincipalName: fc.oneof(fc.emailAddress(), fc.string(), fc.constant('x@contoso.test')),
      passwordProfile: fc.oneof(
        fc.record({ password: fc.oneof(fc.string(), fc.integer()), forceChangePasswordNextSignIn: fc.anything() }, { requiredKeys: [] }),
        fc.anything(),
      ),
      mobilePhone: fc.anything(),
      otherMails: fc.oneof(fc.array(fc.string()), fc.anything()),
      passwordPolicies: fc.oneof(fc.constantFrom('None', 'DisableStrongPassword, DisablePasswordExpiration', 'Nope'), fc.string()),
    },
    { requiredKeys: [] },
  );

  it('random user-shaped bodies on create and update', async () => {
    await fc.assert(
      fc.asyncProperty(userLike, async (body) => {
        expectClientOrSuccess(await send('POST', '/v1.0/users', JSON.stringify(body)));
        expectClientOrSuccess(await send('PATCH', `/v1.0/users/${ctx.tenant.admin.id}`, JSON.stringify(body)));
      }),
      { numRuns: 60 },
    );
  });

  it('random JSON and non-JSON bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json(), fc.string()), async (payload) => {
        expectClientOrSuccess(await send('POST', '/v1.0/users', payload));
        expectClientOrSuccess(await send('POST', '/v1.0/groups', payload));
        expectClientOrSuccess(await send('POST', '/v1.0/roleManagement/directory/roleAssignments', payload));
      }),
      { numRuns: 60 },
    );
  });

  it('random OData query strings', async () => {
    const fragment = fc.oneof(
      fc.string(),
      fc.constantFrom("startswith(displayName,'A')", "displayName eq 'x''y'", 'accountEnabled eq true', "id eq 'z' and mail eq 'q'", '(', "'", 'eq eq eq'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('$filter', '$select', '$top', '$skiptoken', '$orderby', '$search', '$count'), fragment, async (option, value) => {
        const qs = `${option}=${encodeURIComponent(value)}`;
        expectClientOrSuccess(await send('GET', `/v1.0/users?${qs}`));
        expectClientOrSuccess(await send('GET', `/v1.0/groups?${qs}`));
      }),
      { numRuns: 80 },
    );
  });

  it('tells a client without a token which scheme to use', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/v1.0/users' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="postern"');
    const bad = await ctx.app.inject({ method: 'GET', url: '/v1.0/users', headers: { authorization: 'Bearer nope' } });
    expect(bad.headers['www-authenticate']).toBe('Bearer realm="postern", error="invalid_token"');
  });
});
