import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/domain/audit-verify.js';
import { isTransitiveMember } from '../../src/domain/groups.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { listAuditEvents } from '../../src/store/audit-events.js';
import type { User } from '../../src/store/users.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

type Json = Record<string, unknown> & { value?: Record<string, unknown>[] };

describe.each(testDialects())('Graph groups on %s', (dialect) => {
  let ctx: TestContext;
  let token: string;
  let alice: User;
  let bob: User;

  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, bearer: string, payload?: unknown) => {
    const res = await ctx.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${bearer}` },
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
    return { status: res.statusCode, body: res.body ? res.json<Json>() : ({} as Json), innerCode: () => res.json<{ error: { innerError: { code: string } } }>().error.innerError.code };
  };
  const newGroup = async (displayName: string, extra: Record<string, unknown> = {}, bearer = token) =>
    call('POST', '/v1.0/groups', bearer, { displayName, mailEnabled: false, mailNickname: displayName.replace(/\s/g, ''), securityEnabled: true, ...extra });
  const addRef = (groupId: string, objectId: string, bearer = token, base = 'https://graph.microsoft.com/v1.0/directoryObjects') =>
    call('POST', `/v1.0/groups/${groupId}/members/$ref`, bearer, { '@odata.id': `${base}/${objectId}` });
  const ids = (body: Json) => (body.value ?? []).map((o) => o.id as string).sort();

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    token = await ctx.appToken(['Group.ReadWrite.All']);
    const deps = ctx.services;
    const tenantId = ctx.tenant.tenant.id;
    alice = await createUser(deps, systemContext(deps), { tenantId, userPrincipalName: 'alice@contoso.test', displayName: 'Alice', password: 'Umber-Kestrel-Pivot-62' });
    bob = await createUser(deps, systemContext(deps), { tenantId, userPrincipalName: 'bob@contoso.test', displayName: 'Bob', password: 'Umber-Kestrel-Pivot-62' });
  });
  afterAll(async () => ctx.close());

  it('creates, reads, updates and deletes a group in Graph shape', async () => {
    const created = await newGroup('Sales Team', { description: 'All of sales' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      displayName: 'Sales Team',
      description: 'All of sales',
      mailEnabled: false,
      mailNickname: 'SalesTeam',
      securityEnabled: true,
      groupTypes: [],
      createdDateTime: '2026-11-25T12:00:00.000Z',
    });
    const id = created.body.id as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const read = await call('GET', `/v1.0/groups/${id}`, token);
    expect(read.status).toBe(200);
    expect(read.body.displayName).toBe('Sales Team');
    expect(read.body).not.toHaveProperty('tenantId');

    const patched = await call('PATCH', `/v1.0/groups/${id}`, token, { description: 'Sales, EMEA', displayName: 'Sales EMEA' });
    expect(patched.status).toBe(204);
    expect((await call('GET', `/v1.0/groups/${id}?$select=displayName,description`, token)).body).toMatchObject({
      displayName: 'Sales EMEA',
      description: 'Sales, EMEA',
    });

    expect((await call('DELETE', `/v1.0/groups/${id}`, token)).status).toBe(204);
    const gone = await call('GET', `/v1.0/groups/${id}`, token);
    expect(gone.status).toBe(404);
    expect(gone.innerCode()).toBe('group.not_found');
    expect((await call('DELETE', `/v1.0/groups/${id}`, token)).status).toBe(404);
  });

  it('refuses bad bodies with a 400 naming the problem', async () => {
    const unknown = await newGroup('X', { colour: 'red' });
    expect(unknown.status).toBe(400);
    expect(unknown.innerCode()).toBe('request.unknown_property');
    expect(JSON.stringify(unknown.body)).toContain('colour');
    const missing = await call('POST', '/v1.0/groups', token, { displayName: 'No nickname', mailEnabled: false, securityEnabled: true });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('mailNickname');
    const badNick = await newGroup('Y', { mailNickname: 'has space' });
    expect(badNick.status).toBe(400);
    const unified = await newGroup('Z', { groupTypes: ['Unified'] });
    expect(unified.status).toBe(400);
    expect(JSON.stringify(unified.body)).toContain('groupTypes');
    const badPatch = await call('PATCH', `/v1.0/groups/${(await newGroup('P')).body.id as string}`, token, { securityEnabled: 'yes' });
    expect(badPatch.status).toBe(400);
  });

  it('lists with $filter eq / startswith, $top and an absolute @odata.nextLink', async () => {
    for (const name of ['Paging A1', 'Paging A2', 'Paging A3', 'Paging B1', 'Paging B2']) expect((await newGroup(name)).status).toBe(201);
    const eq = await call('GET', `/v1.0/groups?$filter=${encodeURIComponent("displayName eq 'paging a2'")}`, token);
    expect(eq.status).toBe(200);
    expect(eq.body.value!.map((g) => g.displayName)).toEqual(['Paging A2']);

    const starts = await call('GET', `/v1.0/groups?$filter=${encodeURIComponent("startswith(displayName,'Paging A')")}`, token);
    expect(starts.body.value!.map((g) => g.displayName).sort()).toEqual(['Paging A1', 'Paging A2', 'Paging A3']);

    const seen: string[] = [];
    let url: string | undefined = `/v1.0/groups?$top=2&$filter=${encodeURIComponent("startswith(displayName,'Paging')")}`;
    let pages = 0;
    while (url) {
      const page = await call('GET', url, token);
      expect(page.status).toBe(200);
      expect(page.body.value!.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.value!.map((g) => g.displayName as string));
      const next = page.body['@odata.nextLink'] as string | undefined;
      if (next) expect(next.startsWith('http://localhost:8080/v1.0/groups?')).toBe(true);
      url = next?.replace('http://localhost:8080', '');
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(['Paging A1', 'Paging A2', 'Paging A3', 'Paging B1', 'Paging B2']);

    const bad = await call('GET', `/v1.0/groups?$filter=${encodeURIComponent("colour eq 'red'")}`, token);
    expect(bad.status).toBe(400);
    expect(bad.innerCode()).toBe('request.unsupported_query');
  });

  it('adds and removes members through members/$ref, refusing duplicates and unknown objects', async () => {
    const g = (await newGroup('Ref Team')).body.id as string;
    expect((await addRef(g, alice.id)).status).toBe(204);
    // Graph SDKs may reference /users/{id} under any base URL: only the last segment counts
    expect((await addRef(g, bob.id, token, 'http://localhost:8080/v1.0/users')).status).toBe(204);

    const members = await call('GET', `/v1.0/groups/${g}/members`, token);
    expect(members.status).toBe(200);
    expect(ids(members.body)).toEqual([alice.id, bob.id].sort());
    expect(members.body.value!.every((m) => m['@odata.type'] === '#microsoft.graph.user')).toBe(true);
    expect(members.body.value!.find((m) => m.id === alice.id)).toMatchObject({ userPrincipalName: 'alice@contoso.test', displayName: 'Alice' });
    expect(JSON.stringify(members.body)).not.toContain('argon2');

    const dup = await addRef(g, alice.id);
    expect(dup.status).toBe(400);
    expect(dup.innerCode()).toBe('group.member_exists');
    expect((dup.body.error as { message: string }).message).toContain('One or more added object references already exist');

    const unknown = await addRef(g, '00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    const malformed = await call('POST', `/v1.0/groups/${g}/members/$ref`, token, { '@odata.id': 'https://graph.microsoft.com/v1.0/directoryObjects/not-a-guid' });
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(malformed.body)).toContain('not-a-guid');
    const noGroup = await addRef('00000000-0000-4000-8000-000000000001', alice.id);
    expect(noGroup.status).toBe(404);
    expect(noGroup.innerCode()).toBe('group.not_found');

    expect((await call('DELETE', `/v1.0/groups/${g}/members/${alice.id}/$ref`, token)).status).toBe(204);
    expect(ids((await call('GET', `/v1.0/groups/${g}/members`, token)).body)).toEqual([bob.id]);
    const again = await call('DELETE', `/v1.0/groups/${g}/members/${alice.id}/$ref`, token);
    expect(again.status).toBe(404);
    expect(again.innerCode()).toBe('group.member_not_found');
  });

  it('adds first members from members@odata.bind on create', async () => {
    const created = await newGroup('Bound', { 'members@odata.bind': [`https://graph.microsoft.com/v1.0/directoryObjects/${alice.id}`, `https://graph.microsoft.com/v1.0/users/${bob.id}`] });
    expect(created.status).toBe(201);
    expect(ids((await call('GET', `/v1.0/groups/${created.body.id as string}/members`, token)).body)).toEqual([alice.id, bob.id].sort());
    const unknown = await newGroup('Bound unknown', { 'members@odata.bind': ['https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-4000-8000-000000000000'] });
    expect(unknown.status).toBe(404);
    // nothing was created when a member failed
    const list = await call('GET', `/v1.0/groups?$filter=${encodeURIComponent("displayName eq 'Bound unknown'")}`, token);
    expect(list.body.value).toEqual([]);
  });

  it('resolves nested membership: transitiveMembers, memberOf, transitiveMemberOf and isTransitiveMember', async () => {
    const carol = await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: 'carol@contoso.test',
      displayName: 'Carol',
      password: 'Umber-Kestrel-Pivot-62',
    });
    const outer = (await newGroup('Outer')).body.id as string;
    const inner = (await newGroup('Inner')).body.id as string;
    const innermost = (await newGroup('Innermost')).body.id as string;
    expect((await addRef(outer, inner)).status).toBe(204);
    expect((await addRef(inner, innermost)).status).toBe(204);
    expect((await addRef(innermost, carol.id)).status).toBe(204);
    expect((await addRef(outer, bob.id)).status).toBe(204);

    const direct = await call('GET', `/v1.0/groups/${outer}/members`, token);
    expect(ids(direct.body)).toEqual([inner, bob.id].sort());
    expect(direct.body.value!.find((m) => m.id === inner)).toMatchObject({ '@odata.type': '#microsoft.graph.group', displayName: 'Inner' });

    const transitive = await call('GET', `/v1.0/groups/${outer}/transitiveMembers`, token);
    expect(transitive.status).toBe(200);
    expect(ids(transitive.body)).toEqual([inner, innermost, carol.id, bob.id].sort());

    const memberOf = await call('GET', `/v1.0/users/${carol.id}/memberOf`, token);
    expect(memberOf.status).toBe(200);
    expect(ids(memberOf.body)).toEqual([innermost]);
    expect(memberOf.body.value![0]!['@odata.type']).toBe('#microsoft.graph.group');
    const transitiveOf = await call('GET', `/v1.0/users/carol@contoso.test/transitiveMemberOf`, token);
    expect(ids(transitiveOf.body)).toEqual([outer, inner, innermost].sort());

    expect(await isTransitiveMember(ctx.services.db, outer, carol.id)).toBe(true);
    expect(await isTransitiveMember(ctx.services.db, inner, carol.id)).toBe(true);
    expect(await isTransitiveMember(ctx.services.db, inner, bob.id)).toBe(false);
    expect(await isTransitiveMember(ctx.services.db, '00000000-0000-4000-8000-000000000000', carol.id)).toBe(false);

    // $top pages a member list too
    const paged = await call('GET', `/v1.0/groups/${outer}/transitiveMembers?$top=3`, token);
    expect(paged.body.value).toHaveLength(3);
    expect(paged.body['@odata.nextLink']).toMatch(/^http:\/\/localhost:8080\/v1\.0\/groups\/.+\/transitiveMembers\?\$top=3&\$skiptoken=/);
    const rest = await call('GET', (paged.body['@odata.nextLink'] as string).replace('http://localhost:8080', ''), token);
    expect(rest.body.value).toHaveLength(1);

    // removing the middle link cuts the chain
    expect((await call('DELETE', `/v1.0/groups/${inner}/members/${innermost}/$ref`, token)).status).toBe(204);
    expect(await isTransitiveMember(ctx.services.db, outer, carol.id)).toBe(false);
    expect(ids((await call('GET', `/v1.0/users/${carol.id}/transitiveMemberOf`, token)).body)).toEqual([innermost]);
  });

  it('refuses group cycles: self, two groups, and a three-group loop', async () => {
    const a = (await newGroup('Cycle A')).body.id as string;
    const b = (await newGroup('Cycle B')).body.id as string;
    const c = (await newGroup('Cycle C')).body.id as string;
    const self = await addRef(a, a);
    expect(self.status).toBe(400);
    expect(self.innerCode()).toBe('group.cycle');
    expect((await addRef(b, a)).status).toBe(204); // A in B
    const back = await addRef(a, b); // B in A
    expect(back.status).toBe(400);
    expect(back.innerCode()).toBe('group.cycle');
    expect((await addRef(c, b)).status).toBe(204); // B in C: A ⊂ B ⊂ C
    const loop = await addRef(a, c); // C in A
    expect(loop.status).toBe(400);
    expect(loop.innerCode()).toBe('group.cycle');
    // a diamond is not a cycle: A in C directly as well
    expect((await addRef(c, a)).status).toBe(204);
  });

  it('keeps tenants apart: tenant B cannot see or touch A’s groups, nor add A’s users', async () => {
    const aGroup = (await newGroup('Contoso Only')).body.id as string;
    const b = await createTenant(ctx.services, systemContext(ctx.services), {
      name: 'Fabrikam',
      domain: 'fabrikam.test',
      adminUpn: 'admin@fabrikam.test',
      adminPassword: ADMIN_PASSWORD,
    });
    const bToken = await ctx.appToken(['Group.ReadWrite.All'], b.tenant.id);

    expect((await call('GET', `/v1.0/groups/${aGroup}`, bToken)).status).toBe(404);
    expect((await call('PATCH', `/v1.0/groups/${aGroup}`, bToken, { description: 'mine now' })).status).toBe(404);
    expect((await call('DELETE', `/v1.0/groups/${aGroup}`, bToken)).status).toBe(404);
    expect((await addRef(aGroup, b.admin.id, bToken)).status).toBe(404);
    expect((await call('GET', `/v1.0/groups/${aGroup}/members`, bToken)).status).toBe(404);
    expect((await call('GET', `/v1.0/users/${alice.id}/memberOf`, bToken)).status).toBe(404);

    const list = await call('GET', '/v1.0/groups', bToken);
    expect(list.status).toBe(200);
    expect(list.body.value).toEqual([]);

    const bGroup = (await newGroup('Fabrikam Team', {}, bToken)).body.id as string;
    const foreignUser = await addRef(bGroup, alice.id, bToken);
    expect(foreignUser.status).toBe(404);
    const foreignGroup = await addRef(bGroup, aGroup, bToken);
    expect(foreignGroup.status).toBe(404);
    expect((await addRef(bGroup, b.admin.id, bToken)).status).toBe(204);
    // and A cannot add B's user either
    expect((await addRef(aGroup, b.admin.id)).status).toBe(404);
  });

  it('authorises from the token: permissions for apps, directory roles for users', async () => {
    const memberOnly = await ctx.appToken(['GroupMember.ReadWrite.All']);
    const readOnly = await ctx.appToken(['Group.Read.All']);
    const usersOnly = await ctx.appToken(['User.Read.All']);
    const g = (await newGroup('Authz')).body.id as string;

    const create = await newGroup('Not allowed', {}, memberOnly);
    expect(create.status).toBe(403);
    expect(create.innerCode()).toBe('auth.forbidden');
    expect((create.body.error as { message: string }).message).toContain('Group.ReadWrite.All');
    expect((await call('PATCH', `/v1.0/groups/${g}`, memberOnly, { description: 'x' })).status).toBe(403);
    expect((await addRef(g, alice.id, memberOnly)).status).toBe(204);
    expect((await call('DELETE', `/v1.0/groups/${g}/members/${alice.id}/$ref`, memberOnly)).status).toBe(204);

    expect((await call('GET', `/v1.0/groups/${g}`, readOnly)).status).toBe(200);
    expect((await addRef(g, alice.id, readOnly)).status).toBe(403);
    expect((await call('GET', '/v1.0/groups', usersOnly)).status).toBe(403);
    expect((await call('GET', '/v1.0/groups', 'not-a-token')).status).toBe(401);

    const admin = await ctx.userToken('admin@contoso.test');
    expect((await newGroup('By the admin', {}, admin)).status).toBe(201);
    const plain = await ctx.userToken('bob@contoso.test');
    expect((await newGroup('By Bob', {}, plain)).status).toBe(403);
    expect((await call('GET', `/v1.0/groups/${g}`, plain)).status).toBe(200);
  });

  it('records each change with Azure’s activity names in the tenant’s intact hash chain', async () => {
    const g = (await newGroup('Audited')).body.id as string;
    await addRef(g, alice.id);
    await call('PATCH', `/v1.0/groups/${g}`, token, { description: 'now described' });
    await call('DELETE', `/v1.0/groups/${g}/members/${alice.id}/$ref`, token);
    await call('DELETE', `/v1.0/groups/${g}`, token);

    const events = (await listAuditEvents(ctx.services.db, ctx.tenant.tenant.id, 0, 10_000)).filter((e) => e.targetResources.some((t) => t.id === g));
    expect(events.map((e) => e.activityDisplayName)).toEqual(['Add group', 'Add member to group', 'Update group', 'Remove member from group', 'Delete group']);
    expect(events.every((e) => e.category === 'GroupManagement' && e.loggedByService === 'Core Directory' && e.result === 'success')).toBe(true);
    expect(events[0]!.initiatedBy.app?.displayName).toContain('Group.ReadWrite.All');
    const addMember = events[1]!;
    expect(addMember.targetResources.map((t) => [t.type, t.id])).toEqual([
      ['User', alice.id],
      ['Group', g],
    ]);
    const update = events[2]!;
    expect(update.targetResources[0]!.modifiedProperties).toEqual([{ displayName: 'Description', oldValue: '[null]', newValue: '["now described"]' }]);

    const verified = await verifyAuditChain(ctx.services.db, ctx.tenant.tenant.id);
    expect(verified.ok).toBe(true);
  });
});
