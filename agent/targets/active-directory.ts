import { AndFilter, Attribute, Change, EqualityFilter, OrFilter, type Client, type Entry, type Filter } from 'ldapts';
import { connectionFailure, openClient, openServiceClient } from '../ldap-connect.js';
import { ServiceConnectionPool, type PoolOptions } from '../ldap-pool.js';
import { DirectoryRefusal, type DirectoryConnection, type DirectoryGroup, type DirectoryTarget, type DirectoryUser, type EffectivePolicy, type SyncScope, type UserRef } from '../target.js';
import { choosePolicyHintsOid, PolicyHintsControl, type PolicyHintsOid } from './ad-controls.js';
import { mapAdError } from './ad-errors.js';
import { anchorToGuid } from './ad-guid.js';
import { preflight, readEffectivePolicy, type AdPolicy } from './ad-policy.js';
import { adGroups, adUsers, firstValue } from './ad-sync.js';

/**
 * Active Directory (Windows AD or a Samba AD DC) as a writeback target, over LDAPS / StartTLS only.
 * The service account's work runs on a small pool of bound connections (agent/ldap-pool.ts: opening
 * TLS and binding was most of a job's time); binds as a user always get their own connection, and each
 * lease is one operation, so a target can be shared by concurrent jobs. Raw LDAP errors never leave:
 * they become DirectoryRefusals.
 */

const UF_ACCOUNTDISABLE = 0x2;
const USER_ATTRIBUTES = ['objectClass', 'objectGUID', 'sAMAccountName', 'userPrincipalName', 'userAccountControl', 'adminCount', 'msDS-ResultantPSO'];

interface AdUser {
  dn: string;
  name: string | null;
  upn: string | null;
  disabled: boolean;
  protectedAccount: boolean;
  resultantPso: string | null;
}

export interface ActiveDirectoryOptions {
  /** check length and complexity against the effective policy before writing (default true) */
  preflight?: boolean;
  /** how long the pre-flight keeps a password policy it read (default 60 000 ms; 0 = read per job) */
  policyCacheMs?: number;
  /** the service connection pool's limits */
  pool?: PoolOptions;
  /** monotonic milliseconds, for the policy cache (tests) */
  now?: () => number;
}

/** UTF-16LE of the password in double quotes: the only form AD accepts for unicodePwd */
export function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

const replace = (type: string, value: string | Buffer): Change => new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] as string[] | Buffer[] }) });

export class ActiveDirectoryTarget implements DirectoryTarget {
  readonly kind = 'activeDirectory' as const;
  private hintsOid: Promise<PolicyHintsOid | null> | null = null;
  private readonly preflightEnabled: boolean;
  private readonly policyCacheMs: number;
  private readonly now: () => number;
  /** policies read by the pre-flight, by the user's resultant PSO ('' = the domain policy) */
  private readonly policies = new Map<string, { policy: Promise<AdPolicy>; at: number }>();
  /** the service account's connections (exposed for diagnostics and tests) */
  readonly pool: ServiceConnectionPool;

  constructor(
    private readonly conn: DirectoryConnection,
    options: ActiveDirectoryOptions = {},
  ) {
    this.preflightEnabled = options.preflight ?? true;
    this.policyCacheMs = options.policyCacheMs ?? 60_000;
    this.now = options.now ?? (() => performance.now());
    this.pool = new ServiceConnectionPool(conn, options.pool);
  }

  async resetPassword(user: UserRef, newPassword: string, opts: { mustChange: boolean; unlock: boolean }): Promise<void> {
    await this.asService(async (client) => {
      const entry = await this.findWritable(client, user);
      await this.check(client, entry, newPassword);
      const changes = [replace('unicodePwd', unicodePwd(newPassword))];
      if (opts.mustChange) changes.push(replace('pwdLastSet', '0'));
      if (opts.unlock) changes.push(replace('lockoutTime', '0'));
      const hints = await this.policyHints(client);
      await client.modify(entry.dn, changes, hints ? [new PolicyHintsControl(hints)] : []);
    });
  }

