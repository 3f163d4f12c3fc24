import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireCapability, type Capability, type Principal } from '../../../domain/authorization.js';
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
  type DirectoryObject,
  type Group,
} from '../../../domain/groups.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import type { User } from '../../../store/users.js';
import { authenticate, requestContext } from '../../auth.js';
import { graphUser, odataContext, USER_SELECTABLE, type UserProperty } from '../../graph-views.js';
import { buildNextLink, parseCollectionQuery, parseEntityQuery, type CollectionSpec } from '../../odata.js';

// ---- helpers shared with the role routes ----

/** Authenticates the caller (Bearer token or session cookie) and checks one capability. */
export async function authorize(services: Services, request: FastifyRequest, capability: Capability): Promise<Principal> {
  const principal = await authenticate(services, request);
  requireCapability(principal, capability);
  return principal;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The object id a reference URL points at. Graph SDKs send `<base>/v1.0/directoryObjects/{id}`
 * (or `/users/{id}`, `/groups/{id}`); some tools write `directoryObjects('{id}')`. Only the last
 * path segment matters, so a base URL that is not ours is fine.
 */
export function objectIdFromRef(ref: string, property: string): string {
  let path = ref;
  try {
    path = new URL(ref).pathname;
  } catch {
    // a relative reference such as "directoryObjects/{id}"
  }
  const last = decodeURIComponent(path.split('/').filter(Boolean).pop() ?? '');
  const id = /^[^(]*\('?([^')]*)'?\)$/.exec(last)?.[1] ?? last;
  if (!GUID.test(id)) {
    throw new AppError('request.invalid', {
      message: `Invalid object identifier '${ref.slice(0, 200)}' in '${property}': the URL must end with the id (a GUID) of a user or group.`,
    });
  }
  return id.toLowerCase();
}

export const refBody = z.object({ '@odata.id': z.string().min(1).max(2048) }).strict();

/** Everything Graph shows for a group; Postern has no mail or dynamic groups, so those stay null. */
const GROUP_PROPERTIES = {
  id: (g) => g.id,
  deletedDateTime: () => null,
  createdDateTime: (g) => g.createdDateTime,
  description: (g) => g.description,
  displayName: (g) => g.displayName,
  groupTypes: () => [],
  mail: () => null,
  mailEnabled: (g) => g.mailEnabled,
  mailNickname: (g) => g.mailNickname,
  securityEnabled: (g) => g.securityEnabled,
  membershipRule: () => null,
  onPremisesSyncEnabled: () => null,
  visibility: () => null,
  isAssignableToRole: () => null,
} as const satisfies Record<string, (g: Group) => unknown>;

type GroupProperty = keyof typeof GROUP_PROPERTIES;
const GROUP_SELECTABLE = Object.keys(GROUP_PROPERTIES) as GroupProperty[];

export function graphGroup(group: Group, select?: readonly string[]): Record<string, unknown> {
  const names = (select ?? GROUP_SELECTABLE).filter((n): n is GroupProperty => n in GROUP_PROPERTIES);
  const out: Record<string, unknown> = {};
  for (const name of names) out[name] = GROUP_PROPERTIES[name](group);
  return out;
}

/** A user in a directoryObject collection: tagged with its type, as Graph does. */
export function graphUserObject(user: User, select?: readonly string[]): Record<string, unknown> {
  const userSelect = select?.filter((n): n is UserProperty => (USER_SELECTABLE as readonly string[]).includes(n));
  return { '@odata.type': '#microsoft.graph.user', ...graphUser(user, userSelect) };
}

function graphDirectoryObject(o: DirectoryObject, select?: readonly string[]): Record<string, unknown> {
  return o.type === 'user' ? graphUserObject(o.user, select) : { '@odata.type': '#microsoft.graph.group', ...graphGroup(o.group, select) };
}

const DIRECTORY_OBJECT_SELECTABLE = [...new Set<string>([...USER_SELECTABLE, ...GROUP_SELECTABLE])];

