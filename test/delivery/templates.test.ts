import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { brandingOf, DEFAULT_ACCENT_COLOR, escapeHtml, renderMessage, resolveLocale, type Branding } from '../../src/delivery/templates/index.js';

const branding: Branding = brandingOf({ displayName: 'Contoso', settings: '{}' }, 'https://id.contoso.test/');

const changed = { displayName: 'Adele Vance', userPrincipalName: 'adele@contoso.test', changedAt: '2026-11-25T12:00:00.000Z' };
const reminder = (daysLeft: number) => ({ displayName: 'Adele Vance', userPrincipalName: 'adele@contoso.test', daysLeft, expiresAt: '2026-12-09T12:00:00.000Z' });

describe('renderMessage', () => {
  it.each([
    ['password-changed', 'en', changed, 'Your password was changed', ['Hello Adele Vance,', 'adele@contoso.test at Contoso was changed on 25 November 2026 at 12:00 UTC', 'If it was not you', 'Open the password portal: https://id.contoso.test/']],
    ['password-changed', 'de', changed, 'Ihr Passwort wurde geändert', ['Hallo Adele Vance,', 'bei Contoso wurde am 25. November 2026 um 12:00 UTC geändert', 'Wenn nicht', 'https://id.contoso.test/']],
    ['password-changed', 'en', { ...changed, kind: 'reset' }, 'Your password was changed', ['was reset on 25 November 2026']],
    ['password-expiry-reminder', 'en', reminder(7), 'Your password expires in 7 days', ['expires in 7 days (9 December 2026)', 'Change password: https://id.contoso.test/change-password']],
    ['password-expiry-reminder', 'en', reminder(1), 'Your password expires tomorrow', ['expires tomorrow']],
    ['password-expiry-reminder', 'en', reminder(0), 'Your password expires today', ['expires today']],
    ['password-expiry-reminder', 'de', reminder(3), 'Ihr Passwort läuft in 3 Tagen ab', ['läuft in 3 Tagen ab (9. Dezember 2026)', 'Passwort ändern: https://id.contoso.test/change-password']],
    ['password-expiry-reminder', 'de', reminder(1), 'Ihr Passwort läuft morgen ab', ['läuft morgen ab']],
    ['test', 'en', { note: 'hello there' }, 'Test message from Contoso', ['delivery works', 'hello there']],
    ['test', 'de', {}, 'Testnachricht von Contoso', ['funktioniert der Versand']],
  ] as const)('%s in %s: %s', (template, locale, data, subject, phrases) => {
    const m = renderMessage(template, locale, data, branding);
    expect(m.subject).toBe(subject);
    for (const p of phrases) expect(m.text).toContain(p);
    expect(m.html).toContain(`<html lang="${locale}">`);
    expect(m.html).toContain(escapeHtml(subject));
    expect(m.text).toContain(locale === 'de' ? 'Diese Nachricht wurde von Contoso gesendet.' : 'This message was sent by Contoso.');
    expect(m.short.length).toBeLessThanOrEqual(320);
  });

  it('puts the links in the HTML part as anchors and in the SMS text', () => {
    const m = renderMessage('password-expiry-reminder', 'en', reminder(14), branding);
    expect(m.html).toContain('<a href="https://id.contoso.test/change-password"');
    expect(m.short).toBe('Contoso: your password for adele@contoso.test expires in 14 days. Change it now: https://id.contoso.test/change-password');
  });

  it('escapes every variable in the HTML part (names, tenant, note)', () => {
    const evil = `<img src=x onerror=alert(1)>&"'`;
    const evilBranding = brandingOf({ displayName: `</title><script>alert(2)</script>`, settings: '{}' }, 'https://id.contoso.test');
    const m = renderMessage('password-changed', 'en', { ...changed, displayName: evil, userPrincipalName: `a"b@contoso.test` }, evilBranding);
    expect(m.html).toContain('&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;');
    expect(m.html).not.toContain('<img src=x');
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('&lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(m.html).toContain('a&quot;b@contoso.test');
    // the text part is plain text: shown as typed
    expect(m.text).toContain(evil);
    const t = renderMessage('test', 'de', { note: '<b>bold</b>' }, branding);
    expect(t.html).toContain('&lt;b&gt;bold&lt;/b&gt;');
    expect(t.html).not.toContain('<b>bold');
  });

  it('never lets an arbitrary display name into the HTML unescaped', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }).filter((s) => /[<>&"']/.test(s)), (name) => {
        const m = renderMessage('password-changed', 'en', { ...changed, displayName: name }, branding);
        expect(m.html).toContain(escapeHtml(name));
        expect(m.html).not.toContain(`Hello ${name},`);
      }),
      { numRuns: 200 },
    );
  });

  it('is pure: the same input renders the same message', () => {
    expect(renderMessage('password-changed', 'de', changed, branding)).toEqual(renderMessage('password-changed', 'de', changed, branding));
  });

  it.each([
    ['password-changed', { displayName: 'x' }],
    ['password-changed', { ...changed, changedAt: 'yesterday' }],
    ['password-changed', { ...changed, password: 'Secret1!' }],
    ['password-expiry-reminder', { ...reminder(3), daysLeft: 2.5 }],
    ['password-expiry-reminder', { ...reminder(3), daysLeft: -1 }],
    ['test', { note: 42 }],
  ] as const)('refuses variables that do not fit %s: %j', (template, data) => {
    expect(() => renderMessage(template, 'en', data as Record<string, unknown>, branding)).toThrow();
  });
});

