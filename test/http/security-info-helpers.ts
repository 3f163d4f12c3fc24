import type { LightMyRequestResponse } from 'fastify';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { findTenantById, updateTenantSettings, type TenantSettings } from '../../src/store/tenants.js';
import type { User } from '../../src/store/users.js';
import type { TestContext } from '../helpers/context.js';

export const SI = '/api/v1/me/security-info';
export const PASSWORD = 'Zephyr-Marmot-Quill-47';

let n = 0;

/** A plain user and a delegated token for them. */
export async function newUser(ctx: TestContext, prefix = 'si'): Promise<{ user: User; token: string }> {
  n += 1;
  const user = await createUser(ctx.services, systemContext(ctx.services), {
    tenantId: ctx.tenant.tenant.id,
    userPrincipalName: `${prefix}${n}@contoso.test`,
    displayName: `Security ${n}`,
    password: PASSWORD,
  });
  return { user, token: await ctx.userToken(user.userPrincipalName) };
}

export function call(ctx: TestContext, token: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown): Promise<LightMyRequestResponse> {
  return ctx.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

/** Sets the tenant's SSPR policy fields directly (setup only; the policy API has its own tests). */
export async function setSsprPolicy(ctx: TestContext, patch: Record<string, unknown>): Promise<void> {
  const tenant = (await findTenantById(ctx.services.db, ctx.tenant.tenant.id))!;
  const settings = tenant.settings as TenantSettings & Record<string, unknown>;
  const current = (settings.sspr ?? {}) as Record<string, unknown>;
  await updateTenantSettings(ctx.services.db, tenant.id, { ...settings, sspr: { ...current, ...patch } });
}

/** Every row of the security-info tables, the outbox and the audit log, as one string to grep for secrets. */
export async function dumpRows(ctx: TestContext): Promise<string> {
  const db = ctx.services.db;
  const tables = ['auth_email_methods', 'auth_phone_methods', 'auth_security_answers', 'auth_software_oath_methods', 'auth_recovery_codes', 'security_info_state', 'verification_codes', 'outbox', 'audit_events'] as const;
  const all = await Promise.all(tables.map((t) => db.selectFrom(t).selectAll().execute()));
  return JSON.stringify(all);
}
