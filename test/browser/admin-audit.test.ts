import { readFile } from 'node:fs/promises';
import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { updateSsprPolicy } from '../../src/domain/sspr-policy-update.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import type { TestContext } from '../helpers/context.js';
import { refused, registerAgent, succeeded, syncedUser } from '../http/writeback-helpers.js';
import { chromiumAvailable, startPortal, type Portal } from './harness.js';

/**
 * The admin portal's audit log, reports and insights in Debian's Chromium, over events produced for
 * real first, through the HTTP API as a browser would send them: a user registers an email as
 * security info (code from the SMTP sink), changes the password (once with a wrong current password,
 * once right), resets it through the SSPR flow (CAPTCHA solved, code mailed); another is locked out by
 * wrong passwords and unlocks through the SSPR flow; the admin resets a third user's password. Then
 * the insights page must draw its charts from those events (bars in the SVG, and the data tables
 * show the counts made here), the audit log filters to one activity and shows its details, the CSV
 * link downloads the filtered log with its header row, the reports list the reset and the
 * registration, axe-core finds nothing serious, no CSP violation is reported, and German renders.
 */

const PW_METHOD = '28c10230-6103-485e-b985-444c60001490';
const FIRST = 'Granite-Falcon-Meadow-61';
const CHANGED = 'Velvet-Compass-Harbor-27';
const RESET = 'Amber-Lighthouse-Tundra-84';
const BOB_PW = 'Silver-Orchard-Beacon-35';

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

/** A client of the JSON API as the portal is: same origin, the session cookie, the CSRF token on writes. */
class Client {
  private cookie = '';
  private csrf = '';
  constructor(private readonly base: string) {}

  async call(method: string, path: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { origin: this.base, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    const res = await fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('postern_session='));
    if (cookie) this.cookie = cookie.split(';')[0]!;
    const text = await res.text();
    const json = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    if (path === '/api/v1/session' && res.status === 200) this.csrf = String(json.csrfToken);
    return { status: res.status, json };
  }

  signIn(upn: string, password: string): Promise<Answer> {
    return this.call('POST', '/api/v1/session', { userPrincipalName: upn, password });
  }
}

