import type { Executor } from './database.js';
import { fromBool, toBool } from './database.js';

export interface Application {
  id: string;
  tenantId: string;
  clientId: string;
  displayName: string;
  secretHash: string | null;
  secretHint: string | null;
  permissions: string[];
  isPublic: boolean;
  createdDateTime: string;
}

export async function insertApplication(db: Executor, a: Application): Promise<void> {
  await db
    .insertInto('applications')
    .values({
      id: a.id,
      tenant_id: a.tenantId,
      client_id: a.clientId,
      display_name: a.displayName,
      secret_hash: a.secretHash,
      secret_hint: a.secretHint,
      permissions: JSON.stringify(a.permissions),
      is_public: toBool(a.isPublic),
      created_at: a.createdDateTime,
    })
    .execute();
}

export async function findApplicationByClientId(db: Executor, tenantId: string, clientId: string): Promise<Application | undefined> {
  const r = await db
    .selectFrom('applications')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('client_id', '=', clientId.toLowerCase())
    .executeTakeFirst();
  return (
    r && {
      id: r.id,
      tenantId: r.tenant_id,
      clientId: r.client_id,
      displayName: r.display_name,
      secretHash: r.secret_hash,
      secretHint: r.secret_hint,
      permissions: JSON.parse(r.permissions) as string[],
      isPublic: fromBool(r.is_public),
      createdDateTime: r.created_at,
    }
  );
}
