import type { ColumnDefinitionBuilder, Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

/**
 * Security info (SPEC 3.3): the authentication methods a user registers, the per-user registration
 * state, and the one-time verification codes sent to an address or phone (registration now, the
 * SSPR flow later). Nothing secret in clear: answers and codes are hashed, TOTP seeds sealed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const userRef = (c: ColumnDefinitionBuilder): ColumnDefinitionBuilder => c.notNull().references('users.id').onDelete('cascade');

  await db.schema
    .createTable('auth_email_methods')
    .addColumn('user_id', 'varchar(36)', (c) => userRef(c).primaryKey())
    .addColumn('address', 'varchar(320)', (c) => c.notNull())
    .addColumn('verified_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('auth_phone_methods')
    .addColumn('user_id', 'varchar(36)', (c) => userRef(c))
    .addColumn('phone_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('number', 'varchar(32)', (c) => c.notNull())
    .addColumn('verified_at', 'varchar(32)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('auth_phone_methods_pk', ['user_id', 'phone_type'])
    .execute();

  await db.schema
    .createTable('auth_security_answers')
    .addColumn('user_id', 'varchar(36)', (c) => userRef(c))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('question_id', 'varchar(64)')
    .addColumn('custom_question', 'text')
    .addColumn('answer_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('auth_security_answers_pk', ['user_id', 'position'])
    .execute();

  await db.schema
    .createTable('auth_software_oath_methods')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => userRef(c))
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('confirmed_at', 'varchar(32)')
    .addColumn('last_used_step', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('auth_software_oath_user').on('auth_software_oath_methods').column('user_id').execute();

  await db.schema
    .createTable('auth_recovery_codes')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => userRef(c))
    .addColumn('code_hash', 'varchar(128)', (c) => c.notNull())
    .addColumn('used_at', 'varchar(32)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('auth_recovery_codes_user').on('auth_recovery_codes').column('user_id').execute();

  await db.schema
    .createTable('security_info_state')
    .addColumn('user_id', 'varchar(36)', (c) => userRef(c).primaryKey())
    .addColumn('last_confirmed_at', 'varchar(32)')
    .execute();

  await db.schema
    .createTable('verification_codes')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => userRef(c))
    /** the SSPR flow a code belongs to (null for registration) */
    .addColumn('flow_id', 'varchar(36)')
    .addColumn('purpose', 'varchar(32)', (c) => c.notNull())
    .addColumn('channel', 'varchar(8)', (c) => c.notNull())
    .addColumn('target', 'varchar(320)', (c) => c.notNull())
    /** what the code confirms beyond the target, e.g. the phone type being registered */
    .addColumn('detail', 'varchar(64)')
    .addColumn('code_hash', 'varchar(128)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('voided_at', 'varchar(32)')
    .addColumn('used_at', 'varchar(32)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('verification_codes_user').on('verification_codes').columns(['user_id', 'purpose', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['verification_codes', 'security_info_state', 'auth_recovery_codes', 'auth_software_oath_methods', 'auth_security_answers', 'auth_phone_methods', 'auth_email_methods']) {
    await db.schema.dropTable(t).execute();
  }
}
