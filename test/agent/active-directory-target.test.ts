import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActiveDirectoryTarget } from '../../agent/targets/active-directory.js';
import { choosePolicyHintsOid } from '../../agent/targets/ad-controls.js';
import { DirectoryRefusal, type DirectoryUser } from '../../agent/target.js';
import { sambaTestInfo } from '../helpers/directories.js';
import { AdSeed, type SeededUser } from './ad-seed.js';

/**
 * The Active Directory target against a real Samba AD DC (scripts/start-samba.sh): every operation
 * is checked by its effect in the directory (a bind with the new password, the attribute as the
 * Administrator reads it), and every refusal by its reason and the DC's own words.
 * Samba 4.17 implements no LDAP_SERVER_POLICY_HINTS control, so there history and minimum age apply
 * to changes only; those refusals are exercised through changePassword.
 */
const samba = sambaTestInfo();

/** Samba lets the previous password bind for "old password allowed period" (default 60 min) unless set to 0 */
const OLD_WINDOW = 'the previous password still binds: the test DC must run with "old password allowed period = 0" (scripts/start-samba.sh)';

const refusal = (reason: string, detail?: RegExp): unknown => expect.objectContaining({ name: 'DirectoryRefusal', reason, ...(detail ? { detail: expect.stringMatching(detail) } : {}) });

