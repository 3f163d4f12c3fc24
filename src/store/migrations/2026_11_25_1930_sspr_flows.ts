import type { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow the current table types */

/**
 * The self-service password reset flow (SPEC 3.4, 4.5). A flow is a row: the client holds a random
 * token, we keep only its SHA-256 (token_hash), so a database dump hands out no live flow. The row id
 * is a separate GUID because verification_codes.flow_id is varchar(36). Decoy flows (unknown users)
 * are rows too, with user_id null, so a decoy behaves the same on every node.
 *
 * sspr_attempts holds one row per counted event (a failed gate, a flow started, an email sent), keyed
 * by a subject (the user id, or an HMAC of an unknown UPN for decoys); the limits count rows in a
 * window. sspr_blocks holds the 24-hour block. sspr_captcha_uses makes each solved CAPTCHA single-use.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sspr_flows')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.references('users.id').onDelete('cascade'))
    /** the user id, or 'decoy:' + HMAC of the typed UPN: what the limits count against */
    .addColumn('subject', 'varchar(80)', (c) => c.notNull())
    .addColumn('decoy', 'integer', (c) => c.notNull())
    .addColumn('admin', 'integer', (c) => c.notNull())
    .addColumn('intent', 'varchar(8)')
    .addColumn('methods_required', 'integer', (c) => c.notNull())
    /** JSON: the methods offered, in order */
    .addColumn('methods', 'text', (c) => c.notNull())
    /** JSON: the methods verified so far */
    .addColumn('verified', 'text', (c) => c.notNull())
    /** JSON: per-method pending state (the live code id, the questions asked) */
    .addColumn('pending', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    /** bumped by every write: updates are conditional on it (optimistic concurrency) */
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('ip', 'varchar(64)')
    .execute();
  await db.schema.createIndex('sspr_flows_subject').on('sspr_flows').columns(['subject', 'created_at']).execute();

  await db.schema
    .createTable('sspr_attempts')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('subject', 'varchar(80)', (c) => c.notNull())
    /** 'flow' | 'email' | 'gate:<method>' */
    .addColumn('kind', 'varchar(40)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sspr_attempts_subject').on('sspr_attempts').columns(['subject', 'kind', 'created_at']).execute();

  await db.schema
    .createTable('sspr_blocks')
    .addColumn('subject', 'varchar(80)', (c) => c.primaryKey())
    .addColumn('blocked_until', 'varchar(32)', (c) => c.notNull())
    .addColumn('reason', 'varchar(200)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sspr_captcha_uses')
    .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['sspr_captcha_uses', 'sspr_blocks', 'sspr_attempts', 'sspr_flows']) await db.schema.dropTable(t).execute();
}
