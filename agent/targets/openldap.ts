import { Attribute, Change, type Client, type Entry } from 'ldapts';
import { connectionFailure, escapeFilterValue, openClient, openServiceClient } from '../ldap-connect.js';
import { ServiceConnectionPool, type PoolOptions } from '../ldap-pool.js';
import {
  DirectoryRefusal,
  type DirectoryConnection,
  type DirectoryGroup,
  type DirectoryTarget,
  type DirectoryUser,
  type EffectivePolicy,
  type SyncScope,
  type UserRef,
} from '../target.js';
import { encodePasswordModify, ldapRefusal, PASSWORD_MODIFY_OID, PasswordPolicyControl, PpolicyError } from './ldap-exop.js';
import { listOpenLdapGroups, listOpenLdapUsers } from './ldap-openldap-sync.js';

/**
 * DirectoryTarget for OpenLDAP (slapd with the ppolicy overlay) over LDAPS or StartTLS.
 *
 * - Users are inetOrgPerson entries found by entryUUID (the sync anchor) or by uid / mail (the name),
 *   every filter value escaped (RFC 4515).
 * - A reset is the Password Modify extended operation (RFC 3062) bound as the service account with
 *   the password policy request control, so ppolicy's length / history / age / quality rules apply and
 *   its error comes back as a specific reason. must change → pwdReset: TRUE; unlock → delete
 *   pwdAccountLockedTime (ppolicy then clears pwdFailureTime too).
 * - A change binds as the user with the old password, then runs Password Modify with oldPasswd.
 * - Disabled accounts: OpenLDAP has no "disabled" flag, so we follow the ppolicy convention of a
 *   permanent lock: pwdAccountLockedTime = 000001010000Z. Such an account is reported enabled=false by
 *   sync, refuses change / verify with accountDisabled, and is NOT unlocked by unlock() or by a reset
 *   with unlock (only an administrator re-enables it by deleting the attribute).
 * - The service account's work runs on a small pool of bound connections (agent/ldap-pool.ts), one
 *   operation per lease; binds as a user always get their own connection.
 */

export const DISABLED_LOCK_TIME = '000001010000Z';

