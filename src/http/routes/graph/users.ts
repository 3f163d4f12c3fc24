import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createUser, getGraphUser, listGraphUserPage } from '../../../domain/users.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import type { UserFilterField, UserListQuery } from '../../../store/users.js';
import { authorize, requestContext } from '../../auth.js';
import { graphUser, odataContext, USER_SELECTABLE, type UserProperty } from '../../graph-views.js';
import { buildNextLink, parseCollectionQuery, parseEntityQuery, type CollectionSpec } from '../../odata.js';
import { graphMeRoutes } from './me.js';
import { createUserBody } from './user-input.js';
import { graphUserWriteRoutes } from './users-write.js';

/** What `GET /v1.0/users` understands; every filterable property is backed by a column. */
export const USER_SPEC: CollectionSpec<UserFilterField, UserProperty> = {
  entity: 'user',
  filterable: {
    id: 'string',
    userPrincipalName: 'string',
    displayName: 'string',
    givenName: 'string',
    surname: 'string',
    mail: 'string',
    mobilePhone: 'string',
    jobTitle: 'string',
    onPremisesImmutableId: 'string',
    accountEnabled: 'boolean',
  },
  selectable: USER_SELECTABLE,
  orderable: ['id'],
  defaultTop: 100,
  maxTop: 999,
};

/** `{id | userPrincipalName}` from the path (Fastify has already percent-decoded it). */
export function userKey(request: FastifyRequest): string {
  const key = (request.params as { key?: string }).key ?? '';
  if (key.toLowerCase() === '$count') {
    throw new AppError('request.unsupported_query', { message: "'$count' is not supported on this resource.", data: { option: '$count' } });
  }
  return key;
}

/** A user as Graph JSON: the default properties, or exactly those selected (read: only their columns). */
async function graphUserOf(services: Services, tenantId: string, key: string, select: readonly UserProperty[] | undefined): Promise<Record<string, unknown>> {
  return select ? graphUser(await getGraphUser(services, tenantId, key, 'all'), select) : graphUser(await getGraphUser(services, tenantId, key, 'defaults'));
}

/** One page of the tenant's users as Graph JSON, read as graphUserOf reads one. */
async function graphUserPage(services: Services, tenantId: string, query: UserListQuery, select: readonly UserProperty[] | undefined) {
  if (select) {
    const { users, more } = await listGraphUserPage(services, tenantId, query, 'all');
    return { value: users.map((u) => graphUser(u, select)), more, lastId: users.at(-1)?.id };
  }
  const { users, more } = await listGraphUserPage(services, tenantId, query, 'defaults');
  return { value: users.map((u) => graphUser(u)), more, lastId: users.at(-1)?.id };
}

/** The Graph `users` resource. The tenant is always the caller's: ids of other tenants are not found. */
export function graphUserRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;

  app.get('/v1.0/users', async (request) => {
    const principal = await authorize(services, request, 'users.read');
    const q = parseCollectionQuery(request.query, USER_SPEC);
    const { value, more, lastId } = await graphUserPage(services, principal.tenantId, { filters: q.filter, afterId: q.afterId, limit: q.top }, q.select);
    return {
      '@odata.context': odataContext(base, 'users', q.select, false),
      ...(more && lastId !== undefined ? { '@odata.nextLink': buildNextLink(base, '/v1.0/users', q.carried, lastId) } : {}),
      value,
    };
  });

  app.get('/v1.0/users/:key', async (request) => {
    const principal = await authorize(services, request, 'users.read');
    const key = userKey(request);
    const { select } = parseEntityQuery(request.query, USER_SELECTABLE, 'user');
    const user = await graphUserOf(services, principal.tenantId, key, select);
    return { '@odata.context': odataContext(base, 'users', select, true), ...user };
  });

  app.post('/v1.0/users', async (request, reply) => {
    const principal = await authorize(services, request, 'users.write');
    const body = createUserBody.parse(request.body);
    const user = await createUser(services, requestContext(request, principal), {
      tenantId: principal.tenantId,
      userPrincipalName: body.userPrincipalName,
      displayName: body.displayName,
      password: body.passwordProfile.password,
      accountEnabled: body.accountEnabled,
      forceChangePasswordNextSignIn: body.passwordProfile.forceChangePasswordNextSignIn ?? false,
      forceChangePasswordNextSignInWithMfa: body.passwordProfile.forceChangePasswordNextSignInWithMfa ?? false,
      givenName: body.givenName ?? null,
      surname: body.surname ?? null,
      mail: body.mail ?? null,
      otherMails: body.otherMails ?? [],
      mobilePhone: body.mobilePhone ?? null,
      businessPhones: body.businessPhones ?? [],
      jobTitle: body.jobTitle ?? null,
      passwordPolicies: body.passwordPolicies ?? null,
      onPremisesImmutableId: body.onPremisesImmutableId ?? null,
    });
    return reply.code(201).send({ '@odata.context': odataContext(base, 'users', undefined, true), ...graphUser(user) });
  });

  graphUserWriteRoutes(app, services);
  graphMeRoutes(app, services);
}
