import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type { LightMyRequestResponse } from 'fastify';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AgentConfigError, loadAgentConfig, type AgentConfig } from '../../agent/config.js';
import { createAgentLog } from '../../agent/events.js';
import { startAgent } from '../../agent/main.js';
import type { AgentRunner } from '../../agent/runner.js';
import { DirectoryRefusal, type DirectoryConnection, type DirectoryTarget } from '../../agent/target.js';
import { ActiveDirectoryTarget } from '../../agent/targets/active-directory.js';
import { OpenLdapTarget } from '../../agent/targets/openldap.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { sambaTestInfo, slapdTestInfo, uniqueName, type SambaInfo, type SlapdInfo } from '../helpers/directories.js';
import { createTestCertificate } from '../helpers/tls.js';
import { AdSeed } from '../agent/ad-seed.js';
import { asRoot, bindsWith } from '../e2e/openldap-e2e-setup.js';

/**
 * Attack cases 18–20 of reference/security-requirements.md §4 (issue 10): LDAP injection, insecure
 * directory transport and hostile password input, through the front doors — the agent's config file
 * and its OpenLDAP / Active Directory targets against the real slapd and Samba AD DC, and the HTTP API
 * (`app.inject()`) down to the directory through a real agent.
 */

const slapd = slapdTestInfo();
const samba = sambaTestInfo();
const PW_ID = '28c10230-6103-485e-b985-444c60001490';
const BASE = 'http://localhost:8080';

const refusalOf = async (p: Promise<unknown>, what = ''): Promise<DirectoryRefusal> => {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err, what).toBeInstanceOf(DirectoryRefusal);
  return err as DirectoryRefusal;
};
const reset = (t: DirectoryTarget, name: string, password: string): Promise<void> => t.resetPassword({ anchor: null, name }, password, { mustChange: false, unlock: false });

function slapdConn(s: SlapdInfo, over: Partial<DirectoryConnection> = {}): DirectoryConnection {
  return { url: s.url, startTls: false, caFile: s.caFile, bindDn: s.serviceDn, bindPassword: s.servicePassword, baseDn: s.baseDn, timeoutMs: 5000, ...over };
}

/** A slapd inetOrgPerson with this uid (seeded as the rootdn); DN-escapes the uid. */
async function slapdUser(s: SlapdInfo, uid: string, password: string, made: string[]): Promise<{ dn: string; anchor: string }> {
  const dn = `uid=${uid.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)},ou=people,${s.baseDn}`;
  const anchor = await asRoot(s, async (c) => {
    await c.add(dn, { objectClass: 'inetOrgPerson', uid, cn: uid, sn: 'Injection', mail: `${uid.replace(/[^A-Za-z0-9]/g, '')}@example.test`, userPassword: password });
    const { searchEntries } = await c.search(dn, { scope: 'base', attributes: ['entryUUID'] });
    return String(searchEntries[0]!.entryUUID);
  });
  made.push(dn);
  return { dn, anchor };
}

