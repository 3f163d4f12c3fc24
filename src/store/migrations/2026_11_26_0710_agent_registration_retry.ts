import type { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

/**
 * Registration that survives a crash (issue 7): an agent whose register answer was lost may repeat the
 * registration with the same token and key, but only while its credential has never been used.
 * `credential_used` is set by the first authenticated call (heartbeat, poll, sync, key rotation).
 * Agents registered before this migration have all had their chance: they count as used.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('writeback_agents').addColumn('credential_used', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.updateTable('writeback_agents').set({ credential_used: 1 }).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('writeback_agents').dropColumn('credential_used').execute();
}
