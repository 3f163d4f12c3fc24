import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Attribute, Change, type Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSocket, openClient, openServiceClient } from '../../agent/ldap-connect.js';
import { ServiceConnectionPool } from '../../agent/ldap-pool.js';
import type { DirectoryConnection } from '../../agent/target.js';
import { ActiveDirectoryTarget } from '../../agent/targets/active-directory.js';
import { OpenLdapTarget } from '../../agent/targets/openldap.js';
import { sambaTestInfo, slapdTestInfo, uniqueName } from '../helpers/directories.js';
import { AdSeed } from './ad-seed.js';

/**
 * The agent's pooled service connections (agent/ldap-pool.ts) against the real Samba AD DC and slapd:
 * one TLS connection and bind serves many jobs; a connection cut under the pool is never used, and an
 * operation that finds its reused connection cut before writing runs again on a fresh one; nothing is
 * retried after a write was sent; close() leaves no connection open (checked with ss, on the wire).
 */
const samba = sambaTestInfo();
const slapd = slapdTestInfo();

const pw = (tag: string): string => `Pw-${tag}-${Math.random().toString(36).slice(2, 8)}!9A`;
const replace = (type: string, value: string): Change => new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });

/** our established TCP connections from these local ports, as the kernel sees them */
function established(localPorts: number[]): number {
  if (localPorts.length === 0) return 0;
  const filter = localPorts.map((p) => `sport = :${p}`).join(' or ');
  const out = execFileSync('ss', ['-Htn', 'state', 'established', `( ${filter} )`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim()).length;
}

const portOf = (s: Socket | undefined): number => s?.localPort ?? -1;

describe.skipIf(!samba)('pooled service connections on Samba AD', () => {
  let seed: AdSeed;

  beforeAll(async () => {
    seed = await AdSeed.open(samba!);
  });
  afterAll(async () => {
    await seed?.cleanup();
  });

  it('reuses one bound connection for consecutive resets, and each reset takes', async () => {
    const ad = new ActiveDirectoryTarget(seed.connection());
    try {
      const u = await seed.user('pool', pw('a'));
      const first = pw('b');
      await ad.resetPassword({ anchor: u.anchor, name: u.name }, first, { mustChange: false, unlock: false });
      const socket = ad.pool.idleSockets()[0];
      expect(socket).toBeDefined();
      expect(established([portOf(socket)])).toBe(1);
      let last = first;
      for (let i = 0; i < 3; i++) {
        last = pw(`c${i}`);
        await ad.resetPassword({ anchor: u.anchor, name: u.name }, last, { mustChange: false, unlock: false });
        // the same TCP connection (same local port) carried it
        expect(portOf(ad.pool.idleSockets()[0])).toBe(portOf(socket));
      }
      expect(ad.pool.stats).toMatchObject({ opened: 1, reused: 3, retried: 0 });
      expect(await seed.canBind(u.upn, last)).toBe(true);
      expect(await seed.canBind(u.upn, first)).toBe(false);
    } finally {
      await ad.close();
    }
  });

  it('never hands out a connection cut while idle: the next reset opens a fresh one', async () => {
    const ad = new ActiveDirectoryTarget(seed.connection());
    try {
      const u = await seed.user('pool', pw('a'));
      await ad.resetPassword({ anchor: u.anchor, name: u.name }, pw('b'), { mustChange: false, unlock: false });
      const cut = ad.pool.idleSockets()[0]!;
      cut.destroy();
      await tick(); // the close is seen: ldapts now reports the client disconnected
      const next = pw('c');
      await ad.resetPassword({ anchor: u.anchor, name: u.name }, next, { mustChange: false, unlock: false });
      expect(ad.pool.stats).toMatchObject({ opened: 2, reused: 0, retried: 0, discarded: 1 });
      expect(portOf(ad.pool.idleSockets()[0])).not.toBe(portOf(cut));
      expect(await seed.canBind(u.upn, next)).toBe(true);
    } finally {
      await ad.close();
    }
  });

  it('a connection cut between the check and the operation: the reset runs again on a fresh connection and takes', async () => {
    const ad = new ActiveDirectoryTarget(seed.connection());
    try {
      const u = await seed.user('pool', pw('a'));
      await ad.resetPassword({ anchor: u.anchor, name: u.name }, pw('b'), { mustChange: false, unlock: false });
      const next = pw('c');
      const socket = ad.pool.idleSockets()[0]!;
      // the pool checks and hands out the connection synchronously in the call; it is cut right after,
      // before the first search goes out on it
      const reset = ad.resetPassword({ anchor: u.anchor, name: u.name }, next, { mustChange: false, unlock: false });
      socket.destroy();
      await reset;
      expect(ad.pool.stats).toMatchObject({ opened: 2, reused: 1, retried: 1 });
      expect(await seed.canBind(u.upn, next)).toBe(true);
    } finally {
      await ad.close();
    }
  });

  it('close() leaves no connection open, and the target then refuses as unreachable', async () => {
    const ad = new ActiveDirectoryTarget(seed.connection(), { pool: { maxIdle: 4 } });
    const u = await seed.user('pool', pw('a'));
    // three at once: three connections, all kept idle afterwards
    await Promise.all([0, 1, 2].map(() => ad.effectivePolicy({ anchor: u.anchor, name: u.name })));
    const ports = ad.pool.idleSockets().map(portOf);
    expect(ports.length).toBe(3);
    expect(established(ports)).toBe(3);
    await ad.close();
    expect(ad.pool.size).toBe(0);
    await sleep(50);
    expect(established(ports)).toBe(0);
    await expect(ad.unlock({ anchor: u.anchor, name: u.name })).rejects.toMatchObject({ reason: 'unreachable' });
  });

  it('closes a connection idle longer than the limit', async () => {
    const ad = new ActiveDirectoryTarget(seed.connection(), { pool: { idleMs: 150 } });
    try {
      const u = await seed.user('pool', pw('a'));
      await ad.effectivePolicy({ anchor: u.anchor, name: u.name });
      const port = portOf(ad.pool.idleSockets()[0]);
      expect(established([port])).toBe(1);
      await sleep(400);
      expect(ad.pool.size).toBe(0);
      expect(established([port])).toBe(0);
    } finally {
      await ad.close();
    }
  });

  it('the pre-flight reads a PSO once a minute: an edit applies after the cache time, and the DC decides meanwhile', async () => {
    let now = 0;
    const ad = new ActiveDirectoryTarget(seed.connection(), { now: () => now });
    try {
      const u = await seed.user('pool', pw('a'));
      const pso = await seed.pso(u.dn, { minLength: 16, history: 0, minAgeDays: 0, complexity: true, readable: true });
      const twelve = 'Pw-12-Abcd!9'; // 12 characters, complex
      await expect(ad.resetPassword({ anchor: u.anchor, name: u.name }, twelve, { mustChange: false, unlock: false })).rejects.toMatchObject({
        reason: 'tooShort',
        detail: expect.stringMatching(/at least 16 characters.*PSO/),
      });
      await seed.set(pso, 'msDS-MinimumPasswordLength', '8');
      now += 30_000; // within the minute: the pre-flight still holds the PSO it read
      await expect(ad.resetPassword({ anchor: u.anchor, name: u.name }, twelve, { mustChange: false, unlock: false })).rejects.toMatchObject({ detail: expect.stringMatching(/at least 16/) });
      now += 31_000; // past it: read again, and the DC accepts
      await ad.resetPassword({ anchor: u.anchor, name: u.name }, twelve, { mustChange: false, unlock: false });
      expect(await seed.canBind(u.upn, twelve)).toBe(true);
    } finally {
      await ad.close();
    }
  });
});

describe.skipIf(!slapd)('pooled service connections on slapd', () => {
  const s = slapd!;
  const conn = (over: Partial<DirectoryConnection> = {}): DirectoryConnection => ({
    url: s.url, startTls: false, caFile: s.caFile, bindDn: s.serviceDn, bindPassword: s.servicePassword, baseDn: s.baseDn, timeoutMs: 5000, ...over,
  });
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

  async function createUser(password: string): Promise<{ uid: string; dn: string }> {
    const uid = uniqueName('olpool');
    const dn = `uid=${uid},ou=people,${s.baseDn}`;
    await admin.add(dn, { objectClass: 'inetOrgPerson', uid, cn: `User ${uid}`, sn: uid, mail: `${uid}@example.test`, userPassword: password });
    created.push(dn);
    return { uid, dn };
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

  it.each([
    ['ldaps://', {}],
    ['ldap:// + StartTLS', { url: s.startTlsUrl, startTls: true }],
  ])('over %s: resets reuse one connection, and a cut one is retried on a fresh connection', async (_name, over) => {
    const target = new OpenLdapTarget(conn(over));
    try {
      const u = await createUser('Initial-Secret-77');
      await target.resetPassword({ anchor: null, name: u.uid }, 'Second-Secret-88', { mustChange: false, unlock: false });
      await target.resetPassword({ anchor: null, name: u.uid }, 'Third-Secret-99', { mustChange: false, unlock: false });
      expect(target.pool.stats).toMatchObject({ opened: 1, reused: 1, retried: 0 });
      const socket = target.pool.idleSockets()[0]!;
      // handed out (checked in the call), then cut before the first search goes out
      const reset = target.resetPassword({ anchor: null, name: u.uid }, 'Fourth-Secret-11', { mustChange: false, unlock: false });
      socket.destroy();
      await reset;
      expect(target.pool.stats).toMatchObject({ opened: 2, reused: 2, retried: 1 });
      expect(await binds(u.dn, 'Fourth-Secret-11')).toBe(true);
    } finally {
      await target.close();
    }
  });

  it('retries a lease cut before any write, and never one cut after a write was sent', async () => {
    const pool = new ServiceConnectionPool(conn());
    try {
      const u = await createUser('Initial-Secret-77');
      await pool.run((c) => c.search(u.dn, { scope: 'base', attributes: ['1.1'] })); // one idle connection now
      let calls = 0;
      const readOnly = await pool.run(async (c) => {
        calls += 1;
        if (calls === 1) clientSocket(c)?.destroy();
        return (await c.search(u.dn, { scope: 'base', attributes: ['uid'] })).searchEntries.length;
      });
      expect({ readOnly, calls, retried: pool.stats.retried }).toEqual({ readOnly: 1, calls: 2, retried: 1 });

      calls = 0;
      const written = pool.run(async (c) => {
        calls += 1;
        await c.modify(u.dn, [replace('pwdReset', 'TRUE')]);
        clientSocket(c)?.destroy();
        await c.search(u.dn, { scope: 'base', attributes: ['1.1'] });
      });
      await expect(written).rejects.toThrow(/closed|not reconnecting|Socket/i);
      expect(calls).toBe(1);
      expect(pool.stats.retried).toBe(1);
      const { searchEntries } = await admin.search(u.dn, { scope: 'base', attributes: ['pwdReset'] });
      expect(searchEntries[0]!['pwdReset']).toBe('TRUE'); // the one write went through
    } finally {
      await pool.close();
    }
  });

  it('a connected client never reconnects by itself (unbound, and for StartTLS in clear)', async () => {
    const client = await openServiceClient(conn({ url: s.startTlsUrl, startTls: true }));
    const socket = clientSocket(client)!;
    const closed = once(socket, 'close');
    socket.destroy();
    await closed;
    await tick();
    expect(client.isConnected).toBe(false);
    await expect(client.search(s.baseDn, { scope: 'base', attributes: ['1.1'] })).rejects.toThrow(/not reconnecting/);
    expect(clientSocket(client)).toBeUndefined();
  });
});
