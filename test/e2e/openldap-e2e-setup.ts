import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ldapts';
import { createAgentLog } from '../../agent/events.js';
import { startAgent } from '../../agent/main.js';
import type { AgentRunner } from '../../agent/runner.js';
import { upsertEmailMethod } from '../../src/store/auth-methods.js';
import type { Dialect } from '../../src/store/database.js';
import type { SlapdInfo } from '../helpers/directories.js';
import { setSsprPolicy } from '../http/security-info-helpers.js';
import { startSsprHarness, type SsprHarness } from '../http/sspr-harness.js';
import { post, SSPR, startFlow } from '../http/sspr-helpers.js';
import { adminRegistrationToken } from '../http/writeback-helpers.js';

/**
 * The OpenLDAP end-to-end world: a listening Postern (SQLite or PostgreSQL, real SMTP sink for SSPR
 * codes), the real agent (agent/main.ts startAgent, from a config file, registered with a token an
 * admin asked for over the API) bound to slapd as the non-root service account, and helpers that
 * talk to slapd directly (as the rootdn for seeding, as a user for binds and ldappasswd).
 */

const run = promisify(execFile);
const ORIGIN = 'http://localhost:8080';

export interface OpenLdapWorld {
  h: SsprHarness;
  runner: AgentRunner;
  admin: string;
  /** every agent log line (JSON), to look for event codes and for secrets that must not be there */
  logs: string[];
  dir: string;
  /** the sync filter value: only entries carrying it (employeeType) are this suite's */
  marker: string;
  close(): Promise<void>;
}

