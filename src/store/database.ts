import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, type SqliteDatabase, type Transaction } from 'kysely';
import pg from 'pg';
import { LiteralLimitsSqliteDialect } from './literal-limits.js';

/**
 * The table map. Portable types only: text ids (GUIDs), ISO-8601 UTC timestamps as text (they sort),
 * booleans as 0/1 integers, JSON as text. The same rows then read back identically on SQLite and
 * PostgreSQL.
 */
export interface Database {
  tenants: TenantsTable;
  tenant_domains: TenantDomainsTable;
  users: UsersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  role_assignments: RoleAssignmentsTable;
  applications: ApplicationsTable;
  signing_keys: SigningKeysTable;
  refresh_tokens: RefreshTokensTable;
  sessions: SessionsTable;
  audit_events: AuditEventsTable;
  audit_event_targets: AuditEventTargetsTable;
  audit_daily_counts: AuditDailyCountsTable;
  audit_daily_facets: AuditDailyFacetsTable;
  password_history: PasswordHistoryTable;
  outbox: OutboxTable;
  job_leases: JobLeasesTable;
  expiry_reminders_sent: ExpiryRemindersSentTable;
  auth_email_methods: AuthEmailMethodsTable;
  auth_phone_methods: AuthPhoneMethodsTable;
  auth_security_answers: AuthSecurityAnswersTable;
  auth_software_oath_methods: AuthSoftwareOathMethodsTable;
  auth_recovery_codes: AuthRecoveryCodesTable;
  security_info_state: SecurityInfoStateTable;
  verification_codes: VerificationCodesTable;
  sspr_flows: SsprFlowsTable;
  sspr_attempts: SsprAttemptsTable;
  sspr_blocks: SsprBlocksTable;
  sspr_captcha_uses: SsprCaptchaUsesTable;
  authentication_operations: AuthenticationOperationsTable;
  audit_anchors: AuditAnchorsTable;
  audit_webhooks: AuditWebhooksTable;
  agent_registration_tokens: AgentRegistrationTokensTable;
  writeback_agents: WritebackAgentsTable;
  writeback_agent_keys: WritebackAgentKeysTable;
  writeback_jobs: WritebackJobsTable;
  tenant_branding: TenantBrandingTable;
}

export type Bool = 0 | 1;

/** migration 2026_11_26_0800_tenant_branding: null = the default (tenant name, Postern colour, none) */
export interface TenantBrandingTable {
  tenant_id: string;
  display_name: string | null;
  /** PNG or JPEG bytes, base64 */
  logo: string | null;
  logo_type: 'image/png' | 'image/jpeg' | null;
  primary_color: string | null;
  sign_in_text: string | null;
  updated_at: string;
}

export interface TenantsTable {
  id: string;
  display_name: string;
  edition: 'free' | 'basic' | 'premium';
  /** JSON: lockout and (later) password/SSPR policy overrides. */
  settings: string;
  created_at: string;
}

export interface TenantDomainsTable {
  /** lower case, unique across all tenants: a UPN's domain selects its tenant */
  domain: string;
  tenant_id: string;
  is_verified: Bool;
  is_default: Bool;
  created_at: string;
}

export interface UsersTable {
  id: string;
  tenant_id: string;
  user_principal_name: string;
  /** lower-cased UPN, unique: Azure compares UPNs case-insensitively */
  upn_key: string;
  display_name: string;
  given_name: string | null;
  surname: string | null;
  mail: string | null;
  other_mails: string; // JSON string[]
  mobile_phone: string | null;
  business_phones: string; // JSON string[]
  job_title: string | null;
  account_enabled: Bool;
  password_policies: string | null;
  password_hash: string | null;
  force_change_password_next_sign_in: Bool;
  force_change_password_next_sign_in_with_mfa: Bool;
  last_password_change_at: string | null;
  on_premises_sync_enabled: Bool | null;
  on_premises_immutable_id: string | null;
  password_source: 'cloud' | 'hashSync' | 'passThrough';
  /** smart lockout state */
  failed_sign_in_count: number;
  lockout_count: number;
  locked_until: string | null;
  recent_bad_hashes: string; // JSON string[] of keyed fingerprints, never the password
  /** bumped when sessions and refresh tokens must die (password reset, revoke) */
  sign_in_sessions_valid_from: string;
  created_at: string;
  updated_at: string;
  /** directory sync (migration 2026_11_26_0700_directory_sync): sAMAccountName / uid, DN, the last run that saw the user */
  on_premises_sam_account_name?: string | null;
  on_premises_distinguished_name?: string | null;
  last_sync_run?: string | null;
}

