import type { FastifyInstance, FastifyRequest } from 'fastify';
import { can, requireCapability, type Principal } from '../../../domain/authorization.js';
import { z } from 'zod';
import {
  addGroupMember,
  createGroup,
  deleteGroup,
  findGroups,
  getGroup,
  listGroupMembers,
  listUserMemberOf,
  removeGroupMember,
  updateGroup,
} from '../../../domain/groups.js';
import type { Services } from '../../../services.js';
import { authorize, requestContext } from '../../auth.js';
import { directoryObjectsAnswer, graphGroup, GROUP_SELECTABLE, objectIdFromRef, refBody, type GroupProperty } from '../../graph-directory-objects.js';
import { odataContext } from '../../graph-views.js';
import { buildNextLink, parseCollectionQuery, parseEntityQuery, type CollectionSpec } from '../../odata.js';

type GroupFilterable = 'id' | 'displayName' | 'description' | 'mailNickname' | 'securityEnabled' | 'mailEnabled' | 'isAssignableToRole';
const GROUP_SPEC: CollectionSpec<GroupFilterable, GroupProperty> = {
  entity: 'group',
  filterable: {
    id: 'string',
    displayName: 'string',
    description: 'string',
    mailNickname: 'string',
    securityEnabled: 'boolean',
    mailEnabled: 'boolean',
    isAssignableToRole: 'boolean',
  },
  selectable: GROUP_SELECTABLE,
  orderable: ['id'],
  defaultTop: 100,
  maxTop: 999,
};

