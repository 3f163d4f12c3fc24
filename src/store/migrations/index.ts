import type { Migration, MigrationProvider } from 'kysely';
import * as directoryCore from './2026_11_25_1700_directory_core.js';
import * as passwordHistory from './2026_11_25_1800_password_history.js';
import * as outbox from './2026_11_25_1810_outbox.js';
import * as expiryReminders from './2026_11_25_1820_expiry_reminders.js';
import * as securityInfo from './2026_11_25_1900_security_info.js';
import * as ssprFlows from './2026_11_25_1930_sspr_flows.js';
import * as roleAssignableGroups from './2026_11_26_0100_role_assignable_groups.js';
import * as authenticationOperations from './2026_11_26_0200_authentication_operations.js';
import * as auditQuery from './2026_11_26_0300_audit_query.js';
import * as auditRetention from './2026_11_26_0400_audit_retention.js';
import * as auditDailyCounts from './2026_11_26_0500_audit_daily_counts.js';
import * as writeback from './2026_11_26_0600_writeback.js';
import * as directorySync from './2026_11_26_0700_directory_sync.js';
import * as agentRegistrationRetry from './2026_11_26_0710_agent_registration_retry.js';
import * as tenantBranding from './2026_11_26_0800_tenant_branding.js';

/** A static map, so migrations ship inside the build and run the same from src or dist. */
const migrations: Record<string, Migration> = {
  '2026_11_25_1700_directory_core': directoryCore,
  '2026_11_25_1800_password_history': passwordHistory,
  '2026_11_25_1810_outbox': outbox,
  '2026_11_25_1820_expiry_reminders': expiryReminders,
  '2026_11_25_1900_security_info': securityInfo,
  '2026_11_25_1930_sspr_flows': ssprFlows,
  '2026_11_26_0100_role_assignable_groups': roleAssignableGroups,
  '2026_11_26_0200_authentication_operations': authenticationOperations,
  '2026_11_26_0300_audit_query': auditQuery,
  '2026_11_26_0400_audit_retention': auditRetention,
  '2026_11_26_0500_audit_daily_counts': auditDailyCounts,
  '2026_11_26_0600_writeback': writeback,
  '2026_11_26_0700_directory_sync': directorySync,
  '2026_11_26_0710_agent_registration_retry': agentRegistrationRetry,
  '2026_11_26_0800_tenant_branding': tenantBranding,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
