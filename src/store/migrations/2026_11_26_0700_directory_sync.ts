import type { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

/**
 * Sync from an on-premises directory (issue 7): groups get the on-premises anchor users already have
 * (objectGUID / entryUUID), both get the on-premises name and DN, and a `last_sync_run` (the runId of
 * the last run that saw the object) so the run's final batch can disable the users it did not see.
 * Objects are looked up by (tenant_id, on_premises_immutable_id), once per batch.
 */
export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ['users', 'groups']) {
    if (table === 'groups') {
      await db.schema.alterTable(table).addColumn('on_premises_immutable_id', 'varchar(256)').execute();
      await db.schema.alterTable(table).addColumn('on_premises_sync_enabled', 'integer').execute();
    }
    await db.schema.alterTable(table).addColumn('on_premises_sam_account_name', 'varchar(256)').execute();
    await db.schema.alterTable(table).addColumn('on_premises_distinguished_name', 'text').execute();
    await db.schema.alterTable(table).addColumn('last_sync_run', 'varchar(36)').execute();
    await db.schema.createIndex(`${table}_tenant_anchor`).on(table).columns(['tenant_id', 'on_premises_immutable_id']).execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['users', 'groups']) {
    await db.schema.dropIndex(`${table}_tenant_anchor`).execute();
    for (const column of ['last_sync_run', 'on_premises_distinguished_name', 'on_premises_sam_account_name']) {
      await db.schema.alterTable(table).dropColumn(column).execute();
    }
    if (table === 'groups') {
      await db.schema.alterTable(table).dropColumn('on_premises_sync_enabled').execute();
      await db.schema.alterTable(table).dropColumn('on_premises_immutable_id').execute();
    }
  }
}
