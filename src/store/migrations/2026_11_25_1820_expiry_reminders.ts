import type { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

export async function up(db: Kysely<any>): Promise<void> {
  // One row per scheduled job: whoever holds an unexpired lease runs it; nodes take turns safely.
  await db.schema
    .createTable('job_leases')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('owner', 'varchar(64)', (c) => c.notNull())
    .addColumn('lease_until', 'varchar(32)', (c) => c.notNull())
    .execute();

  // A reminder is sent once per user, password (identified by its change time) and mark (days before).
  await db.schema
    .createTable('expiry_reminders_sent')
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('password_changed_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('days_before', 'integer', (c) => c.notNull())
    .addColumn('sent_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('expiry_reminders_sent_pk', ['user_id', 'password_changed_at', 'days_before'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('expiry_reminders_sent').ifExists().execute();
  await db.schema.dropTable('job_leases').ifExists().execute();
}
