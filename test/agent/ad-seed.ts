import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Attribute, Change, Client } from 'ldapts';
import type { DirectoryConnection } from '../../agent/target.js';
import { unicodePwd } from '../../agent/targets/active-directory.js';
import { guidToAnchor } from '../../agent/targets/ad-guid.js';
import { uniqueName, type SambaInfo } from '../helpers/directories.js';

/**
 * Seeding for the Active Directory target tests, as the domain Administrator (tests only): users in
 * OU=PosternUsers with unique names, fine-grained PSOs applied to those users only, and the state
 * changes (disable, adminCount, lockoutTime) an administrator would make. Everything made is removed
 * by cleanup().
 */

const TICKS_PER_DAY = 864_000_000_000n;

export interface SeededUser {
  name: string;
  dn: string;
  upn: string;
  anchor: string;
}

export class AdSeed {
  private readonly made: string[] = [];
  private constructor(
    readonly info: SambaInfo,
    private readonly admin: Client,
  ) {}

  static async open(info: SambaInfo): Promise<AdSeed> {
    const admin = new Client({ url: info.url, timeout: 10_000, tlsOptions: { ca: readFileSync(info.caFile), rejectUnauthorized: true } });
    await admin.bind(info.admin, info.adminPassword);
    return new AdSeed(info, admin);
  }

  connection(overrides: Partial<DirectoryConnection> = {}): DirectoryConnection {
    const i = this.info;
    return { url: i.url, startTls: false, caFile: i.caFile, bindDn: i.serviceDn, bindPassword: i.servicePassword, baseDn: i.baseDn, timeoutMs: 10_000, ...overrides };
  }

  async user(prefix: string, password: string): Promise<SeededUser> {
    const name = uniqueName(prefix);
    const dn = `CN=${name},${this.info.usersOu}`;
    const upn = `${name}@postern.test`;
    const attrs: Record<string, string | string[]> = {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: name,
      userPrincipalName: upn,
      displayName: `Test ${name}`,
      givenName: 'Test',
      sn: name,
      userAccountControl: '512',
    };
    const list = Object.entries(attrs).map(([type, v]) => new Attribute({ type, values: Array.isArray(v) ? v : [v] }));
    await this.admin.add(dn, [...list, new Attribute({ type: 'unicodePwd', values: [unicodePwd(password)] })]);
    this.made.push(dn);
    const { searchEntries } = await this.admin.search(dn, { scope: 'base', attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'] });
    return { name, dn, upn, anchor: guidToAnchor(searchEntries[0]!['objectGUID'] as Buffer) };
  }

  async group(prefix: string, members: string[]): Promise<{ dn: string; anchor: string }> {
    const name = uniqueName(prefix);
    const dn = `CN=${name},${this.info.usersOu}`;
    await this.admin.add(dn, { objectClass: ['top', 'group'], sAMAccountName: name, description: 'Postern test group', member: members });
    this.made.push(dn);
    const { searchEntries } = await this.admin.search(dn, { scope: 'base', attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'] });
    return { dn, anchor: guidToAnchor(searchEntries[0]!['objectGUID'] as Buffer) };
  }

  /** a computer account (a subclass of user, of category Computer) with its anchor */
  async computer(prefix: string): Promise<{ dn: string; anchor: string }> {
    const name = uniqueName(prefix).slice(0, 15);
    const dn = `CN=${name},${this.info.usersOu}`;
    await this.admin.add(dn, { objectClass: ['top', 'person', 'organizationalPerson', 'user', 'computer'], sAMAccountName: `${name}$`, userAccountControl: '4096' });
    this.made.push(dn);
    return { dn, anchor: await this.anchorOf(dn) };
  }

  /** the anchor (base64 objectGUID) of any object */
  async anchorOf(dn: string): Promise<string> {
    const { searchEntries } = await this.admin.search(dn, { scope: 'base', attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'] });
    return guidToAnchor(searchEntries[0]!['objectGUID'] as Buffer);
  }

  /** a PSO applied to `userDn` only; readable by authenticated users when `readable` (AD hides PSOs otherwise) */
  async pso(userDn: string, p: { minLength: number; history: number; minAgeDays: number; complexity: boolean; readable: boolean }): Promise<string> {
    const dn = `CN=${uniqueName('pso')},CN=Password Settings Container,CN=System,${this.info.baseDn}`;
    await this.admin.add(dn, {
      objectClass: ['top', 'msDS-PasswordSettings'],
      'msDS-PasswordSettingsPrecedence': '5',
      'msDS-PasswordReversibleEncryptionEnabled': 'FALSE',
      'msDS-PasswordHistoryLength': String(p.history),
      'msDS-PasswordComplexityEnabled': p.complexity ? 'TRUE' : 'FALSE',
      'msDS-MinimumPasswordLength': String(p.minLength),
      'msDS-MinimumPasswordAge': String(-BigInt(p.minAgeDays) * TICKS_PER_DAY),
      'msDS-MaximumPasswordAge': String(-42n * TICKS_PER_DAY),
      'msDS-LockoutThreshold': '0',
      'msDS-LockoutObservationWindow': '-18000000000',
      'msDS-LockoutDuration': '-18000000000',
      'msDS-PSOAppliesTo': userDn,
    });
    this.made.push(dn);
    if (p.readable) await this.sambaTool(['dsacl', 'set', `--objectdn=${dn}`, '--sddl=(A;;RPLCLORC;;;AU)']);
    return dn;
  }

  async set(dn: string, attribute: string, value: string): Promise<void> {
    await this.admin.modify(dn, [new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values: [value] }) })]);
  }

  async read(dn: string, attribute: string): Promise<string | null> {
    const { searchEntries } = await this.admin.search(dn, { scope: 'base', attributes: [attribute] });
    const v = searchEntries[0]?.[attribute];
    const one = Array.isArray(v) ? v[0] : v;
    return one === undefined ? null : String(one);
  }

  async readAll(dn: string, attribute: string): Promise<string[]> {
    const { searchEntries } = await this.admin.search(dn, { scope: 'base', attributes: [attribute] });
    const v = searchEntries[0]?.[attribute];
    return (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);
  }

  /** can this user bind with this password? (over LDAPS with the test CA) */
  async canBind(upn: string, password: string): Promise<boolean> {
    const c = new Client({ url: this.info.url, timeout: 10_000, tlsOptions: { ca: readFileSync(this.info.caFile), rejectUnauthorized: true } });
    try {
      await c.bind(upn, password);
      return true;
    } catch {
      return false;
    } finally {
      await c.unbind().catch(() => undefined);
    }
  }

  async cleanup(): Promise<void> {
    for (const dn of this.made.reverse()) await this.admin.del(dn).catch(() => undefined);
    await this.admin.unbind().catch(() => undefined);
  }

  private async sambaTool(args: string[]): Promise<void> {
    const host = new URL(this.info.url).hostname;
    const user = this.info.admin.replace(/@.*$/, '');
    await promisify(execFile)('samba-tool', [...args, '-H', `ldap://${host}`, '-U', user, `--password=${this.info.adminPassword}`], { timeout: 30_000 });
  }
}
