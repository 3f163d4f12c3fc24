import type { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

/**
 * Graph's long-running authentication operations (reference §8.3): an administrator's resetPassword
 * answers 202 with the Location of one of these rows, which ends succeeded or failed. The row never
 * holds the password: status_detail says why an operation failed, in words.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('authentication_operations')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    /** notStarted | running | succeeded | failed */
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('status_detail', 'varchar(1000)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('last_action_at', 'varchar(32)', (c) => c.notNull())
    /** the path of the resource the operation acts on, relative to PUBLIC_URL */
    .addColumn('resource_location', 'varchar(400)')
    .execute();
  await db.schema.createIndex('authentication_operations_user').on('authentication_operations').columns(['tenant_id', 'user_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('authentication_operations').execute();
}