describe('brandingOf', () => {
  it('uses the tenant display name and defaults without a branding object', () => {
    expect(brandingOf({ displayName: 'Fabrikam', settings: '{"lockoutThreshold":10}' }, 'http://localhost:8080/')).toEqual({
      name: 'Fabrikam',
      publicUrl: 'http://localhost:8080',
      accentColor: DEFAULT_ACCENT_COLOR,
      logoUrl: undefined,
      supportEmail: undefined,
      supportUrl: undefined,
    });
  });

  it('applies a valid branding object and shows it', () => {
    const b = brandingOf(
      { displayName: 'Fabrikam', settings: JSON.stringify({ branding: { displayName: 'Fabrikam IT', accentColor: '#AA3300', logoUrl: 'https://cdn.fabrikam.test/logo.png', supportEmail: 'help@fabrikam.test', supportUrl: 'https://help.fabrikam.test' } }) },
      'https://id.fabrikam.test',
    );
    expect(b).toMatchObject({ name: 'Fabrikam IT', accentColor: '#AA3300', logoUrl: 'https://cdn.fabrikam.test/logo.png' });
    const m = renderMessage('test', 'en', {}, b);
    expect(m.html).toContain('border-bottom:4px solid #AA3300');
    expect(m.html).toContain('<img src="https://cdn.fabrikam.test/logo.png" alt="Fabrikam IT"');
    expect(m.html).toContain('<a href="mailto:help@fabrikam.test">');
    expect(m.text).toContain('Questions? Contact your help desk: https://help.fabrikam.test | help@fabrikam.test');
    expect(m.subject).toBe('Test message from Fabrikam IT');
  });

  it.each([
    [{ accentColor: 'red;background:url(https://evil.test)' }, { accentColor: DEFAULT_ACCENT_COLOR }],
    [{ logoUrl: 'javascript:alert(1)' }, { logoUrl: undefined }],
    [{ logoUrl: 'http://insecure.test/logo.png' }, { logoUrl: undefined }],
    [{ supportUrl: 'data:text/html,hi' }, { supportUrl: undefined }],
    [{ displayName: '   ' }, { name: 'Fabrikam' }],
    ['not an object', { name: 'Fabrikam', accentColor: DEFAULT_ACCENT_COLOR }],
  ])('ignores a bad field: %j', (brandingValue, expected) => {
    expect(brandingOf({ displayName: 'Fabrikam', settings: JSON.stringify({ branding: brandingValue }) }, 'https://x.test')).toMatchObject(expected);
  });

  it('survives settings that are not JSON', () => {
    expect(brandingOf({ displayName: 'Fabrikam', settings: '{oops' }, 'https://x.test').name).toBe('Fabrikam');
  });
});

describe('resolveLocale', () => {
  it.each([
    ['de', 'de'],
    ['de-AT', 'de'],
    ['DE_ch', 'de'],
    ['en-US', 'en'],
    ['fr', 'en'],
    ['', 'en'],
    [undefined, 'en'],
    [null, 'en'],
  ] as const)('%s → %s', (requested, expected) => {
    expect(resolveLocale(requested)).toBe(expected);
  });
});