export interface GroupsTable {
  id: string;
  tenant_id: string;
  display_name: string;
  description: string | null;
  mail_nickname: string | null;
  security_enabled: Bool;
  mail_enabled: Bool;
  created_at: string;
  /** 1 = role-assignable (set at creation, immutable); its direct members hold its directory roles */
  is_assignable_to_role: Bool;
  /** directory sync (migration 2026_11_26_0700_directory_sync): objectGUID / entryUUID; null for cloud groups */
  on_premises_immutable_id?: string | null;
  on_premises_sync_enabled?: Bool | null;
  on_premises_sam_account_name?: string | null;
  on_premises_distinguished_name?: string | null;
  last_sync_run?: string | null;
}

export interface GroupMembersTable {
  group_id: string;
  member_id: string;
  member_type: 'user' | 'group';
  tenant_id: string;
  created_at: string;
}

export interface RoleAssignmentsTable {
  id: string;
  tenant_id: string;
  principal_id: string;
  /** the built-in role's template id (Azure's roleDefinitionId) */
  role_definition_id: string;
  directory_scope_id: string;
  created_at: string;
}

export interface ApplicationsTable {
  id: string;
  tenant_id: string;
  client_id: string;
  display_name: string;
  /** argon2id hash of the client secret; null for public clients */
  secret_hash: string | null;
  secret_hint: string | null;
  permissions: string; // JSON string[] of Graph application permission names
  is_public: Bool;
  created_at: string;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string; // JSON
  private_jwk_sealed: string; // SecretBox-sealed JSON
  created_at: string;
  /** signing starts after this (new keys are published before they sign) */
  active_from: string;
  /** no longer signs after this; still published until expires_at */
  retired_at: string | null;
  expires_at: string | null;
}

export interface RefreshTokensTable {
  id: string;
  token_hash: string;
  family_id: string;
  tenant_id: string;
  user_id: string;
  client_id: string;
  scope: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  revoked_at: string | null;
}

export interface SessionsTable {
  id_hash: string;
  tenant_id: string;
  user_id: string;
  csrf_token_hash: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
}

export interface AuditEventsTable {
  id: string;
  tenant_id: string;
  /** position in the tenant's hash chain, from 1 */
  seq: number;
  activity_date_time: string;
  activity_display_name: string;
  category: string;
  logged_by_service: string;
  operation_type: string;
  result: 'success' | 'failure' | 'timeout';
  result_reason: string;
  correlation_id: string;
  initiated_by: string; // JSON
  target_resources: string; // JSON
  additional_details: string; // JSON
  prev_hash: string;
  hash: string;
  /** lower-cased copies of initiatedBy for $filter (see migration 2026_11_26_0300_audit_query); null when absent */
  initiator_user_id: string | null;
  initiator_upn: string | null;
  initiator_display_name: string | null;
  initiator_app_id: string | null;
}

/** One row per targetResources entry of an audit event, for targetResources/any(…) filters. */
export interface AuditEventTargetsTable {
  event_id: string;
  /** index in targetResources */
  position: number;
  tenant_id: string;
  activity_date_time: string;
  /** lower-cased */
  target_id: string;
  /** lower-cased; null when the target has none */
  target_upn: string | null;
}

/** Events per tenant, UTC day and kind (migration 2026_11_26_0500_audit_daily_counts); kept by retention. */
export interface AuditDailyCountsTable {
  tenant_id: string;
  /** YYYY-MM-DD (UTC) */
  day: string;
  activity_display_name: string;
  result: string;
  /** the first 200 characters */
  result_reason: string;
  logged_by_service: string;
  count: number;
}

/** Counts of values kept in events' JSON details: facet 'method' (SSPR completions) and 'outcome' (flow results). */
export interface AuditDailyFacetsTable {
  tenant_id: string;
  day: string;
  activity_display_name: string;
  facet: string;
  value: string;
  count: number;
}

