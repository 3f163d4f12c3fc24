import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/domain/audit-verify.js';
import { sha256 } from '../../src/lib/crypto.js';
import { insertAgent } from '../../src/store/writeback-agents.js';
import type { SyncBatch } from '../../src/writeback/protocol.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

type User = SyncBatch['users'][number];
type Group = SyncBatch['groups'][number];

const HW = 'Hello world!';
/** made by slappasswd 2.5 (and its pw-sha2 / argon2 modules) and Python's pbkdf2_hmac; see test/domain/ldap-hashes.test.ts */
const SCHEMES: Record<string, string> = {
  ssha: '{SSHA}2SRX+9smhqHoQhcmNSdeNPAF3Y61UQLe',
  ssha512: '{SSHA512}GZVe0g2hdywvHWjs9k86DpZCF+dfNsHhUabC1EgAuZWIMqrp4Mm88xFUnlisq0gqo3lZLNeB3k0kgktBK8vrHnhsQUBxr3WU',
  argon2: '{ARGON2}$argon2i$v=19$m=4096,t=3,p=1$m8QAYBQqGp54TDFEJq/fjA$YnhCs7MLMsik3IUOBe4mP3HaBKxFURl2T8wCWeE12rg',
  pbkdf2: '{PBKDF2-SHA256}10000$AAECAwQFBgcICQoLDA0ODw$0Vl9u2tTV5ewKoVkduL5sTyDKVfq8YIPmgxo1cfBP88',
  sha512crypt: '{CRYPT}$6$4XjWyOEGOSpqTzEE$.O0oxj3hSR2qrG7CbZp6VyZnPrrT4LZkooKMOYULcOjomQF45SyloVE3RFawH7ZuRxgwYxBqNNXotPGSwXs.I/',
  sha256crypt: '{CRYPT}$5$3uOSnizuMUHsusTi$U1GUBZopCesUK0/B7/CnxxMqfaXdbSa7psOc9YOj.q3',
  md5crypt: '{CRYPT}$1$tZMJwjvt$KmRyCLvXmjLuQBdceNq1o0',
};
const SECOND = 'Second-Password-2';
const SECOND_SSHA = '{SSHA}gIScI93SzGaqdvtSQlJy+tgsgH3TrE0Z';

