import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker } from '../../src/delivery/outbox-worker.js';
import { contrastRatio } from '../../src/delivery/templates/index.js';
import { errorCodes } from '../../src/errors.js';
import { ROLE } from '../../src/domain/roles.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { enqueue } from '../delivery/helpers.js';
import { userWithRoles } from './admin-helpers.js';

const DEFAULTS = {
  tenantId: null,
  displayName: 'Postern',
  logoUrl: null,
  primaryColor: '#0b5cad',
  onPrimaryColor: '#ffffff',
  helpdeskUrl: null,
  helpdeskEmail: null,
  signInText: null,
};

/** A real (tiny) PNG: signature, IHDR, IDAT, IEND of a 1×1 pixel. */
const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const JPEG_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]).toString('base64');
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>').toString('base64');

type Modified = { displayName: string; oldValue: string | null; newValue: string | null };

describe.each(testDialects())('tenant branding API on %s', (dialect) => {
  let ctx: TestContext;
  let sink: SmtpSink;
  let admin: string;

  const call = (method: 'GET' | 'PATCH' | 'PUT' | 'DELETE', url: string, token?: string, payload?: unknown): Promise<LightMyRequestResponse> =>
    ctx.app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const publicOf = async (query = ''): Promise<Record<string, unknown>> => {
    const res = await call('GET', `/api/v1/branding${query}`);
    expect(res.statusCode).toBe(200);
    return res.json();
  };
  const brandingEvents = async () => {
    const rows = await ctx.services.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', ctx.tenant.tenant.id).where('activity_display_name', '=', 'Update company branding').orderBy('seq').execute();
    return rows.map((r) => ({ row: r, modified: (JSON.parse(r.target_resources) as { modifiedProperties: Modified[] }[])[0]!.modifiedProperties }));
  };

  beforeAll(async () => {
    sink = await startSmtpSink();
    ctx = await createTestContext(dialect, { env: { SMTP_URL: sink.url, MAIL_FROM: 'Accounts <no-reply@contoso.test>' } });
    admin = await ctx.userToken('admin@contoso.test');
  });
  afterAll(async () => {
    await ctx?.close();
    await sink?.close();
  });

  it('public GET without ?tenant answers the only tenant, unbranded, in the exact shape', async () => {
    expect(await publicOf()).toStrictEqual({ ...DEFAULTS, tenantId: ctx.tenant.tenant.id, displayName: 'Contoso' });
    const res = await call('GET', '/api/v1/branding');
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('admin PATCH sets name, colour and sign-in text; the public GET by domain and by id shows them', async () => {
    const res = await call('PATCH', '/api/v1/tenant/branding', admin, { displayName: '  Contoso IT  ', primaryColor: '#1E4D2B', signInText: 'Welcome.\r\nUse your work account.' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({ displayName: 'Contoso IT', customDisplayName: 'Contoso IT', tenantDisplayName: 'Contoso', primaryColor: '#1e4d2b', customPrimaryColor: '#1e4d2b', onPrimaryColor: '#ffffff' });
    const expected = { ...DEFAULTS, tenantId: ctx.tenant.tenant.id, displayName: 'Contoso IT', primaryColor: '#1e4d2b', signInText: 'Welcome.\nUse your work account.' };
    expect(await publicOf('?tenant=contoso.test')).toStrictEqual(expected);
    expect(await publicOf('?tenant=CONTOSO.TEST')).toStrictEqual(expected);
    expect(await publicOf(`?tenant=${ctx.tenant.tenant.id}`)).toStrictEqual(expected);
  });

  it('onPrimaryColor is whichever of white and black contrasts more', async () => {
    // #767676: white 4.54:1, black 4.63:1 → black text; still 3:1 against the page
    const res = await call('PATCH', '/api/v1/tenant/branding', admin, { primaryColor: '#767676' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ primaryColor: '#767676', onPrimaryColor: '#000000' });
    expect(contrastRatio('#767676', '#000000')).toBeGreaterThan(contrastRatio('#767676', '#ffffff'));
    expect((await call('PATCH', '/api/v1/tenant/branding', admin, { primaryColor: '#1e4d2b' })).statusCode).toBe(200);
  });

  it.each([
    ['#ffff00', 'vanishes on the white page (1.07:1)'],
    ['#87cefa', 'light sky blue, 1.8:1 against white'],
    ['#ff8c00', 'dark orange, 2.3:1 against white'],
  ])('refuses the primary colour %s (%s) and changes nothing', async (color) => {
    const res = await call('PATCH', '/api/v1/tenant/branding', admin, { primaryColor: color, displayName: 'Should not stick' });
    expect(res.statusCode).toBe(400);
    const err = res.json().error;
    expect(err.code).toBe('branding.contrast_too_low');
    expect(err.details).toMatchObject({ field: 'primaryColor' });
    expect(err.details.contrastWithWhite).toBeLessThan(3);
    expect(await publicOf('?tenant=contoso.test')).toMatchObject({ primaryColor: '#1e4d2b', displayName: 'Contoso IT' });
  });

  it.each<[string, Record<string, unknown>]>([
    ['a colour that is not #rrggbb', { primaryColor: '#fff' }],
    ['a colour with CSS in it', { primaryColor: 'red;background:url(x)' }],
    ['a name with a control character', { displayName: 'Con\u0007toso' }],
    ['a sign-in text over 1000 characters', { signInText: 'x'.repeat(1001) }],
    ['an unknown field', { logoUrl: 'https://evil.test/logo.png' }],
  ])('refuses %s', async (_what, body) => {
    const res = await call('PATCH', '/api/v1/tenant/branding', admin, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe(body.logoUrl !== undefined ? 'request.unknown_property' : 'request.invalid');
  });

  it('only admins may read or change the branding', async () => {
    const plain = await userWithRoles(ctx, 'brandplain');
    const helpdesk = await userWithRoles(ctx, 'brandhelp', [ROLE.helpdeskAdministrator]);
    for (const token of [plain.token, helpdesk.token]) {
      expect((await call('GET', '/api/v1/tenant/branding', token)).statusCode).toBe(403);
      expect((await call('PATCH', '/api/v1/tenant/branding', token, { displayName: 'Hijacked' })).statusCode).toBe(403);
      expect((await call('PUT', '/api/v1/tenant/branding/logo', token, { contentType: 'image/png', dataBase64: PNG_1PX })).statusCode).toBe(403);
    }
    expect((await call('GET', '/api/v1/tenant/branding')).statusCode).toBe(401);
    expect((await call('DELETE', '/api/v1/tenant/branding/logo')).statusCode).toBe(401);
  });

  it('uploads a PNG logo, answers it as a data: URL, and removes it', async () => {
    const res = await call('PUT', '/api/v1/tenant/branding/logo', admin, { contentType: 'image/png', dataBase64: PNG_1PX });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ logoContentType: 'image/png', logoBytes: Buffer.from(PNG_1PX, 'base64').length });
    expect((await publicOf('?tenant=contoso.test')).logoUrl).toBe(`data:image/png;base64,${PNG_1PX}`);

    const jpeg = await call('PUT', '/api/v1/tenant/branding/logo', admin, { contentType: 'image/jpeg', dataBase64: JPEG_HEAD });
    expect(jpeg.statusCode).toBe(200);
    expect((await publicOf('?tenant=contoso.test')).logoUrl).toBe(`data:image/jpeg;base64,${JPEG_HEAD}`);

    const del = await call('DELETE', '/api/v1/tenant/branding/logo', admin);
    expect(del.statusCode).toBe(200);
    expect(del.json()).toMatchObject({ logoUrl: null, logoContentType: null });
    expect((await publicOf('?tenant=contoso.test')).logoUrl).toBeNull();
  });

  it.each<[string, { contentType: string; dataBase64: string }, number, string]>([
    ['SVG, declared as SVG', { contentType: 'image/svg+xml', dataBase64: SVG }, 400, 'branding.logo_invalid'],
    ['SVG, declared as PNG', { contentType: 'image/png', dataBase64: SVG }, 400, 'branding.logo_invalid'],
    ['a GIF', { contentType: 'image/gif', dataBase64: Buffer.from('GIF89a\x01\x00\x01\x00').toString('base64') }, 400, 'branding.logo_invalid'],
    ['a JPEG declared as PNG', { contentType: 'image/png', dataBase64: JPEG_HEAD }, 400, 'branding.logo_invalid'],
    ['not base64', { contentType: 'image/png', dataBase64: 'not*base64!' }, 400, 'branding.logo_invalid'],
    ['a PNG one byte over 100 KB', { contentType: 'image/png', dataBase64: Buffer.concat([Buffer.from(PNG_1PX, 'base64'), Buffer.alloc(100 * 1024 + 1 - Buffer.from(PNG_1PX, 'base64').length)]).toString('base64') }, 413, 'branding.logo_too_large'],
  ])('refuses %s', async (_what, body, status, code) => {
    const res = await call('PUT', '/api/v1/tenant/branding/logo', admin, body);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect((await publicOf('?tenant=contoso.test')).logoUrl).toBeNull();
  });

  it('accepts a PNG of exactly 100 KB', async () => {
    const png = Buffer.from(PNG_1PX, 'base64');
    const full = Buffer.concat([png, Buffer.alloc(100 * 1024 - png.length)]);
    const res = await call('PUT', '/api/v1/tenant/branding/logo', admin, { contentType: 'image/png', dataBase64: full.toString('base64') });
    expect(res.statusCode).toBe(200);
    expect(res.json().logoBytes).toBe(100 * 1024);
    expect((await call('DELETE', '/api/v1/tenant/branding/logo', admin)).statusCode).toBe(200);
  });

  it('audits each change as "Update company branding" with old and new values, never the logo bytes', async () => {
    const events = await brandingEvents();
    const first = events[0]!;
    expect(first.row).toMatchObject({ category: 'DirectoryManagement', logged_by_service: 'Core Directory', operation_type: 'Update', result: 'success' });
    expect(first.modified).toEqual([
      { displayName: 'displayName', oldValue: 'null', newValue: '"Contoso IT"' },
      { displayName: 'primaryColor', oldValue: 'null', newValue: '"#1e4d2b"' },
      { displayName: 'signInText', oldValue: 'null', newValue: '"Welcome.\\nUse your work account."' },
    ]);
    const logo = events.find((e) => e.modified.some((m) => m.displayName === 'logo'))!;
    expect(logo.modified).toEqual([{ displayName: 'logo', oldValue: 'null', newValue: `"image/png, ${Buffer.from(PNG_1PX, 'base64').length} bytes"` }]);
    for (const e of events) expect(e.row.target_resources).not.toContain(PNG_1PX.slice(0, 20));
    // a PATCH that changes nothing records nothing
    const before = events.length;
    expect((await call('PATCH', '/api/v1/tenant/branding', admin, { displayName: 'Contoso IT' })).statusCode).toBe(200);
    expect((await brandingEvents()).length).toBe(before);
  });

  it('answers the help-desk link from the SSPR policy', async () => {
    const res = await call('PATCH', '/api/v1/policies/sspr', admin, { helpdeskUrl: 'https://help.contoso.test/', helpdeskEmail: 'help@contoso.test' });
    expect(res.statusCode).toBe(200);
    expect(await publicOf('?tenant=contoso.test')).toMatchObject({ helpdeskUrl: 'https://help.contoso.test/', helpdeskEmail: 'help@contoso.test' });
  });

  it('emails (reset code, notification, reminder) carry the branded name, colour and help desk', async () => {
    const worker = createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice });
    const base = { tenantId: ctx.tenant.tenant.id, channel: 'email' as const, to: 'adele@contoso.test' };
    await enqueue(ctx.services, { ...base, template: 'verification-code', data: { displayName: 'Adele Vance', minutes: 10 }, secretData: { code: '12345678' } });
    await enqueue(ctx.services, { ...base, template: 'password-changed', data: { displayName: 'Adele Vance', userPrincipalName: 'adele@contoso.test', changedAt: ctx.clock.now().toISOString() } });
    await enqueue(ctx.services, { ...base, template: 'password-expiry-reminder', locale: 'de', data: { displayName: 'Adele Vance', userPrincipalName: 'adele@contoso.test', daysLeft: 3, expiresAt: '2026-11-28T12:00:00.000Z' } });
    const before = sink.messages.length;
    expect(await worker.runOnce()).toMatchObject({ sent: 3, failed: 0 });
    const mails = sink.messages.slice(before);
    expect(mails).toHaveLength(3);
    const bySubject = (re: RegExp) => mails.find((m) => re.test(m.subject))!;
    const [code, changed, reminder] = [bySubject(/verification code/), bySubject(/was changed/), bySubject(/läuft/)];
    expect(code.subject).toBe('Your Contoso IT verification code: 12345678');
    expect(changed.subject).toBe('Your password was changed');
    expect(changed.text).toContain('at Contoso IT');
    expect(reminder.text).toContain('Diese Nachricht wurde von Contoso IT gesendet.');
    for (const m of mails) {
      expect(m.text).toContain('Contoso IT');
      expect(m.html).toContain('border-bottom:4px solid #1e4d2b');
      expect(m.text).toContain('https://help.contoso.test/ | help@contoso.test');
    }
  });

  it('an unknown tenant is tenant.not_found, exactly as the password hints answer it', async () => {
    for (const key of ['nobody.test', '00000000-0000-4000-8000-000000000000', 'x'.repeat(300)]) {
      const branding = await call('GET', `/api/v1/branding?tenant=${key}`);
      const hints = await call('GET', `/api/v1/password-policy/hints?tenant=${key}`);
      expect(branding.statusCode, key).toBe(errorCodes['tenant.not_found'].status);
      expect(branding.json().error.code).toBe('tenant.not_found');
      expect({ status: hints.statusCode, code: hints.json().error.code }).toEqual({ status: branding.statusCode, code: 'tenant.not_found' });
    }
    // a blank ?tenant names none; a repeated one is a malformed request
    expect(await publicOf('?tenant=')).toMatchObject({ tenantId: ctx.tenant.tenant.id });
    expect(await publicOf('?tenant=%20')).toMatchObject({ tenantId: ctx.tenant.tenant.id });
    const repeated = await call('GET', '/api/v1/branding?tenant=contoso.test&tenant=nobody.test');
    expect(repeated.statusCode).toBe(400);
    expect(repeated.json().error.code).toBe('request.invalid');
    // an upper-case id names the tenant too
    expect(await publicOf(`?tenant=${ctx.tenant.tenant.id.toUpperCase()}`)).toMatchObject({ tenantId: ctx.tenant.tenant.id, displayName: 'Contoso IT' });
  });

  it('with several tenants: no ?tenant answers the defaults; each named tenant answers its own', async () => {
    const domain = `second-${dialect}.test`;
    await createTenant(ctx.services, systemContext(ctx.services), { name: 'Fabrikam', domain, adminUpn: `admin@${domain}`, adminPassword: ADMIN_PASSWORD });
    expect(await publicOf()).toStrictEqual(DEFAULTS);
    expect(await publicOf('?tenant=')).toStrictEqual(DEFAULTS);
    expect((await call('GET', '/api/v1/branding?tenant=nobody.test')).json().error.code).toBe('tenant.not_found');
    expect(await publicOf(`?tenant=${domain}`)).toMatchObject({ displayName: 'Fabrikam', primaryColor: '#0b5cad' });
    expect(await publicOf('?tenant=contoso.test')).toMatchObject({ displayName: 'Contoso IT' });
  });
});