export async function startOpenLdapWorld(s: SlapdInfo, dialect: Dialect, marker: string): Promise<OpenLdapWorld> {
  const h = await startSsprHarness(dialect);
  const ctx = h.ctx;
  const url = await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  const admin = await ctx.userToken('admin@contoso.test');
  await setSsprPolicy(ctx, { enabledFor: 'all', groupId: null, methodsRequired: 1, writebackEnabled: true });
  const dir = mkdtempSync(join(tmpdir(), 'postern-e2e-ldap-'));
  writeFileSync(join(dir, 'bind-password'), `${s.servicePassword}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, 'directory.json'),
    JSON.stringify({ kind: 'openLdap', url: s.url, caFile: s.caFile, bindDn: s.serviceDn, bindPasswordFile: 'bind-password', baseDn: s.baseDn, userFilter: `(employeeType=${marker})`, timeoutMs: 5000 }),
  );
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, await adminRegistrationToken(ctx, admin), { mode: 0o600 });
  const logs: string[] = [];
  // the schedules are pushed out of the way: the tests ask for a sync / hash delta when they mean it
  const runner = await startAgent({
    url,
    tokenFile,
    config: join(dir, 'directory.json'),
    log: createAgentLog((line) => logs.push(line)),
    runner: { heartbeatSeconds: 3600, pollWaitSeconds: 5, syncOnStart: false, hashDeltaSeconds: 3600, now: () => ctx.clock.now() },
  });
  await runner.heartbeat();
  return {
    h,
    runner,
    admin,
    logs,
    dir,
    marker,
    async close() {
      await runner.stop();
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function ldapClient(s: SlapdInfo): Client {
  return new Client({ url: s.url, tlsOptions: { ca: [readFileSync(s.caFile)] } });
}

export async function asRoot<T>(s: SlapdInfo, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = ldapClient(s);
  await c.bind(s.adminDn, s.adminPassword);
  try {
    return await fn(c);
  } finally {
    await c.unbind();
  }
}

/** true / false for a simple bind; anything but invalidCredentials (49) is an error, not a "no". */
export async function bindsWith(s: SlapdInfo, dn: string, password: string): Promise<boolean> {
  const c = ldapClient(s);
  try {
    await c.bind(dn, password);
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 49) return false;
    throw err;
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

export interface SeededEntry {
  uid: string;
  dn: string;
  anchor: string;
  password: string;
}

/** An inetOrgPerson under ou=people carrying the suite's marker, added as the rootdn. */
export async function seedEntry(s: SlapdInfo, marker: string, uid: string, password: string, extra: Record<string, string> = {}): Promise<SeededEntry> {
  const rdn = extra.rdn ?? `uid=${uid}`;
  const dn = `${rdn},ou=people,${s.baseDn}`;
  const attrs: Record<string, string | string[]> = { objectClass: ['inetOrgPerson'], uid, cn: extra.cn ?? uid, sn: uid, employeeType: marker, userPassword: password };
  if (extra.mail) attrs.mail = extra.mail;
  const anchor = await asRoot(s, async (c) => {
    await c.add(dn, attrs);
    const { searchEntries } = await c.search(dn, { scope: 'base', attributes: ['entryUUID'] });
    return String(searchEntries[0]!.entryUUID);
  });
  return { uid, dn, anchor, password };
}

/** The user changes their own password in the directory with ldappasswd (Password Modify, bound as themselves). */
export async function ldappasswd(s: SlapdInfo, dn: string, oldPassword: string, newPassword: string): Promise<void> {
  await run('ldappasswd', ['-x', '-H', s.url, '-D', dn, '-w', oldPassword, '-a', oldPassword, '-s', newPassword], { env: { ...process.env, LDAPTLS_CACERT: s.caFile, LDAPTLS_REQCERT: 'demand' } });
}

/** Operational attributes of an entry, read as the rootdn. */
export async function readEntry(s: SlapdInfo, dn: string, attributes: string[]): Promise<Record<string, string | null>> {
  return asRoot(s, async (c) => {
    const { searchEntries } = await c.search(dn, { scope: 'base', attributes });
    const e = searchEntries[0]!;
    return Object.fromEntries(attributes.map((a) => [a, e[a] === undefined ? null : String(Array.isArray(e[a]) ? e[a][0] : e[a])]));
  });
}

export function signIn(w: OpenLdapWorld, upn: string, password: string) {
  return w.h.ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password }, headers: { origin: ORIGIN } });
}

/** The Postern user synced from a directory entry (by its anchor). */
export async function syncedRow(w: OpenLdapWorld, anchor: string) {
  return w.h.ctx.services.db
    .selectFrom('users')
    .select(['id', 'user_principal_name', 'password_hash', 'password_source', 'force_change_password_next_sign_in'])
    .where('tenant_id', '=', w.h.ctx.tenant.tenant.id)
    .where('on_premises_immutable_id', '=', anchor)
    .executeTakeFirst();
}

/** Ask for a sync over the admin API; the agent's next heartbeat carries it, and we wait for the run. */
export async function syncNow(w: OpenLdapWorld): Promise<void> {
  const res = await w.h.ctx.app.inject({ method: 'POST', url: '/api/v1/writeback/agents/sync', headers: { authorization: `Bearer ${w.admin}` } });
  if (res.statusCode !== 202) throw new Error(`sync request: ${res.statusCode} ${res.body}`);
  const runs = w.runner.sync.runs;
  await w.runner.heartbeat();
  await w.runner.sync.idle();
  if (w.runner.sync.runs !== runs + 1) throw new Error(`the sync did not complete: ${w.logs.filter((l) => l.includes('Sync')).join('\n')}`);
}

/** An SSPR flow for a synced user, verified by a code mailed to an authentication email on file. */
export async function verifiedFlow(w: OpenLdapWorld, userId: string, upn: string): Promise<string> {
  const ctx = w.h.ctx;
  const address = `${userId.slice(0, 8)}@example.test`;
  const at = ctx.clock.now().toISOString();
  await upsertEmailMethod(ctx.services.db, { userId, address, verifiedAt: at, createdAt: at });
  const started = await startFlow(ctx, upn);
  if (started.statusCode !== 201) throw new Error(`sspr start: ${started.statusCode} ${started.body}`);
  const F = `${SSPR}/flows/${started.json<{ flowId: string }>().flowId}`;
  const v = await post(ctx, `${F}/verifications`, { method: 'email' });
  if (v.statusCode !== 202) throw new Error(`verification: ${v.statusCode} ${v.body}`);
  const done = await post(ctx, `${F}/verifications/email/complete`, { code: await w.h.mailedCode(address) });
  if (done.statusCode !== 200) throw new Error(`verification complete: ${done.statusCode} ${done.body}`);
  return F;
}