describe.skipIf(!chromiumAvailable())('admin audit log, reports and insights in the browser', () => {
  let portal: Portal;
  const alice = { upn: 'alice.audit@contoso.test', email: 'alice.private@example.test' };
  const bob = { upn: 'bob.audit@contoso.test', email: 'bob.private@example.test' };
  const carol = { upn: 'carol.audit@contoso.test' };
  const mails = (address: string) => portal.smtp.messages.filter((m) => m.envelopeTo.includes(address));

  /** The 8-digit code of the first mail to `address` after `seen` earlier mails. */
  const codeMailed = async (address: string, seen: number): Promise<string> => {
    // the outbox worker delivers on its own beat; wait for the mail (beforeAll has no expect.poll)
    const deadline = Date.now() + 20_000;
    while (mails(address).length <= seen) {
      if (Date.now() > deadline) throw new Error(`no mail reached ${address}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const code = /\b(\d{8})\b/.exec(mails(address)[seen]?.text ?? '')?.[1];
    if (!code) throw new Error(`no code in the mail to ${address}`);
    return code;
  };

  const registerEmail = async (upn: string, password: string, address: string) => {
    const c = new Client(portal.baseUrl);
    expect((await c.signIn(upn, password)).status).toBe(200);
    const seen = mails(address).length;
    const started = await c.call('POST', '/api/v1/me/security-info/email', { address });
    expect(started.status).toBe(202);
    const done = await c.call('POST', '/api/v1/me/security-info/email/verify', { verificationId: started.json.verificationId, code: await codeMailed(address, seen) });
    expect(done.status).toBe(204);
    return c;
  };

  const captcha = async (c: Client) => {
    const challenge = (await c.call('GET', '/api/v1/sspr/captcha')).json as unknown as Challenge;
    const solution = await solveChallenge({ challenge, deriveKey });
    if (!solution) throw new Error('captcha not solved');
    return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
  };

  /** A self-service flow verified by the mailed code, then `finish` (password or unlock). */
  const ssprByEmail = async (upn: string, address: string, finish: { newPassword: string } | 'unlock') => {
    const c = new Client(portal.baseUrl);
    const started = await c.call('POST', '/api/v1/sspr/flows', { userPrincipalName: upn, captcha: await captcha(c) });
    expect(started.status).toBe(201);
    const F = `/api/v1/sspr/flows/${String(started.json.flowId)}`;
    const seen = mails(address).length;
    expect((await c.call('POST', `${F}/verifications`, { method: 'email' })).status).toBe(202);
    expect((await c.call('POST', `${F}/verifications/email/complete`, { code: await codeMailed(address, seen) })).status).toBe(200);
    const done = finish === 'unlock' ? await c.call('POST', `${F}/unlock`) : await c.call('POST', `${F}/password`, finish);
    expect(done.status).toBe(200);
  };

  beforeAll(async () => {
    portal = await startPortal();
    await portal.createUser({ upn: alice.upn, password: FIRST, displayName: 'Alice Audit' });
    await portal.createUser({ upn: bob.upn, password: BOB_PW, displayName: 'Bob Audit' });
    const carolUser = await portal.createUser({ upn: carol.upn, password: FIRST, displayName: 'Carol Audit' });

    // alice: registers an email, changes her password (a wrong current password first), then resets it
    const a = await registerEmail(alice.upn, FIRST, alice.email);
    expect((await a.call('POST', '/v1.0/me/changePassword', { currentPassword: 'not-my-password-at-all', newPassword: CHANGED })).status).toBe(400);
    expect((await a.call('POST', '/v1.0/me/changePassword', { currentPassword: FIRST, newPassword: CHANGED })).status).toBe(204);
    await ssprByEmail(alice.upn, alice.email, { newPassword: RESET });

    // bob: registers an email, is locked out by wrong passwords, unlocks himself
    await registerEmail(bob.upn, BOB_PW, bob.email);
    const b = new Client(portal.baseUrl);
    let status = 0;
    for (let i = 0; i < 30 && status !== 423; i += 1) status = (await b.signIn(bob.upn, `wrong-password-${i}`)).status;
    expect(status).toBe(423);
    await ssprByEmail(bob.upn, bob.email, 'unlock');

    // the admin resets carol's password
    const admin = new Client(portal.baseUrl);
    expect((await admin.signIn(portal.tenant.adminUpn, portal.tenant.adminPassword)).status).toBe(200);
    const reset = await admin.call('POST', `/v1.0/users/${carolUser.id}/authentication/methods/${PW_METHOD}/resetPassword`, { newPassword: 'Cobalt-Prairie-Whistle-72' });
    expect([200, 202]).toContain(reset.status);
  }, 300_000);

  afterAll(async () => {
    await portal?.close();
  });

  const adminPage = async (locale?: string): Promise<Page> => {
    const page = await portal.newPage(locale ? { locale } : {});
    await portal.signIn(page, portal.tenant.adminUpn, portal.tenant.adminPassword);
    return page;
  };
  const cell = (page: Page, series: string, result: string) => page.locator(`[data-testid="insights-totals"] tr[data-series="${series}"] td[data-result="${result}"]`);
  const tableRow = (page: Page, chart: string, name: string) => page.locator(`figure[data-chart="${chart}"] details table tbody tr`).filter({ has: page.locator('th', { hasText: name }) });

  it('draws the insights charts from the real events, each with its data table', async () => {
    const page = await adminPage();
    await page.goto('/admin/insights');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Insights');
    await page.locator('figure[data-chart="daily"] .recharts-wrapper > svg').waitFor();

    // the data tables say what happened, counted here
    await expect.poll(() => cell(page, 'selfServiceResets', 'success').textContent()).toBe('1');
    expect(await cell(page, 'selfServiceUnlocks', 'success').textContent()).toBe('1');
    expect(await cell(page, 'adminResets', 'success').textContent()).toBe('1');
    expect(await cell(page, 'passwordChanges', 'success').textContent()).toBe('1');
    expect(await cell(page, 'passwordChanges', 'failure').textContent()).toBe('1');
    expect(await cell(page, 'blocks', 'success').textContent()).toBe('0');
    // both self-service flows verified by email: one reset, one unlock
    await page.locator('figure[data-chart="methods"] summary').click();
    expect(await tableRow(page, 'methods', 'Alternate email').locator('td').allTextContents()).toEqual(['1', '1', '2']);
    expect(await tableRow(page, 'admins', portal.tenant.adminUpn).locator('td').allTextContents()).toEqual(['1', '0', '1']);
    expect(await tableRow(page, 'outcomes', 'Succeeded').locator('td').allTextContents()).toEqual(['2']);
    // the failed change is among the failure reasons
    expect(await page.locator('figure[data-chart="reasons"] details tbody tr').count()).toBeGreaterThan(0);
    // coverage: 4 users (admin, alice, bob, carol), two registered an email
    expect(await tableRow(page, 'coverage', 'Users').first().locator('td').textContent()).toBe('4');

    // the charts are drawn: bars in the SVG where there is data
    const bars = (chart: string) => page.locator(`figure[data-chart="${chart}"] .recharts-bar-rectangle path`).count();
    await expect.poll(() => bars('daily')).toBeGreaterThan(0);
    expect(await bars('totals')).toBeGreaterThanOrEqual(4);
    expect(await bars('methods')).toBe(2);
    expect(await bars('admins')).toBe(1);
    expect(await bars('outcomes')).toBeGreaterThan(0);
    expect(await bars('coverage')).toBeGreaterThan(0);
    // each chart is named and described
    for (const chart of ['daily', 'totals', 'outcomes', 'methods', 'reasons', 'coverage', 'admins']) {
      const figure = page.locator(`figure[data-chart="${chart}"]`);
      const described = await figure.getAttribute('aria-describedby');
      expect((await page.locator(`#${described}`).textContent())?.length).toBeGreaterThan(10);
    }
    expect(await page.locator('figure[data-chart="daily"] [id="daily-desc"]').textContent()).toContain('1 succeeded');

    // the period selector asks again; the numbers of today stay
    await page.getByLabel('Period').selectOption('7');
    await expect.poll(() => page.locator('.insights-range').textContent()).toMatch(/From .+ to .+/);
    await expect.poll(() => cell(page, 'selfServiceResets', 'success').textContent()).toBe('1');
    // the per-day chart follows the activity picked
    await page.getByLabel('Activity shown per day').selectOption('adminResets');
    await expect.poll(() => page.locator('#daily-desc').textContent()).toContain('Password resets by an admin');

    // every data table open: axe checks them too
    for (const details of await page.locator('figure[data-chart] details').all()) if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
    expect(await page.locator('figure[data-chart] details[open]').count()).toBe(7);
    expect(portal.cspViolations(page)).toEqual([]);
    await portal.checkA11y(page, 'admin insights');
    await portal.screenshot(page, 'admin-insights');
    await page.context().close();
  }, 120_000);

  it('filters the audit log to one activity and shows every field of the event', async () => {
    const page = await adminPage();
    await page.goto('/admin/audit');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Audit log');
    await page.locator('table.audit-table tbody tr').first().waitFor();
    expect(await page.locator('table.audit-table tbody tr').count()).toBeGreaterThan(5);
    await portal.checkA11y(page, 'admin audit');

    // paging follows @odata.nextLink: 10 a page, the next page holds other events, previous goes back
    const ids = () => page.locator('table.audit-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id') ?? ''));
    await page.getByLabel('Rows per page').selectOption('10');
    await expect.poll(() => page.locator('table.audit-table tbody tr').count()).toBe(10);
    const first = await ids();
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => page.locator('.pager').textContent()).toContain('Page 2');
    await expect.poll(async () => (await ids()).join('|')).not.toBe(first.join('|'));
    const second = await ids();
    expect(second.filter((r) => first.includes(r))).toEqual([]);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(async () => (await ids()).join('|')).toBe(first.join('|'));
    expect(await page.locator('.pager').textContent()).toContain('Page 1');

    await page.getByLabel('Activity', { exact: true }).fill('Reset password (self-service)');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.locator('table.audit-table tbody tr').count()).toBe(1);
    const row = page.locator('table.audit-table tbody tr').first();
    expect(await row.textContent()).toContain(alice.upn);

    await row.getByRole('button').click();
    const details = page.getByRole('region', { name: 'Activity details' });
    await details.waitFor();
    await expect.poll(() => details.locator('dd').count()).toBeGreaterThan(10);
    const text = (await details.textContent()) ?? '';
    expect(text).toContain('Reset password (self-service)');
    expect(text).toContain('Self-service Password Management');
    expect(text).toContain(alice.upn);
    expect(text).toContain('Target 1');
    expect(text).toContain('Additional details');
    // focus moved to the pane; Close returns it to the row
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('audit-details-title');
    await details.getByRole('button', { name: 'Close details' }).click();
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent ?? '')).toContain('Reset password (self-service)');

    // a filter that matches nothing says so
    await page.getByLabel('Initiated by (user principal name)').fill('nobody@contoso.test');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.locator('table.audit-table tbody').textContent()).toContain('No events match');

    // verify integrity
    await page.getByRole('button', { name: 'Verify integrity' }).click();
    await expect.poll(() => page.locator('.alert-success').textContent()).toMatch(/intact: \d+ events checked/);

    await page.getByLabel('Initiated by (user principal name)').fill('');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.locator('table.audit-table tbody tr').count()).toBe(1);
    await row.getByRole('button').click();
    await details.waitFor();
    expect(portal.cspViolations(page)).toEqual([]);
    await portal.checkA11y(page, 'admin audit details');
    await portal.screenshot(page, 'admin-audit-details');
    await page.context().close();
  }, 120_000);

  it('exports the filtered audit log as CSV with its header row', async () => {
    const page = await adminPage();
    await page.goto('/admin/audit');
    await page.getByLabel('Activity', { exact: true }).fill('Unlock user account (self-service)');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.locator('table.audit-table tbody tr').count()).toBe(1);
    const link = page.getByRole('link', { name: 'Export CSV' });
    expect(await link.getAttribute('href')).toContain('activity=Unlock+user+account+%28self-service%29');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toMatch(/^audit-log-.*\.csv$/);
    const csv = await readFile((await download.path()), 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    expect(lines[0]).toBe('Id,Date and Time (UTC),Service,Category,Activity,Operation Type,Result,Result Reason,Correlation Id,Initiated By,Initiated By Id,IP Address,Targets,Modified Properties,Additional Details');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('Unlock user account (self-service)');
    expect(lines[1]).toContain(bob.upn);

    // "for Excel" adds the byte order mark
    await page.getByLabel('For Excel (UTF-8 with byte order mark)').check();
    expect(await link.getAttribute('href')).toContain('bom=true');
    const [excel] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const bytes = await readFile((await excel.path()));
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    await page.context().close();
  }, 120_000);

  it('lists the reset and the registrations in the classic reports, with the user filter and CSV', async () => {
    const page = await adminPage();
    await page.goto('/admin/reports');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Reports');
    const rows = page.locator('table.report-table tbody tr');
    await rows.first().waitFor();
    const aliceReset = rows.filter({ hasText: alice.upn });
    await expect.poll(() => aliceReset.count()).toBeGreaterThan(0);
    expect(await aliceReset.first().textContent()).toContain('Succeeded');
    expect(await aliceReset.first().textContent()).toContain('Alternate email');
    expect(await rows.filter({ hasText: carol.upn }).count()).toBe(1);
    await portal.checkA11y(page, 'admin reports reset');
    await portal.screenshot(page, 'admin-reports-reset');

    // the user filter narrows the report and the CSV link carries it
    await page.getByLabel('User', { exact: true }).fill(carol.upn);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')).toContain(`user=${encodeURIComponent(carol.upn)}`);

    // the user filter would carry over to the other tab (carol registered nothing): cleared first
    await page.getByLabel('User', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rows.filter({ hasText: alice.upn }).count()).toBeGreaterThan(0);
    await page.getByRole('link', { name: 'Password reset registration activity' }).click();
    await expect.poll(() => page.locator('#report-title').textContent()).toBe('Password reset registration activity');
    await expect.poll(() => rows.filter({ hasText: alice.upn }).count()).toBeGreaterThan(0);
    expect(await rows.filter({ hasText: alice.upn }).first().textContent()).toContain('Alternate email');
    expect(await rows.filter({ hasText: bob.upn }).count()).toBeGreaterThan(0);
    const csv = await page.evaluate(async (href) => (await fetch(href!)).text(), await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href'));
    expect(csv.split(/\r?\n/)[0]).toBe('User,Display Name,Role,Date and Time (UTC),Data Registered,Activity,Initiated By,Event Id');
    expect(csv).toContain(alice.upn);
    expect(portal.cspViolations(page)).toEqual([]);
    await portal.checkA11y(page, 'admin reports registration');
    await portal.screenshot(page, 'admin-reports-registration');
    await page.context().close();
  }, 120_000);

  it('renders the three pages in German', async () => {
    const page = await adminPage('de-DE');
    await page.goto('/admin/insights');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Erkenntnisse');
    await page.locator('figure[data-chart="daily"] .recharts-wrapper > svg').waitFor();
    expect(await page.locator('#totals-title').textContent()).toBe('Summen nach Aktivität und Ergebnis');
    expect(await page.locator('[data-testid="insights-totals"] th[scope="col"]').allTextContents()).toEqual(['Aktivität', 'Erfolg', 'Fehler', 'Zeitüberschreitung']);
    expect(portal.cspViolations(page)).toEqual([]);
    await portal.checkA11y(page, 'admin insights de');
    await portal.screenshot(page, 'admin-insights-de');

    await page.goto('/admin/audit');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Überwachungsprotokoll');
    await page.locator('table.audit-table tbody tr').first().waitFor();
    expect(await page.getByRole('button', { name: 'Integrität prüfen' }).count()).toBe(1);
    await portal.checkA11y(page, 'admin audit de');
    await portal.screenshot(page, 'admin-audit-de');

    await page.goto('/admin/reports');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Berichte');
    await page.locator('table.report-table tbody tr').first().waitFor();
    expect(await page.locator('table.report-table th[scope="col"]').first().textContent()).toBe('Benutzer');
    await portal.checkA11y(page, 'admin reports de');
    await portal.screenshot(page, 'admin-reports-de');
    await page.context().close();
  }, 120_000);

  it('keeps a reader role out of nothing it may read, and a plain user out of the admin pages', async () => {
    await portal.createUser({ upn: 'reader.audit@contoso.test', password: FIRST, roles: [ROLE.reportsReader] });
    const reader = await portal.newPage();
    await portal.signIn(reader, 'reader.audit@contoso.test', FIRST);
    await reader.goto('/admin/insights');
    await expect.poll(() => reader.locator('h1').textContent()).toBe('Insights');
    await expect.poll(() => cell(reader, 'selfServiceResets', 'success').textContent()).toBe('1');
    await reader.context().close();

    const user = await portal.newPage();
    await portal.signIn(user, alice.upn, RESET);
    await user.goto('/admin/audit');
    await expect.poll(() => new URL(user.url()).pathname).not.toBe('/admin/audit');
    await user.context().close();
  }, 120_000);
  it('keeps the audit log, report and insights filters in the URL: reload, a shared link and Back / Forward show the same rows', async () => {
    const page = await adminPage();
    const rows = page.locator('table.audit-table tbody tr');
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const activity = page.getByLabel('Activity', { exact: true });
    const from = page.getByLabel('From (UTC day)', { exact: true });
    const to = page.getByLabel('To (UTC day)', { exact: true });
    await page.goto('/admin/audit');
    await rows.first().waitFor();

    // filters and the range applied, then the page reloaded: the inputs and the rows are the same
    await activity.fill('Reset password (self-service)');
    await page.getByLabel('Result', { exact: true }).selectOption('success');
    await from.fill(today);
    await to.fill(today);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    const url = new URL(page.url());
    expect(url.searchParams.get('activity')).toBe('Reset password (self-service)');
    expect(url.searchParams.get('from')).toBe(today);
    await page.reload();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain(alice.upn);
    expect(await activity.inputValue()).toBe('Reset password (self-service)');
    expect(await page.getByLabel('Result', { exact: true }).inputValue()).toBe('success');
    expect(await from.inputValue()).toBe(today);
    expect(await to.inputValue()).toBe(today);
    // the CSV export carries the filters read from the URL
    const csvHref = (await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')) ?? '';
    expect(csvHref).toContain('activity=Reset+password+%28self-service%29');
    expect(csvHref).toContain(`from=${today}`);
    expect(csvHref).toContain('result=success');

    // another filter state; Back returns to the first (inputs too), Forward to the second
    await activity.fill('Unlock user account (self-service)');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rows.first().textContent()).toContain(bob.upn);
    expect(await rows.count()).toBe(1);
    await page.goBack();
    await expect.poll(() => rows.first().textContent()).toContain(alice.upn);
    expect(await activity.inputValue()).toBe('Reset password (self-service)');
    await page.goForward();
    await expect.poll(() => rows.first().textContent()).toContain(bob.upn);
    expect(await activity.inputValue()).toBe('Unlock user account (self-service)');

    // a range with no events (yesterday) survives a reload: the default 30 days would show the unlock
    await from.fill(yesterday);
    await to.fill(yesterday);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.locator('table.audit-table tbody').textContent()).toContain('No events match');
    await page.reload();
    await expect.poll(() => page.locator('table.audit-table tbody').textContent()).toContain('No events match');
    expect(await from.inputValue()).toBe(yesterday);

    // the page size lives in the URL too; a shared link (a fresh browser context) shows the same
    await page.goto('/admin/audit');
    await page.getByLabel('Rows per page').selectOption('10');
    await expect.poll(() => new URL(page.url()).searchParams.get('top')).toBe('10');
    await activity.fill('Unlock user account (self-service)');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    const shared = await adminPage();
    await shared.goto(page.url());
    await expect.poll(() => shared.locator('table.audit-table tbody tr').count()).toBe(1);
    expect(await shared.locator('table.audit-table tbody tr').first().textContent()).toContain(bob.upn);
    expect(await shared.getByLabel('Activity', { exact: true }).inputValue()).toBe('Unlock user account (self-service)');
    expect(await shared.getByLabel('Rows per page').inputValue()).toBe('10');
    await shared.context().close();

    // Reset clears the URL's filters (and Back brings them back)
    await page.getByRole('button', { name: 'Reset filters' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.has('activity')).toBe(false);
    await expect.poll(() => rows.count()).toBe(10);
    expect(await activity.inputValue()).toBe('');
    await page.goBack();
    await expect.poll(() => rows.count()).toBe(1);

    // the reports: the user filter and the tab survive a reload
    const reportRows = page.locator('table.report-table tbody tr');
    await page.goto('/admin/reports?tab=registration');
    await reportRows.first().waitFor();
    await page.getByLabel('User', { exact: true }).fill(bob.upn);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(async () => (await reportRows.allTextContents()).every((r) => r.includes(bob.upn))).toBe(true);
    await page.reload();
    await expect.poll(() => page.locator('#report-title').textContent()).toBe('Password reset registration activity');
    await expect.poll(() => reportRows.count()).toBeGreaterThan(0);
    expect((await reportRows.allTextContents()).every((r) => r.includes(bob.upn))).toBe(true);
    expect(await page.getByLabel('User', { exact: true }).inputValue()).toBe(bob.upn);
    expect(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')).toContain(`user=${encodeURIComponent(bob.upn)}`);

    // insights: the period survives a reload
    await page.goto('/admin/insights');
    await page.getByLabel('Period').selectOption('7');
    await expect.poll(() => new URL(page.url()).searchParams.get('days')).toBe('7');
    await page.reload();
    await expect.poll(() => page.locator('.insights-range').textContent()).toMatch(/From .+ to .+/);
    expect(await page.getByLabel('Period').inputValue()).toBe('7');
    expect(portal.cspViolations(page)).toEqual([]);
    await page.context().close();
  }, 120_000);
  it('keeps the open audit event in the URL: Back closes the pane, Forward reopens it, a shared link opens it, focus follows', async () => {
    const page = await adminPage();
    const rows = page.locator('table.audit-table tbody tr');
    const details = page.getByRole('region', { name: 'Activity details' });
    const event = () => new URL(page.url()).searchParams.get('event');
    const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent || '');
    await page.goto(`/admin/audit?activity=${encodeURIComponent('Reset password (self-service)')}`);
    await expect.poll(() => rows.count()).toBe(1);
    const id = (await rows.first().getAttribute('data-id')) ?? '';
    expect(id).not.toBe('');

    // a draft filter typed but not applied survives opening an event
    await page.getByLabel('Target (user principal name)').fill('draft@contoso.test');
    await rows.first().getByRole('button').click();
    await expect.poll(event).toBe(id);
    await expect.poll(() => details.locator('dd').count()).toBeGreaterThan(10);
    expect(await details.textContent()).toContain(alice.upn);
    await expect.poll(focused).toBe('audit-details-title');
    expect(await page.getByLabel('Target (user principal name)').inputValue()).toBe('draft@contoso.test');

    // Back closes the pane and gives focus back to the row's button; Forward reopens the same event
    await page.goBack();
    await expect.poll(() => details.count()).toBe(0);
    expect(event()).toBeNull();
    expect(await rows.count()).toBe(1);
    await expect.poll(focused).toContain('Reset password (self-service)');
    await page.goForward();
    await expect.poll(() => details.locator('dd').count()).toBeGreaterThan(10);
    expect(event()).toBe(id);
    expect(await details.textContent()).toContain('Reset password (self-service)');
    await expect.poll(focused).toBe('audit-details-title');
    // Close removes it from the URL as well
    await details.getByRole('button', { name: 'Close details' }).click();
    await expect.poll(event).toBeNull();
    await expect.poll(() => details.count()).toBe(0);
    await expect.poll(focused).toContain('Reset password (self-service)');

    // a shared link opens the event even when the rows shown (bob's unlock) do not hold it
    const shared = await adminPage();
    await shared.goto(`/admin/audit?activity=${encodeURIComponent('Unlock user account (self-service)')}&event=${encodeURIComponent(id)}`);
    const sharedDetails = shared.getByRole('region', { name: 'Activity details' });
    await expect.poll(() => sharedDetails.locator('dd').count()).toBeGreaterThan(10);
    expect(await sharedDetails.textContent()).toContain('Reset password (self-service)');
    expect(await sharedDetails.textContent()).toContain(alice.upn);
    await expect.poll(() => shared.locator('table.audit-table tbody tr').count()).toBe(1);
    expect(await shared.locator('table.audit-table tbody tr').getAttribute('data-id')).not.toBe(id);
    // closed, with no row of its own on the page, focus lands on the table
    await sharedDetails.getByRole('button', { name: 'Close details' }).click();
    await expect.poll(() => new URL(shared.url()).searchParams.get('event')).toBeNull();
    await expect.poll(() => shared.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Audit events (scrolls sideways)');
    expect(portal.cspViolations(shared)).toEqual([]);
    await shared.context().close();

    // applying filters closes the pane (its event may not match them)
    await rows.first().getByRole('button').click();
    await expect.poll(event).toBe(id);
    await page.getByLabel('Target (user principal name)').fill('');
    await page.getByLabel('Result', { exact: true }).selectOption('success');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('result')).toBe('success');
    expect(event()).toBeNull();
    await expect.poll(() => details.count()).toBe(0);
    expect(portal.cspViolations(page)).toEqual([]);
    await page.context().close();
  }, 120_000);

  it('carries the shared report filters to the other tab and drops those the other report does not know', async () => {
    const page = await adminPage();
    const rows = page.locator('table.report-table tbody tr');
    const title = page.locator('#report-title');
    const param = (name: string) => new URL(page.url()).searchParams.get(name);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const today = new Date().toISOString().slice(0, 10);
    await page.goto('/admin/reports');
    await rows.first().waitFor();

    // the reset report: alice's resets by email that succeeded, from yesterday on
    await page.getByLabel('From (UTC day)', { exact: true }).fill(yesterday);
    await page.getByLabel('User', { exact: true }).fill(alice.upn);
    await page.getByLabel('Result', { exact: true }).selectOption('Succeeded');
    await page.getByLabel('Method', { exact: true }).selectOption('email');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => param('result')).toBe('Succeeded');
    await expect.poll(async () => (await rows.allTextContents()).every((r) => r.includes(alice.upn) && r.includes('Succeeded'))).toBe(true);

    // to the registration report: from, to, user and the method (email is one there too) carry over; the result does not
    await page.getByRole('link', { name: 'Password reset registration activity' }).click();
    await expect.poll(() => title.textContent()).toBe('Password reset registration activity');
    expect(param('tab')).toBe('registration');
    expect([param('from'), param('to'), param('user'), param('method'), param('result')]).toEqual([yesterday, today, alice.upn, 'email', null]);
    expect(await page.getByLabel('User', { exact: true }).inputValue()).toBe(alice.upn);
    expect(await page.getByLabel('From (UTC day)', { exact: true }).inputValue()).toBe(yesterday);
    expect(await page.getByLabel('Method', { exact: true }).inputValue()).toBe('email');
    expect(await page.getByLabel('Result', { exact: true }).count()).toBe(0);
    await expect.poll(() => rows.filter({ hasText: alice.upn }).count()).toBeGreaterThan(0);
    expect((await rows.allTextContents()).every((r) => r.includes(alice.upn))).toBe(true);
    expect(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')).toContain(`user=${encodeURIComponent(alice.upn)}`);

    // a method only the registration report knows is dropped on the way back; the rest stays
    await page.getByLabel('Method', { exact: true }).selectOption('mobilePhone');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => param('method')).toBe('mobilePhone');
    await page.getByRole('link', { name: 'Password reset activity', exact: true }).click();
    await expect.poll(() => title.textContent()).toBe('Password reset activity');
    expect([param('tab'), param('from'), param('user'), param('method'), param('result')]).toEqual([null, yesterday, alice.upn, null, null]);
    expect(await page.getByLabel('Method', { exact: true }).inputValue()).toBe('');
    expect(await page.getByLabel('User', { exact: true }).inputValue()).toBe(alice.upn);
    await expect.poll(() => rows.filter({ hasText: alice.upn }).count()).toBeGreaterThan(0);
    expect((await rows.allTextContents()).every((r) => r.includes(alice.upn))).toBe(true);

    // Reset filters clears them (and keeps the tab)
    await page.getByRole('button', { name: 'Reset filters' }).click();
    await expect.poll(() => param('user')).toBeNull();
    expect(await page.getByLabel('User', { exact: true }).inputValue()).toBe('');
    await expect.poll(() => rows.filter({ hasText: carol.upn }).count()).toBe(1);

    // a hand-edited link with a method the report does not know shows the report unfiltered, not an error
    await page.goto('/admin/reports?tab=registration&method=mobileSms');
    await expect.poll(() => rows.filter({ hasText: alice.upn }).count()).toBeGreaterThan(0);
    expect(await page.locator('.alert-error').count()).toBe(0);
    expect(portal.cspViolations(page)).toEqual([]);
    await page.context().close();
  }, 120_000);
  // last: it adds admin resets, which the counts of the tests above do not expect
  it('draws the writeback chart from real writeback jobs: one applied and one refused by the agent', async () => {
    const before = await adminPage();
    await before.goto('/admin/insights');
    await before.locator('section[data-chart="writeback"]').getByText('Not available: no password writeback operations in this period.').waitFor();
    await before.context().close();

    // a scripted agent on the real channel, the tenant's writeback on, a user whose password lives on-premises
    const ctx = { app: portal.app, services: portal.services, tenant: { tenant: { id: portal.tenant.id } } } as unknown as TestContext;
    const { token } = await createAgentRegistrationToken(portal.services, portal.tenant.id);
    const agent = await registerAgent(ctx, token, 'dc1-insights');
    await updateSsprPolicy(portal.services, systemContext(portal.services), portal.tenant.id, { writebackEnabled: true });
    const dave = await syncedUser(ctx, FIRST, 'dave.synced');

    // the admin resets dave's password twice through Graph; each reset waits for the agent's answer
    const admin = new Client(portal.baseUrl);
    expect((await admin.signIn(portal.tenant.adminUpn, portal.tenant.adminPassword)).status).toBe(200);
    const reset = (newPassword: string) => admin.call('POST', `/v1.0/users/${dave.id}/authentication/methods/${PW_METHOD}/resetPassword`, { newPassword });
    const applied = reset('Harbor-Quartz-Meadow-58');
    await agent.serveOne(() => succeeded(40));
    expect((await applied).status).toBe(202);
    const refusedReset = reset('Lantern-Birch-Orbit-93');
    await agent.serveOne(() => refused('notComplex', 'the domain policy wants more'));
    // Graph answers 202 either way: the refusal is the operation's status and the failed job's row
    expect((await refusedReset).status).toBe(202);

    const page = await adminPage();
    await page.goto('/admin/insights');
    const figure = page.locator('figure[data-chart="writeback"]');
    await figure.locator('.recharts-wrapper > svg').waitFor();
    // the description and the data table: 2 operations, 1 applied, 1 refused, latencies as the agent measured them
    expect(await figure.locator('#writeback-desc').textContent()).toBe('2 writeback operations, success rate 50%, average latency 29 ms, median 17 ms.');
    await figure.locator('summary').click();
    const rows = await figure.locator('details tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
    expect(rows).toEqual([
      ['Operations', '2'],
      ['Succeeded', '1'],
      ['Failed', '1'],
      ['Success rate', '50%'],
      ['Average latency', '29 ms'],
      ['Median latency', '17 ms'],
    ]);
    // drawn: one bar for the applied, one for the refused
    await expect.poll(() => figure.locator('.recharts-bar-rectangle path').count()).toBe(2);
    await portal.checkA11y(page, 'admin insights writeback');
    await portal.screenshot(page, 'admin-insights-writeback');

    // the writeback page counts the same jobs for the agent
    await page.goto('/admin/writeback');
    const row = page.getByRole('row', { name: /dc1-insights/ });
    await row.waitFor();
    expect((await row.getByRole('cell').allTextContents()).slice(3, 5)).toEqual(['1', '1']);
    expect(portal.cspViolations(page)).toEqual([]);
    await page.context().close();
  }, 120_000);
});
