import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { createUser } from '../../src/domain/users.js';
import { systemContext } from '../../src/domain/tenants.js';
import type { User } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

/**
 * src/http/auth.ts keeps a bearer token's principal (user standing and roles) for up to a second, and
 * only while no store write touched users, roles, groups or memberships on this node: every change
 * made through Postern applies to the very next request with the same token; a change made behind
 * Postern's back (another node) within the second.
 */
describe.each(testDialects())('a bearer token’s principal follows changes on %s', (dialect) => {
  let ctx: TestContext;
  let ga: string;
  let n = 0;

  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, bearer: string, payload?: unknown) => {
    const res = await ctx.app.inject({ method, url, headers: { authorization: `Bearer ${bearer}` }, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
    return { status: res.statusCode, body: res.body ? res.json<Record<string, unknown>>() : {} };
  };
  const newUser = async (name: string): Promise<User> => {
    n += 1;
    return createUser(ctx.services, systemContext(ctx.services), { tenantId: ctx.tenant.tenant.id, userPrincipalName: `${name}${n}@contoso.test`, displayName: name, password: 'Umber-Kestrel-Pivot-62' });
  };
  // an edit only a User Administrator (or Global Administrator) may make
  const editAs = async (bearer: string, target: User) => (await call('PATCH', `/v1.0/users/${target.id}`, bearer, { jobTitle: `title ${++n}` })).status;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    ga = await ctx.userToken('admin@contoso.test');
  });
  afterAll(async () => ctx.close());

  it('a role assigned or removed applies to the next request', async () => {
    const hal = await newUser('hal');
    const target = await newUser('target');
    const token = await ctx.userToken(hal.userPrincipalName);
    expect(await editAs(token, target)).toBe(403);
    expect(await editAs(token, target)).toBe(403);
    const assigned = await call('POST', '/v1.0/roleManagement/directory/roleAssignments', ga, { principalId: hal.id, roleDefinitionId: ROLE.userAdministrator, directoryScopeId: '/' });
    expect(assigned.status).toBe(201);
    expect(await editAs(token, target)).toBe(204);
    expect((await call('DELETE', `/v1.0/roleManagement/directory/roleAssignments/${String(assigned.body['id'])}`, ga)).status).toBe(204);
    expect(await editAs(token, target)).toBe(403);
  });

  it('membership of a role-assignable group applies to the next request, both ways', async () => {
    const hal = await newUser('hal');
    const target = await newUser('target');
    const token = await ctx.userToken(hal.userPrincipalName);
    const group = await call('POST', '/v1.0/groups', ga, { displayName: `Tier ${n}`, mailNickname: `tier${n}`, mailEnabled: false, securityEnabled: true, isAssignableToRole: true });
    expect(group.status).toBe(201);
    const groupId = String(group.body['id']);
    expect((await call('POST', '/v1.0/roleManagement/directory/roleAssignments', ga, { principalId: groupId, roleDefinitionId: ROLE.userAdministrator, directoryScopeId: '/' })).status).toBe(201);
    expect(await editAs(token, target)).toBe(403);
    expect((await call('POST', `/v1.0/groups/${groupId}/members/$ref`, ga, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${hal.id}` })).status).toBe(204);
    expect(await editAs(token, target)).toBe(204);
    expect((await call('DELETE', `/v1.0/groups/${groupId}/members/${hal.id}/$ref`, ga)).status).toBe(204);
    expect(await editAs(token, target)).toBe(403);
  });

  it('disabling the user or revoking their sessions refuses the token at once', async () => {
    const amy = await newUser('amy');
    const token = await ctx.userToken(amy.userPrincipalName);
    expect((await call('GET', '/v1.0/me', token)).status).toBe(200);
    expect((await call('PATCH', `/v1.0/users/${amy.id}`, ga, { accountEnabled: false })).status).toBe(204);
    expect((await call('GET', '/v1.0/me', token)).status).toBe(401);

    const bob = await newUser('bob');
    const bobToken = await ctx.userToken(bob.userPrincipalName);
    expect((await call('GET', '/v1.0/me', bobToken)).status).toBe(200);
    // the token must be older than the revocation, which counts in whole seconds
    ctx.clock.advance(2_000);
    expect((await call('POST', `/v1.0/users/${bob.id}/revokeSignInSessions`, ga)).status).toBe(200);
    expect((await call('GET', '/v1.0/me', bobToken)).status).toBe(401);
  });

  it('a change written behind Postern’s back (another node) applies within the second', async () => {
    const cy = await newUser('cy');
    const token = await ctx.userToken(cy.userPrincipalName);
    expect((await call('GET', '/v1.0/me', token)).status).toBe(200);
    // straight to the table, as another node's write looks from here: no store function, no signal
    await ctx.services.db.updateTable('users').set({ account_enabled: 0 }).where('id', '=', cy.id).execute();
    await sleep(1_100);
    expect((await call('GET', '/v1.0/me', token)).status).toBe(401);
  });
});