describe.skipIf(!samba)('ActiveDirectoryTarget on Samba AD', () => {
  let seed: AdSeed;
  let ad: ActiveDirectoryTarget;
  let raw: ActiveDirectoryTarget; // pre-flight off: the DC decides everything
  const pw = (tag: string): string => `Pw-${tag}-${Math.random().toString(36).slice(2, 8)}!9A`;

  beforeAll(async () => {
    seed = await AdSeed.open(samba!);
    ad = new ActiveDirectoryTarget(seed.connection());
    raw = new ActiveDirectoryTarget(seed.connection(), { preflight: false });
  });
  afterAll(async () => {
    await seed?.cleanup();
  });

  async function userWith(password: string, prefix = 'adt'): Promise<SeededUser> {
    return seed.user(prefix, password);
  }

  it('is reachable as the service account and uses the policy hints OID the DC advertises (none on Samba 4.17)', async () => {
    const reach = await ad.checkReachable();
    expect(reach).toMatchObject({ reachable: true });
    const rootDse = await seed.read('', 'supportedControl'); // first value only: enough to prove the read works
    expect(rootDse).not.toBeNull();
    const advertised = await readSupportedControls(seed);
    expect(await ad.policyHintsOid()).toBe(choosePolicyHintsOid(advertised));
    const wrong = new ActiveDirectoryTarget(seed.connection({ bindPassword: `${samba!.servicePassword}x` }));
    expect(await wrong.checkReachable()).toMatchObject({ reachable: false, detail: expect.stringMatching(/52e|bind refused/) });
  });

  it('resets by anchor and by name: the new password binds, the old one no longer does', async () => {
    const old = pw('old');
    const u = await userWith(old);
    const first = pw('new1');
    await ad.resetPassword({ anchor: u.anchor, name: 'ignored-when-anchored' }, first, { mustChange: false, unlock: false });
    expect(await seed.canBind(u.upn, first)).toBe(true);
    expect(await seed.canBind(u.upn, old), OLD_WINDOW).toBe(false);
    const second = pw('new2');
    await ad.resetPassword({ anchor: null, name: u.name }, second, { mustChange: false, unlock: false });
    expect(await seed.canBind(u.upn, second)).toBe(true);
    expect(await seed.canBind(u.upn, first), OLD_WINDOW).toBe(false);
    expect(await seed.read(u.dn, 'pwdLastSet')).not.toBe('0');
  });

  it('a reset with must-change sets pwdLastSet 0 and with unlock clears lockoutTime, in the same write', async () => {
    const u = await userWith(pw('a'));
    await seed.set(u.dn, 'lockoutTime', '133000000000000000');
    const next = pw('b');
    await ad.resetPassword({ anchor: u.anchor, name: u.name }, next, { mustChange: true, unlock: true });
    expect(await seed.read(u.dn, 'pwdLastSet')).toBe('0');
    expect(await seed.read(u.dn, 'lockoutTime')).toBe('0');
    // a must-change user cannot bind (data 773), yet can still change with the password they were given
    await expect(ad.verifyPassword({ anchor: u.anchor, name: u.name }, next, 5000)).rejects.toEqual(refusal('other', /data 773/));
    const own = pw('own');
    await ad.changePassword({ anchor: u.anchor, name: u.name }, next, own);
    expect(await seed.canBind(u.upn, own)).toBe(true);
    expect(await seed.read(u.dn, 'pwdLastSet')).not.toBe('0');
  });

  it('unlock clears lockoutTime', async () => {
    const u = await userWith(pw('a'));
    await seed.set(u.dn, 'lockoutTime', '133000000000000000');
    expect(await seed.read(u.dn, 'lockoutTime')).not.toBe('0');
    await ad.unlock({ anchor: null, name: u.upn });
    expect(await seed.read(u.dn, 'lockoutTime')).toBe('0');
  });

  it('too short: refused by the pre-flight with the rule, and by the DC itself when the pre-flight is off', async () => {
    const old = pw('a');
    const u = await userWith(old);
    const ref = { anchor: u.anchor, name: u.name };
    await expect(ad.resetPassword(ref, 'Ab1!x', { mustChange: false, unlock: false })).rejects.toEqual(refusal('tooShort', /at least 7 characters.*domain policy/));
    await expect(raw.resetPassword(ref, 'Ab1!x', { mustChange: false, unlock: false })).rejects.toEqual(refusal('tooShort', /^0000052D: .*too short.*7 characters/));
    expect(await seed.canBind(u.upn, old)).toBe(true);
  });

  it('not complex: refused by the pre-flight and by the DC', async () => {
    const u = await userWith(pw('a'));
    const ref = { anchor: u.anchor, name: u.name };
    await expect(ad.resetPassword(ref, 'onlylower123', { mustChange: false, unlock: false })).rejects.toEqual(refusal('notComplex', /3 are required/));
    await expect(raw.resetPassword(ref, 'onlylower123', { mustChange: false, unlock: false })).rejects.toEqual(refusal('notComplex', /complexity criteria/));
  });

  it('a fine-grained PSO wins over the domain policy and drives the pre-flight', async () => {
    const u = await userWith(pw('a'));
    const pso = await seed.pso(u.dn, { minLength: 14, history: 3, minAgeDays: 0, complexity: true, readable: true });
    expect(await ad.effectivePolicy({ anchor: u.anchor, name: u.name })).toEqual({ minLength: 14, historyLength: 3, minAgeSeconds: 0, complexity: true, source: `PSO ${pso}` });
    await expect(ad.resetPassword({ anchor: u.anchor, name: u.name }, 'Abcdef-12345', { mustChange: false, unlock: false })).rejects.toEqual(refusal('tooShort', /at least 14 characters long \(PSO CN=/));
    await expect(raw.resetPassword({ anchor: u.anchor, name: u.name }, 'Abcdef-12345', { mustChange: false, unlock: false })).rejects.toEqual(refusal('tooShort', /14 characters/));
  });

  it('a PSO the service account cannot read leaves the decision to the DC (no pre-flight on guessed rules)', async () => {
    const u = await userWith(pw('a'));
    const pso = await seed.pso(u.dn, { minLength: 5, history: 0, minAgeDays: 0, complexity: false, readable: false });
    const policy = await ad.effectivePolicy({ anchor: u.anchor, name: u.name });
    expect(policy.source).toContain(`PSO ${pso} applies but the service account cannot read it`);
    // 6 characters, one class: the domain policy would refuse it, the PSO allows it
    await ad.resetPassword({ anchor: u.anchor, name: u.name }, 'abcdef', { mustChange: false, unlock: false });
    expect(await seed.canBind(u.upn, 'abcdef')).toBe(true);
  });

  it('a password from the history comes back as recentlyUsed and nothing changes', async () => {
    const first = pw('h1');
    const u = await userWith(first);
    await seed.pso(u.dn, { minLength: 7, history: 5, minAgeDays: 0, complexity: true, readable: true });
    const second = pw('h2');
    await ad.changePassword({ anchor: u.anchor, name: u.name }, first, second);
    await expect(ad.changePassword({ anchor: u.anchor, name: u.name }, second, first)).rejects.toEqual(refusal('recentlyUsed', /already used \(in history\)/));
    expect(await seed.canBind(u.upn, second)).toBe(true);
  });

  it('a change before the minimum age comes back as tooYoung', async () => {
    const first = pw('y1');
    const u = await userWith(first);
    await seed.pso(u.dn, { minLength: 7, history: 0, minAgeDays: 2, complexity: true, readable: true });
    expect((await ad.effectivePolicy({ anchor: u.anchor, name: u.name })).minAgeSeconds).toBe(2 * 86_400);
    await expect(ad.changePassword({ anchor: u.anchor, name: u.name }, first, pw('y2'))).rejects.toEqual(refusal('tooYoung', /too young/));
    expect(await seed.canBind(u.upn, first)).toBe(true);
  });

  it('a change with the wrong current password is wrongPassword; with the right one it takes', async () => {
    const first = pw('c1');
    const u = await userWith(first);
    await seed.pso(u.dn, { minLength: 7, history: 5, minAgeDays: 0, complexity: true, readable: true }); // no minimum age, whatever the domain says
    await expect(ad.changePassword({ anchor: u.anchor, name: u.name }, `${first}x`, pw('c2'))).rejects.toEqual(refusal('wrongPassword', /data 52e/));
    await expect(ad.changePassword({ anchor: u.anchor, name: u.name }, '', pw('c2'))).rejects.toEqual(refusal('wrongPassword'));
    const next = pw('c3');
    await ad.changePassword({ anchor: null, name: u.upn }, first, next);
    expect(await seed.canBind(u.upn, next)).toBe(true);
    expect(await seed.canBind(u.upn, first), OLD_WINDOW).toBe(false);
  });

  it('protected accounts (adminCount=1) are refused before any write', async () => {
    const old = pw('p');
    const u = await userWith(old);
    await seed.set(u.dn, 'adminCount', '1');
    await seed.set(u.dn, 'lockoutTime', '133000000000000000');
    const ref = { anchor: u.anchor, name: u.name };
    await expect(ad.resetPassword(ref, pw('p2'), { mustChange: false, unlock: true })).rejects.toEqual(refusal('protectedAccount', /adminCount=1/));
    await expect(ad.changePassword(ref, old, pw('p3'))).rejects.toEqual(refusal('protectedAccount'));
    await expect(ad.unlock(ref)).rejects.toEqual(refusal('protectedAccount'));
    expect(await seed.read(u.dn, 'lockoutTime')).not.toBe('0'); // (read before the bind below: a good bind clears it)
    expect(await seed.canBind(u.upn, old)).toBe(true);
  });

  it('disabled accounts: accountDisabled for reset, change and verify', async () => {
    const old = pw('d');
    const u = await userWith(old);
    await seed.set(u.dn, 'userAccountControl', '514');
    const ref = { anchor: u.anchor, name: u.name };
    await expect(ad.resetPassword(ref, pw('d2'), { mustChange: false, unlock: false })).rejects.toEqual(refusal('accountDisabled'));
    await expect(ad.changePassword(ref, old, pw('d3'))).rejects.toEqual(refusal('accountDisabled'));
    await expect(ad.verifyPassword(ref, old, 5000)).rejects.toEqual(refusal('accountDisabled', /data 533/));
  });

  it('verifies a password by binding as the user (pass-through)', async () => {
    const good = pw('v');
    const u = await userWith(good);
    await ad.verifyPassword({ anchor: u.anchor, name: u.name }, good, 5000);
    await expect(ad.verifyPassword({ anchor: u.anchor, name: u.name }, `${good}x`, 5000)).rejects.toEqual(refusal('wrongPassword'));
    await expect(ad.verifyPassword({ anchor: u.anchor, name: u.name }, '', 5000)).rejects.toEqual(refusal('wrongPassword'));
  });

  it('finds a user with a non-ASCII name by name', async () => {
    const u = await seed.user('jösé', pw('n'));
    const next = pw('n2');
    await ad.resetPassword({ anchor: null, name: u.name }, next, { mustChange: false, unlock: false });
    expect(await seed.canBind(u.upn, next)).toBe(true);
  });

  it('unknown users, foreign anchors and LDAP injection in names match nothing', async () => {
    await userWith(pw('i'), 'inj');
    const probes = ['*', '*)(sAMAccountName=*', '*)(|(objectClass=*)', 'inj*', `x\u0000`, 'Administrator)(', '\\2a'];
    for (const name of probes) {
      await expect(ad.resetPassword({ anchor: null, name }, pw('z'), { mustChange: false, unlock: false })).rejects.toEqual(refusal('notFound'));
      await expect(ad.verifyPassword({ anchor: null, name }, 'whatever', 5000)).rejects.toEqual(refusal('notFound'));
    }
    await expect(ad.unlock({ anchor: 'AAAAAAAAAAAAAAAAAAAAAA==', name: 'x' })).rejects.toEqual(refusal('notFound'));
    await expect(ad.unlock({ anchor: '*)(objectClass=*', name: 'x' })).rejects.toEqual(refusal('notFound'));
  });

  it('an anchor naming an object that is not a user (OU, group, computer) is refused as not found, in the same words', async () => {
    const member = await userWith(pw('m'), 'nua');
    const group = await seed.group('nug', [member.dn]);
    const computer = await seed.computer('nuc');
    const ou = await seed.anchorOf(samba!.usersOu);
    for (const anchor of [ou, group.anchor, computer.anchor]) {
      const ref = { anchor, name: member.name }; // the name is ignored when anchored: it must not rescue the job
      const words = new RegExp(`^no user with anchor ${anchor.replace(/[+/=]/g, '\\$&')} under `);
      await expect(ad.resetPassword(ref, pw('x'), { mustChange: false, unlock: false })).rejects.toEqual(refusal('notFound', words));
      await expect(raw.resetPassword(ref, pw('x'), { mustChange: false, unlock: false })).rejects.toEqual(refusal('notFound', words));
      await expect(ad.unlock(ref)).rejects.toEqual(refusal('notFound', words));
      await expect(ad.verifyPassword(ref, 'whatever', 5000)).rejects.toEqual(refusal('notFound', words));
      await expect(ad.changePassword(ref, 'old', pw('y'))).rejects.toEqual(refusal('notFound', words));
    }
    // the same words as an anchor that matches nothing
    await expect(ad.resetPassword({ anchor: 'AAAAAAAAAAAAAAAAAAAAAA==', name: 'x' }, pw('x'), { mustChange: false, unlock: false })).rejects.toEqual(
      refusal('notFound', /^no user with anchor AAAAAAAAAAAAAAAAAAAAAA== under /),
    );
    // and the user's own anchor still resets
    const next = pw('ok');
    await ad.resetPassword({ anchor: member.anchor, name: 'ignored' }, next, { mustChange: false, unlock: false });
    expect(await seed.canBind(member.upn, next)).toBe(true);
  });

  it('lists users and groups under the scope with anchors, memberships, state and pwdLastSet', async () => {
    const a = await userWith(pw('l'), 'lsa');
    const b = await userWith(pw('l'), 'lsb');
    await seed.set(b.dn, 'userAccountControl', '514');
    const g = await seed.group('lsg', [a.dn]);
    const users: DirectoryUser[] = [];
    for await (const u of ad.listUsers({ baseDn: samba!.usersOu, userFilter: `(|(sAMAccountName=${a.name})(sAMAccountName=${b.name}))` })) users.push(u);
    users.sort((x, y) => x.name.localeCompare(y.name));
    expect(users).toEqual([
      expect.objectContaining({ anchor: a.anchor, dn: a.dn, name: a.name, userPrincipalName: a.upn, displayName: `Test ${a.name}`, givenName: 'Test', surname: a.name, enabled: true, groupAnchors: [g.anchor], passwordHash: null }),
      expect.objectContaining({ anchor: b.anchor, name: b.name, enabled: false, groupAnchors: [] }),
    ]);
    expect(Math.abs(Date.parse(users[0]!.passwordChangedAt!) - Date.now())).toBeLessThan(3_600_000);
    const groups = [];
    for await (const grp of ad.listGroups({ baseDn: samba!.usersOu, userFilter: null })) groups.push(grp);
    expect(groups).toContainEqual({ anchor: g.anchor, dn: g.dn, displayName: g.dn.slice(3, g.dn.indexOf(',')), description: 'Postern test group' });
    const badFilter = ad.listUsers({ baseDn: samba!.usersOu, userFilter: '(cn=x))(' })[Symbol.asyncIterator]().next();
    await expect(badFilter).rejects.toBeInstanceOf(DirectoryRefusal);
  });
});

async function readSupportedControls(seed: AdSeed): Promise<string[]> {
  return seed.readAll('', 'supportedControl');
}
