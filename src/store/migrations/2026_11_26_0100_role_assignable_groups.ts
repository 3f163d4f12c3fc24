import type { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

/**
 * Role-assignable groups (Azure's isAssignableToRole): set when the group is created and never
 * changed. Members of such a group hold the directory roles assigned to it, so who may change its
 * membership, and who may reset its members' passwords, is restricted.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('groups').addColumn('is_assignable_to_role', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('groups').dropColumn('is_assignable_to_role').execute();
}