// Azure: ASCII without spaces and @ ( ) \ [ ] " ; : < > ,
const mailNickname = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e]+$/, 'must be ASCII without spaces')
  .refine((v) => !/[@()\\[\]";:<>,]/.test(v), 'must not contain @ ( ) \\ [ ] " ; : < > ,');

const createBody = z
  .object({
    displayName: z.string().trim().min(1).max(256),
    description: z.string().max(1024).nullable().optional(),
    mailEnabled: z.boolean(),
    mailNickname,
    securityEnabled: z.boolean(),
    isAssignableToRole: z.boolean().optional(),
    groupTypes: z.array(z.string()).max(0, 'only security groups are supported: groupTypes must be empty').optional(),
    'members@odata.bind': z.array(z.string().max(2048)).max(20, 'at most 20 members can be added when creating a group').optional(),
  })
  .strict();

const patchBody = z
  .object({
    displayName: z.string().trim().min(1).max(256).optional(),
    description: z.string().max(1024).nullable().optional(),
    mailEnabled: z.boolean().optional(),
    mailNickname: mailNickname.optional(),
    securityEnabled: z.boolean().optional(),
    // accepted only to refuse a change with a clear message (the flag is fixed at creation)
    isAssignableToRole: z.boolean().optional(),
  })
  .strict();

const idParams = z.object({ id: z.string().min(1).max(128) });
const memberParams = z.object({ id: z.string().min(1).max(128), memberId: z.string().min(1).max(128) });

/**
 * Group writes: a Privileged Role Administrator manages role-assignable groups without holding
 * groups.write, so the route lets either capability through and the use case decides per group.
 */
async function authorizeGroupWrite(services: Services, request: FastifyRequest, capability: 'groups.write' | 'groups.members.write'): Promise<Principal> {
  const principal = await authorize(services, request);
  if (!can(principal, 'groups.roleAssignable.write')) requireCapability(principal, capability);
  return principal;
}

export function groupRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;

  app.post('/v1.0/groups', async (request, reply) => {
    const principal = await authorizeGroupWrite(services, request, 'groups.write');
    const body = createBody.parse(request.body);
    const memberIds = (body['members@odata.bind'] ?? []).map((ref) => objectIdFromRef(ref, 'members@odata.bind'));
    const group = await createGroup(services, requestContext(request, principal), {
      tenantId: principal.tenantId,
      displayName: body.displayName,
      description: body.description ?? null,
      mailEnabled: body.mailEnabled,
      mailNickname: body.mailNickname,
      securityEnabled: body.securityEnabled,
      isAssignableToRole: body.isAssignableToRole ?? false,
      memberIds,
    });
    return reply
      .code(201)
      .header('location', `${base}/v1.0/groups/${group.id}`)
      .send({ '@odata.context': odataContext(base, 'groups', undefined, true), ...graphGroup(group) });
  });

  app.get('/v1.0/groups', async (request) => {
    const principal = await authorize(services, request, 'groups.read');
    const q = parseCollectionQuery(request.query, GROUP_SPEC);
    const { groups, more } = await findGroups(services, principal.tenantId, { filters: q.filter, afterId: q.afterId, limit: q.top });
    const last = groups[groups.length - 1];
    return {
      '@odata.context': odataContext(base, 'groups', q.select, false),
      ...(more && last ? { '@odata.nextLink': buildNextLink(base, '/v1.0/groups', q.carried, last.id) } : {}),
      value: groups.map((g) => graphGroup(g, q.select)),
    };
  });

  app.get('/v1.0/groups/:id', async (request) => {
    const principal = await authorize(services, request, 'groups.read');
    const { id } = idParams.parse(request.params);
    const { select } = parseEntityQuery(request.query, GROUP_SELECTABLE, 'group');
    const group = await getGroup(services, principal.tenantId, id);
    return { '@odata.context': odataContext(base, 'groups', select, true), ...graphGroup(group, select) };
  });

  app.patch('/v1.0/groups/:id', async (request, reply) => {
    const principal = await authorizeGroupWrite(services, request, 'groups.write');
    const { id } = idParams.parse(request.params);
    const body = patchBody.parse(request.body ?? {});
    await updateGroup(services, requestContext(request, principal), principal.tenantId, id, body);
    return reply.code(204).send();
  });

  app.delete('/v1.0/groups/:id', async (request, reply) => {
    const principal = await authorizeGroupWrite(services, request, 'groups.write');
    const { id } = idParams.parse(request.params);
    await deleteGroup(services, requestContext(request, principal), principal.tenantId, id);
    return reply.code(204).send();
  });

  app.post('/v1.0/groups/:id/members/$ref', async (request, reply) => {
    const principal = await authorizeGroupWrite(services, request, 'groups.members.write');
    const { id } = idParams.parse(request.params);
    const memberId = objectIdFromRef(refBody.parse(request.body)['@odata.id'], '@odata.id');
    await addGroupMember(services, requestContext(request, principal), principal.tenantId, id, memberId);
    return reply.code(204).send();
  });

  app.delete('/v1.0/groups/:id/members/:memberId/$ref', async (request, reply) => {
    const principal = await authorizeGroupWrite(services, request, 'groups.members.write');
    const { id, memberId } = memberParams.parse(request.params);
    await removeGroupMember(services, requestContext(request, principal), principal.tenantId, id, memberId);
    return reply.code(204).send();
  });

  for (const [segment, transitive] of [['members', false], ['transitiveMembers', true]] as const) {
    app.get(`/v1.0/groups/:id/${segment}`, async (request) => {
      const principal = await authorize(services, request, 'groups.read');
      const { id } = idParams.parse(request.params);
      const objects = await listGroupMembers(services, principal.tenantId, id, transitive);
      return directoryObjectsAnswer(services, request, objects);
    });
  }

  // users/{id}/memberOf live here: they answer from group membership, the users file owns the rest
  for (const [segment, transitive] of [['memberOf', false], ['transitiveMemberOf', true]] as const) {
    app.get(`/v1.0/users/:id/${segment}`, async (request) => {
      const principal = await authorize(services, request, 'groups.read');
      const { id } = idParams.parse(request.params);
      const groups = await listUserMemberOf(services, principal.tenantId, id, transitive);
      return directoryObjectsAnswer(services, request, groups.map((group) => ({ type: 'group', group })));
    });
  }
}
