import { assertThat } from '../errors.js';
import { insertApplication, type Application } from '../store/applications.js';
import { findTenantById } from '../store/tenants.js';
import { recordAudit, type RequestContext } from './audit.js';
import { isApplicationPermission } from './authorization.js';
import type { DomainDeps } from './deps.js';

/**
 * First-party public clients every tenant accepts for the password grant, with Microsoft's client
 * ids so `Connect-MgGraph`- and `az`-style scripts carry over.
 */
export const BUILT_IN_PUBLIC_CLIENTS: Readonly<Record<string, string>> = {
  '14d82eec-204b-4c2f-b7e8-296a70dab67e': 'Microsoft Graph Command Line Tools',
  '04b07795-8ddb-461a-bbee-02f9e1bf7b46': 'Microsoft Azure CLI',
  '1950a258-227b-4e31-a9cf-717495945fc2': 'Microsoft Azure PowerShell',
};

export interface CreateAppInput {
  tenantId: string;
  name: string;
  permissions: string[];
  isPublic?: boolean;
}

export interface CreatedApp {
  application: Application;
  /** shown once; only its hash is kept. Undefined for public clients. */
  clientSecret: string | undefined;
}

export async function createApplication(deps: DomainDeps, ctx: RequestContext, input: CreateAppInput): Promise<CreatedApp> {
  const tenant = await findTenantById(deps.db, input.tenantId);
  assertThat(tenant, 'tenant.not_found');
  assertThat(input.name.trim().length > 0 && input.name.length <= 256, 'request.invalid', { message: 'The application name must be 1 to 256 characters.' });
  const unknown = input.permissions.filter((p) => !isApplicationPermission(p));
  assertThat(unknown.length === 0, 'app.permission_unknown', {
    message: `Unknown Graph application permission: ${unknown.join(', ')}.`,
    data: { unknown },
  });
  const isPublic = input.isPublic ?? false;
  const clientSecret = isPublic ? undefined : deps.random.token(30);
  const application: Application = {
    id: deps.random.uuid(),
    tenantId: tenant.id,
    clientId: deps.random.uuid(),
    displayName: input.name.trim(),
    secretHash: clientSecret === undefined ? null : await deps.hasher.hash(clientSecret),
    secretHint: clientSecret?.slice(0, 3) ?? null,
    permissions: [...new Set(input.permissions)],
    isPublic,
    createdDateTime: deps.clock.now().toISOString(),
  };
  await deps.db.transaction().execute(async (trx) => {
    await insertApplication(trx, application);
    await recordAudit(deps, trx, ctx, {
      tenantId: tenant.id,
      activity: 'Add application',
      category: 'ApplicationManagement',
      operationType: 'Add',
      targets: [{ id: application.id, displayName: application.displayName, type: 'Application', userPrincipalName: null, modifiedProperties: [] }],
      additionalDetails: [{ key: 'AppId', value: application.clientId }, { key: 'Permissions', value: application.permissions.join(' ') }],
    });
  });
  return { application, clientSecret };
}
