import type { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

/**
 * Password writeback (issue 7): one-time agent registration tokens (stored hashed), the agents of a
 * tenant with their health, their public keys (rotation keeps the old key until jobs sealed to it
 * have expired), and the job queue. A job's sealed JWE is nulled as soon as it is finished or expires,
 * so no password (even sealed) outlives its operation. cloud_hash is the argon2 hash of the new
 * password, computed before the job is sent, so an on-premises success followed by a cloud failure
 * can be applied later (Azure's OnPremisesSuccessCloudFailure) without ever keeping the password.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('agent_registration_tokens')
    .addColumn('token_hash', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('used_at', 'varchar(32)')
    .addColumn('agent_id', 'varchar(36)')
    .execute();

  await db.schema
    .createTable('writeback_agents')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('version', 'varchar(50)', (c) => c.notNull())
    .addColumn('directory_kind', 'varchar(32)', (c) => c.notNull())
    .addColumn('credential_hash', 'varchar(100)', (c) => c.notNull().unique())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('last_heartbeat_at', 'varchar(32)')
    .addColumn('directory_reachable', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('directory_detail', 'varchar(500)')
    .addColumn('jobs_applied', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('jobs_refused', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('sync_requested', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('writeback_agents_tenant').on('writeback_agents').columns(['tenant_id']).execute();

  await db.schema
    .createTable('writeback_agent_keys')
    .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('agent_id', 'varchar(36)', (c) => c.notNull().references('writeback_agents.id').onDelete('cascade'))
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    /** no longer sealed to after this; kept until jobs sealed to it have expired */
    .addColumn('retired_at', 'varchar(32)')
    .execute();
  await db.schema.createIndex('writeback_agent_keys_agent').on('writeback_agent_keys').columns(['agent_id']).execute();

  await db.schema
    .createTable('writeback_jobs')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    /** resetPassword | changePassword | unlock | verifyPassword */
    .addColumn('kind', 'varchar(32)', (c) => c.notNull())
    /** JWE JSON (general serialisation); null once finished or expired */
    .addColumn('sealed', 'text')
    /** pending | claimed | succeeded | refused | expired */
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('agent_id', 'varchar(36)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('claimed_at', 'varchar(32)')
    .addColumn('finished_at', 'varchar(32)')
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('reason', 'varchar(32)')
    .addColumn('detail', 'varchar(1000)')
    .addColumn('duration_ms', 'integer')
    .addColumn('correlation_id', 'varchar(100)')
    /** argon2 hash of the new password, for the cloud side after an on-premises success */
    .addColumn('cloud_hash', 'varchar(255)')
    .addColumn('cloud_applied', 'integer', (c) => c.notNull().defaultTo(0))
    /** a result that arrived after the job expired (recorded, then the cloud side is retried) */
    .addColumn('late', 'integer', (c) => c.notNull().defaultTo(0))
    /** JSON of the cloud options (mustChange, unlock) the retry sweep applies with cloud_hash */
    .addColumn('cloud_options', 'text')
    .execute();
  await db.schema.createIndex('writeback_jobs_pending').on('writeback_jobs').columns(['tenant_id', 'state', 'created_at']).execute();
  await db.schema.createIndex('writeback_jobs_cloud').on('writeback_jobs').columns(['state', 'cloud_applied']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('writeback_jobs').execute();
  await db.schema.dropTable('writeback_agent_keys').execute();
  await db.schema.dropTable('writeback_agents').execute();
  await db.schema.dropTable('agent_registration_tokens').execute();
}
