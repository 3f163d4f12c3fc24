import type { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('display_name', 'varchar(256)', (c) => c.notNull())
    .addColumn('edition', 'varchar(16)', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('tenant_domains')
    .addColumn('domain', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('is_verified', 'integer', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('tenant_domains_tenant').on('tenant_domains').column('tenant_id').execute();

  await db.schema
    .createTable('users')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_principal_name', 'varchar(113)', (c) => c.notNull())
    .addColumn('upn_key', 'varchar(113)', (c) => c.notNull().unique())
    .addColumn('display_name', 'varchar(256)', (c) => c.notNull())
    .addColumn('given_name', 'varchar(64)')
    .addColumn('surname', 'varchar(64)')
    .addColumn('mail', 'varchar(256)')
    .addColumn('other_mails', 'text', (c) => c.notNull())
    .addColumn('mobile_phone', 'varchar(64)')
    .addColumn('business_phones', 'text', (c) => c.notNull())
    .addColumn('job_title', 'varchar(128)')
    .addColumn('account_enabled', 'integer', (c) => c.notNull())
    .addColumn('password_policies', 'varchar(128)')
    .addColumn('password_hash', 'text')
    .addColumn('force_change_password_next_sign_in', 'integer', (c) => c.notNull())
    .addColumn('force_change_password_next_sign_in_with_mfa', 'integer', (c) => c.notNull())
    .addColumn('last_password_change_at', 'varchar(32)')
    .addColumn('on_premises_sync_enabled', 'integer')
    .addColumn('on_premises_immutable_id', 'varchar(256)')
    .addColumn('password_source', 'varchar(16)', (c) => c.notNull())
    .addColumn('failed_sign_in_count', 'integer', (c) => c.notNull())
    .addColumn('lockout_count', 'integer', (c) => c.notNull())
    .addColumn('locked_until', 'varchar(32)')
    .addColumn('recent_bad_hashes', 'text', (c) => c.notNull())
    .addColumn('sign_in_sessions_valid_from', 'varchar(32)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('users_tenant_upn').on('users').columns(['tenant_id', 'upn_key']).execute();
  await db.schema.createIndex('users_tenant_display_name').on('users').columns(['tenant_id', 'display_name']).execute();

  await db.schema
    .createTable('groups')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('display_name', 'varchar(256)', (c) => c.notNull())
    .addColumn('description', 'varchar(1024)')
    .addColumn('mail_nickname', 'varchar(64)')
    .addColumn('security_enabled', 'integer', (c) => c.notNull())
    .addColumn('mail_enabled', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('groups_tenant').on('groups').columns(['tenant_id', 'display_name']).execute();

  await db.schema
    .createTable('group_members')
    .addColumn('group_id', 'varchar(36)', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('member_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('member_type', 'varchar(8)', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'member_id'])
    .execute();
  await db.schema.createIndex('group_members_member').on('group_members').column('member_id').execute();

  await db.schema
    .createTable('role_assignments')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('principal_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('role_definition_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('directory_scope_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addUniqueConstraint('role_assignments_unique', ['tenant_id', 'principal_id', 'role_definition_id', 'directory_scope_id'])
    .execute();
  await db.schema.createIndex('role_assignments_principal').on('role_assignments').column('principal_id').execute();

  await db.schema
    .createTable('applications')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('client_id', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('display_name', 'varchar(256)', (c) => c.notNull())
    .addColumn('secret_hash', 'text')
    .addColumn('secret_hint', 'varchar(8)')
    .addColumn('permissions', 'text', (c) => c.notNull())
    .addColumn('is_public', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('alg', 'varchar(16)', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_jwk_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('active_from', 'varchar(32)', (c) => c.notNull())
    .addColumn('retired_at', 'varchar(32)')
    .addColumn('expires_at', 'varchar(32)')
    .execute();

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('family_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('client_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('used_at', 'varchar(32)')
    .addColumn('revoked_at', 'varchar(32)')
    .execute();
  await db.schema.createIndex('refresh_tokens_family').on('refresh_tokens').column('family_id').execute();
  await db.schema.createIndex('refresh_tokens_user').on('refresh_tokens').column('user_id').execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('csrf_token_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('last_seen_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('activity_date_time', 'varchar(32)', (c) => c.notNull())
    .addColumn('activity_display_name', 'varchar(128)', (c) => c.notNull())
    .addColumn('category', 'varchar(64)', (c) => c.notNull())
    .addColumn('logged_by_service', 'varchar(64)', (c) => c.notNull())
    .addColumn('operation_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('result', 'varchar(16)', (c) => c.notNull())
    .addColumn('result_reason', 'text', (c) => c.notNull())
    .addColumn('correlation_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('initiated_by', 'text', (c) => c.notNull())
    .addColumn('target_resources', 'text', (c) => c.notNull())
    .addColumn('additional_details', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('hash', 'varchar(64)', (c) => c.notNull())
    // one position per tenant: two writers racing for the same seq cannot both commit
    .addUniqueConstraint('audit_events_chain', ['tenant_id', 'seq'])
    .execute();
  await db.schema.createIndex('audit_events_time').on('audit_events').columns(['tenant_id', 'activity_date_time']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['audit_events', 'sessions', 'refresh_tokens', 'signing_keys', 'applications', 'role_assignments', 'group_members', 'groups', 'users', 'tenant_domains', 'tenants']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