describe.each(testDialects())('directory sync from an agent on %s', (dialect) => {
  let ctx: TestContext;
  let credential: string;
  let tenantId: string;
  const AGENT_NAME = 'dc01 sync agent';

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    tenantId = ctx.tenant.tenant.id;
    credential = `agent-${randomUUID()}-${randomUUID()}`;
    await insertAgent(ctx.services.db, {
      id: randomUUID(), tenantId, name: AGENT_NAME, version: '0.7.0', directoryKind: 'openLdap', credentialHash: sha256(credential), createdAt: ctx.clock.now().toISOString(),
    });
  }, 60_000);
  afterAll(async () => ctx.close());

  const post = (batch: unknown, auth = `Agent ${credential}`) =>
    ctx.app.inject({ method: 'POST', url: '/api/v1/agent/sync', headers: { authorization: auth }, payload: batch as Record<string, unknown> });
  const group = (i: number): Group => ({ anchor: `g-${i}`, dn: `cn=Team ${i},ou=groups,dc=example,dc=test`, displayName: `Team ${i}`, description: null });
  const user = (i: number, extra: Partial<User> = {}): User => ({
    anchor: `u-${i}`, dn: `uid=user${i},ou=people,dc=example,dc=test`, name: `user${i}`, userPrincipalName: `user${i}@contoso.test`, mail: `user${i}@contoso.test`,
    displayName: `User ${i}`, givenName: 'Given', surname: `Sur${i}`, enabled: true, groupAnchors: [`g-${i % 20}`, `g-${(i * 7 + 3) % 20}`], passwordHash: null, passwordChangedAt: null, ...extra,
  });
  const batch = (users: User[], groups: Group[] = [], final = true, runId = randomUUID()): SyncBatch => ({ runId, groups, users, final });
  const everyone = () => Array.from({ length: 1000 }, (_, i) => user(i));
  const groups20 = () => Array.from({ length: 20 }, (_, i) => group(i));

  const db = () => ctx.services.db;
  const syncedUsers = () => db().selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('on_premises_sync_enabled', '=', 1).execute();
  const userByAnchor = (anchor: string) => db().selectFrom('users').selectAll().where('on_premises_immutable_id', '=', anchor).executeTakeFirstOrThrow();
  const memberships = async () => {
    const rows = await db()
      .selectFrom('group_members')
      .innerJoin('groups', 'groups.id', 'group_members.group_id')
      .innerJoin('users', 'users.id', 'group_members.member_id')
      .select(['groups.on_premises_immutable_id as g', 'users.on_premises_immutable_id as u'])
      .where('group_members.tenant_id', '=', tenantId)
      .execute();
    return new Set(rows.map((r) => `${r.g}|${r.u}`));
  };
  const events = (activity: string) => db().selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId).where('activity_display_name', '=', activity).execute();
  const countRows = async () => ({
    users: (await db().selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
    groups: (await db().selectFrom('groups').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
    events: (await db().selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
  });
  const signIn = (upn: string, password: string) => ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password } });

  it('imports 1,000 users and 20 groups with their memberships in one run, one audit event per object, by the agent', async () => {
    const res = await post(batch(everyone(), groups20()));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ created: 1000, updated: 0, disabled: 0, groupsCreated: 20, groupsUpdated: 0 });

    const users = await syncedUsers();
    expect(new Set(users.map((u) => u.on_premises_immutable_id))).toEqual(new Set(everyone().map((u) => u.anchor)));
    const u42 = users.find((u) => u.on_premises_immutable_id === 'u-42')!;
    expect(u42).toMatchObject({ user_principal_name: 'user42@contoso.test', display_name: 'User 42', surname: 'Sur42', account_enabled: 1, password_source: 'passThrough', password_hash: null, on_premises_sam_account_name: 'user42' });
    const expected = new Set(everyone().flatMap((u) => u.groupAnchors.map((g) => `${g}|${u.anchor}`)));
    expect(await memberships()).toEqual(expected);

    expect(await events('Add user')).toHaveLength(1000 + 1); // + the tenant's admin
    expect(await events('Add group')).toHaveLength(20);
    const memberEvents = await events('Add member to group');
    expect(memberEvents).toHaveLength(20);
    const initiator = JSON.parse(memberEvents[0]!.initiated_by) as { app?: { displayName: string } };
    expect(initiator.app?.displayName).toBe(AGENT_NAME);
    // the batch's events are written together, on the tenant's hash chain like any other
    expect((await verifyAuditChain(db(), tenantId)).ok).toBe(true);
    const counted = await db().selectFrom('audit_daily_counts').select('count').where('tenant_id', '=', tenantId).where('activity_display_name', '=', 'Add user').execute();
    expect(counted.reduce((n, r) => n + Number(r.count), 0)).toBe(1001);
  }, 120_000);

  it('a second run of the same directory changes nothing and writes no audit event', async () => {
    const before = await countRows();
    const res = await post(batch(everyone(), groups20()));
    expect(res.json()).toEqual({ created: 0, updated: 0, disabled: 0, groupsCreated: 0, groupsUpdated: 0 });
    expect(await countRows()).toEqual(before);
  }, 120_000);

  it('an update changes the fields and memberships that changed, and only those', async () => {
    const changed = [user(5, { displayName: 'Renamed Five' }), user(6, { mail: 'six@elsewhere.test', groupAnchors: ['g-1'] }), user(7, { enabled: false }), user(8)];
    const res = await post(batch(changed, [{ ...group(3), displayName: 'Team Three' }], false));
    expect(res.json()).toEqual({ created: 0, updated: 3, disabled: 1, groupsCreated: 0, groupsUpdated: 1 });
    expect((await userByAnchor('u-5')).display_name).toBe('Renamed Five');
    expect((await userByAnchor('u-6')).mail).toBe('six@elsewhere.test');
    expect((await userByAnchor('u-7')).account_enabled).toBe(0);
    const now = await memberships();
    expect([...now].filter((m) => m.endsWith('|u-6'))).toEqual(['g-1|u-6']);
    const update = (await events('Update user')).map((e) => JSON.parse(e.target_resources) as { userPrincipalName: string; modifiedProperties: { displayName: string }[] }[]);
    expect(update.map((t) => t[0]!.userPrincipalName).sort()).toEqual(['user5@contoso.test', 'user6@contoso.test', 'user7@contoso.test']);
    expect(update.find((t) => t[0]!.userPrincipalName === 'user5@contoso.test')![0]!.modifiedProperties.map((p) => p.displayName)).toEqual(['DisplayName']);
  }, 60_000);

  it('a user missing from the next final run is disabled (not deleted), signed out, and can no longer sign in', async () => {
    const upn = 'user9@contoso.test';
    const withHash = everyone().map((u) => (u.anchor === 'u-9' ? { ...u, passwordHash: SCHEMES.ssha! } : u));
    expect((await post(batch(withHash, groups20()))).statusCode).toBe(200);
    const first = await signIn(upn, HW);
    expect(first.statusCode, first.body).toBe(200);
    expect(await db().selectFrom('sessions').select('user_id').where('user_id', '=', (await userByAnchor('u-9')).id).execute()).toHaveLength(1);

    const res = await post(batch(everyone().filter((u) => u.anchor !== 'u-9'), groups20()));
    // u-7 comes back enabled from the directory, so only u-9 is disabled
    expect(res.json()).toMatchObject({ created: 0, disabled: 1 });
    const u9 = await userByAnchor('u-9');
    expect(u9.account_enabled).toBe(0);
    expect(await db().selectFrom('sessions').select('user_id').where('user_id', '=', u9.id).execute()).toHaveLength(0);
    const again = await signIn(upn, HW);
    expect(again.statusCode).toBe(403);
    expect(again.json().error.code).toBe('auth.account_disabled');
    expect((await events('Disable account')).map((e) => (JSON.parse(e.target_resources) as { id: string }[])[0]!.id)).toEqual([u9.id]);
  }, 120_000);

  it('refuses cloud edits of what the directory masters on a synced user, and allows the rest', async () => {
    const token = await ctx.appToken(['User.ReadWrite.All']);
    const u = await userByAnchor('u-3');
    const patch = (body: Record<string, unknown>) =>
      ctx.app.inject({ method: 'PATCH', url: `/v1.0/users/${u.id}`, headers: { authorization: `Bearer ${token}` }, payload: body });
    for (const body of [{ displayName: 'Renamed in the cloud' }, { accountEnabled: false }, { userPrincipalName: 'other3@contoso.test' }, { surname: 'Changed' }]) {
      const res = await patch(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.message).toContain('on-premises mastered Directory Sync objects');
    }
    const after = await userByAnchor('u-3');
    expect([after.display_name, after.account_enabled, after.user_principal_name, after.surname]).toEqual([u.display_name, u.account_enabled, u.user_principal_name, u.surname]);
    // the same value is no change; properties sync does not write stay editable
    expect((await patch({ displayName: u.display_name, jobTitle: 'Engineer' })).statusCode).toBe(204);
    expect((await userByAnchor('u-3')).job_title).toBe('Engineer');
  }, 60_000);

  it('an empty final run disables nobody (more than the threshold of 500 would go) and audits why', async () => {
    const enabledBefore = (await syncedUsers()).filter((u) => u.account_enabled === 1).length;
    expect(enabledBefore).toBeGreaterThan(500);
    const res = await post(batch([], []));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ disabled: 0, disablePrevented: { wouldDisable: enabledBefore, threshold: 500 } });
    expect((await syncedUsers()).filter((u) => u.account_enabled === 1)).toHaveLength(enabledBefore);
    const refused = (await events('Disable account')).filter((e) => e.result === 'failure');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.result_reason).toContain(`would disable ${enabledBefore} users`);
  }, 120_000);

  it('stores names with LDAP filter and SQL metacharacters verbatim, and derives a valid UPN when the directory has none', async () => {
    const odd = user(5000, {
      anchor: 'u-odd', name: '*)(uid=*', dn: 'uid=\\2a\\29\\28uid\\3d\\2a,ou=people,dc=example,dc=test', userPrincipalName: null, mail: null,
      displayName: "Robert'); DROP TABLE users;-- \\ é 😀", givenName: '*', surname: ')(|(objectClass=*)', groupAnchors: ['g-0'],
    });
    const foreign = user(5001, { anchor: 'u-foreign', userPrincipalName: 'someone@not-ours.test', name: 'someone' });
    expect((await post(batch([odd, foreign], [], false))).json()).toMatchObject({ created: 2 });
    const stored = await userByAnchor('u-odd');
    expect(stored).toMatchObject({ display_name: "Robert'); DROP TABLE users;-- \\ é 😀", on_premises_sam_account_name: '*)(uid=*', surname: ')(|(objectClass=*)', on_premises_distinguished_name: odd.dn });
    expect(stored.user_principal_name).toBe('___uid__@contoso.test');
    expect((await userByAnchor('u-foreign')).user_principal_name).toBe('someone@contoso.test');
  });

  it('refuses malformed batches with 400 and writes nothing', async () => {
    const before = await countRows();
    const bad: [string, unknown][] = [
      ['unknown field', { ...batch([user(6000)]), extra: 1 }],
      ['unknown user field', batch([{ ...user(6001), objectSid: 'S-1-5' } as User])],
      ['over 1,000 users', batch(Array.from({ length: 1001 }, (_, i) => user(7000 + i)))],
      ['a NUL in a name', batch([user(6002, { displayName: 'nul\u0000here' })])],
      ['an anchor twice', batch([user(6003), user(6003)])],
      ['no run id', { groups: [], users: [user(6004)], final: false }],
    ];
    for (const [why, body] of bad) {
      const res = await post(body);
      expect(res.statusCode, why).toBe(400);
      expect(res.json().error.code, why).toMatch(/^request\./);
    }
    expect((await post(batch([user(6005)]), 'Agent not-a-real-credential-0123456789')).statusCode).toBe(401);
    expect((await post(batch([user(6005)]), 'Bearer x')).statusCode).toBe(401);
    expect(await countRows()).toEqual(before);
  }, 60_000);

  it('a cloud user holding the UPN is never taken over; the clash is audited', async () => {
    const res = await post(batch([user(8000, { anchor: 'u-admin', userPrincipalName: 'admin@contoso.test', name: 'admin' })], [], false));
    expect(res.json()).toMatchObject({ created: 0, updated: 0 });
    const admin = await db().selectFrom('users').selectAll().where('upn_key', '=', 'admin@contoso.test').executeTakeFirstOrThrow();
    expect(admin.on_premises_immutable_id).toBeNull();
    expect((await signIn('admin@contoso.test', 'Quiet-Lantern-Orbit-58!')).statusCode).toBe(200);
    const failures = (await events('Add user')).filter((e) => e.result === 'failure');
    expect(failures.length).toBe(1);
    expect((await verifyAuditChain(db(), tenantId)).ok).toBe(true);
  });

  it.each(Object.keys(SCHEMES))('a hash-synced user (%s) signs in with the directory password, and after an on-premises change only with the new one', async (scheme) => {
    const upn = `hs-${scheme}@contoso.test`;
    const u = user(9000, { anchor: `u-hs-${scheme}`, name: `hs-${scheme}`, userPrincipalName: upn, passwordHash: SCHEMES[scheme]!, groupAnchors: [] });
    expect((await post(batch([u], [], false))).json()).toMatchObject({ created: 1 });
    expect((await userByAnchor(u.anchor)).password_source).toBe('hashSync');
    expect((await signIn(upn, HW)).statusCode).toBe(200);
    const wrong = await signIn(upn, 'Hello world?');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('auth.invalid_credentials');

    expect((await post(batch([{ ...u, passwordHash: SECOND_SSHA, passwordChangedAt: '2026-11-25T11:00:00Z' }], [], false))).json()).toMatchObject({ updated: 1 });
    expect((await signIn(upn, HW)).statusCode).toBe(401);
    expect((await signIn(upn, SECOND)).statusCode).toBe(200);
    expect((await userByAnchor(u.anchor)).password_hash).toBe(SECOND_SSHA);
  });

  it('a hash-synced user gets tokens from the OAuth password grant', async () => {
    const upn = 'hs-oauth@contoso.test';
    await post(batch([user(9100, { anchor: 'u-hs-oauth', name: 'hs-oauth', userPrincipalName: upn, passwordHash: SCHEMES.sha512crypt!, groupAnchors: [] })], [], false));
    const grant = (password: string) =>
      ctx.app.inject({
        method: 'POST',
        url: '/contoso.test/oauth2/v2.0/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'password', client_id: '14d82eec-204b-4c2f-b7e8-296a70dab67e', username: upn, password, scope: 'https://graph.microsoft.com/.default' }).toString(),
      });
    const ok = await grant(HW);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(typeof ok.json().access_token).toBe('string');
    expect((await grant('nope')).json().error).toBe('invalid_grant');
  });
});
