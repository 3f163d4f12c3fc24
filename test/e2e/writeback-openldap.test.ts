import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentConfigError, parseAgentConfig } from '../../agent/config.js';
import { DirectoryRefusal } from '../../agent/target.js';
import { OpenLdapTarget } from '../../agent/targets/openldap.js';
import { testDialects } from '../helpers/context.js';
import { slapdTestInfo, uniqueName } from '../helpers/directories.js';
import { spawnPostern, stopAllSpawned } from '../helpers/spawn-server.js';
import { post, startFlow } from '../http/sspr-helpers.js';
import { adminRegistrationToken } from '../http/writeback-helpers.js';
import {
  bindsWith, ldappasswd, readEntry, seedEntry, signIn, startOpenLdapWorld, syncedRow, syncNow, verifiedFlow,
  type OpenLdapWorld, type SeededEntry,
} from './openldap-e2e-setup.js';

/**
 * Issue 7 acceptance on OpenLDAP, end to end: slapd with ppolicy, a listening Postern, and the real
 * agent (config file, registration token, sealed jobs over the channel, the OpenLDAP target bound as
 * the non-root service account). Users come into Postern only through the agent's sync (hashSync).
 */

const slapd = slapdTestInfo();
const PW_ID = '28c10230-6103-485e-b985-444c60001490';
const ORIGINAL = 'Granite-Heron-Valley-31';
const NEW = 'Saffron-Lynx-Cascade-84';
const SECOND = 'Amber-Falcon-Ridge-62';
const THIRD = 'Cobalt-Otter-Meadow-57';
/** long enough for Postern's cloud policy (8), too short for the directory's ppolicy (pwdMinLength 10) */
const NINE = 'Qv7-mRz4k';
const GIVEN = 'Tangerine-Quokka-93!';