  async changePassword(user: UserRef, oldPassword: string, newPassword: string): Promise<void> {
    if (!oldPassword) throw new DirectoryRefusal('wrongPassword', 'no current password given');
    const changes = [
      new Change({ operation: 'delete', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(oldPassword)] }) }),
      new Change({ operation: 'add', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(newPassword)] }) }),
    ];
    const entry = await this.asService(async (service) => {
      const found = await this.findWritable(service, user);
      await this.check(service, found, newPassword);
      return found;
    });
    // the user's own connection, outside the pooled lease: a write there is never retried
    const asUser = await openClient(this.conn).catch((err: unknown) => Promise.reject(connectionFailure(err)));
    try {
      try {
        await asUser.bind(entry.dn, oldPassword);
      } catch (err) {
        // 773 (must change at next logon) and 532 (expired) come only after AD accepted the password; such
        // a user cannot bind, so the service account (Change Password right) sends the same delete + add,
        // which the DC still checks against the old password, history and age.
        if (/\bdata (773|532)\b/.test(String((err as Error).message))) {
          await this.asService((service) => service.modify(entry.dn, changes));
          return;
        }
        throw err;
      }
      await asUser.modify(entry.dn, changes);
    } catch (err) {
      throw mapAdError(err);
    } finally {
      await asUser.unbind().catch(() => undefined);
    }
  }

  async unlock(user: UserRef): Promise<void> {
    await this.asService(async (client) => {
      const entry = await this.find(client, user);
      if (entry.protectedAccount) throw protectedRefusal(entry);
      await client.modify(entry.dn, [replace('lockoutTime', '0')]);
    });
  }

  async verifyPassword(user: UserRef, password: string, timeoutMs: number): Promise<void> {
    if (!password) throw new DirectoryRefusal('wrongPassword', 'empty password'); // an empty simple bind would be anonymous
    const entry = await this.asService((client) => this.find(client, user));
    const client = await openClient({ ...this.conn, timeoutMs }).catch((err: unknown) => Promise.reject(connectionFailure(err)));
    try {
      await client.bind(entry.upn ?? entry.dn, password);
    } catch (err) {
      throw mapAdError(err);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async effectivePolicy(user: UserRef): Promise<EffectivePolicy> {
    return this.asService(async (client) => {
      const { authoritative: _authoritative, ...policy } = await readEffectivePolicy(client, this.conn.baseDn, (await this.find(client, user)).resultantPso);
      return policy;
    });
  }

  async checkReachable(): Promise<{ reachable: boolean; detail: string }> {
    try {
      // a fresh connection and bind: an open pooled one would hide a changed service password or a dead DC
      return await this.asFreshService(async (client) => {
        await client.search(this.conn.baseDn, { scope: 'base', filter: '(objectClass=*)', attributes: ['distinguishedName'] });
        const hints = await this.policyHints(client);
        return { reachable: true, detail: `bound as ${this.conn.bindDn}, read ${this.conn.baseDn}; reset policy hints: ${hints ?? 'not supported by this DC (history and age apply to changes only)'}` };
      });
    } catch (err) {
      return { reachable: false, detail: mapAdError(err).detail };
    }
  }

  async *listUsers(scope: SyncScope): AsyncIterable<DirectoryUser> {
    yield* this.streamAsService((client) => adUsers(client, scope));
  }

  async *listGroups(scope: SyncScope): AsyncIterable<DirectoryGroup> {
    yield* this.streamAsService((client) => adGroups(client, scope));
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** The hints OID used on resets (null: the DC has none, e.g. Samba 4.17; resets then skip history and age). */
  async policyHintsOid(): Promise<string | null> {
    return this.asService((client) => this.policyHints(client));
  }

  private policyHints(client: Client): Promise<PolicyHintsOid | null> {
    this.hintsOid ??= client
      .search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['supportedControl'] })
      .then(({ searchEntries }) => {
        const v = searchEntries[0]?.['supportedControl'];
        return choosePolicyHintsOid(Array.isArray(v) ? v.map(String) : v ? [String(v)] : []);
      })
      .catch((err: unknown) => {
        this.hintsOid = null; // try again next time
        throw err;
      });
    return this.hintsOid;
  }

  private async check(client: Client, entry: AdUser, password: string): Promise<void> {
    if (!this.preflightEnabled) return;
    preflight(await this.cachedPolicy(client, entry.resultantPso), password);
  }

  /**
   * The policy the pre-flight checks against, read at most once per `policyCacheMs` (60 s) per PSO: it
   * does not change from job to job. A PSO or domain policy edited meanwhile applies to the pre-flight
   * within a minute. The DC enforces its current policy on every write anyway: a policy made stricter
   * meanwhile is still refused (in the DC's words, not the pre-flight's); only a relaxed one can be
   * refused by the pre-flight for up to that minute.
   */
  private cachedPolicy(client: Client, resultantPso: string | null): Promise<AdPolicy> {
    const key = resultantPso ?? '';
    const hit = this.policies.get(key);
    if (hit && this.now() - hit.at < this.policyCacheMs) return hit.policy;
    const policy = readEffectivePolicy(client, this.conn.baseDn, resultantPso);
    this.policies.set(key, { policy, at: this.now() });
    policy.catch(() => {
      if (this.policies.get(key)?.policy === policy) this.policies.delete(key); // a failed read is not kept
    });
    return policy;
  }

  private async findWritable(client: Client, ref: UserRef): Promise<AdUser> {
    const entry = await this.find(client, ref);
    if (entry.protectedAccount) throw protectedRefusal(entry);
    if (entry.disabled) throw new DirectoryRefusal('accountDisabled', `${entry.dn} is disabled in the directory`);
    return entry;
  }

  /**
   * By objectGUID anchor when given, else by sAMAccountName or userPrincipalName; exactly one match.
   * The filter is built as objects, not parsed from a string: the value travels as an opaque BER
   * octet string, so no name can change the filter. (A string filter with RFC 4515 escapes would do
   * for ASCII, but ldapts 8.0.17 decodes `\xx` to a code point and re-encodes it as UTF-8, which
   * corrupts every byte ≥ 0x80: binary GUIDs and non-ASCII names then match nothing.)
   */
  private async find(client: Client, ref: UserRef): Promise<AdUser> {
    let filter: Filter;
    if (ref.anchor !== null) {
      const guid = anchorToGuid(ref.anchor);
      if (!guid) throw new DirectoryRefusal('notFound', 'the anchor is not an objectGUID');
      // objectGUID alone: it is unique per object and indexed, and the DC answers it faster than with
      // the (objectCategory=person)(objectClass=user) terms (0.89 against 1.14 ms p50 on Samba), so
      // whether the object is a user is checked on the entry instead (isUserEntry)
      filter = new EqualityFilter({ attribute: 'objectGUID', value: guid });
    } else {
      if (!ref.name) throw new DirectoryRefusal('notFound', 'no user name given');
      // the DC compares the value as a C string: "alice\0anything" would find alice
      if (ref.name.includes('\u0000')) throw new DirectoryRefusal('notFound', 'a name with a NUL character matches no user');
      const match = new OrFilter({ filters: [new EqualityFilter({ attribute: 'sAMAccountName', value: ref.name }), new EqualityFilter({ attribute: 'userPrincipalName', value: ref.name })] });
      filter = new AndFilter({ filters: [new EqualityFilter({ attribute: 'objectCategory', value: 'person' }), new EqualityFilter({ attribute: 'objectClass', value: 'user' }), match] });
    }
    const { searchEntries } = await client.search(this.conn.baseDn, { scope: 'sub', filter, attributes: USER_ATTRIBUTES, sizeLimit: 2 });
    const who = ref.anchor !== null ? `anchor ${ref.anchor}` : 'that name';
    const notFound = (): DirectoryRefusal => new DirectoryRefusal('notFound', `no user with ${who} under ${this.conn.baseDn}`);
    if (searchEntries.length === 0) throw notFound();
    if (searchEntries.length > 1) throw new DirectoryRefusal('other', `more than one user matches ${who}`);
    const entry = searchEntries[0]!;
    // the same words as no match: an anchor naming a group, an OU, a contact or a computer is no user here
    if (ref.anchor !== null && !isUserEntry(entry)) throw notFound();
    return toAdUser(entry);
  }

  private async asService<T>(work: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await this.pool.run(work);
    } catch (err) {
      throw mapAdError(err);
    }
  }

  private async asFreshService<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = await openServiceClient(this.conn);
    try {
      return await work(client);
    } catch (err) {
      throw mapAdError(err);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  private async *streamAsService<T>(work: (client: Client) => AsyncGenerator<T>): AsyncGenerator<T> {
    const client = await openServiceClient(this.conn);
    try {
      yield* work(client);
    } catch (err) {
      throw mapAdError(err);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
}

function protectedRefusal(entry: AdUser): DirectoryRefusal {
  return new DirectoryRefusal('protectedAccount', `${entry.dn} is a protected account (adminCount=1); password writeback does not manage it`);
}

/**
 * What (objectCategory=person)(objectClass=user) admits, read from the entry: a user (inetOrgPerson is a
 * subclass of user, so it has 'user' too), and not a computer, which is a user subclass of category
 * Computer (as are managed service accounts).
 */
function isUserEntry(entry: Entry): boolean {
  const raw = entry['objectClass'];
  const classes = new Set((Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map((c) => String(c).toLowerCase()));
  return classes.has('user') && !classes.has('computer');
}

function toAdUser(entry: Entry): AdUser {
  const uac = Number(firstValue(entry['userAccountControl']) ?? '0');
  return {
    dn: entry.dn,
    name: firstValue(entry['sAMAccountName']),
    upn: firstValue(entry['userPrincipalName']),
    disabled: (uac & UF_ACCOUNTDISABLE) !== 0,
    protectedAccount: firstValue(entry['adminCount']) === '1',
    resultantPso: firstValue(entry['msDS-ResultantPSO']),
  };
}

/** the factory agent/targets-index.ts loads */
export function createActiveDirectoryTarget(conn: DirectoryConnection, options: ActiveDirectoryOptions = {}): ActiveDirectoryTarget {
  return new ActiveDirectoryTarget(conn, options);
}
