import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decoyMethods } from '../../src/domain/sspr/flows.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { upsertEmailMethod, upsertPhoneMethod } from '../../src/store/auth-methods.js';
import { setLockoutState, updateUser, type User } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSsprHarness, type SsprHarness } from '../http/sspr-harness.js';
import { NEW_PASSWORD, OLD_PASSWORD, post, SSPR, startFlow } from '../http/sspr-helpers.js';

/**
 * The suite's map of reference/security-requirements.md §4 for the self-service reset flow: one
 * `describe` per attack case, each proving its defence through the front door (app.inject against a
 * migrated database, mail through a real SMTP sink and the outbox worker). Parts already proven
 * elsewhere are named in a comment instead of repeated. Cases 15 and 16 (CSRF, MFA bypass through
 * reset) are in attacks-flow-session.test.ts.
 */

const PUBLIC_ORIGIN = 'http://localhost:8080';
const POISON: Record<string, string>[] = [
  { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' },
  { host: 'localhost:8080:x@evil.example', forwarded: 'for=203.0.113.9;host=evil.example;proto=https' },
];

/** Every http(s) URL in a mail's text and HTML. */
const urlsIn = (text: string): string[] => [...text.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);

let seq = 0;
/** A user with an email on the tenant's own domain and a US mobile: masked, they look like a decoy's targets. */
async function person(ctx: TestContext, tag: string): Promise<User & { address: string; mobile: string }> {
  seq += 1;
  const user = await createUser(ctx.services, systemContext(ctx.services), {
    tenantId: ctx.tenant.tenant.id,
    userPrincipalName: `${tag}${seq}@contoso.test`,
    displayName: `${tag} ${seq}`,
    password: OLD_PASSWORD,
  });
  const at = ctx.clock.now().toISOString();
  const address = `${tag}${seq}.home@contoso.test`;
  const mobile = `+1425555${String(2000 + seq).slice(-4)}`;
  await upsertEmailMethod(ctx.services.db, { userId: user.id, address, verifiedAt: at, createdAt: at });
  await upsertPhoneMethod(ctx.services.db, { userId: user.id, phoneType: 'mobile', number: mobile, verifiedAt: at, createdAt: at });
  return { ...user, address, mobile };
}

describe.each(testDialects())('attack cases on the self-service reset flow (%s)', (dialect) => {
  let h: SsprHarness;
  let ctx: TestContext;
  beforeAll(async () => {
    h = await startSsprHarness(dialect);
    ctx = h.ctx;
  });
  afterAll(async () => h?.close());

  const signIn = (upn: string, password: string) => ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password } });
  /** A flow started and verified by the emailed code: its path. */
  async function verifiedFlow(user: { userPrincipalName: string; address: string }): Promise<string> {
    const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json<{ flowId: string }>().flowId}`;
    expect((await post(ctx, `${F}/verifications`, { method: 'email' })).statusCode).toBe(202);
    const done = await post(ctx, `${F}/verifications/email/complete`, { code: await h.mailedCode(user.address) });
    expect(done.statusCode).toBe(200);
    return F;
  }
  const codeRows = (userId: string) => ctx.services.db.selectFrom('verification_codes').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
  const gateAttempts = async (userId: string, kind: string) =>
    (await ctx.services.db.selectFrom('sspr_attempts').select('id').where('subject', '=', userId).where('kind', '=', kind).execute()).length;

  describe('1 Host header poisoning', () => {
    let proxied: SsprHarness;
    beforeAll(async () => {
      proxied = await startSsprHarness(dialect, { env: { TRUST_PROXY: '1' } });
    });
    afterAll(async () => proxied?.close());

    it.each([
      ['without trustProxy', false],
      ['with trustProxy', true],
    ] as const)('%s: poisoned Host / X-Forwarded-Host / Forwarded on every step; mails and links carry only PUBLIC_URL', async (_name, trusted) => {
      const hh = trusted ? proxied : h;
      const c = hh.ctx;
      for (const headers of POISON) {
        const user = await person(c, 'host');
        const mailsBefore = hh.smtp.messages.length;
        const answers: LightMyRequestResponse[] = [];
        const start = await startFlow(c, user.userPrincipalName, headers);
        answers.push(start);
        expect(start.statusCode).toBe(201);
        const F = `${SSPR}/flows/${start.json<{ flowId: string }>().flowId}`;
        const send = await post(c, `${F}/verifications`, { method: 'email' }, headers);
        answers.push(send);
        expect(send.statusCode).toBe(202);
        answers.push(await post(c, `${F}/verifications/email/complete`, { code: await hh.mailedCode(user.address) }, headers));
        answers.push(await post(c, `${F}/password`, { newPassword: NEW_PASSWORD }, headers));
        expect(answers.map((a) => a.statusCode)).toEqual([201, 202, 200, 200]);
        await hh.worker.runOnce();

        const mails = hh.smtp.messages.slice(mailsBefore);
        // the code and the "your password was changed" notice (which carries links)
        expect(mails.map((m) => m.subject)).toEqual([expect.stringContaining('verification code'), 'Your password was changed']);
        const links = mails.flatMap((m) => urlsIn(`${m.text ?? ''} ${m.html ?? ''}`));
        expect(links.length).toBeGreaterThan(0);
        for (const link of links) expect(new URL(link).origin, link).toBe(PUBLIC_ORIGIN);
        for (const m of mails) expect(`${m.subject} ${m.text} ${m.html}`).not.toContain('evil');
        // no answer repeats the attacker's host either
        for (const a of answers) expect(`${JSON.stringify(a.headers)} ${a.body}`).not.toContain('evil');
      }
    });
  });

  describe('2 Token leakage via Referer / third parties', () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-attack-web-'));
    let web: TestContext;
    beforeAll(async () => {
      // the portal's own index.html (what Vite builds from), served by the real static route
      copyFileSync(join(process.cwd(), 'web', 'index.html'), join(dir, 'index.html'));
      web = await createTestContext(dialect, { env: { WEB_DIR: dir } });
    });
    afterAll(async () => {
      await web?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it.each(['/reset', '/reset?upn=adele%40contoso.test', '/unlock'])('%s answers no-referrer and a CSP under which nothing third-party loads', async (url) => {
      const res = await web.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.body).toContain('<meta name="referrer" content="no-referrer" />');
      // every fetch directive names only this origin, data: or nothing: no scheme or host that lets a
      // page pull a font, image, script or style from a third party (which would see the page URL)
      const csp = String(res.headers['content-security-policy']);
      const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
      for (const name of ['default-src', 'script-src', 'style-src', 'img-src', 'font-src', 'connect-src', 'form-action', 'base-uri']) {
        expect(directives[name], name).toBeDefined();
        for (const source of directives[name]!) expect(["'self'", "'none'", 'data:'], `${name} ${source}`).toContain(source);
      }
      expect(directives['frame-ancestors']).toEqual(["'none'"]);
      // the HTML itself references nothing off-site
      for (const [, ref] of res.body.matchAll(/\s(?:src|href)="([^"]*)"/g)) expect(ref, ref).toMatch(/^(\/(?!\/)|data:)/);
    });

    it('keeps the flow id and codes out of every URL: not in mails, and the wizard holds the flow id in memory only', async () => {
      const user = await person(ctx, 'referer');
      const mailsBefore = h.smtp.messages.length;
      const started = await startFlow(ctx, user.userPrincipalName);
      const flowId = started.json<{ flowId: string }>().flowId;
      const F = `${SSPR}/flows/${flowId}`;
      await post(ctx, `${F}/verifications`, { method: 'email' });
      const code = await h.mailedCode(user.address);
      await post(ctx, `${F}/verifications/email/complete`, { code });
      expect((await post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD })).statusCode).toBe(200);
      await h.worker.runOnce();
      const mails = h.smtp.messages.slice(mailsBefore);
      expect(mails).toHaveLength(2);
      // the code travels as text to be typed, never as a link a page would keep in its address bar
      for (const link of mails.flatMap((m) => urlsIn(`${m.text ?? ''} ${m.html ?? ''}`))) {
        expect(link).not.toContain(code);
        expect(link).not.toContain(flowId);
      }
      // The SSPR wizard carries its state in component memory: the flow id only ever goes into the
      // API paths it fetches, never into the page's URL, history or storage (a static look at the
      // source, as no page route takes a flow id: src/http/routes/web.ts serves one shell for all).
      const wizard = readFileSync(join(process.cwd(), 'web', 'src', 'pages', 'reset', 'ResetWizard.tsx'), 'utf8');
      for (const writer of ['navigate(', 'useNavigate', 'setSearchParams', 'history.', 'localStorage', 'sessionStorage', 'location.hash', 'location.href', 'document.cookie']) {
        expect(wizard, writer).not.toContain(writer);
      }
      expect([...wizard.matchAll(/flow\.flowId/g)].length).toBeGreaterThan(0);
      for (const line of wizard.split('\n').filter((l) => l.includes('flow.flowId'))) expect(line, line).toContain('${BASE}/${encodeURIComponent(flow.flowId)}');
      // the flow id in an API path is redacted from the request log: test/http/log-redaction.test.ts
    });
  });

  describe('3 User enumeration via response', () => {
    // Scope: existing, unknown, disabled and locked accounts answer alike. A user with too few
    // methods on file is refused with SSPR_0014 before a flow exists (SPEC 3.4, Azure's order and
    // codes, test/http/sspr-flow-limits.test.ts) — a documented difference, not covered here.
    // Sign-in errors: attacks-flow-session.test.ts.
    const VOLATILE = new Set(['request-id', 'date']);
    /** Status, headers (but the request id and date), cookies and body, with what is the account's own data replaced. */
    function comparable(res: LightMyRequestResponse): string {
      const rid = String(res.headers['request-id']);
      let body = res.body.split(rid).join('<request-id>');
      body = body.replace(/"flowId":"[^"]+"/, '"flowId":"<flow>"');
      body = body.replace(/"target":"[a-z0-9]\*\*\*@/g, '"target":"?***@').replace(/(•••• ••• )\d{4}"/g, '$1####"');
      const headers = Object.entries(res.headers)
        .filter(([name]) => !VOLATILE.has(name))
        .sort(([a], [b]) => a.localeCompare(b));
      return JSON.stringify({ status: res.statusCode, headers, cookies: res.cookies, body });
    }

    it('reset start and code requests answer byte for byte alike for existing, unknown, disabled and locked accounts', async () => {
      const existing = await person(ctx, 'enum');
      const disabled = await person(ctx, 'enum');
      await updateUser(ctx.services.db, disabled.tenantId, disabled.id, { accountEnabled: false }, ctx.clock.now().toISOString());
      const locked = await person(ctx, 'enum');
      await setLockoutState(ctx.services.db, locked.id, { failedSignInCount: 10, lockoutCount: 1, lockedUntil: new Date(ctx.clock.now().getTime() + 3_600_000).toISOString(), recentBadHashes: [] });
      // an unknown name whose decoy offers what the real users have (email and mobile, no recovery codes)
      let unknown = '';
      for (let i = 0; unknown === ''; i += 1) {
        const upn = `enum.ghost${i}@contoso.test`;
        if (decoyMethods(ctx.services.secretBox, upn, ['email', 'mobileSms', 'appCode']).length === 2) unknown = upn;
      }

      // every account walks the same steps at the same instants: start, ask for an email code, type a
      // wrong number, a wrong code; then, once the code's five minutes are over, a code again
      const upns = [existing.userPrincipalName, unknown, disabled.userPrincipalName, locked.userPrincipalName];
      const flows: string[] = [];
      const seen: string[][] = [];
      for (const upn of upns) {
        const start = await startFlow(ctx, upn, { 'client-request-id': 'fixed' });
        const F = `${SSPR}/flows/${start.json<{ flowId: string }>().flowId}`;
        flows.push(F);
        const email = await post(ctx, `${F}/verifications`, { method: 'email' });
        const wrongPhone = await post(ctx, `${F}/verifications`, { method: 'mobileSms', phoneNumber: '+1 425 555 0000' });
        const wrongCode = await post(ctx, `${F}/verifications/email/complete`, { code: '00000000' });
        seen.push([start, email, wrongPhone, wrongCode].map(comparable));
      }
      ctx.clock.advance(5 * 60_000 + 1000);
      for (const [i, F] of flows.entries()) seen[i]!.push(comparable(await post(ctx, `${F}/verifications/email/complete`, { code: '00000001' })));
      const [reference, ...others] = seen;
      expect(JSON.parse(reference![0]!).status).toBe(201);
      expect(JSON.parse(reference![1]!).status).toBe(202);
      expect(JSON.parse(reference![4]!).body).toContain('verification.code_expired');
      for (const [i, steps] of others.entries()) expect(steps, upns[i + 1]).toEqual(reference);
    });
  });

  describe('6 Token lifecycle abuse', () => {
    const errorOf = (res: LightMyRequestResponse) => ({ status: res.statusCode, code: res.json<{ error: { code: string; message: string } }>().error.code, message: res.json<{ error: { message: string } }>().error.message });

    it('an older code after a newer one, and a code after its 5 minutes, are refused; only the newest code works', async () => {
      const user = await person(ctx, 'life');
      const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json<{ flowId: string }>().flowId}`;
      await post(ctx, `${F}/verifications`, { method: 'email' });
      const older = await h.mailedCode(user.address);
      await post(ctx, `${F}/verifications`, { method: 'email' });
      const newer = await h.mailedCode(user.address);
      const superseded = errorOf(await post(ctx, `${F}/verifications/email/complete`, { code: older }));
      // only the newest code is alive
      expect((await post(ctx, `${F}/verifications/email/complete`, { code: newer })).statusCode).toBe(200);

      const other = await person(ctx, 'life');
      const G = `${SSPR}/flows/${(await startFlow(ctx, other.userPrincipalName)).json<{ flowId: string }>().flowId}`;
      await post(ctx, `${G}/verifications`, { method: 'email' });
      const late = await h.mailedCode(other.address);
      ctx.clock.advance(5 * 60_000 + 1000);
      const expired = errorOf(await post(ctx, `${G}/verifications/email/complete`, { code: late }));

      // The flow holds only its newest code, so an older one is checked against it and refused as any
      // wrong code is (and counted); a lapsed code is refused as expired. Two answers, neither says
      // more than the user's own flow already knows.
      expect(superseded).toEqual({ status: 400, code: 'verification.code_invalid', message: 'The code is not correct. Check it and try again.' });
      expect(expired).toEqual({ status: 400, code: 'verification.code_expired', message: 'The code has expired, was already used or was replaced by a newer one. Request a new code.' });
    });

    it('reuse after success and a flow after the password changed elsewhere are refused with one message, and nothing changes', async () => {
      const user = await person(ctx, 'life');
      const F = await verifiedFlow(user);
      const code = (await codeRows(user.id)).at(-1)!;
      expect(code.used_at).not.toBeNull();
      expect((await post(ctx, `${F}/password`, { newPassword: NEW_PASSWORD })).statusCode).toBe(200);
      // the spent flow: the code again, the password again, an unlock
      const reused = [
        await post(ctx, `${F}/verifications/email/complete`, { code: '12345678' }),
        await post(ctx, `${F}/password`, { newPassword: 'Another-Fresh-Pass-2026' }),
        await post(ctx, `${F}/unlock`),
      ].map(errorOf);
      const notFound = { status: 404, code: 'sspr.flow_not_found', message: 'This password reset session does not exist or has expired. Start again.' };
      expect(reused).toEqual([notFound, notFound, notFound]);
      expect((await signIn(user.userPrincipalName, NEW_PASSWORD)).statusCode).toBe(200);

      // a verified flow, then the user changes the password elsewhere (the Graph change with a token)
      const other = await person(ctx, 'life');
      const G = await verifiedFlow(other);
      ctx.clock.advance(1000);
      const token = await ctx.userToken(other.userPrincipalName);
      const changed = await ctx.app.inject({ method: 'POST', url: '/v1.0/me/changePassword', headers: { authorization: `Bearer ${token}` }, payload: { currentPassword: OLD_PASSWORD, newPassword: 'Changed-Elsewhere-2026' } });
      expect(changed.statusCode).toBe(204);
      ctx.clock.advance(1000);
      expect(errorOf(await post(ctx, `${G}/password`, { newPassword: NEW_PASSWORD }))).toEqual(notFound);
      expect(errorOf(await post(ctx, `${G}/unlock`))).toEqual(notFound);
      expect((await signIn(other.userPrincipalName, 'Changed-Elsewhere-2026')).statusCode).toBe(200);
      expect((await signIn(other.userPrincipalName, NEW_PASSWORD)).statusCode).toBe(401);
    });
  });

  describe('7 Race conditions', () => {
    // Twenty parallel completions of one code give exactly one success: test/http/sspr-flow.test.ts.

    it('parallel new passwords on one verified flow: exactly one wins, and it is the password that stays', async () => {
      const user = await person(ctx, 'race');
      const F = await verifiedFlow(user);
      const candidates = Array.from({ length: 8 }, (_, i) => `Parallel-Lantern-${i}-2026`);
      const answers = await Promise.all(candidates.map((newPassword) => post(ctx, `${F}/password`, { newPassword })));
      const winners = candidates.filter((_, i) => answers[i]!.statusCode === 200);
      expect(winners).toHaveLength(1);
      for (const a of answers.filter((x) => x.statusCode !== 200)) expect(a.json<{ error: { code: string } }>().error.code).toBe('sspr.flow_not_found');
      expect((await signIn(user.userPrincipalName, winners[0]!)).statusCode).toBe(200);
      for (const loser of candidates.filter((c) => c !== winners[0])) expect((await signIn(user.userPrincipalName, loser)).statusCode).toBe(401);
      const resets = await ctx.services.db.selectFrom('audit_events').select('id').where('activity_display_name', '=', 'Reset password (self-service)').where('result', '=', 'success').where('target_resources', 'like', `%${user.id}%`).execute();
      expect(resets).toHaveLength(1);
    });

    it('parallel wrong guesses at one code are every one counted: the code dies after five, the gate blocks at the sixth', async () => {
      const user = await person(ctx, 'race');
      const F = `${SSPR}/flows/${(await startFlow(ctx, user.userPrincipalName)).json<{ flowId: string }>().flowId}`;
      await post(ctx, `${F}/verifications`, { method: 'email' });
      const code = await h.mailedCode(user.address);
      const wrong = code === '00000000' ? '11111111' : '00000000';
      const answers = await Promise.all(Array.from({ length: 5 }, () => post(ctx, `${F}/verifications/email/complete`, { code: wrong })));
      for (const a of answers) expect(['verification.code_invalid', 'verification.code_dead']).toContain(a.json<{ error: { code: string } }>().error.code);
      // every guess counted by an atomic increment on the code's row and a row of the gate's counter
      // (the attemptsRemaining each answer reports may be stale under PostgreSQL concurrency; the counts are not)
      expect((await codeRows(user.id)).at(-1)!.attempts).toBe(5);
      expect(await gateAttempts(user.id, 'gate:email')).toBe(5);
      // the right code is dead now; that sixth failure of the gate in the hour blocks the account
      const late = await post(ctx, `${F}/verifications/email/complete`, { code });
      expect(late.json<{ error: { code: string } }>().error.code).toBe('sspr.blocked');
      expect((await startFlow(ctx, user.userPrincipalName)).json<{ error: { code: string } }>().error.code).toBe('sspr.blocked');
    });
  });

  describe('12 Cross-account token use / IDOR', () => {
    it("A's code in B's flow, and A's flow naming B, are refused; B's password, flow and code stay as they were", async () => {
      const a = await person(ctx, 'idor');
      const b = await person(ctx, 'idor');
      const FB = `${SSPR}/flows/${(await startFlow(ctx, b.userPrincipalName)).json<{ flowId: string }>().flowId}`;
      await post(ctx, `${FB}/verifications`, { method: 'email' });
      const bCode = await h.mailedCode(b.address);
      const FA = `${SSPR}/flows/${(await startFlow(ctx, a.userPrincipalName)).json<{ flowId: string }>().flowId}`;
      await post(ctx, `${FA}/verifications`, { method: 'email' });
      const aCode = await h.mailedCode(a.address);
      expect(aCode).not.toBe(bCode);

      // A's live code typed into B's flow: a wrong code for B, counted against B's code
      const crossed = await post(ctx, `${FB}/verifications/email/complete`, { code: aCode });
      expect(crossed.statusCode).toBe(400);
      expect(crossed.json<{ error: { code: string } }>().error.code).toBe('verification.code_invalid');
      expect((await post(ctx, `${FB}/password`, { newPassword: NEW_PASSWORD })).json<{ error: { code: string } }>().error.code).toBe('sspr.not_verified');
      // B's code in A's flow likewise
      expect((await post(ctx, `${FA}/verifications/email/complete`, { code: bCode })).json<{ error: { code: string } }>().error.code).toBe('verification.code_invalid');

      // A verifies A's own flow, then tries to point it at B: no field names a user
      expect((await post(ctx, `${FA}/verifications/email/complete`, { code: aCode })).statusCode).toBe(200);
      for (const extra of [{ userPrincipalName: b.userPrincipalName }, { userId: b.id }, { uid: b.id }]) {
        const res = await post(ctx, `${FA}/password`, { newPassword: NEW_PASSWORD, ...extra });
        expect(res.statusCode).toBe(400);
        expect(res.json<{ error: { code: string } }>().error.code).toBe('request.unknown_property');
      }
      expect((await post(ctx, `${FA}/password`, { newPassword: NEW_PASSWORD })).statusCode).toBe(200);
      // A changed A only
      expect((await signIn(a.userPrincipalName, NEW_PASSWORD)).statusCode).toBe(200);
      expect((await signIn(b.userPrincipalName, OLD_PASSWORD)).statusCode).toBe(200);
      expect((await signIn(b.userPrincipalName, NEW_PASSWORD)).statusCode).toBe(401);
      // B's flow is still B's: B's own code (one wrong entry on it) still verifies it
      expect((await codeRows(b.id)).at(-1)!.attempts).toBe(1);
      expect((await post(ctx, `${FB}/verifications/email/complete`, { code: bCode })).statusCode).toBe(200);
    });
  });
});
