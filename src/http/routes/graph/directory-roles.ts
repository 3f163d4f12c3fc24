import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { assignRole, getRoleDefinition, listRoleMemberObjects, removeRoleMember } from '../../../domain/role-assignments.js';
import { BUILT_IN_ROLES, type RoleDefinition } from '../../../domain/roles.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import { authorize, requestContext } from '../../auth.js';
import { odataContext } from '../../graph-views.js';
import { buildNextLink, parseCollectionQuery, parseEntityQuery, parseFilter, systemOptions, type CollectionSpec } from '../../odata.js';
import { directoryObjectsAnswer, objectIdFromRef, pageById, refBody } from '../../graph-directory-objects.js';

/**
 * Built-in roles are static: every tenant has all of them "activated", and a directoryRole's
 * object id is its role template id, so `directoryRoles/{id}` and
 * `directoryRoles(roleTemplateId='{id}')` name the same thing.
 */
function graphDirectoryRole(role: RoleDefinition): Record<string, unknown> {
  return { id: role.id, deletedDateTime: null, description: role.description, displayName: role.displayName, roleTemplateId: role.id };
}

function graphRoleDefinition(role: RoleDefinition): Record<string, unknown> {
  return {
    id: role.id,
    description: role.description,
    displayName: role.displayName,
    isBuiltIn: true,
    isEnabled: true,
    resourceScopes: ['/'],
    templateId: role.id,
    version: '1',
    rolePermissions: [],
  };
}

const idParams = z.object({ id: z.string().min(1).max(128) });
const memberParams = z.object({ id: z.string().min(1).max(128), memberId: z.string().min(1).max(128) });

const ROLE_DEFINITION_SPEC: CollectionSpec<'id' | 'displayName' | 'templateId', string> = {
  entity: 'unifiedRoleDefinition',
  filterable: { id: 'string', displayName: 'string', templateId: 'string' },
  selectable: ['id', 'description', 'displayName', 'isBuiltIn', 'isEnabled', 'resourceScopes', 'templateId', 'version', 'rolePermissions'],
  orderable: ['id'],
  defaultTop: 100,
  maxTop: 999,
};

function pick(o: Record<string, unknown>, select: readonly string[] | undefined): Record<string, unknown> {
  return select ? Object.fromEntries(select.map((k) => [k, o[k]])) : o;
}

export function directoryRoleRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;

  app.get('/v1.0/directoryRoles', async (request) => {
    await authorize(services, request, 'roles.read');
    const options = systemOptions(request.query);
    const filterText = options.get('$filter');
    // scripts look roles up with $filter=roleTemplateId eq '…' or displayName eq '…'
    const clauses = filterText === undefined ? [] : parseFilter(filterText, { displayName: 'string', roleTemplateId: 'string', id: 'string' }, 'directoryRole');
    for (const name of options.keys()) {
      if (name !== '$filter') throw new AppError('request.unsupported_query', { message: `Query option '${name}' is not supported on directoryRoles.` });
    }
    const roles = BUILT_IN_ROLES.filter((r) =>
      clauses.every((c) => {
        const actual = (c.field === 'displayName' ? r.displayName : r.id).toLowerCase();
        const wanted = String(c.value).toLowerCase();
        return c.op === 'eq' ? actual === wanted : actual.startsWith(wanted);
      }),
    );
    return { '@odata.context': odataContext(base, 'directoryRoles', undefined, false), value: roles.map(graphDirectoryRole) };
  });

  app.get('/v1.0/directoryRoles/:id', async (request) => {
    await authorize(services, request, 'roles.read');
    const { id } = idParams.parse(request.params);
    return { '@odata.context': odataContext(base, 'directoryRoles', undefined, true), ...graphDirectoryRole(getRoleDefinition(id)) };
  });

  // `directoryRoles(roleTemplateId='{id}')`: the router sees `'{id}')` as the parameter
  app.get('/v1.0/directoryRoles(roleTemplateId=:key', async (request) => {
    await authorize(services, request, 'roles.read');
    const { key } = z.object({ key: z.string().max(128) }).parse(request.params);
    const id = /^'([^']*)'\)$/.exec(key)?.[1];
    if (id === undefined) throw new AppError('request.invalid', { message: "Write the key as directoryRoles(roleTemplateId='<template id>')." });
    return { '@odata.context': odataContext(base, 'directoryRoles', undefined, true), ...graphDirectoryRole(getRoleDefinition(id)) };
  });

  app.get('/v1.0/directoryRoles/:id/members', async (request) => {
    const principal = await authorize(services, request, 'roles.read');
    const { id } = idParams.parse(request.params);
    // the principals the role is assigned to: users and role-assignable groups, as Graph lists them
    return directoryObjectsAnswer(services, request, await listRoleMemberObjects(services, principal.tenantId, id));
  });

  app.post('/v1.0/directoryRoles/:id/members/$ref', async (request, reply) => {
    const principal = await authorize(services, request, 'roles.write');
    const { id } = idParams.parse(request.params);
    const principalId = objectIdFromRef(refBody.parse(request.body)['@odata.id'], '@odata.id');
    await assignRole(services, requestContext(request, principal), { tenantId: principal.tenantId, principalId, roleDefinitionId: id, directoryScopeId: '/' });
    return reply.code(204).send();
  });

  app.delete('/v1.0/directoryRoles/:id/members/:memberId/$ref', async (request, reply) => {
    const principal = await authorize(services, request, 'roles.write');
    const { id, memberId } = memberParams.parse(request.params);
    await removeRoleMember(services, requestContext(request, principal), principal.tenantId, id, memberId);
    return reply.code(204).send();
  });

  app.get('/v1.0/roleManagement/directory/roleDefinitions', async (request) => {
    await authorize(services, request, 'roles.read');
    const q = parseCollectionQuery(request.query, ROLE_DEFINITION_SPEC);
    const roles = BUILT_IN_ROLES.filter((r) =>
      q.filter.every((c) => {
        const actual = (c.field === 'displayName' ? r.displayName : r.id).toLowerCase();
        const wanted = String(c.value).toLowerCase();
        return c.op === 'eq' ? actual === wanted : actual.startsWith(wanted);
      }),
    );
    const { page, more } = pageById([...roles], (r) => r.id, q.afterId, q.top);
    const last = page[page.length - 1];
    const path = '/v1.0/roleManagement/directory/roleDefinitions';
    return {
      '@odata.context': odataContext(base, 'roleManagement/directory/roleDefinitions', q.select, false),
      ...(more && last ? { '@odata.nextLink': buildNextLink(base, path, q.carried, last.id) } : {}),
      value: page.map((r) => pick(graphRoleDefinition(r), q.select)),
    };
  });

  app.get('/v1.0/roleManagement/directory/roleDefinitions/:id', async (request) => {
    await authorize(services, request, 'roles.read');
    const { id } = idParams.parse(request.params);
    const { select } = parseEntityQuery(request.query, ROLE_DEFINITION_SPEC.selectable, 'unifiedRoleDefinition');
    return {
      '@odata.context': odataContext(base, 'roleManagement/directory/roleDefinitions', select, true),
      ...pick(graphRoleDefinition(getRoleDefinition(id)), select),
    };
  });
}
