import { Client, GraphError, PageIterator, type PageCollection } from '@microsoft/microsoft-graph-client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApplication } from '../../src/domain/applications.js';
import { createTenant, systemContext, type CreatedTenant } from '../../src/domain/tenants.js';
import { createApp } from '../../src/http/app.js';
import { createServices, type Services } from '../../src/services.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { ADMIN_PASSWORD, createTestDatabase, testConfig, testDialects, type TestDatabase } from '../helpers/context.js';
import { freePort } from '../helpers/spawn-server.js';
import { createTestCertificate, type TestCertificate } from '../helpers/tls.js';

/**
 * Acceptance: the official @microsoft/microsoft-graph-client SDK, pointed at PUBLIC_URL with a
 * client-credentials token from Postern's real token endpoint, drives the directory end to end.
 *
 * The SDK attaches the bearer token only to https:// hosts listed in `customHosts` (SPEC 4.4), so
 * Postern is served over TLS with a self-signed certificate made here and trusted by this process
 * only, through a fetch dispatcher handed to the SDK. TLS verification is never switched off.
 */

const HELPDESK_ADMINISTRATOR = '729827e3-9c14-49f7-bb1b-9608f156bbb8';
const BULK_USERS = 250;
const PAGE_SIZE = 100;

interface GraphUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  accountEnabled?: boolean;
  jobTitle?: string | null;
  [key: string]: unknown;
}

interface GraphList<T> {
  value: T[];
  '@odata.nextLink'?: string;
}

function newUser(upn: string, displayName: string): Record<string, unknown> {
  return {
    accountEnabled: true,
    displayName,
    // Graph requires mailNickname on create; SDK scripts always send it
    mailNickname: upn.split('@')[0],
    userPrincipalName: upn,
    passwordProfile: { forceChangePasswordNextSignIn: true, password: 'xWwvJ]6NMw+bWH-d' },
  };
}