describe('18 LDAP injection (names, UPNs and anchors reach the directory escaped: one entry or none)', () => {
  // Already proven elsewhere: test/agent/openldap-target.test.ts "LDAP injection in names and anchors
  // matches nothing" and test/agent/active-directory-target.test.ts "unknown users, foreign anchors and
  // LDAP injection in names match nothing" (probes → notFound); test/agent/ldap-connect.test.ts
  // escapeFilterValue table. Here: that a wildcard or filter fragment never reaches ANOTHER user, and
  // that a name made of the special characters finds exactly its own entry.

  describe.each(testDialects())('the HTTP front door (%s)', (dialect) => {
    let ctx: TestContext;
    let admin: string;
    beforeAll(async () => {
      ctx = await createTestContext(dialect);
      admin = await ctx.userToken('admin@contoso.test');
    });
    afterAll(async () => {
      await ctx?.close();
    });

    it('a UPN carrying an LDAP filter fragment is refused with the rule it breaks, and no user is made', async () => {
      for (const local of ['*)(uid=*', 'admin*', 'a\u0000b', 'back\\slash', 'x)(|(objectClass=*', '(paren)']) {
        const res = await ctx.app.inject({
          method: 'POST',
          url: '/v1.0/users',
          headers: { authorization: `Bearer ${admin}` },
          payload: { accountEnabled: true, displayName: 'Injected', mailNickname: 'injected', userPrincipalName: `${local}@contoso.test`, passwordProfile: { password: 'Orig1nal-Kestrel-42' } },
        });
        expect(res.statusCode, local).toBe(400);
        expect(res.json<{ error: { message: string } }>().error.message).toMatch(/userPrincipalName|part before the @/);
      }
      const users = await ctx.services.db.selectFrom('users').select('user_principal_name').where('tenant_id', '=', ctx.tenant.tenant.id).execute();
      expect(users.map((u) => u.user_principal_name)).toEqual(['admin@contoso.test']);
    });
  });

  describe.skipIf(!slapd)('OpenLDAP target (slapd)', () => {
    const s = slapd!;
    const made: string[] = [];
    let target: OpenLdapTarget;
    beforeAll(() => {
      target = new OpenLdapTarget(slapdConn(s));
    });
    afterAll(async () => {
      await target?.close();
      await asRoot(s, async (c) => {
        for (const dn of made.reverse()) await c.del(dn).catch(() => undefined);
      });
    });

    it('wildcards, filter fragments, NUL and backslashes never match another user; a name made of them finds exactly itself', async () => {
      const p = uniqueName('inj');
      const victim = await slapdUser(s, `${p}victim`, 'Victim-Password-1', made);
      const admin = await slapdUser(s, `${p}admin`, 'Admin-Password-2', made);
      // a real entry whose uid is made of the filter's special characters
      const literalUid = `${p}(a*)\\b`;
      const literal = await slapdUser(s, literalUid, 'Literal-Password-3', made);
      const probes = [`${p}v*`, `${p}admin*`, `*${p}victim`, `${p}*)(uid=*`, `${p}victim)(|(uid=*`, `${p}victim\u0000`, `${p}vict\\69m`, `${p}(a?)\\b`, `${p}victim*)(mail=*`];
      for (const name of probes) {
        const r = await refusalOf(reset(target, name, 'Injected-Pass-66'), name);
        expect(r.reason, name).toBe('notFound');
      }
      await expect(target.verifyPassword({ anchor: null, name: `${p}*` }, 'Victim-Password-1', 5000)).rejects.toMatchObject({ reason: 'notFound' });
      // anchors are entryUUIDs or nothing
      for (const anchor of ['*', `${victim.anchor})(entryUUID=*`, `${victim.anchor.slice(0, -1)}*`]) {
        expect((await refusalOf(target.resetPassword({ anchor, name: `${p}victim` }, 'Injected-Pass-66', { mustChange: false, unlock: false }))).reason).toBe('notFound');
      }
      expect(await bindsWith(s, victim.dn, 'Victim-Password-1')).toBe(true);
      expect(await bindsWith(s, admin.dn, 'Admin-Password-2')).toBe(true);
      expect(await bindsWith(s, literal.dn, 'Literal-Password-3')).toBe(true);

      await reset(target, literalUid, 'Literal-Changed-44');
      expect(await bindsWith(s, literal.dn, 'Literal-Changed-44')).toBe(true);
      expect(await bindsWith(s, victim.dn, 'Victim-Password-1')).toBe(true);
      expect(await bindsWith(s, admin.dn, 'Admin-Password-2')).toBe(true);
    });
  });

  describe.skipIf(!samba)('Active Directory target (Samba AD DC)', () => {
    let seed: AdSeed;
    let target: ActiveDirectoryTarget;
    beforeAll(async () => {
      seed = await AdSeed.open(samba!);
      target = new ActiveDirectoryTarget(seed.connection());
    });
    afterAll(async () => {
      await target?.close();
      await seed?.cleanup();
    });

    it('wildcards and filter fragments in a name or UPN never match another user; a UPN made of them finds exactly itself', async () => {
      const victim = await seed.user('injv', 'Victim-Passw0rd-1');
      const other = await seed.user('injv', 'Other-Passw0rd-2');
      const stem = victim.name.slice(0, -3);
      const literalUpn = `${stem}(a*)x@postern.test`;
      await seed.set(other.dn, 'userPrincipalName', literalUpn);
      const probes = [`${stem}*`, `${victim.name.slice(0, -1)}*`, `*${victim.name.slice(1)}`, `${victim.name})(sAMAccountName=*`, `${stem}*@postern.test`, `${victim.name}\u0000`, `${stem}(a?)x@postern.test`, `${stem}(a*)*@postern.test`, 'admin*', 'Administrator*'];
      for (const name of probes) {
        const r = await refusalOf(reset(target, name, 'Injected-Passw0rd-6'), name);
        expect(r.reason, name).toBe('notFound');
      }
      expect(await seed.canBind(victim.upn, 'Victim-Passw0rd-1')).toBe(true);
      expect(await seed.canBind(literalUpn, 'Other-Passw0rd-2')).toBe(true);

      await reset(target, literalUpn, 'Literal-Passw0rd-7');
      expect(await seed.canBind(literalUpn, 'Literal-Passw0rd-7')).toBe(true);
      expect(await seed.canBind(victim.upn, 'Victim-Passw0rd-1')).toBe(true);
    });
  });
});