export interface OutboxTable {
  id: string;
  tenant_id: string;
  /** 'siem': an audit event for a tenant's SIEM webhook (recipient = the webhook id, data = the body) */
  channel: 'email' | 'sms' | 'voice' | 'siem';
  recipient: string;
  template: string;
  locale: string;
  /** JSON: template variables, never a password or a code */
  data: string;
  /** SecretBox-sealed JSON of the variables that are secrets (codes); opened only to render */
  secret_data: string | null;
  status: 'pending' | 'sending' | 'sent' | 'failed';
  attempts: number;
  next_attempt_at: string;
  /** why the last attempt failed, truncated; never a message body */
  last_error: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  /** the transport that took it: 'smtp', 'webhook', or 'outbox' (nothing sent: no SMTP/webhook configured) */
  delivered_via: string | null;
  created_at: string;
  sent_at: string | null;
}

export interface PasswordHistoryTable {
  user_id: string;
  /** per user, increasing; the newest password has the highest */
  seq: number;
  password_hash: string;
  created_at: string;
}

export interface JobLeasesTable {
  name: string;
  owner: string;
  lease_until: string;
}

export interface ExpiryRemindersSentTable {
  user_id: string;
  /** identifies the password the reminder was about: a change starts a fresh set */
  password_changed_at: string;
  days_before: number;
  sent_at: string;
}

export interface AuthEmailMethodsTable {
  user_id: string;
  address: string;
  verified_at: string;
  created_at: string;
}

export interface AuthPhoneMethodsTable {
  user_id: string;
  phone_type: 'mobile' | 'alternateMobile' | 'office';
  /** E.164 */
  number: string;
  verified_at: string | null;
  created_at: string;
}

export interface AuthSecurityAnswersTable {
  user_id: string;
  position: number;
  /** a predefined question's id, or null with custom_question set */
  question_id: string | null;
  custom_question: string | null;
  /** argon2id of the normalised answer */
  answer_hash: string;
  created_at: string;
}

export interface AuthSoftwareOathMethodsTable {
  id: string;
  user_id: string;
  /** SecretBox-sealed base32 TOTP seed */
  secret_sealed: string;
  /** null while the enrolment waits for its first code */
  confirmed_at: string | null;
  /** the last 30 s step accepted: each step is accepted once */
  last_used_step: number;
  created_at: string;
}

export interface AuthRecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  used_at: string | null;
  created_at: string;
}

export interface SecurityInfoStateTable {
  user_id: string;
  last_confirmed_at: string | null;
}

export interface VerificationCodesTable {
  id: string;
  tenant_id: string;
  user_id: string;
  flow_id: string | null;
  purpose: string;
  channel: 'email' | 'sms' | 'voice';
  target: string;
  detail: string | null;
  /** HMAC of the code with a key derived from the SecretBox */
  code_hash: string;
  /** wrong entries so far (carried over to the code that replaces this one) */
  attempts: number;
  expires_at: string;
  voided_at: string | null;
  used_at: string | null;
  created_at: string;
}

/** One self-service password reset flow; the client's handle is a token whose SHA-256 is token_hash. */
export interface SsprFlowsTable {
  id: string;
  token_hash: string;
  tenant_id: string | null;
  user_id: string | null;
  subject: string;
  decoy: Bool;
  admin: Bool;
  intent: string | null;
  methods_required: number;
  methods: string;
  verified: string;
  pending: string;
  status: string;
  version: number;
  expires_at: string;
  created_at: string;
  updated_at: string;
  ip: string | null;
}

export interface SsprAttemptsTable {
  id: string;
  subject: string;
  kind: string;
  created_at: string;
}

export interface SsprBlocksTable {
  subject: string;
  blocked_until: string;
  reason: string;
}

export interface SsprCaptchaUsesTable {
  hash: string;
  expires_at: string;
}

export interface AuthenticationOperationsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  status: string;
  status_detail: string | null;
  created_at: string;
  last_action_at: string;
  resource_location: string | null;
}

/** Where a tenant's audit chain starts after retention removed its oldest events. */
export interface AuditAnchorsTable {
  tenant_id: string;
  /** the first kept event */
  seq: number;
  /** the hash of the last removed event: the first kept event must link to it */
  prev_hash: string;
  removed_count: number;
  /** activityDateTime of the newest removed event */
  removed_through: string;
  created_at: string;
}

export interface AuditWebhooksTable {
  id: string;
  tenant_id: string;
  url: string;
  /** SecretBox-sealed HMAC secret */
  secret_sealed: string;
  created_at: string;
}

/** Writeback (migration 2026_11_26_0600_writeback). */
export interface AgentRegistrationTokensTable {
  token_hash: string;
  tenant_id: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  agent_id: string | null;
}

