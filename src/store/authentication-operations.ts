import type { Selectable } from 'kysely';
import type { AuthenticationOperationsTable, Executor } from './database.js';

export type AuthenticationOperationStatus = 'notStarted' | 'running' | 'succeeded' | 'failed';

/** One long-running authentication operation (Graph's longRunningOperation); never holds a secret. */
export interface AuthenticationOperation {
  id: string;
  tenantId: string;
  userId: string;
  status: AuthenticationOperationStatus;
  statusDetail: string | null;
  createdAt: string;
  lastActionAt: string;
  /** path relative to PUBLIC_URL, e.g. /v1.0/users/{id}/authentication/passwordMethods/{methodId} */
  resourceLocation: string | null;
}

export async function insertAuthenticationOperation(db: Executor, op: AuthenticationOperation): Promise<void> {
  await db
    .insertInto('authentication_operations')
    .values({
      id: op.id,
      tenant_id: op.tenantId,
      user_id: op.userId,
      status: op.status,
      status_detail: op.statusDetail,
      created_at: op.createdAt,
      last_action_at: op.lastActionAt,
      resource_location: op.resourceLocation,
    })
    .execute();
}

export async function setAuthenticationOperationStatus(
  db: Executor,
  id: string,
  change: { status: AuthenticationOperationStatus; statusDetail: string | null; at: string },
): Promise<void> {
  await db
    .updateTable('authentication_operations')
    .set({ status: change.status, status_detail: change.statusDetail, last_action_at: change.at })
    .where('id', '=', id)
    .execute();
}

/** The operation only when it belongs to this user of this tenant: anyone else's is simply not found. */
export async function findAuthenticationOperation(db: Executor, tenantId: string, userId: string, id: string): Promise<AuthenticationOperation | undefined> {
  const row = await db
    .selectFrom('authentication_operations')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .where('id', '=', id.toLowerCase())
    .executeTakeFirst();
  return row && toOperation(row);
}

const STATUSES: readonly AuthenticationOperationStatus[] = ['notStarted', 'running', 'succeeded', 'failed'];

function toOperation(row: Selectable<AuthenticationOperationsTable>): AuthenticationOperation {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    userId: row.user_id,
    status: (STATUSES as readonly string[]).includes(row.status) ? (row.status as AuthenticationOperationStatus) : 'failed',
    statusDetail: row.status_detail,
    createdAt: row.created_at,
    lastActionAt: row.last_action_at,
    resourceLocation: row.resource_location,
  };
}
