import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attribute, Change, type Client } from 'ldapts';
import { openClient } from '../../agent/ldap-connect.js';
import { OpenLdapTarget } from '../../agent/targets/openldap.js';
import { DirectoryRefusal, type DirectoryConnection, type DirectoryUser } from '../../agent/target.js';
import { slapdTestInfo, uniqueName } from '../helpers/directories.js';
import { createTestCertificate } from '../helpers/tls.js';

/**
 * The OpenLDAP target against the real slapd + ppolicy of scripts/start-slapd.sh, bound as the
 * non-root service account (the rootdn would bypass the policy). Each test makes its own users (and
 * its own policy entry where it needs other rules than cn=default).
 */
const slapd = slapdTestInfo();

describe.skipIf(!slapd)('OpenLDAP target (slapd + ppolicy)', () => {
  const s = slapd!;
  const conn = (over: Partial<DirectoryConnection> = {}): DirectoryConnection => ({
    url: s.url, startTls: false, caFile: s.caFile, bindDn: s.serviceDn, bindPassword: s.servicePassword, baseDn: s.baseDn, timeoutMs: 5000, ...over,
  });
  const target = new OpenLdapTarget(conn());
  let admin: Client;
  const created: string[] = [];

  beforeAll(async () => {
    admin = await openClient(conn());
    await admin.bind(s.adminDn, s.adminPassword);
  });
  afterAll(async () => {
    for (const dn of created.reverse()) await admin.del(dn).catch(() => undefined);
    await admin.unbind();
  });

  async function createUser(password: string, extra: Record<string, string> = {}): Promise<{ uid: string; dn: string; anchor: string; mail: string }> {
    const uid = uniqueName('ol');
    const dn = `uid=${uid},ou=people,${s.baseDn}`;
    const mail = `${uid}@example.test`;
    await admin.add(dn, { objectClass: 'inetOrgPerson', uid, cn: `User ${uid}`, sn: uid, givenName: 'Test', mail, userPassword: password, ...extra });
    created.push(dn);
    const { searchEntries } = await admin.search(dn, { scope: 'base', attributes: ['entryUUID'] });
    return { uid, dn, mail, anchor: String(searchEntries[0]!.entryUUID) };
  }

  async function ownPolicy(attrs: Record<string, string>): Promise<string> {
    const dn = `cn=${uniqueName('pol')},ou=policies,${s.baseDn}`;
    await admin.add(dn, { objectClass: ['device', 'pwdPolicy'], pwdAttribute: 'userPassword', ...attrs });
    created.unshift(dn); // deleted after its users
    return dn;
  }

  async function binds(dn: string, password: string): Promise<boolean> {
    const c = await openClient(conn());
    try {
      await c.bind(dn, password);
      return true;
    } catch {
      return false;
    } finally {
      await c.unbind();
    }
  }

  async function attr(dn: string, name: string): Promise<string | null> {
    const { searchEntries } = await admin.search(dn, { scope: 'base', attributes: [name] });
    const v = searchEntries[0]?.[name];
    const one = Array.isArray(v) ? v[0] : v;
    return one === undefined ? null : String(one);
  }

  async function refusal(p: Promise<unknown>): Promise<DirectoryRefusal> {
    const err = await p.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DirectoryRefusal);
    return err as DirectoryRefusal;
  }

  it('a reset by name sets the new password: the new one binds, the old one does not', async () => {
    const u = await createUser('Initial-Password-1');
    await target.resetPassword({ anchor: null, name: u.uid }, 'Brand-New-Pass-2', { mustChange: false, unlock: false });
    expect(await binds(u.dn, 'Brand-New-Pass-2')).toBe(true);
    expect(await binds(u.dn, 'Initial-Password-1')).toBe(false);
    expect(await attr(u.dn, 'userPassword')).toMatch(/^\{SSHA\}/);
  });

  it('a reset by entryUUID anchor over StartTLS works the same', async () => {
    const u = await createUser('Initial-Password-1');
    const viaStartTls = new OpenLdapTarget(conn({ url: s.startTlsUrl, startTls: true }));
    await viaStartTls.resetPassword({ anchor: u.anchor, name: 'ignored-when-anchored' }, 'Anchored-Pass-3', { mustChange: false, unlock: false });
    expect(await binds(u.dn, 'Anchored-Pass-3')).toBe(true);
  });

  it('ppolicy refusals come back as specific reasons and change nothing', async () => {
    const u = await createUser('Initial-Password-1');
    await target.resetPassword({ anchor: u.anchor, name: u.uid }, 'Second-Password-2', { mustChange: false, unlock: false });
    const history = await refusal(target.resetPassword({ anchor: u.anchor, name: u.uid }, 'Initial-Password-1', { mustChange: false, unlock: false }));
    expect(history.reason).toBe('recentlyUsed');
    const short = await refusal(target.resetPassword({ anchor: u.anchor, name: u.uid }, 'Short-1', { mustChange: false, unlock: false }));
    expect(short.reason).toBe('tooShort');
    expect(await binds(u.dn, 'Second-Password-2')).toBe(true);
  });

  it('a policy with a minimum age refuses a change as tooYoung', async () => {
    const policy = await ownPolicy({ pwdMinAge: '3600', pwdMinLength: '8' });
    const u = await createUser('Initial-Password-1', { pwdPolicySubentry: policy });
    // ppolicy set pwdChangedTime when the entry was added: a change right now is too soon
    const young = await refusal(target.changePassword({ anchor: u.anchor, name: u.uid }, 'Initial-Password-1', 'Second-Password-2'));
    expect(young.reason).toBe('tooYoung');
    expect(await binds(u.dn, 'Initial-Password-1')).toBe(true);
    expect(await target.effectivePolicy({ anchor: u.anchor, name: u.uid })).toEqual({ minLength: 8, historyLength: 0, minAgeSeconds: 3600, complexity: false, source: policy });
  });

  it('the default policy is the effective one without pwdPolicySubentry', async () => {
    const u = await createUser('Initial-Password-1');
    expect(await target.effectivePolicy({ anchor: null, name: u.mail })).toEqual({
      minLength: 10, historyLength: 3, minAgeSeconds: 0, complexity: false, source: `cn=default,ou=policies,${s.baseDn}`,
    });
  });

  it('mustChange sets pwdReset; a reset without it clears a pending one', async () => {
    const u = await createUser('Initial-Password-1');
    await target.resetPassword({ anchor: u.anchor, name: u.uid }, 'Must-Change-Pass-1', { mustChange: true, unlock: false });
    expect(await attr(u.dn, 'pwdReset')).toBe('TRUE');
    // the user may still change it (ppolicy allows only that while pwdReset is set), which clears the flag
    await target.changePassword({ anchor: u.anchor, name: u.uid }, 'Must-Change-Pass-1', 'Users-Own-Pass-11');
    expect(await attr(u.dn, 'pwdReset')).toBeNull();
    await target.resetPassword({ anchor: u.anchor, name: u.uid }, 'Must-Change-Pass-2', { mustChange: true, unlock: false });
    expect(await attr(u.dn, 'pwdReset')).toBe('TRUE');
    await target.resetPassword({ anchor: u.anchor, name: u.uid }, 'No-Change-Pass-22', { mustChange: false, unlock: false });
    expect(await attr(u.dn, 'pwdReset')).toBeNull();
  });

  it('five wrong passwords lock the account (lockedOut); unlock clears the lock', async () => {
    const u = await createUser('Initial-Password-1');
    const ref = { anchor: u.anchor, name: u.uid };
    await target.verifyPassword(ref, 'Initial-Password-1', 5000);
    for (let i = 0; i < 5; i++) expect((await refusal(target.verifyPassword(ref, `Wrong-${i}-password`, 5000))).reason).toBe('wrongPassword');
    expect((await refusal(target.verifyPassword(ref, 'Initial-Password-1', 5000))).reason).toBe('lockedOut');
    expect(await attr(u.dn, 'pwdAccountLockedTime')).not.toBeNull();
    await target.unlock(ref);
    expect(await attr(u.dn, 'pwdAccountLockedTime')).toBeNull();
    await expect(target.verifyPassword(ref, 'Initial-Password-1', 5000)).resolves.toBeUndefined();
  });

  it('a reset keeps a lockout unless asked to unlock, and never re-enables a disabled account', async () => {
    const u = await createUser('Initial-Password-1');
    const lock = '20260101000000Z';
    await admin.modify(u.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [lock] }) }));
    expect(await binds(u.dn, 'Initial-Password-1')).toBe(false);
    await target.resetPassword({ anchor: u.anchor, name: u.uid }, 'Still-Locked-Pass-3', { mustChange: false, unlock: false });
    expect(await attr(u.dn, 'pwdAccountLockedTime')).toBe(lock);
    expect(await binds(u.dn, 'Still-Locked-Pass-3')).toBe(false);
    await target.resetPassword({ anchor: u.anchor, name: u.uid }, 'Unlocked-Pass-44', { mustChange: false, unlock: true });
    expect(await attr(u.dn, 'pwdAccountLockedTime')).toBeNull();
    expect(await binds(u.dn, 'Unlocked-Pass-44')).toBe(true);

    const d = await createUser('Initial-Password-1', { pwdAccountLockedTime: '000001010000Z' });
    await target.resetPassword({ anchor: d.anchor, name: d.uid }, 'Disabled-Pass-555', { mustChange: false, unlock: true });
    expect(await attr(d.dn, 'pwdAccountLockedTime')).toBe('000001010000Z');
    expect(await binds(d.dn, 'Disabled-Pass-555')).toBe(false);
  });

  it('a change needs the right old password (wrongPassword) and then applies', async () => {
    const u = await createUser('Initial-Password-1');
    const ref = { anchor: null, name: u.uid };
    expect((await refusal(target.changePassword(ref, 'Not-The-Password', 'Changed-Pass-55'))).reason).toBe('wrongPassword');
    expect((await refusal(target.verifyPassword(ref, '', 5000))).reason).toBe('wrongPassword');
    await target.changePassword(ref, 'Initial-Password-1', 'Changed-Pass-55');
    expect(await binds(u.dn, 'Changed-Pass-55')).toBe(true);
    expect(await binds(u.dn, 'Initial-Password-1')).toBe(false);
  });

  it('a disabled account (permanent lock 000001010000Z) is reported and not unlocked', async () => {
    const u = await createUser('Initial-Password-1', { pwdAccountLockedTime: '000001010000Z' });
    const ref = { anchor: u.anchor, name: u.uid };
    expect((await refusal(target.verifyPassword(ref, 'Initial-Password-1', 5000))).reason).toBe('accountDisabled');
    expect((await refusal(target.unlock(ref))).reason).toBe('accountDisabled');
    expect(await attr(u.dn, 'pwdAccountLockedTime')).toBe('000001010000Z');
  });

  it('LDAP injection in names and anchors matches nothing', async () => {
    const u = await createUser('Initial-Password-1');
    for (const name of ['*)(uid=*', '*', `${u.uid}\u0000`, `${u.uid})(|(uid=*`, `*${u.uid.slice(2)}`]) {
      expect((await refusal(target.resetPassword({ anchor: null, name }, 'Injected-Pass-66', { mustChange: false, unlock: false }))).reason).toBe('notFound');
    }
    expect((await refusal(target.verifyPassword({ anchor: '*', name: u.uid }, 'Initial-Password-1', 5000))).reason).toBe('notFound');
    expect((await refusal(target.unlock({ anchor: `${u.anchor})(entryUUID=*`, name: u.uid }))).reason).toBe('notFound');
    expect(await binds(u.dn, 'Initial-Password-1')).toBe(true);
  });

  it('refuses plain ldap:// without StartTLS before sending anything, and an untrusted CA is unreachable', async () => {
    const u = await createUser('Initial-Password-1');
    const plain = new OpenLdapTarget(conn({ url: s.startTlsUrl, startTls: false }));
    expect((await refusal(plain.resetPassword({ anchor: u.anchor, name: u.uid }, 'Plain-Text-Pass-7', { mustChange: false, unlock: false }))).detail).toMatch(/plain ldap:\/\//);
    expect((await plain.checkReachable()).reachable).toBe(false);
    const cert = createTestCertificate();
    try {
      const wrongCa = new OpenLdapTarget(conn({ caFile: cert.certFile }));
      expect((await refusal(wrongCa.resetPassword({ anchor: u.anchor, name: u.uid }, 'Wrong-Ca-Pass-88', { mustChange: false, unlock: false }))).reason).toBe('unreachable');
      expect(await wrongCa.checkReachable()).toMatchObject({ reachable: false });
    } finally {
      await cert.cleanup();
    }
    expect(await binds(u.dn, 'Initial-Password-1')).toBe(true);
    expect(await target.checkReachable()).toMatchObject({ reachable: true });
  });

  it('listUsers returns the seeded users with hashes, state and groups; listGroups the groups', async () => {
    const a = await createUser('Initial-Password-1');
    const b = await createUser('Initial-Password-2', { pwdAccountLockedTime: '000001010000Z' });
    const groupDn = `cn=${uniqueName('grp')},ou=groups,${s.baseDn}`;
    await admin.add(groupDn, { objectClass: 'groupOfNames', cn: groupDn.slice(3, groupDn.indexOf(',')), description: 'sync test', member: [a.dn] });
    created.push(groupDn);
    const groupAnchor = String((await admin.search(groupDn, { scope: 'base', attributes: ['entryUUID'] })).searchEntries[0]!.entryUUID);

    const users: DirectoryUser[] = [];
    for await (const user of target.listUsers({ baseDn: s.baseDn, userFilter: `(|(uid=${a.uid})(uid=${b.uid}))` })) users.push(user);
    expect(users.map((x) => x.name).sort()).toEqual([a.uid, b.uid].sort());
    const ua = users.find((x) => x.name === a.uid)!;
    expect(ua).toMatchObject({ anchor: a.anchor, dn: a.dn, mail: a.mail, givenName: 'Test', surname: a.uid, enabled: true, groupAnchors: [groupAnchor] });
    expect(ua.passwordHash).toMatch(/^\{SSHA\}/);
    expect(users.find((x) => x.name === b.uid)).toMatchObject({ enabled: false, groupAnchors: [] });

    const groups = [];
    for await (const g of target.listGroups({ baseDn: `ou=groups,${s.baseDn}`, userFilter: null })) groups.push(g);
    expect(groups).toContainEqual({ anchor: groupAnchor, dn: groupDn, displayName: groupDn.slice(3, groupDn.indexOf(',')), description: 'sync test' });
  });
});