export interface WritebackAgentsTable {
  id: string;
  tenant_id: string;
  name: string;
  version: string;
  directory_kind: string;
  credential_hash: string;
  enabled: Bool;
  created_at: string;
  last_heartbeat_at: string | null;
  directory_reachable: Bool;
  directory_detail: string | null;
  jobs_applied: number;
  jobs_refused: number;
  sync_requested: Bool;
  /** 1 once the agent made an authenticated call: its registration can no longer be repeated */
  credential_used: Bool;
}

export interface WritebackAgentKeysTable {
  kid: string;
  agent_id: string;
  public_jwk: string; // JSON
  created_at: string;
  retired_at: string | null;
}

export interface WritebackJobsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  kind: string;
  sealed: string | null;
  state: 'pending' | 'claimed' | 'succeeded' | 'refused' | 'expired';
  agent_id: string | null;
  created_at: string;
  claimed_at: string | null;
  finished_at: string | null;
  expires_at: string;
  reason: string | null;
  detail: string | null;
  duration_ms: number | null;
  correlation_id: string | null;
  cloud_hash: string | null;
  cloud_applied: Bool;
  late: Bool;
  cloud_options: string | null;
}

export type Db = Kysely<Database>;
export type Executor = Kysely<Database> | Transaction<Database>;
export type Dialect = 'sqlite' | 'postgres';

export interface DbHandle {
  db: Db;
  dialect: Dialect;
  close(): Promise<void>;
}

/** Opens the database named by DATABASE_URL (`sqlite:<path>` or `postgres://…`). */
export function openDatabase(url: string): DbHandle {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    // Planner statistics, which SQLite never gathers by itself: sampled (analysis_limit keeps it to
    // milliseconds on a large log), for tables never analysed or much changed, at open and at close,
    // as https://sqlite.org/lang_analyze.html#recommended_usage_pattern advises. The audit queries
    // pin their plans and do not depend on these (BENCHMARKS.md, audit-queries).
    sqlite.pragma('analysis_limit = 400');
    sqlite.pragma('optimize = 0x10002');
    const db = new Kysely<Database>({ dialect: new LiteralLimitsSqliteDialect({ database: withStatementCache(sqlite) }) });
    const close = async () => {
      try {
        if (sqlite.open) sqlite.pragma('optimize');
      } catch {
        // statistics are an optimisation: a busy or read-only database closes without them
      }
      await db.destroy();
    };
    return { db, dialect: 'sqlite', close };
  }
  // a server that does not answer (down host, full backlog) fails a new connection after 5 s — the
  // request then gets 503 with Retry-After (src/store/database-errors.ts) — instead of waiting forever
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000 });
  // An idle connection can die under us (server restart, failover, an admin terminating backends).
  // pg reports that as an 'error' event on the pool; unhandled, it would crash the process. The pool
  // drops the dead client by itself and the next query opens a fresh one.
  pool.on('error', (err) => {
    console.error(`postern: an idle PostgreSQL connection failed and was discarded: ${err.message}`);
  });
  // A connection can also die while checked out between queries (a transaction waiting on the app,
  // the server restarting): pg emits 'error' on the client then, and pg-pool listens only while it is
  // idle — unhandled, the process would exit. Every client keeps a listener: the query running on it
  // fails by itself, and the pool drops the dead client when it is released.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

/** Prepared statements kept per SQL text; Kysely's queries repeat a few hundred distinct texts. */
const STATEMENT_CACHE_MAX = 500;

/**
 * Kysely prepares every query afresh; preparing costs about as much as running a keyed lookup
 * (BENCHMARKS.md, graph-read). SQLite re-prepares a kept statement by itself when the schema
 * changes. Kysely runs one query at a time on the connection, but a statement still being iterated
 * (a stream) is not handed out again: that query gets a fresh one.
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const kept = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      const cached = kept.get(text);
      if (cached && !cached.busy) return cached;
      const statement = sqlite.prepare(text);
      if (!cached) {
        if (kept.size >= STATEMENT_CACHE_MAX) kept.delete(kept.keys().next().value!);
        kept.set(text, statement);
      }
      return statement;
    },
  };
}

export const toBool = (v: boolean): Bool => (v ? 1 : 0);
export const fromBool = (v: number | null | undefined): boolean => v === 1;

/** Round-trips a trivial query: the health check's proof that the database answers. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
