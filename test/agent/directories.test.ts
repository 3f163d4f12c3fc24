import { describe, expect, it } from 'vitest';
import { Attribute, Change, type Client } from 'ldapts';
import { openClient, openServiceClient } from '../../agent/ldap-connect.js';
import type { DirectoryConnection } from '../../agent/target.js';
import { sambaTestInfo, slapdTestInfo, uniqueName } from '../helpers/directories.js';

/**
 * The test directories the scripts start (scripts/start-slapd.sh, scripts/start-samba.sh) are what
 * the other agent suites assume: reachable over LDAPS and StartTLS with the CA file they export,
 * the service account binds, and the password policies are in their documented known state.
 */
const slapd = slapdTestInfo();
const samba = sambaTestInfo();

async function withClient<T>(conn: DirectoryConnection, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = await openServiceClient(conn);
  try {
    return await fn(client);
  } finally {
    await client.unbind();
  }
}

function one(value: string | string[] | Buffer | Buffer[] | undefined): string {
  return String(Array.isArray(value) ? value[0] : value);
}

describe.skipIf(!slapd)('slapd test directory', () => {
  const s = slapd!;
  const base = { caFile: s.caFile, bindDn: s.serviceDn, bindPassword: s.servicePassword, baseDn: s.baseDn, timeoutMs: 5000 };

  it.each([
    ['LDAPS', { url: s?.url, startTls: false }],
    ['StartTLS', { url: s?.startTlsUrl, startTls: true }],
  ])('the service account binds over %s and reads the default ppolicy', async (_name, how) => {
    const policy = await withClient({ ...base, ...how }, async (c) => {
      const { searchEntries } = await c.search(`cn=default,ou=policies,${s.baseDn}`, { scope: 'base', attributes: ['pwdMinLength', 'pwdInHistory', 'pwdCheckQuality', 'pwdMaxFailure', 'pwdLockout', 'pwdMinAge'] });
      return searchEntries[0]!;
    });
    expect({
      min: one(policy.pwdMinLength), history: one(policy.pwdInHistory), quality: one(policy.pwdCheckQuality),
      maxFailure: one(policy.pwdMaxFailure), lockout: one(policy.pwdLockout), minAge: one(policy.pwdMinAge),
    }).toEqual({ min: '10', history: '3', quality: '2', maxFailure: '5', lockout: 'TRUE', minAge: '0' });
  });

  it('the service account is not the rootdn and a wrong password is refused', async () => {
    expect(s.serviceDn).not.toBe(s.adminDn);
    await expect(openServiceClient({ ...base, url: s.url, startTls: false, bindPassword: `${s.servicePassword}x` })).rejects.toMatchObject({ reason: 'accessDenied' });
  });

  it('a client without the CA file does not trust the server', async () => {
    await expect(openServiceClient({ ...base, url: s.url, startTls: false, caFile: null })).rejects.toMatchObject({ reason: 'unreachable' });
  });
});

describe.skipIf(!samba)('Samba AD test directory', () => {
  const a = samba!;
  const base = { caFile: a.caFile, bindDn: a.serviceDn, bindPassword: a.servicePassword, baseDn: a.baseDn, timeoutMs: 10_000 };
  const startTlsUrl = a ? a.url.replace(/^ldaps:/, 'ldap:').replace(/:636$/, ':389') : '';

  it.each([
    ['LDAPS', { url: a?.url, startTls: false }],
    ['StartTLS', { url: startTlsUrl, startTls: true }],
  ])('the service account binds over %s and sees the known domain password settings', async (_name, how) => {
    const domain = await withClient({ ...base, ...how }, async (c) => {
      const { searchEntries } = await c.search(a.baseDn, { scope: 'base', attributes: ['minPwdLength', 'pwdHistoryLength', 'minPwdAge', 'pwdProperties'] });
      return searchEntries[0]!;
    });
    expect({ min: one(domain.minPwdLength), history: one(domain.pwdHistoryLength), minAge: one(domain.minPwdAge), complexity: Number(one(domain.pwdProperties)) & 1 })
      .toEqual({ min: '7', history: '24', minAge: '0', complexity: 1 });
  });

  it('the service account may reset a password in OU=PosternUsers, and not outside it', async () => {
    const name = uniqueName('dirt');
    const dn = `CN=${name},${a.usersOu}`;
    const admin = await openClient({ ...base, url: a.url, startTls: false });
    const quoted = (pw: string): Buffer => Buffer.from(`"${pw}"`, 'utf16le');
    try {
      await admin.bind(a.admin, a.adminPassword);
      await admin.add(dn, [
        new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
        new Attribute({ type: 'sAMAccountName', values: [name] }),
        new Attribute({ type: 'userAccountControl', values: ['512'] }),
        new Attribute({ type: 'unicodePwd', values: [quoted('First-Passw0rd!')] }),
      ]);
      await withClient({ ...base, url: a.url, startTls: false }, async (c) => {
        await c.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [quoted('Second-Passw0rd!')] }) }));
        await expect(c.modify(`CN=Administrator,CN=Users,${a.baseDn}`, new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [quoted('Third-Passw0rd!')] }) })))
          .rejects.toMatchObject({ code: 50 }); // insufficientAccessRights
      });
      const user = await openClient({ ...base, url: a.url, startTls: false });
      try {
        await expect(user.bind(`${name}@postern.test`, 'Second-Passw0rd!')).resolves.toBeUndefined();
      } finally {
        await user.unbind();
      }
    } finally {
      await admin.del(dn).catch(() => undefined);
      await admin.unbind();
    }
  });
});
