import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { DirectoryObject, Group } from '../domain/groups.js';
import { AppError } from '../errors.js';
import type { Services } from '../services.js';
import type { User } from '../store/users.js';
import { graphUser, odataContext, USER_SELECTABLE, type UserProperty } from './graph-views.js';
import { buildNextLink, parseCollectionQuery, type CollectionSpec } from './odata.js';

/**
 * Graph shapes shared by the groups, directory-role and role-assignment routes: references
 * (`members/$ref`), groups, and directoryObject collections mixing users and groups.
 */

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
  isAssignableToRole: (g) => g.isAssignableToRole,
} as const satisfies Record<string, (g: Group) => unknown>;

export type GroupProperty = keyof typeof GROUP_PROPERTIES;
export const GROUP_SELECTABLE = Object.keys(GROUP_PROPERTIES) as GroupProperty[];

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

