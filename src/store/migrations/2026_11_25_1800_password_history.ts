import type { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

/**
 * The hashes of a user's recent passwords, newest with the highest seq, so a change can refuse to
 * reuse one (the tenant's historyCount). Only as many rows as the policy keeps are retained.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('password_history')
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('password_history_pk', ['user_id', 'seq'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('password_history').execute();
}
