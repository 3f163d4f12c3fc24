import { inject } from 'vitest';

/**
 * The test directories: slapd with ppolicy (scripts/start-slapd.sh) and a Samba AD DC
 * (scripts/start-samba.sh). CI exports their POSTERN_TEST_SLAPD_* / POSTERN_TEST_AD_* variables
 * (scripts/start-services.sh); on a developer machine test/helpers/global-setup.ts starts them for the
 * run when the binaries are installed and a selected test file uses these helpers. Without them the
 * suites skip with a notice — unless POSTERN_REQUIRE_SERVICES=1, when that is a failure.
 *
 * Several suites share one server: create your own users with unique names (uniqueName()), never
 * depend on global state, and put policy experiments on your own users (a ppolicy entry of your own
 * via pwdPolicySubentry; a fine-grained PSO in AD) rather than changing the defaults.
 */

export interface SlapdInfo {
  /** ldaps://127.0.0.1:3636 */
  url: string;
  /** ldap://127.0.0.1:3389 (StartTLS) */
  startTlsUrl: string;
  /** PEM of the CA that signed the server certificate */
  caFile: string;
  /** dc=example,dc=test; users under ou=people, groups under ou=groups, policies under ou=policies */
  baseDn: string;
  /** the rootdn: for seeding in tests only (it bypasses ppolicy) */
  adminDn: string;
  adminPassword: string;
  /** cn=postern-agent,ou=services,…: may reset passwords and set pwdReset / pwdAccountLockedTime under ou=people */
  serviceDn: string;
  servicePassword: string;
}

export interface SambaInfo {
  /** ldaps://127.0.0.1:636 */
  url: string;
  caFile: string;
  /** DC=postern,DC=test */
  baseDn: string;
  /** OU=PosternUsers,DC=postern,DC=test: where the service account holds its delegated rights */
  usersOu: string;
  /** Administrator@postern.test: for seeding in tests only */
  admin: string;
  adminPassword: string;
  /** CN=postern-agent,CN=Users,…: Reset/Change Password, write lockoutTime and pwdLastSet on OU=PosternUsers */
  serviceDn: string;
  servicePassword: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    slapd: SlapdInfo | null;
    samba: SambaInfo | null;
  }
}

type Env = Record<string, string | undefined>;

/** The facts from the scripts' variables, or null when a variable is missing. */
export function slapdInfoFromEnv(env: Env): SlapdInfo | null {
  const v = (name: string): string | undefined => env[`POSTERN_TEST_SLAPD_${name}`] || undefined;
  const url = v('URL'), startTlsUrl = v('STARTTLS_URL'), caFile = v('CA'), baseDn = v('BASE');
  const adminDn = v('ADMIN_DN'), adminPassword = v('ADMIN_PASSWORD'), serviceDn = v('SERVICE_DN'), servicePassword = v('SERVICE_PASSWORD');
  if (!url || !startTlsUrl || !caFile || !baseDn || !adminDn || !adminPassword || !serviceDn || !servicePassword) return null;
  return { url, startTlsUrl, caFile, baseDn, adminDn, adminPassword, serviceDn, servicePassword };
}

export function sambaInfoFromEnv(env: Env): SambaInfo | null {
  const v = (name: string): string | undefined => env[`POSTERN_TEST_AD_${name}`] || undefined;
  const url = v('URL'), caFile = v('CA'), baseDn = v('BASE'), admin = v('ADMIN'), adminPassword = v('ADMIN_PASSWORD');
  const serviceDn = v('SERVICE_DN'), servicePassword = v('SERVICE_PASSWORD');
  if (!url || !caFile || !baseDn || !admin || !adminPassword || !serviceDn || !servicePassword) return null;
  return { url, caFile, baseDn, usersOu: `OU=PosternUsers,${baseDn}`, admin, adminPassword, serviceDn, servicePassword };
}

const noticeShown = new Set<string>();

function missing<T>(what: string, how: string): T | null {
  if (process.env.POSTERN_REQUIRE_SERVICES === '1') {
    throw new Error(`POSTERN_REQUIRE_SERVICES=1 but no ${what} is available (${how})`);
  }
  if (!noticeShown.has(what)) {
    noticeShown.add(what);
    console.warn(`[postern tests] ${what} not available: its suites are skipped (${how})`);
  }
  return null;
}

/** slapd + ppolicy for this run, or null (skip: `describe.skipIf(!slapd)`); throws under POSTERN_REQUIRE_SERVICES=1. */
export function slapdTestInfo(): SlapdInfo | null {
  return slapdInfoFromEnv(process.env) ?? inject('slapd') ?? missing('slapd', 'source scripts/start-services.sh, or apt-get install slapd ldap-utils');
}

/** The Samba AD DC for this run, or null (skip); throws under POSTERN_REQUIRE_SERVICES=1. */
export function sambaTestInfo(): SambaInfo | null {
  return sambaInfoFromEnv(process.env) ?? inject('samba') ?? missing('Samba AD DC', 'source scripts/start-services.sh, or apt-get install samba winbind krb5-user ldap-utils');
}

/** A name no other test (or run) uses: prefix + time + random, ≤ 20 characters (sAMAccountName limit). */
export function uniqueName(prefix: string): string {
  const tail = `${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 7)}`;
  return `${prefix.slice(0, 20 - tail.length)}${tail}`;
}