/** A TCP (or TLS) listener on loopback that records what arrives and answers an LDAP StartTLS request with `unavailable`. */
interface Listener {
  url: string;
  connections: number;
  /** everything the client sent in clear (TLS: after decryption) */
  received(): Buffer;
  close(): Promise<void>;
}

/** An LDAPv3 ExtendedResponse with resultCode 52 (unavailable) for the request's messageID. */
function startTlsRefusal(request: Buffer): Buffer | null {
  if (request[0] !== 0x30) return null;
  let i = 1;
  i += request[i]! & 0x80 ? 1 + (request[i]! & 0x7f) : 1;
  if (request[i] !== 0x02) return null;
  const idLength = request[i + 1]!;
  const id = request.subarray(i + 2, i + 2 + idLength);
  if (request[i + 2 + idLength] !== 0x77) return null; // [APPLICATION 23] ExtendedRequest
  const op = Buffer.from([0x78, 0x07, 0x0a, 0x01, 0x34, 0x04, 0x00, 0x04, 0x00]);
  const body = Buffer.concat([Buffer.from([0x02, idLength]), id, op]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

async function listen(kind: 'tcp' | 'tls', tls?: { key: Buffer; cert: Buffer }): Promise<Listener> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const onSocket = (socket: Socket): void => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const answer = startTlsRefusal(chunk);
      if (answer) socket.write(answer);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  };
  // TLS: onSocket runs only for a completed handshake
  const server: Server = kind === 'tcp' ? createServer(onSocket) : createTlsServer({ ...tls! }, onSocket);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `${kind === 'tcp' ? 'ldap' : 'ldaps'}://127.0.0.1:${port}`,
    get connections() {
      return state.connections;
    },
    received: () => Buffer.concat(chunks),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('19 Insecure directory transport (refused before any password is sent)', () => {
  // Already proven elsewhere: test/agent/ldap-connect.test.ts (assertSecureConnection table);
  // test/agent/openldap-target.test.ts "refuses plain ldap:// … an untrusted CA is unreachable" (against
  // slapd); test/agent/directories.test.ts "a client without the CA file does not trust the server".
  // Here: the directory (or whoever poses as it) never receives the service password or a user's.
  const SERVICE_SECRET = 'Service-Secret-Canary-913';
  const USER_SECRET = 'User-Secret-Canary-5521';
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'postern-attack19-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const conn = (url: string, startTls: boolean, caFile: string | null = null): DirectoryConnection => ({
    url, startTls, caFile, bindDn: 'cn=postern-agent,ou=services,dc=example,dc=test', bindPassword: SERVICE_SECRET, baseDn: 'dc=example,dc=test', timeoutMs: 3000,
  });
  function configFile(over: Record<string, unknown>, password = SERVICE_SECRET): string {
    const name = uniqueName('cfg');
    writeFileSync(join(dir, `${name}.pw`), password);
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ kind: 'openLdap', url: 'ldaps://ldap.example.test:636', bindDn: 'cn=postern-agent,ou=services,dc=example,dc=test', bindPasswordFile: `${name}.pw`, baseDn: 'dc=example,dc=test', ...over }));
    return file;
  }
  const configError = (file: string): string => {
    try {
      loadAgentConfig(file);
    } catch (err) {
      expect(err).toBeInstanceOf(AgentConfigError);
      return (err as Error).message;
    }
    throw new Error('the config was accepted');
  };

  it('the config refuses plain ldap:// without StartTLS, anonymous binds and the rootdn / Administrator, naming the field', () => {
    expect(loadAgentConfig(configFile({})).connection.bindDn).toBe('cn=postern-agent,ou=services,dc=example,dc=test');
    expect(loadAgentConfig(configFile({ url: 'ldap://ldap.example.test:389', startTls: true })).connection.startTls).toBe(true);
    expect(configError(configFile({ url: 'ldap://ldap.example.test:389' }))).toMatch(/field "url": refusing ldap:\/\/ldap\.example\.test:389: plain ldap:\/\/ without StartTLS/);
    expect(configError(configFile({ bindDn: '' }))).toMatch(/field "bindDn"/);
    expect(configError(configFile({}, ''))).toMatch(/field "bindPasswordFile": .* is empty/);
    for (const bindDn of ['cn=admin,dc=example,dc=test', 'CN=Manager,dc=example,dc=test', 'CN=Administrator,CN=Users,DC=postern,DC=test', 'Administrator@postern.test', 'POSTERN\\Administrator', 'cn=Directory Manager']) {
      expect(configError(configFile({ kind: 'activeDirectory', bindDn })), bindDn).toMatch(/field "bindDn": refusing .*administrator account/);
    }
  });

  it('plain ldap:// without StartTLS: the target refuses before opening a connection', async () => {
    const server = await listen('tcp');
    try {
      const target = new OpenLdapTarget(conn(server.url, false));
      expect((await refusalOf(target.resetPassword({ anchor: null, name: 'alice' }, USER_SECRET, { mustChange: false, unlock: false }))).detail).toMatch(/plain ldap:\/\/ without StartTLS/);
      expect((await refusalOf(target.verifyPassword({ anchor: null, name: 'alice' }, USER_SECRET, 3000))).detail).toMatch(/plain ldap:\/\//);
      expect((await target.checkReachable()).reachable).toBe(false);
      await target.close();
      const ad = new ActiveDirectoryTarget(conn(server.url, false));
      await expect(ad.verifyPassword({ anchor: null, name: 'alice' }, USER_SECRET, 3000)).rejects.toMatchObject({ name: 'DirectoryRefusal' });
      await ad.close();
      expect(server.connections).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('StartTLS refused or stripped by the server: no bind follows in clear', async () => {
    const server = await listen('tcp');
    try {
      const target = new OpenLdapTarget(conn(server.url, true));
      expect((await refusalOf(target.resetPassword({ anchor: null, name: 'alice' }, USER_SECRET, { mustChange: false, unlock: false }))).reason).toBe('unreachable');
      expect((await target.checkReachable()).reachable).toBe(false);
      await target.close();
      expect(server.connections).toBeGreaterThan(0);
      const sent = server.received().toString('latin1');
      expect(sent).toContain('1.3.6.1.4.1.1466.20037'); // the StartTLS request, and nothing after it
      expect(sent).not.toContain(SERVICE_SECRET);
      expect(sent).not.toContain(USER_SECRET);
      expect(sent).not.toContain('cn=postern-agent');
    } finally {
      await server.close();
    }
  });

  it('a certificate the configured CA did not sign: the TLS handshake fails and nothing is sent', async () => {
    const cert = createTestCertificate(); // self-signed for 127.0.0.1: valid name, untrusted issuer
    const trusted = createTestCertificate(); // the CA the agent is told to trust
    const server = await listen('tls', { key: readFileSync(cert.keyFile), cert: readFileSync(cert.certFile) });
    try {
      for (const target of [new OpenLdapTarget(conn(server.url, false, trusted.certFile)), new ActiveDirectoryTarget(conn(server.url, false, trusted.certFile))]) {
        expect((await refusalOf(target.verifyPassword({ anchor: null, name: 'alice' }, USER_SECRET, 3000))).reason).toBe('unreachable');
        expect((await target.checkReachable()).reachable).toBe(false);
        await target.close();
      }
      expect(server.connections).toBe(0);
      expect(server.received().length).toBe(0);
    } finally {
      await server.close();
      await cert.cleanup();
      await trusted.cleanup();
    }
  });

  describe.skipIf(!slapd)('against slapd', () => {
    it('the real directory behind StartTLS without the CA file is not trusted; the rootdn is refused by the config', async () => {
      const s = slapd!;
      const noCa = new OpenLdapTarget(slapdConn(s, { url: s.startTlsUrl, startTls: true, caFile: null }));
      expect((await noCa.checkReachable()).reachable).toBe(false);
      await noCa.close();
      writeFileSync(join(dir, 'root.pw'), s.adminPassword);
      const file = join(dir, 'root.json');
      writeFileSync(file, JSON.stringify({ kind: 'openLdap', url: s.url, caFile: s.caFile, bindDn: s.adminDn, bindPasswordFile: 'root.pw', baseDn: s.baseDn }));
      expect(configError(file)).toMatch(/field "bindDn": refusing cn=admin,/);
    });
  });
});

/** A tenant with a linked directory user and a real in-process agent of `kind`, for end-to-end writeback. */
interface AgentWorld {
  ctx: TestContext;
  runner: AgentRunner;
  admin: string;
  dir: string;
  close(): Promise<void>;
}

async function startAgentWorld(kind: AgentConfig['kind'], connection: DirectoryConnection, scopeBase: string): Promise<AgentWorld> {
  const ctx = await createTestContext('sqlite');
  const url = await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'postern-attack20-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, (await createAgentRegistrationToken(ctx.services, ctx.tenant.tenant.id)).token, { mode: 0o600 });
  const runner = await startAgent({
    url,
    tokenFile,
    config: { kind, connection, scope: { baseDn: scopeBase, userFilter: '(objectClass=nothing-to-sync)' }, syncIntervalMinutes: 24 * 60 },
    log: createAgentLog(() => undefined),
    runner: { heartbeatSeconds: 3600, pollWaitSeconds: 5, syncOnStart: false, hashDeltaSeconds: 3600, now: () => ctx.clock.now() },
  });
  await runner.heartbeat();
  const row = await ctx.services.db.selectFrom('tenants').select('settings').where('id', '=', ctx.tenant.tenant.id).executeTakeFirstOrThrow();
  const settings = JSON.parse(row.settings) as { sspr?: Record<string, unknown> };
  await ctx.services.db.updateTable('tenants').set({ settings: JSON.stringify({ ...settings, sspr: { ...settings.sspr, writebackEnabled: true } }) }).where('id', '=', ctx.tenant.tenant.id).execute();
  const admin = await ctx.userToken('admin@contoso.test');
  // any Unicode: the NIST profile (15+ code points, no character-set rule)
  const patch = await ctx.app.inject({ method: 'PATCH', url: '/api/v1/policies/password', headers: { authorization: `Bearer ${admin}` }, payload: { profile: 'nist', minLength: 15 } });
  expect(patch.statusCode, patch.body).toBe(200);
  return {
    ctx,
    runner,
    admin,
    dir,
    close: async () => {
      await runner.stop();
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function linkCloudUser(ctx: TestContext, name: string, anchor: string): Promise<string> {
  const user = await createUser(ctx.services, systemContext(ctx.services), {
    tenantId: ctx.tenant.tenant.id,
    userPrincipalName: `${name}@contoso.test`,
    displayName: name,
    password: 'Orig1nal-Kestrel-42',
    onPremisesImmutableId: anchor,
  });
  await ctx.services.db.updateTable('users').set({ on_premises_sync_enabled: 1 }).where('id', '=', user.id).execute();
  return user.id;
}

async function adminResetStatus(w: AgentWorld, userId: string, newPassword: string): Promise<string> {
  const res = await w.ctx.app.inject({ method: 'POST', url: `/v1.0/users/${userId}/authentication/methods/${PW_ID}/resetPassword`, headers: { authorization: `Bearer ${w.admin}` }, payload: { newPassword } });
  expect(res.statusCode, res.body).toBe(202);
  const op = await w.ctx.app.inject({ method: 'GET', url: String(res.headers.location).slice(BASE.length), headers: { authorization: `Bearer ${w.admin}` } });
  return op.json<{ status: string }>().status;
}

/** Is `password` the user's password on the DC? A must-change password (data 773) is still the right one. */
async function adPasswordIs(info: SambaInfo, upn: string, password: string): Promise<boolean> {
  const c = new Client({ url: info.url, timeout: 10_000, tlsOptions: { ca: readFileSync(info.caFile), rejectUnauthorized: true } });
  try {
    await c.bind(upn, password);
    return true;
  } catch (err) {
    const message = String((err as Error).message);
    if (/\bdata 773\b/.test(message)) return true;
    if (/\bdata 52e\b/.test(message)) return false;
    throw err;
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

/**
 * A password that a byte-changing step would spoil: leading and trailing spaces, a quote and a
 * backslash (AD's unicodePwd quotes the value), "é" decomposed (NFD: e + U+0301), an emoji (a UTF-16
 * surrogate pair), more than 72 UTF-8 bytes.
 */
const EXACT = '  Qu"ote\\Back-e\u0301t\u00e9-\u{1F98A}-Lattice-Harbour-Quill-Mosaic-Tundra-Velvet-Juniper-Comet-9Z  ';
const variants = (pw: string): string[] => [pw.normalize('NFC'), pw.normalize('NFD'), pw.trim(), pw.replace(/\\/g, ''), pw.slice(0, -1)].filter((v) => v !== pw);

describe('20 Hostile password input', () => {
  describe.each(testDialects())('over HTTP on %s', (dialect) => {
    let ctx: TestContext;
    let n = 0;
    const ORIGINAL = 'Orig1nal-Kestrel-42';
    beforeAll(async () => {
      ctx = await createTestContext(dialect);
    });
    afterAll(async () => {
      await ctx?.close();
    });

    async function newUser(): Promise<{ upn: string; token: string }> {
      n += 1;
      const upn = `hostile${n}@contoso.test`;
      await createUser(ctx.services, systemContext(ctx.services), { tenantId: ctx.tenant.tenant.id, userPrincipalName: upn, displayName: `Hostile ${n}`, password: ORIGINAL });
      return { upn, token: await ctx.userToken(upn) };
    }
    const change = (token: string, payload: string | Buffer, contentType = 'application/json'): Promise<LightMyRequestResponse> =>
      ctx.app.inject({ method: 'POST', url: '/v1.0/me/changePassword', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, payload });
    const changeTo = (token: string, newPassword: string): Promise<LightMyRequestResponse> => change(token, JSON.stringify({ currentPassword: ORIGINAL, newPassword }));
    const signIn = async (upn: string, password: string): Promise<number> =>
      (await ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password } })).statusCode;
    const errorOf = (res: LightMyRequestResponse): { code: string; message: string } => res.json<{ error: { code: string; message: string } }>().error;
    const setProfile = async (profile: 'azure' | 'nist'): Promise<void> => {
      const res = await ctx.app.inject({ method: 'PATCH', url: '/api/v1/policies/password', headers: { authorization: `Bearer ${await ctx.userToken('admin@contoso.test')}` }, payload: { profile, minLength: profile === 'nist' ? 15 : 8 } });
      expect(res.statusCode, res.body).toBe(200);
    };

    it('a 1 MB password is refused by size (413) and a 257+-character one by length (400), before any argon2 run', async () => {
      const { upn, token } = await newUser();
      const seen: number[] = [];
      const hasher = ctx.services.hasher;
      const realHash = hasher.hash.bind(hasher);
      const realVerify = hasher.verify.bind(hasher);
      const h = vi.spyOn(hasher, 'hash').mockImplementation((pw: string) => (seen.push(pw.length), realHash(pw)));
      const v = vi.spyOn(hasher, 'verify').mockImplementation((enc: string, pw: string) => (seen.push(pw.length), realVerify(enc, pw)));
      try {
        const huge = 'A1-'.repeat(350_000);
        const big = await changeTo(token, huge);
        expect(big.statusCode).toBe(413);
        expect(errorOf(big).message).toMatch(/too large|limit/i);
        const signInBig = await ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password: huge } });
        expect(signInBig.statusCode).toBe(413);

        // over the schema's 4096 characters, and over the policy's 256 code points
        for (const res of [await changeTo(token, 'Aa1-'.repeat(1250)), await changeTo(token, `${'Aa1-'.repeat(64)}x`)]) {
          expect(res.statusCode).toBe(400);
          expect(errorOf(res).message).toMatch(/at most 256 characters|<=4096 characters/);
        }
        // sign-in: too long is the same wrong password as any other, at the same cost
        expect(await signIn(upn, 'Aa1-'.repeat(1000))).toBe(401);
        expect(Math.max(0, ...seen)).toBeLessThanOrEqual(256);
        expect(await signIn(upn, ORIGINAL)).toBe(200);
      } finally {
        h.mockRestore();
        v.mockRestore();
      }
    });

    it('NUL bytes and lone surrogates get a 400 that names the problem; the password is unchanged', async () => {
      const { upn, token } = await newUser();
      const nul = await changeTo(token, 'Harbour-Lantern-\u0000-Quill-42');
      expect(nul.statusCode).toBe(400);
      expect(errorOf(nul).message).toContain('NUL');
      for (const lone of ['\\ud800', '\\udfff', 'a\\udc00b']) {
        const res = await change(token, `{"currentPassword":"${ORIGINAL}","newPassword":"Harbour-Lantern-${lone}-Quill-42"}`);
        expect(res.statusCode, lone).toBe(400);
        expect(errorOf(res).message).toMatch(/unpaired UTF-16 surrogate/);
      }
      expect(await signIn(upn, ORIGINAL)).toBe(200);
    });

    it('invalid UTF-8 in a JSON or form body is a 400 naming the encoding, never a silently replaced character', async () => {
      await setProfile('nist'); // any Unicode, so a U+FFFD replacement would otherwise be accepted
      try {
        const { upn, token } = await newUser();
        const json = Buffer.concat([Buffer.from(`{"currentPassword":"${ORIGINAL}","newPassword":"Harbour-Lantern-Quill-`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('-42"}')]);
        for (let i = 0; i < 2; i++) {
          const res = await change(token, json);
          expect(res.statusCode).toBe(400);
          expect(errorOf(res).message).toMatch(/UTF-8/);
        }
        const form = Buffer.concat([Buffer.from(`currentPassword=${ORIGINAL}&newPassword=Harbour-Lantern-Quill-`), Buffer.from([0xff, 0xfe]), Buffer.from('-42')]);
        const formRes = await change(token, form, 'application/x-www-form-urlencoded');
        expect(formRes.statusCode).toBe(400);
        expect(errorOf(formRes).message).toMatch(/UTF-8/);
        const escaped = await change(token, `currentPassword=${ORIGINAL}&newPassword=Harbour-Lantern-Quill-%FF%FE-42`, 'application/x-www-form-urlencoded');
        expect(escaped.statusCode).toBe(400);
        expect(await signIn(upn, ORIGINAL)).toBe(200);
      } finally {
        await setProfile('azure');
      }
    });

    it('no truncation and no trimming or normalisation: only the exact password signs in', async () => {
      await setProfile('nist');
      try {
        const { upn, token } = await newUser();
        const res = await changeTo(token, EXACT);
        expect(res.statusCode, res.body).toBe(204);
        expect(Buffer.byteLength(EXACT)).toBeGreaterThan(72);
        const near = [...variants(EXACT), EXACT.slice(0, 72), Buffer.from(EXACT).subarray(0, 72).toString('utf8'), `${EXACT.slice(0, -3)}X  `];
        for (const [i, wrong] of near.entries()) expect(await signIn(upn, wrong), `variant ${i}`).toBe(401);
        expect(await signIn(upn, EXACT)).toBe(200);
        // 100 characters differing only in the last one are two passwords
        const { upn: upn2, token: token2 } = await newUser();
        const hundred = `${'Quill-Harbour-'.repeat(7)}Xy`;
        expect(hundred).toHaveLength(100);
        expect((await changeTo(token2, hundred)).statusCode).toBe(204);
        expect(await signIn(upn2, `${hundred.slice(0, 99)}z`)).toBe(401);
        expect(await signIn(upn2, hundred.slice(0, 72))).toBe(401);
        expect(await signIn(upn2, hundred)).toBe(200);
      } finally {
        await setProfile('azure');
      }
    });
  });

  describe.skipIf(!slapd)('the exact password reaches slapd through the agent', () => {
    const s = slapd!;
    let w: AgentWorld;
    const made: string[] = [];
    beforeAll(async () => {
      w = await startAgentWorld('openLdap', slapdConn(s), s.baseDn);
    });
    afterAll(async () => {
      await w?.close();
      await asRoot(s, async (c) => {
        for (const dn of made.reverse()) await c.del(dn).catch(() => undefined);
      });
    });

    it('an admin reset with spaces, quote, backslash, NFD, emoji and > 72 bytes binds with exactly those bytes', async () => {
      const uid = uniqueName('exact');
      const u = await slapdUser(s, uid, 'Granite-Heron-Valley-31', made);
      const userId = await linkCloudUser(w.ctx, uid, u.anchor);
      expect(await adminResetStatus(w, userId, EXACT)).toBe('succeeded');
      expect(await bindsWith(s, u.dn, EXACT)).toBe(true);
      for (const wrong of variants(EXACT)) expect(await bindsWith(s, u.dn, wrong), JSON.stringify(wrong)).toBe(false);
    });
  });

  describe.skipIf(!samba)('the exact password reaches Samba AD through the agent', () => {
    let seed: AdSeed;
    let w: AgentWorld;
    let info: SambaInfo;
    beforeAll(async () => {
      info = samba!;
      seed = await AdSeed.open(info);
      w = await startAgentWorld('activeDirectory', seed.connection(), info.usersOu);
    });
    afterAll(async () => {
      await w?.close();
      await seed?.cleanup();
    });

    it('an admin reset with spaces, quote, backslash, NFD, emoji and > 72 bytes binds with exactly those bytes', async () => {
      const u = await seed.user('exact', 'Granite-Heron-Valley-31');
      const userId = await linkCloudUser(w.ctx, u.name, u.anchor);
      expect(await adminResetStatus(w, userId, EXACT)).toBe('succeeded');
      // an admin reset sets must-change (pwdLastSet 0): the DC then refuses the right password with
      // "data 773" (must change) and a wrong one with "data 52e"
      expect(await adPasswordIs(info, u.upn, EXACT)).toBe(true);
      for (const [i, wrong] of variants(EXACT).entries()) expect(await adPasswordIs(info, u.upn, wrong), `variant ${i}`).toBe(false);
    });
  });
});
