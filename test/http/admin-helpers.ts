import type { LightMyRequestResponse } from 'fastify';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { insertRoleAssignment } from '../../src/store/role-assignments.js';
import type { User } from '../../src/store/users.js';
import type { TestContext } from '../helpers/context.js';

/** Shared by admin-methods.test.ts and admin-unlock-revoke.test.ts. */

export const PASSWORD = 'Juniper-Falcon-Mosaic-61';

let n = 0;

/** A user holding `roles` (template ids), and a delegated token minted after the roles were given. */
export async function userWithRoles(ctx: TestContext, prefix: string, roles: string[] = []): Promise<{ user: User; token: string }> {
  n += 1;
  const user = await createUser(ctx.services, systemContext(ctx.services), {
    tenantId: ctx.tenant.tenant.id,
    userPrincipalName: `${prefix}${n}@contoso.test`,
    displayName: `${prefix} ${n}`,
    password: PASSWORD,
  });
  for (const role of roles) {
    await insertRoleAssignment(ctx.services.db, {
      id: `ra-${n}-${role.slice(0, 8)}`,
      tenantId: user.tenantId,
      principalId: user.id,
      roleDefinitionId: role,
      directoryScopeId: '/',
      createdDateTime: ctx.clock.now().toISOString(),
    });
  }
  return { user, token: await ctx.userToken(user.userPrincipalName) };
}

export function caller(ctx: TestContext) {
  return (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token?: string, payload?: unknown): Promise<LightMyRequestResponse> =>
    ctx.app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
}

/** Audit rows of one activity that name `targetId`. */
export async function auditOf(ctx: TestContext, activity: string, targetId: string) {
  const rows = await ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', '=', activity).orderBy('seq').execute();
  return rows.filter((r) => r.target_resources.includes(targetId));
}