/** A directoryObject collection ($select, $top, $skiptoken paging by id; no $filter). */
export const DIRECTORY_OBJECTS_SPEC: CollectionSpec<never, string> = {
  entity: 'directoryObject',
  filterable: {},
  selectable: DIRECTORY_OBJECT_SELECTABLE,
  orderable: ['id'],
  defaultTop: 100,
  maxTop: 999,
};

/** Pages an in-memory list ordered by id the way the store pages tables (keyset on id). */
export function pageById<T>(items: T[], idOf: (t: T) => string, afterId: string | undefined, top: number): { page: T[]; more: boolean } {
  const sorted = [...items].sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
  const rest = afterId === undefined ? sorted : sorted.filter((t) => idOf(t) > afterId);
  return { page: rest.slice(0, top), more: rest.length > top };
}

export function directoryObjectsAnswer(
  services: Services,
  request: FastifyRequest,
  objects: DirectoryObject[],
): Record<string, unknown> {
  const q = parseCollectionQuery(request.query, DIRECTORY_OBJECTS_SPEC);
  const idOf = (o: DirectoryObject) => (o.type === 'user' ? o.user.id : o.group.id);
  const { page, more } = pageById(objects, idOf, q.afterId, q.top);
  const last = page[page.length - 1];
  const path = request.url.split('?')[0] ?? '';
  return {
    '@odata.context': odataContext(services.config.publicUrl, 'directoryObjects', q.select, false),
    ...(more && last ? { '@odata.nextLink': buildNextLink(services.config.publicUrl, path, q.carried, idOf(last)) } : {}),
    value: page.map((o) => graphDirectoryObject(o, q.select)),
  };
}

// ---- groups ----

const GROUP_SPEC: CollectionSpec<'id' | 'displayName' | 'description' | 'mailNickname' | 'securityEnabled' | 'mailEnabled', GroupProperty> = {
  entity: 'group',
  filterable: { id: 'string', displayName: 'string', description: 'string', mailNickname: 'string', securityEnabled: 'boolean', mailEnabled: 'boolean' },
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
  })
  .strict();

const idParams = z.object({ id: z.string().min(1).max(128) });
const memberParams = z.object({ id: z.string().min(1).max(128), memberId: z.string().min(1).max(128) });

export function groupRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;

  app.post('/v1.0/groups', async (request, reply) => {
    const principal = await authorize(services, request, 'groups.write');
    const body = createBody.parse(request.body);
    const memberIds = (body['members@odata.bind'] ?? []).map((ref) => objectIdFromRef(ref, 'members@odata.bind'));
    const group = await createGroup(services, requestContext(request, principal), {
      tenantId: principal.tenantId,
      displayName: body.displayName,
      description: body.description ?? null,
      mailEnabled: body.mailEnabled,
      mailNickname: body.mailNickname,
      securityEnabled: body.securityEnabled,
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
    const principal = await authorize(services, request, 'groups.write');
    const { id } = idParams.parse(request.params);
    const body = patchBody.parse(request.body ?? {});
    await updateGroup(services, requestContext(request, principal), principal.tenantId, id, body);
    return reply.code(204).send();
  });

  app.delete('/v1.0/groups/:id', async (request, reply) => {
    const principal = await authorize(services, request, 'groups.write');
    const { id } = idParams.parse(request.params);
    await deleteGroup(services, requestContext(request, principal), principal.tenantId, id);
    return reply.code(204).send();
  });

  app.post('/v1.0/groups/:id/members/$ref', async (request, reply) => {
    const principal = await authorize(services, request, 'groups.members.write');
    const { id } = idParams.parse(request.params);
    const memberId = objectIdFromRef(refBody.parse(request.body)['@odata.id'], '@odata.id');
    await addGroupMember(services, requestContext(request, principal), principal.tenantId, id, memberId);
    return reply.code(204).send();
  });

  app.delete('/v1.0/groups/:id/members/:memberId/$ref', async (request, reply) => {
    const principal = await authorize(services, request, 'groups.members.write');
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