const USER_ATTRIBUTES = [
  'entryUUID', 'uid', 'mail', 'cn', 'displayName', 'givenName', 'sn', 'pwdAccountLockedTime', 'pwdPolicySubentry', 'pwdReset',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface OpenLdapOptions {
  /** the DN of ppolicy_default (not readable over LDAP); default cn=default,ou=policies,<baseDn> */
  defaultPolicyDn?: string;
  /** the service connection pool's limits */
  pool?: PoolOptions;
}

export function first(entry: Entry, attr: string): string | null {
  const v = entry[attr];
  const one = Array.isArray(v) ? v[0] : v;
  if (one === undefined) return null;
  return Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

export class OpenLdapTarget implements DirectoryTarget {
  readonly kind = 'openLdap' as const;
  private readonly defaultPolicyDn: string;
  /** the service account's connections (exposed for diagnostics and tests) */
  readonly pool: ServiceConnectionPool;

  constructor(
    private readonly conn: DirectoryConnection,
    opts: OpenLdapOptions = {},
  ) {
    this.defaultPolicyDn = opts.defaultPolicyDn ?? `cn=default,ou=policies,${conn.baseDn}`;
    this.pool = new ServiceConnectionPool(conn, opts.pool);
  }

  private async withService<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await this.pool.run(fn);
    } catch (err) {
      throw err instanceof DirectoryRefusal ? err : ldapRefusal(err, null, 'directory');
    }
  }

  /** The user's entry, or notFound. Never matches more than one entry. */
  private async findUser(client: Client, user: UserRef): Promise<Entry> {
    let filter: string;
    if (user.anchor) {
      if (!UUID.test(user.anchor)) throw new DirectoryRefusal('notFound', 'no entry with that entryUUID');
      filter = `(&(objectClass=inetOrgPerson)(entryUUID=${escapeFilterValue(user.anchor)}))`;
    } else {
      if (!user.name) throw new DirectoryRefusal('notFound', 'no user name given');
      const name = escapeFilterValue(user.name);
      filter = `(&(objectClass=inetOrgPerson)(|(uid=${name})(mail=${name})))`;
    }
    const { searchEntries } = await client.search(this.conn.baseDn, { scope: 'sub', filter, attributes: USER_ATTRIBUTES, sizeLimit: 2 }).catch((err: unknown) => {
      // more than one match is a sizeLimitExceeded (4): ambiguous, refuse rather than pick one
      if ((err as { code?: unknown }).code === 4) throw new DirectoryRefusal('other', 'the name matches more than one entry');
      throw ldapRefusal(err, null, 'user lookup');
    });
    if (searchEntries.length === 0) throw new DirectoryRefusal('notFound', user.anchor ? 'no entry with that entryUUID' : 'no entry with that uid or mail');
    if (searchEntries.length > 1) throw new DirectoryRefusal('other', 'the name matches more than one entry');
    return searchEntries[0]!;
  }

  async resetPassword(user: UserRef, newPassword: string, opts: { mustChange: boolean; unlock: boolean }): Promise<void> {
    await this.withService(async (client) => {
      const entry = await this.findUser(client, user);
      const ctl = new PasswordPolicyControl();
      try {
        await client.exop(PASSWORD_MODIFY_OID, encodePasswordModify({ userIdentity: entry.dn, newPassword }), ctl);
      } catch (err) {
        throw ldapRefusal(err, ctl, 'password reset');
      }
      // ppolicy itself drops pwdReset and pwdAccountLockedTime when an administrator sets a password;
      // 'replace' with the wanted values (none = delete, no error when absent) makes the outcome ours
      const set = (type: string, values: string[]): Change => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
      const changes: Change[] = [set('pwdReset', opts.mustChange ? ['TRUE'] : [])];
      const locked = first(entry, 'pwdAccountLockedTime');
      // a disabled account stays disabled; a lockout stays unless the caller asked to unlock
      if (locked !== null && (locked === DISABLED_LOCK_TIME || !opts.unlock)) changes.push(set('pwdAccountLockedTime', [locked]));
      else changes.push(set('pwdAccountLockedTime', []));
      if (changes.length > 0) {
        await client.modify(entry.dn, changes).catch((err: unknown) => {
          throw ldapRefusal(err, null, 'the password was reset, but setting pwdReset / unlocking failed');
        });
      }
    });
  }

  async changePassword(user: UserRef, oldPassword: string, newPassword: string): Promise<void> {
    const entry = await this.withService((client) => this.findUser(client, user));
    const client = await this.bindAsUser(entry, oldPassword, this.conn.timeoutMs);
    try {
      const ctl = new PasswordPolicyControl();
      await client.exop(PASSWORD_MODIFY_OID, encodePasswordModify({ userIdentity: entry.dn, oldPassword, newPassword }), ctl).catch((err: unknown) => {
        throw ldapRefusal(err, ctl, 'password change');
      });
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async unlock(user: UserRef): Promise<void> {
    await this.withService(async (client) => {
      const entry = await this.findUser(client, user);
      const locked = first(entry, 'pwdAccountLockedTime');
      if (locked === DISABLED_LOCK_TIME) throw new DirectoryRefusal('accountDisabled', 'the account is disabled (permanent ppolicy lock), not locked out');
      if (locked === null) return;
      await client.modify(entry.dn, new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime' }) })).catch((err: unknown) => {
        throw ldapRefusal(err, null, 'unlock');
      });
    });
  }

  async verifyPassword(user: UserRef, password: string, timeoutMs: number): Promise<void> {
    const entry = await this.withService((client) => this.findUser(client, user));
    const client = await this.bindAsUser(entry, password, timeoutMs);
    await client.unbind().catch(() => undefined);
  }

  /** A client bound as the user, or wrongPassword / lockedOut / accountDisabled. */
  private async bindAsUser(entry: Entry, password: string, timeoutMs: number): Promise<Client> {
    if (first(entry, 'pwdAccountLockedTime') === DISABLED_LOCK_TIME) throw new DirectoryRefusal('accountDisabled', 'the account is disabled');
    // an empty password would be an unauthenticated bind, which succeeds (RFC 4513 5.1.2)
    if (password.length === 0) throw new DirectoryRefusal('wrongPassword', 'empty password');
    const client = await openClient({ ...this.conn, timeoutMs });
    const ctl = new PasswordPolicyControl();
    try {
      await client.bind(entry.dn, password, ctl);
      return client;
    } catch (err) {
      await client.unbind().catch(() => undefined);
      if (ctl.error === PpolicyError.accountLocked) throw new DirectoryRefusal('lockedOut', 'the account is locked by the password policy');
      throw ldapRefusal(connectionFailureOrLdap(err), ctl, 'bind as the user');
    }
  }

  async effectivePolicy(user: UserRef): Promise<EffectivePolicy> {
    return this.withService(async (client) => {
      const entry = await this.findUser(client, user);
      const dn = first(entry, 'pwdPolicySubentry') ?? this.defaultPolicyDn;
      const found = await client
        .search(dn, { scope: 'base', filter: '(objectClass=pwdPolicy)', attributes: ['pwdMinLength', 'pwdInHistory', 'pwdMinAge', 'pwdCheckQuality', 'pwdCheckModule', 'pwdUseCheckModule'] })
        .catch((err: unknown) => {
          if ((err as { code?: unknown }).code === 32) return { searchEntries: [] as Entry[] };
          throw ldapRefusal(err, null, 'policy lookup');
        });
      const p = found.searchEntries[0];
      if (!p) return { minLength: 0, historyLength: 0, minAgeSeconds: 0, complexity: false, source: `none (${dn} not found)` };
      const num = (a: string): number => Number(first(p, a) ?? 0) || 0;
      return {
        minLength: num('pwdMinLength'),
        historyLength: num('pwdInHistory'),
        minAgeSeconds: num('pwdMinAge'),
        // ppolicy itself only checks length; "quality" beyond that is a check module's job
        complexity: num('pwdCheckQuality') > 0 && (first(p, 'pwdCheckModule') !== null || first(p, 'pwdUseCheckModule') === 'TRUE'),
        source: p.dn,
      };
    });
  }

  async checkReachable(): Promise<{ reachable: boolean; detail: string }> {
    // a fresh connection and bind: an open pooled one would hide a changed service password or a dead server
    const client = await openServiceClient(this.conn).catch((err: unknown) => err as Error);
    if (client instanceof Error) {
      const refusal = client instanceof DirectoryRefusal ? client : connectionFailure(client);
      return { reachable: false, detail: refusal.message };
    }
    try {
      await client.search(this.conn.baseDn, { scope: 'base', attributes: ['1.1'] });
      return { reachable: true, detail: `bound as the service account and read ${this.conn.baseDn}` };
    } catch (err) {
      return { reachable: false, detail: ldapRefusal(err, null, 'directory').message };
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async *listUsers(scope: SyncScope): AsyncIterable<DirectoryUser> {
    const client = await openServiceClient(this.conn);
    try {
      yield* listOpenLdapUsers(client, scope);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async *listGroups(scope: SyncScope): AsyncIterable<DirectoryGroup> {
    const client = await openServiceClient(this.conn);
    try {
      yield* listOpenLdapGroups(client, scope);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** Socket / TLS / timeout errors (no LDAP result code) become unreachable before the ppolicy mapping. */
function connectionFailureOrLdap(err: unknown): unknown {
  return typeof (err as { code?: unknown }).code === 'number' ? err : connectionFailure(err);
}