describe.skipIf(!slapd).each(slapd ? testDialects() : ['sqlite' as const])('writeback and hash sync with OpenLDAP, end to end, on %s', (dialect) => {
  const s = slapd!;
  const marker = uniqueName('e2eldap');
  let w: OpenLdapWorld;
  const seeded: Record<'alice' | 'bob' | 'carol' | 'dave' | 'eve' | 'inj', SeededEntry> = {} as never;

  beforeAll(async () => {
    w = await startOpenLdapWorld(s, dialect, marker);
    for (const key of ['alice', 'bob', 'carol', 'dave', 'eve'] as const) seeded[key] = await seedEntry(s, marker, uniqueName(`e2${key}`), ORIGINAL);
    // a uid that is an LDAP filter fragment, and a cn with a backslash
    const tail = uniqueName('');
    seeded.inj = await seedEntry(s, marker, `*)(uid=*${tail}`, ORIGINAL, { rdn: `cn=inj${tail}`, cn: `back\\slash${tail}`, mail: `inj${tail}@contoso.test` });
    await syncNow(w);
  }, 60_000);
  afterAll(async () => {
    await stopAllSpawned();
    await w?.close();
  });

  const row = async (e: SeededEntry) => {
    const r = await syncedRow(w, e.anchor);
    if (!r) throw new Error(`${e.uid} was not synced`);
    return r;
  };

  it('the sync imported every seeded entry as a hashSync user that signs in with its directory password', async () => {
    for (const e of Object.values(seeded)) {
      const r = await row(e);
      expect(r.password_source).toBe('hashSync');
      expect(r.password_hash).toMatch(/^\{(SSHA|SSHA512|ARGON2|PBKDF2-SHA256|CRYPT)\}/i);
      expect((await signIn(w, r.user_principal_name, ORIGINAL)).statusCode).toBe(200);
    }
  });

  it('1. SSPR reset of a synced user lands in slapd: the new password binds, the old does not, and Postern takes the new one', async () => {
    const { dn } = seeded.alice;
    const user = await row(seeded.alice);
    const F = await verifiedFlow(w, user.id, user.user_principal_name);
    const res = await post(w.h.ctx, `${F}/password`, { newPassword: NEW });
    expect(res.statusCode, res.body).toBe(200);
    expect(await bindsWith(s, dn, NEW)).toBe(true);
    expect(await bindsWith(s, dn, ORIGINAL)).toBe(false);
    expect((await signIn(w, user.user_principal_name, NEW)).statusCode).toBe(200);
    expect((await signIn(w, user.user_principal_name, ORIGINAL)).statusCode).toBe(401);
    // applied by the real agent, and nothing secret in its log
    expect(w.runner.jobs.applied).toBeGreaterThanOrEqual(1);
    for (const secret of [NEW, ORIGINAL, s.servicePassword]) expect(w.logs.join('\n')).not.toContain(secret);
  });

  it('2. ppolicy refusals come back specific — "recently used", "too short" — and the cloud password stays as it was', async () => {
    const { dn } = seeded.bob;
    const user = await row(seeded.bob);
    // two changes in the directory the cloud never hears of (no hash delta): SECOND is in slapd's history only
    await ldappasswd(s, dn, ORIGINAL, SECOND);
    await ldappasswd(s, dn, SECOND, THIRD);
    const before = (await row(seeded.bob)).password_hash;
    const F = await verifiedFlow(w, user.id, user.user_principal_name);

    const history = await post(w.h.ctx, `${F}/password`, { newPassword: SECOND });
    expect(history.statusCode, history.body).toBe(400);
    expect(history.json().error).toMatchObject({ code: 'writeback.refused', details: { reason: 'recentlyUsed' } });
    expect(history.json().error.message).toContain('one of your recent passwords');

    const short = await post(w.h.ctx, `${F}/password`, { newPassword: NINE });
    expect(short.statusCode, short.body).toBe(400);
    expect(short.json().error).toMatchObject({ code: 'writeback.refused', details: { reason: 'tooShort' } });
    expect(short.json().error.message).toContain('too short');

    for (const body of [history.body, short.body]) for (const secret of [SECOND, NINE]) expect(body).not.toContain(secret);
    expect((await row(seeded.bob)).password_hash).toBe(before);
    expect((await signIn(w, user.user_principal_name, ORIGINAL)).statusCode).toBe(200);
    expect((await signIn(w, user.user_principal_name, SECOND)).statusCode).toBe(401);
    // and the directory kept its current password
    expect(await bindsWith(s, dn, THIRD)).toBe(true);
    expect(await bindsWith(s, dn, NINE)).toBe(false);
    expect(w.runner.jobs.refused).toBeGreaterThanOrEqual(2);
  });

  it('3. a password changed in OpenLDAP (ldappasswd as the user) signs in to Postern after the hash delta; the old one no longer does', async () => {
    const { dn } = seeded.carol;
    const user = await row(seeded.carol);
    await ldappasswd(s, dn, ORIGINAL, NEW);
    // before the delta the cloud still holds the old hash
    expect((await signIn(w, user.user_principal_name, ORIGINAL)).statusCode).toBe(200);
    expect(await w.runner.sync.hashDelta()).toBeGreaterThanOrEqual(1);
    expect((await signIn(w, user.user_principal_name, NEW)).statusCode).toBe(200);
    expect((await signIn(w, user.user_principal_name, ORIGINAL)).statusCode).toBe(401);
    expect((await row(seeded.carol)).password_hash).toMatch(/^\{SSHA/i);
    // nothing changed since: the next delta sends nobody
    expect(await w.runner.sync.hashDelta()).toBe(0);
  });

  it('4. an admin reset through Graph lands in slapd with pwdReset TRUE, and the user must change at the next Postern sign-in', async () => {
    const { dn } = seeded.dave;
    const user = await row(seeded.dave);
    const res = await w.h.ctx.app.inject({
      method: 'POST',
      url: `/v1.0/users/${user.id}/authentication/methods/${PW_ID}/resetPassword`,
      headers: { authorization: `Bearer ${w.admin}` },
      payload: { newPassword: GIVEN },
    });
    expect(res.statusCode, res.body).toBe(202);
    const op = await w.h.ctx.app.inject({ method: 'GET', url: String(res.headers.location).replace('http://localhost:8080', ''), headers: { authorization: `Bearer ${w.admin}` } });
    expect(op.json()).toMatchObject({ status: 'succeeded' });
    expect(await readEntry(s, dn, ['pwdReset'])).toEqual({ pwdReset: 'TRUE' });
    expect(await bindsWith(s, dn, GIVEN)).toBe(true);
    expect(await bindsWith(s, dn, ORIGINAL)).toBe(false);
    const first = await signIn(w, user.user_principal_name, GIVEN);
    expect(first.statusCode, first.body).toBe(403);
    expect(first.json().error.code).toBe('auth.password_expired');
    expect((await signIn(w, user.user_principal_name, ORIGINAL)).statusCode).toBe(401);
    expect((await row(seeded.dave)).force_change_password_next_sign_in).toBe(1);
  });

  describe('5. LDAP injection and plain ldap://', () => {
    const NAMES = ['*', '*)(uid=*', '*)(|(uid=*', 'x\u0000*', '\\', `${'*'}\\2a`];
    const jobCount = async () => (await w.h.ctx.services.db.selectFrom('writeback_jobs').select('id').execute()).length;
    /** every seeded entry still binds with the password this suite last gave it */
    const current = () => [
      [seeded.alice, NEW], [seeded.bob, THIRD], [seeded.carol, NEW], [seeded.dave, GIVEN], [seeded.eve, ORIGINAL], [seeded.inj, ORIGINAL],
    ] as const;
    const allUnchanged = async () => {
      for (const [e, pw] of current()) expect(await bindsWith(s, e.dn, pw), e.uid).toBe(true);
    };

    it('filter fragments, NUL and backslash as names through the real OpenLDAP target match nothing (notFound) and change nothing', async () => {
      const target = new OpenLdapTarget({ url: s.url, startTls: false, caFile: s.caFile, bindDn: s.serviceDn, bindPassword: s.servicePassword, baseDn: s.baseDn, timeoutMs: 5000 });
      try {
        for (const name of NAMES) {
          const ref = { anchor: null, name };
          const outcomes = await Promise.all([
            target.verifyPassword(ref, ORIGINAL, 5000).then(() => 'bound', (e: unknown) => e),
            target.resetPassword(ref, 'Violet-Badger-Summit-19', { mustChange: false, unlock: true }).then(() => 'reset', (e: unknown) => e),
            target.unlock(ref).then(() => 'unlocked', (e: unknown) => e),
          ]);
          for (const o of outcomes) {
            expect(o, JSON.stringify(name)).toBeInstanceOf(DirectoryRefusal);
            expect((o as DirectoryRefusal).reason, JSON.stringify(name)).toBe('notFound');
          }
        }
        // a filter-looking anchor is not an entryUUID: refused before any search
        await expect(target.verifyPassword({ anchor: '*)(entryUUID=*', name: 'x' }, ORIGINAL, 5000)).rejects.toMatchObject({ reason: 'notFound' });
        // the escaped name still finds the one entry literally called so
        await expect(target.verifyPassword({ anchor: null, name: seeded.inj.uid }, ORIGINAL, 5000)).resolves.toBeUndefined();
      } finally {
        await target.close();
      }
      await allUnchanged();
    });

    it('such names at Postern sign-in and SSPR start queue no directory job and change nothing', async () => {
      const jobs = await jobCount();
      for (const name of NAMES) {
        for (const upn of [`${name}@contoso.test`, name]) {
          const res = await signIn(w, upn, ORIGINAL);
          expect([400, 401], `${JSON.stringify(upn)} → ${res.statusCode}`).toContain(res.statusCode);
          const flow = await startFlow(w.h.ctx, upn);
          expect(flow.statusCode, `${JSON.stringify(upn)} → ${flow.body}`).toBeLessThan(500);
          if (flow.statusCode === 201) {
            // a decoy flow (no enumeration) must lead nowhere: no method to verify with
            const F = `/api/v1/sspr/flows/${flow.json<{ flowId: string }>().flowId}`;
            expect((await post(w.h.ctx, `${F}/password`, { newPassword: 'Violet-Badger-Summit-19' })).statusCode).toBeGreaterThanOrEqual(400);
          }
        }
      }
      expect(await jobCount()).toBe(jobs);
      await allUnchanged();
    });

    it('an entry whose uid is a filter fragment syncs as itself, and its SSPR reset touches only that entry', async () => {
      const user = await row(seeded.inj);
      const sam = await w.h.ctx.services.db.selectFrom('users').select(['on_premises_sam_account_name', 'on_premises_distinguished_name']).where('id', '=', user.id).executeTakeFirstOrThrow();
      expect(sam.on_premises_sam_account_name).toBe(seeded.inj.uid);
      // exactly one Postern user per seeded entry: the filter-looking uid swallowed nobody
      const mine = await w.h.ctx.services.db.selectFrom('users').select('on_premises_immutable_id').where('tenant_id', '=', w.h.ctx.tenant.tenant.id).where('password_source', '=', 'hashSync').execute();
      expect(mine.map((r) => r.on_premises_immutable_id).sort()).toEqual(Object.values(seeded).map((e) => e.anchor).sort());
      const F = await verifiedFlow(w, user.id, user.user_principal_name);
      const res = await post(w.h.ctx, `${F}/password`, { newPassword: SECOND });
      expect(res.statusCode, res.body).toBe(200);
      expect(await bindsWith(s, seeded.inj.dn, SECOND)).toBe(true);
      seeded.inj = { ...seeded.inj, password: SECOND };
      for (const [e, pw] of current()) expect(await bindsWith(s, e.dn, e === seeded.inj ? SECOND : pw), e.uid).toBe(true);
      // a resync sees the same set, nobody disabled
      await syncNow(w);
      expect((await signIn(w, (await row(seeded.eve)).user_principal_name, ORIGINAL)).statusCode).toBe(200);
    });

    it('an agent config with a plain ldap:// URL (no StartTLS) is refused naming the problem; the agent does not register', async () => {
      const plain = { kind: 'openLdap', url: s.startTlsUrl, caFile: s.caFile, bindDn: s.serviceDn, bindPasswordFile: 'bind-password', baseDn: s.baseDn };
      const file = join(w.dir, 'plain.json');
      writeFileSync(file, JSON.stringify(plain));
      expect(() => parseAgentConfig(plain, file)).toThrow(AgentConfigError);
      expect(() => parseAgentConfig(plain, file)).toThrow(/field "url".*plain ldap:\/\/ without StartTLS/);
      // the same URL with StartTLS is accepted
      expect(parseAgentConfig({ ...plain, startTls: true }, file).connection).toMatchObject({ url: s.startTlsUrl, startTls: true });

      // through the CLI, as a separate process: it exits with the error before spending the token
      const token = await adminRegistrationToken(w.h.ctx, w.admin);
      const tokenFile = join(w.dir, 'plain-token');
      writeFileSync(tokenFile, token, { mode: 0o600 });
      const agents = (await w.h.ctx.services.db.selectFrom('writeback_agents').select('id').execute()).length;
      const url = `http://127.0.0.1:${(w.h.ctx.app.server.address() as { port: number }).port}`;
      const cli = spawnPostern(['agent', '--url', url, '--token-file', tokenFile, '--config', file], { env: {} });
      const code = await cli.exited;
      expect(code, cli.stderr()).not.toBe(0);
      expect(cli.stderr() + cli.stdout()).toMatch(/plain ldap:\/\/ without StartTLS/);
      expect(cli.stderr() + cli.stdout()).not.toContain(s.servicePassword);
      expect(readFileSync(tokenFile, 'utf8')).toBe(token);
      expect((await w.h.ctx.services.db.selectFrom('writeback_agents').select('id').execute()).length).toBe(agents);
    });
  });
});
