import { deflateSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, startPortal, type Portal } from './harness.js';

/**
 * Company branding in Debian's Chromium: the admin sets the name, a colour (a too-light one is
 * refused on the field first), the sign-in text and a PNG logo (an SVG is refused); saving applies
 * the colour to the open page at once; the sign-in page at /signin?tenant=contoso.test, opened by
 * nobody signed in, shows the name, logo, colour and text. Each page is checked by axe-core and
 * screenshotted, in English and in German; the logo is removed again at the end.
 */

/** A real PNG: `size`×`size` pixels of one RGB colour (8-bit truecolour, no filter). */
function solidPng(size: number, rgb: [number, number, number]): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf: Buffer): number => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(size * 3).map((_, i) => rgb[i % 3]!)]);
  const raw = Buffer.concat(Array.from({ length: size }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const LOGO = solidPng(48, [230, 120, 20]);
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');

describe.skipIf(!chromiumAvailable())('company branding in the browser', () => {
  let portal: Portal;

  beforeAll(async () => {
    portal = await startPortal();
  }, 240_000);
  afterAll(async () => {
    await portal?.close();
  });

  const check = (page: Page, name: string) => portal.check(page, name);
  const admin = async (locale?: string) => {
    const page = await portal.newPage(locale ? { locale } : {});
    await portal.signIn(page, portal.tenant.adminUpn, portal.tenant.adminPassword);
    return page;
  };
  const brandVar = (page: Page) => page.evaluate(() => document.documentElement.style.getPropertyValue('--brand-primary'));
  const bannerBackground = (page: Page) => page.locator('header.banner').evaluate((el) => getComputedStyle(el).backgroundColor);

  it('the admin sets name, colour, text and logo; the sign-in page shows them', async () => {
    const page = await admin();
    await page.goto('/admin/branding');
    await page.getByRole('heading', { level: 1, name: 'Company branding' }).waitFor();
    await check(page, 'admin-branding');

    // a colour that vanishes on the white page is refused on the field before anything is sent
    const hex = page.getByLabel('Primary colour as a hex code');
    await hex.fill('#ffff00');
    await expect.poll(() => hex.getAttribute('aria-invalid')).toBe('true');
    await page.getByText(/This colour is too light/).waitFor();
    const save = page.getByRole('button', { name: 'Save name, colour and text' });
    expect(await save.isDisabled()).toBe(true);

    await page.getByLabel('Organization name').fill('Contoso Research');
    await hex.fill('#1e4d2b');
    expect(await page.getByLabel('Primary colour', { exact: true }).inputValue()).toBe('#1e4d2b');
    await page.getByLabel('Text on the sign-in page').fill('Welcome to Contoso Research.\nUse your work account.');
    // the preview follows the form before saving
    expect(await page.locator('.branding-preview-banner').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(30, 77, 43)');
    expect(await page.locator('.branding-preview-name').textContent()).toBe('Contoso Research');
    await check(page, 'admin-branding-edited');

    const patch = page.waitForResponse((r) => r.request().method() === 'PATCH' && new URL(r.url()).pathname === '/api/v1/tenant/branding');
    await save.click();
    expect((await patch).status()).toBe(200);
    await page.getByText('The branding was saved. The new colours apply now.').waitFor();
    // applied to the open page at once, without a reload
    expect(await brandVar(page)).toBe('#1e4d2b');
    expect(await bannerBackground(page)).toBe('rgb(30, 77, 43)');

    // an SVG is refused in the page; a PNG is previewed, then uploaded
    const file = page.getByLabel('Choose a new logo');
    await file.setInputFiles({ name: 'logo.svg', mimeType: 'image/svg+xml', buffer: SVG });
    await page.getByText('This file is not a PNG or JPEG image. Choose another file.').waitFor();
    expect(await page.getByRole('button', { name: 'Upload logo' }).count()).toBe(0);
    await file.setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: LOGO });
    await page.getByRole('img', { name: 'Selected logo logo.png' }).waitFor();
    await page.getByRole('button', { name: 'Upload logo' }).click();
    await page.getByText('The new logo was saved.').waitFor();
    expect(await page.getByRole('img', { name: 'Current logo' }).getAttribute('src')).toBe(`data:image/png;base64,${LOGO.toString('base64')}`);
    await check(page, 'admin-branding-saved');

    // the API agrees
    const stored = (await (await fetch(`${portal.baseUrl}/api/v1/branding?tenant=contoso.test`)).json()) as Record<string, unknown>;
    expect(stored).toMatchObject({ displayName: 'Contoso Research', primaryColor: '#1e4d2b', onPrimaryColor: '#ffffff', signInText: 'Welcome to Contoso Research.\nUse your work account.' });
    await page.context().close();

    // nobody signed in: the sign-in page of the tenant
    const visitor = await portal.newPage();
    await visitor.goto('/signin?tenant=contoso.test');
    await visitor.locator('header.banner .brand-name', { hasText: 'Contoso Research' }).waitFor();
    expect(await visitor.locator('header.banner img.brand-logo').getAttribute('src')).toBe(`data:image/png;base64,${LOGO.toString('base64')}`);
    await visitor.getByText('Welcome to Contoso Research.').waitFor();
    expect(await brandVar(visitor)).toBe('#1e4d2b');
    expect(await bannerBackground(visitor)).toBe('rgb(30, 77, 43)');
    await expect.poll(() => visitor.title()).toContain('Contoso Research');
    await check(visitor, 'signin-branded');

    // an unknown tenant shows Postern's defaults
    await visitor.goto('/signin?tenant=nobody.test');
    await visitor.locator('header.banner .brand-name', { hasText: 'Postern' }).waitFor();
    expect(await visitor.locator('header.banner img.brand-logo').count()).toBe(0);
    await visitor.context().close();
  });

  it('renders in German, and the logo can be removed', async () => {
    const page = await admin('de-DE');
    await page.goto('/admin/branding');
    await page.getByRole('heading', { level: 1, name: 'Unternehmensbranding' }).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Vorschau' }).waitFor();
    expect(await page.getByLabel('Name der Organisation').inputValue()).toBe('Contoso Research');
    await check(page, 'admin-branding-de');

    await page.getByRole('button', { name: 'Logo entfernen' }).click();
    await page.getByText('Das Logo wurde entfernt.').waitFor();
    await page.getByText('Es ist kein Logo festgelegt.').waitFor();
    const stored = (await (await fetch(`${portal.baseUrl}/api/v1/branding?tenant=contoso.test`)).json()) as Record<string, unknown>;
    expect(stored.logoUrl).toBeNull();
    await page.context().close();

    const visitor = await portal.newPage({ locale: 'de-DE' });
    await visitor.goto('/signin?tenant=contoso.test');
    await visitor.locator('header.banner .brand-name', { hasText: 'Contoso Research' }).waitFor();
    await check(visitor, 'signin-branded-de');
    await visitor.context().close();
  });
});
