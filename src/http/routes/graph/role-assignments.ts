import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { assignRole, findRoleAssignments, getRoleAssignment, unassignRole, type RoleAssignment } from '../../../domain/role-assignments.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import { authorize, requestContext } from '../../auth.js';
import { odataContext } from '../../graph-views.js';
import { buildNextLink, parseCollectionQuery, parseEntityQuery, type CollectionSpec } from '../../odata.js';
import { pageById } from '../../graph-directory-objects.js';

const PATH = '/v1.0/roleManagement/directory/roleAssignments';
const ENTITY_SET = 'roleManagement/directory/roleAssignments';

type AssignmentProperty = 'id' | 'principalId' | 'roleDefinitionId' | 'directoryScopeId' | 'appScopeId';
const SELECTABLE: AssignmentProperty[] = ['id', 'principalId', 'roleDefinitionId', 'directoryScopeId', 'appScopeId'];

const SPEC: CollectionSpec<'principalId' | 'roleDefinitionId' | 'directoryScopeId', AssignmentProperty> = {
  entity: 'unifiedRoleAssignment',
  filterable: { principalId: 'string', roleDefinitionId: 'string', directoryScopeId: 'string' },
  selectable: SELECTABLE,
  orderable: ['id'],
  defaultTop: 100,
  maxTop: 999,
};

function graphAssignment(a: RoleAssignment, select?: readonly AssignmentProperty[]): Record<string, unknown> {
  const all: Record<AssignmentProperty, unknown> = {
    id: a.id,
    principalId: a.principalId,
    roleDefinitionId: a.roleDefinitionId,
    directoryScopeId: a.directoryScopeId,
    appScopeId: null,
  };
  return select ? Object.fromEntries(select.map((k) => [k, all[k]])) : all;
}

const createBody = z
  .object({
    '@odata.type': z.literal('#microsoft.graph.unifiedRoleAssignment').optional(),
    principalId: z.string().min(1).max(128),
    roleDefinitionId: z.string().min(1).max(128),
    directoryScopeId: z.string().min(1).max(256),
    appScopeId: z.null().optional(),
  })
  .strict();

const idParams = z.object({ id: z.string().min(1).max(128) });

/** Groups, directory roles and role assignments: mounted together from routes/index.ts. */
export function roleAssignmentRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;

  app.post(PATH, async (request, reply) => {
    const principal = await authorize(services, request, 'roles.write');
    const body = createBody.parse(request.body);
    const assignment = await assignRole(services, requestContext(request, principal), {
      tenantId: principal.tenantId,
      principalId: body.principalId,
      roleDefinitionId: body.roleDefinitionId,
      directoryScopeId: body.directoryScopeId,
    });
    return reply
      .code(201)
      .header('location', `${base}${PATH}/${assignment.id}`)
      .send({ '@odata.context': odataContext(base, ENTITY_SET, undefined, true), ...graphAssignment(assignment) });
  });

  app.get(PATH, async (request) => {
    const principal = await authorize(services, request, 'roles.read');
    const q = parseCollectionQuery(request.query, SPEC);
    const filter: { principalId?: string; roleDefinitionId?: string } = {};
    let scope: string | undefined;
    for (const c of q.filter) {
      if (c.op !== 'eq') throw new AppError('request.unsupported_query', { message: `Only 'eq' is supported on '${c.field}' of role assignments.` });
      const value = String(c.value);
      if (c.field === 'directoryScopeId') scope = value;
      else if (filter[c.field] !== undefined && filter[c.field] !== value.toLowerCase()) return emptyAnswer(base, q.select);
      else filter[c.field] = value.toLowerCase();
    }
    const all = (await findRoleAssignments(services, principal.tenantId, filter)).filter((a) => scope === undefined || a.directoryScopeId === scope);
    const { page, more } = pageById(all, (a) => a.id, q.afterId, q.top);
    const last = page[page.length - 1];
    return {
      '@odata.context': odataContext(base, ENTITY_SET, q.select, false),
      ...(more && last ? { '@odata.nextLink': buildNextLink(base, PATH, q.carried, last.id) } : {}),
      value: page.map((a) => graphAssignment(a, q.select)),
    };
  });

  app.get(`${PATH}/:id`, async (request) => {
    const principal = await authorize(services, request, 'roles.read');
    const { id } = idParams.parse(request.params);
    const { select } = parseEntityQuery(request.query, SELECTABLE, 'unifiedRoleAssignment');
    const assignment = await getRoleAssignment(services, principal.tenantId, id);
    return { '@odata.context': odataContext(base, ENTITY_SET, select, true), ...graphAssignment(assignment, select) };
  });

  app.delete(`${PATH}/:id`, async (request, reply) => {
    const principal = await authorize(services, request, 'roles.write');
    const { id } = idParams.parse(request.params);
    await unassignRole(services, requestContext(request, principal), principal.tenantId, id);
    return reply.code(204).send();
  });
}

function emptyAnswer(base: string, select: readonly string[] | undefined): Record<string, unknown> {
  return { '@odata.context': odataContext(base, ENTITY_SET, select, false), value: [] };
}