describe.each(testDialects())('the official Graph SDK against Postern over TLS on %s', (dialect) => {
  let cert: TestCertificate;
  let database: TestDatabase;
  let services: Services;
  let app: FastifyInstance;
  let tenant: CreatedTenant;
  let publicUrl: string;
  let token: string;
  let client: Client;

  beforeAll(async () => {
    cert = createTestCertificate();
    database = await createTestDatabase(dialect);
    const port = await freePort();
    publicUrl = `https://localhost:${port}`;
    services = createServices(
      testConfig(database.url, { TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile, PUBLIC_URL: publicUrl }),
    );
    await migrateToLatest(services.db);
    tenant = await createTenant(services, systemContext(services), {
      name: 'Contoso',
      domain: 'contoso.test',
      adminUpn: 'admin@contoso.test',
      adminPassword: ADMIN_PASSWORD,
    });
    const { application, clientSecret } = await createApplication(services, systemContext(services), {
      tenantId: tenant.tenant.id,
      name: 'Graph SDK acceptance',
      permissions: ['User.ReadWrite.All', 'Group.ReadWrite.All', 'GroupMember.ReadWrite.All', 'RoleManagement.ReadWrite.Directory'],
    });
    if (!clientSecret) throw new Error('a confidential app must get a client secret');
    app = await createApp(services, { logger: false });
    await app.listen({ port, host: '127.0.0.1' });

    // a real client-credentials token from the real token endpoint, over the same TLS trust
    const res = await fetch(`${publicUrl}/${tenant.tenant.id}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: application.clientId,
        client_secret: clientSecret,
        scope: 'https://graph.microsoft.com/.default',
      }),
      dispatcher: cert.dispatcher,
    });
    const body = (await res.json()) as { access_token?: string; token_type?: string };
    if (res.status !== 200 || !body.access_token) {
      throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
    }
    expect(body.token_type).toMatch(/^bearer$/i);
    token = body.access_token;

    client = Client.initWithMiddleware({
      authProvider: { getAccessToken: async () => token },
      baseUrl: publicUrl,
      defaultVersion: 'v1.0',
      customHosts: new Set(['localhost']),
      fetchOptions: { dispatcher: cert.dispatcher },
    });
  });

  afterAll(async () => {
    await app?.close();
    await services?.close();
    await database?.drop();
    await cert?.cleanup();
  });

  let user: GraphUser;

  it('creates a user with a passwordProfile and reads it back by UPN', async () => {
    const created = (await client.api('/users').post(newUser('adele.vance@contoso.test', 'Adele Vance'))) as GraphUser;
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.userPrincipalName).toBe('adele.vance@contoso.test');
    expect(created.displayName).toBe('Adele Vance');
    expect(created).not.toHaveProperty('passwordProfile.password');
    user = created;

    const read = (await client.api(`/users/${user.userPrincipalName}`).get()) as GraphUser;
    expect(read.id).toBe(user.id);
    expect(read.displayName).toBe('Adele Vance');
    expect(JSON.stringify(read)).not.toContain('xWwvJ]6NMw+bWH-d');

    // accountEnabled is not in Graph's default property set: ask for it with $select
    const selected = (await client.api(`/users/${user.userPrincipalName}`).select(['id', 'accountEnabled']).get()) as GraphUser;
    expect(selected).toEqual({ '@odata.context': expect.any(String), id: user.id, accountEnabled: true });
  });

  it("lists with $filter=startswith(displayName,'A')", async () => {
    const alex = (await client.api('/users').post(newUser('alex.wilber@contoso.test', 'Alex Wilber'))) as GraphUser;
    await client.api('/users').post(newUser('bianca.pisani@contoso.test', 'Bianca Pisani'));

    const page = (await client.api('/users').filter("startswith(displayName,'A')").get()) as GraphList<GraphUser>;
    expect(page.value.map((u) => u.displayName).sort()).toEqual(['Adele Vance', 'Alex Wilber']);
    expect(page.value.map((u) => u.id).sort()).toEqual([user.id, alex.id].sort());
  });

  it(`pages through ${BULK_USERS} users with $top=${PAGE_SIZE}, each seen exactly once`, { timeout: 120_000 }, async () => {
    const createdIds: string[] = [];
    for (let start = 0; start < BULK_USERS; start += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, BULK_USERS - start) }, (_, i) => {
          const n = String(start + i).padStart(3, '0');
          return client.api('/users').post(newUser(`bulk.${n}@contoso.test`, `Bulk User ${n}`)) as Promise<GraphUser>;
        }),
      );
      createdIds.push(...batch.map((u) => u.id));
    }
    expect(new Set(createdIds).size).toBe(BULK_USERS);
    // the bulk users, the admin, and the three made above
    const expected = new Set([...createdIds, tenant.admin.id, user.id]);
    const expectedTotal = BULK_USERS + 4;

    // 1. following @odata.nextLink by hand through the SDK: page sizes and absolute links
    const pageSizes: number[] = [];
    const seenByHand: string[] = [];
    let page = (await client.api('/users').top(PAGE_SIZE).get()) as GraphList<GraphUser>;
    for (;;) {
      pageSizes.push(page.value.length);
      seenByHand.push(...page.value.map((u) => u.id));
      const next = page['@odata.nextLink'];
      if (!next) break;
      expect(next.startsWith(`${publicUrl}/v1.0/users`)).toBe(true);
      expect(pageSizes.length).toBeLessThan(10); // no endless paging
      page = (await client.api(next).get()) as GraphList<GraphUser>;
    }
    expect(pageSizes).toEqual([100, 100, expectedTotal - 200]);
    expect(seenByHand).toHaveLength(expectedTotal);
    expect(new Set(seenByHand).size).toBe(expectedTotal);
    for (const id of expected) expect(seenByHand).toContain(id);

    // 2. the SDK's own PageIterator
    const seenByIterator: string[] = [];
    const first = (await client.api('/users').top(PAGE_SIZE).get()) as PageCollection;
    const iterator = new PageIterator(client, first, (u: GraphUser) => {
      seenByIterator.push(u.id);
      return true;
    });
    await iterator.iterate();
    expect(iterator.isComplete()).toBe(true);
    expect(seenByIterator).toHaveLength(expectedTotal);
    expect(new Set(seenByIterator)).toEqual(new Set(seenByHand));
  });

  it('adds the user to a group through members/$ref', async () => {
    const group = (await client.api('/groups').post({
      displayName: 'Retail',
      mailEnabled: false,
      mailNickname: 'retail',
      securityEnabled: true,
    })) as { id: string; displayName: string };
    expect(group.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(group.displayName).toBe('Retail');

    await client.api(`/groups/${group.id}/members/$ref`).post({ '@odata.id': `${publicUrl}/v1.0/directoryObjects/${user.id}` });

    const members = (await client.api(`/groups/${group.id}/members`).get()) as GraphList<{ id: string }>;
    expect(members.value.map((m) => m.id)).toEqual([user.id]);
  });

  it('assigns Helpdesk Administrator through roleManagement/directory/roleAssignments', async () => {
    const assignment = (await client.api('/roleManagement/directory/roleAssignments').post({
      principalId: user.id,
      roleDefinitionId: HELPDESK_ADMINISTRATOR,
      directoryScopeId: '/',
    })) as { id: string; principalId: string; roleDefinitionId: string; directoryScopeId: string };
    expect(assignment.id).toBeTruthy();
    expect(assignment.principalId).toBe(user.id);
    expect(assignment.roleDefinitionId).toBe(HELPDESK_ADMINISTRATOR);
    expect(assignment.directoryScopeId).toBe('/');

    const assigned = (await client
      .api('/roleManagement/directory/roleAssignments')
      .filter(`principalId eq '${user.id}'`)
      .get()) as GraphList<{ id: string; roleDefinitionId: string }>;
    expect(assigned.value.map((a) => [a.id, a.roleDefinitionId])).toEqual([[assignment.id, HELPDESK_ADMINISTRATOR]]);
  });

  it('updates the user', async () => {
    await client.api(`/users/${user.id}`).patch({ displayName: 'Adele V.', jobTitle: 'Retail Manager' });
    const read = (await client.api(`/users/${user.id}`).select(['id', 'displayName', 'jobTitle']).get()) as GraphUser;
    expect(read.id).toBe(user.id);
    expect(read.displayName).toBe('Adele V.');
    expect(read.jobTitle).toBe('Retail Manager');
  });

  it('deletes the user; reading it afterwards throws a GraphError with status 404', async () => {
    await client.api(`/users/${user.id}`).delete();

    let caught: unknown;
    try {
      await client.api(`/users/${user.id}`).get();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GraphError);
    expect((caught as GraphError).statusCode).toBe(404);
    expect((caught as GraphError).code).toBe('Request_ResourceNotFound');

    let byUpn: unknown;
    try {
      await client.api('/users/adele.vance@contoso.test').get();
    } catch (err) {
      byUpn = err;
    }
    expect((byUpn as GraphError).statusCode).toBe(404);
  });
});
