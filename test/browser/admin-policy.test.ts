import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPasswordPolicy } from '../../src/domain/policies.js';
import { getSsprPolicy, updateSsprPolicy } from '../../src/domain/sspr-policy-update.js';
import { createGroup } from '../../src/domain/groups.js';
import { SECURITY_QUESTIONS } from '../../src/domain/security-questions-catalog.js';
import { systemContext } from '../../src/domain/tenants.js';
import { upsertEmailMethod, upsertPhoneMethod } from '../../src/store/auth-methods.js';
import { listAgentViews } from '../../src/writeback/agents.js';
import { createAgentRegistrationToken } from '../../src/writeback/registration.js';
import type { TestContext } from '../helpers/context.js';
import { registerAgent } from '../http/writeback-helpers.js';
import { chromiumAvailable, startPortal, type Portal } from './harness.js';

/**
 * The admin portal's policy pages in Debian's Chromium:
 * - SSPR policy → reset wizard: the wizard first offers one step and "Call my mobile phone"; the admin
 *   asks for two methods and removes the call and the app code on the Authentication methods tab (a
 *   combination the server refuses is shown on the field it names, and nothing is stored), saves (the
 *   PATCH carries only the changed fields), and the wizard then asks for step 1 of 2 without the call;
 * - password policy: a larger minimum length and a maximum below it is refused on "Maximum length";
 *   two banned terms added and enforced; the user's change to a password built from them is refused
 *   with the custom-list rule, in the browser;
 * - "selected" needs a group (refused on the group picker), then a group found by name is stored;
 * - customization: a malformed helpdesk URL is refused on its field (zod's issue path), then stored;
 * - writeback: an agent registered through the API is listed with its health and counters, disabled
 *   and enabled again, asked to sync; the tenant's writeback switch is turned on from the page; the
 *   registration token the page shows registers a second agent;
 * every page (and each SSPR tab) checked by axe-core and screenshotted, in English and in German
 * (where a range refusal from the server is shown in German).
 */
describe.skipIf(!chromiumAvailable())('admin policy pages in the browser', () => {
  let portal: Portal;
  const USER = 'nestor@contoso.test';
  const USER_PW = 'Lantern-Harbor-47-Quietly!';

  beforeAll(async () => {
    portal = await startPortal();
    // the starting policy: one method of email, text, call or app code
    await updateSsprPolicy(portal.services, systemContext(portal.services), portal.tenant.id, { methodsRequired: 1, methods: ['email', 'mobileSms', 'mobileCall', 'appCode'] });
    const user = await portal.createUser({ upn: USER, password: USER_PW, displayName: 'Nestor Wilke' });
    const at = new Date().toISOString();
    await upsertEmailMethod(portal.services.db, { userId: user.id, address: 'nestor.private@example.test', verifiedAt: at, createdAt: at });
    await upsertPhoneMethod(portal.services.db, { userId: user.id, phoneType: 'mobile', number: '+14255550177', verifiedAt: at, createdAt: at });
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
  const h1 = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
  const patchTo = (page: Page, path: string) => page.waitForRequest((r: Request) => r.method() === 'PATCH' && new URL(r.url()).pathname === path);

  /** The wizard up to its first verification step; answers the step heading and the offered method labels. */
  async function wizardFirstStep(): Promise<{ heading: string; methods: string[] }> {
    const page = await portal.newPage();
    await page.goto(`/reset?upn=${encodeURIComponent(USER)}`);
    await expect.poll(() => page.getByRole('textbox').first().inputValue()).toBe(USER);
    await page.getByLabel("I'm not a robot").check();
    await page.getByText('Verified.', { exact: true }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    await page.getByRole('heading', { level: 2, name: 'Why are you having trouble signing in?' }).waitFor();
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    const heading = page.getByRole('heading', { level: 2, name: /^Verification step/ });
    await heading.waitFor();
    const methods = await page.getByRole('group', { name: 'Contact method' }).getByRole('radio').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).labels?.[0]?.textContent?.trim() ?? ''));
    const text = (await heading.textContent()) ?? '';
    await page.context().close();
    return { heading: text, methods };
  }

  it('the reset wizard follows the SSPR policy the admin edits in the browser', async () => {
    const before = await wizardFirstStep();
    expect(before.heading).toBe('Verification step 1 of 1');
    expect(before.methods).toEqual(expect.arrayContaining(['Email my alternate email', 'Text my mobile phone', 'Call my mobile phone']));

    const page = await admin();
    await page.goto('/admin/policies/sspr');
    await h1(page, 'Password reset');
    expect(await page.getByRole('link', { name: 'Properties' }).getAttribute('aria-current')).toBe('page');
    await page.getByRole('link', { name: 'Authentication methods' }).click();
    await page.getByRole('heading', { level: 2, name: 'Authentication methods' }).waitFor();
    expect(await page.getByRole('link', { name: 'Authentication methods' }).getAttribute('aria-current')).toBe('page');
    expect(await page.getByRole('link', { name: 'Properties' }).getAttribute('aria-current')).toBeNull();
    await check(page, 'admin-sspr-authentication-methods');

    // two methods with only email and the app left: the server refuses, the page names the field
    await page.getByRole('radio', { name: '2', exact: true }).check();
    await page.getByLabel('Mobile phone (text message)').uncheck();
    await page.getByLabel('Mobile phone (call)').uncheck();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const summary = page.getByRole('alert');
    await summary.waitFor();
    expect(await summary.textContent()).toMatch(/Methods available to users: With two methods required, the mobile app needs at least two other methods/);
    expect(await page.getByRole('group', { name: 'Methods available to users' }).locator('.field-error').textContent()).toMatch(/mobile app needs at least two other methods/);
    await check(page, 'admin-sspr-methods-refused');
    expect((await getSsprPolicy(portal.services, portal.tenant.id)).methodsRequired).toBe(1);

    // text back on, the app code off: email + text, two required
    await page.getByLabel('Mobile phone (text message)').check();
    await page.getByLabel('Mobile app code').uncheck();
    const patch = patchTo(page, '/api/v1/policies/sspr');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    expect((await patch).postDataJSON()).toEqual({ methodsRequired: 2, methods: ['email', 'mobileSms'] });
    await page.getByRole('status').filter({ hasText: 'Your changes were saved.' }).waitFor();
    await check(page, 'admin-sspr-methods-saved');
    const stored = await getSsprPolicy(portal.services, portal.tenant.id);
    expect(stored.methodsRequired).toBe(2);
    expect(stored.methods).toEqual(['email', 'mobileSms']);

    // every other tab renders and passes axe
    for (const [tab, heading] of [
      ['properties', 'Properties'],
      ['registration', 'Registration'],
      ['notifications', 'Notifications'],
      ['customization', 'Customization'],
      ['on-premises', 'On-premises integration'],
    ] as const) {
      await page.getByRole('link', { name: heading, exact: true }).click();
      await page.getByRole('heading', { level: 2, name: heading, exact: true }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/admin/policies/sspr/${tab}`);
      await check(page, `admin-sspr-${tab}`);
    }
    await page.context().close();

    const after = await wizardFirstStep();
    expect(after.heading).toBe('Verification step 1 of 2');
    expect(after.methods).toEqual(expect.arrayContaining(['Email my alternate email', 'Text my mobile phone']));
    expect(after.methods).not.toContain('Call my mobile phone');
  }, 180_000);

  it('password policy: a refused length shown on its field, then banned terms enforced on a user change', async () => {
    const page = await admin();
    await page.goto('/admin/policies/password');
    await h1(page, 'Password policy');
    await check(page, 'admin-password-policy');

    await page.getByLabel('Minimum length').fill('12');
    await page.getByLabel('Maximum length').fill('10');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('alert').waitFor();
    const maxField = page.getByLabel('Maximum length');
    expect(await maxField.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await maxField.getAttribute('aria-describedby')) ?? '';
    expect(await page.locator(`[id="${describedBy.split(' ').at(-1)}"]`).textContent()).toMatch(/must be at least minLength \(12\)/i);
    expect((await getPasswordPolicy(portal.services, portal.tenant.id)).minLength).toBe(8);

    await maxField.fill('256');
    for (const term of ['plumtopia', 'quilbrix']) {
      await page.getByLabel('Term to ban').fill(term);
      await page.getByRole('button', { name: 'Add term' }).click();
    }
    await page.getByRole('list', { name: 'Custom banned password list' }).getByText('quilbrix').waitFor();
    // adding a term twice is refused in the page (case-insensitive), removing one works
    await page.getByLabel('Term to ban').fill('PlumTopia');
    await page.getByRole('button', { name: 'Add term' }).click();
    await page.getByText('“PlumTopia” is already in the list.').waitFor();
    await page.getByLabel('Term to ban').fill('tempterm');
    await page.getByRole('button', { name: 'Add term' }).click();
    await page.getByRole('button', { name: 'Remove “tempterm”' }).click();
    await page.getByLabel('Enforce custom list').check();
    const patch = patchTo(page, '/api/v1/policies/password');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    expect((await patch).postDataJSON()).toEqual({ minLength: 12, customBannedPasswords: ['plumtopia', 'quilbrix'], enforceCustomBannedPasswords: true });
    await page.getByRole('status').filter({ hasText: 'Your changes were saved.' }).waitFor();
    await check(page, 'admin-password-policy-saved');
    const stored = await getPasswordPolicy(portal.services, portal.tenant.id);
    expect(stored).toMatchObject({ minLength: 12, maxLength: 256, customBannedPasswords: ['plumtopia', 'quilbrix'], enforceCustomBannedPasswords: true });
    await page.context().close();

    // the user's change to a password made of the two terms is refused with the custom-list rule
    const user = await portal.newPage();
    await portal.signIn(user, USER, USER_PW);
    await user.goto('/account/password');
    await user.locator('input[autocomplete="current-password"]').fill(USER_PW);
    const fresh = user.locator('input[autocomplete="new-password"]');
    await fresh.nth(0).fill('Quilbrix!Plumtopia1');
    await fresh.nth(1).fill('Quilbrix!Plumtopia1');
    await user.getByRole('button', { name: 'Change password' }).click();
    const alert = user.locator('.alert-error');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('blocked by your administrator');
    await portal.screenshot(user, 'admin-password-policy-user-refused');
    await user.context().close();
    // and the password did not change
    const again = await portal.newPage();
    await portal.signIn(again, USER, USER_PW);
    await again.context().close();
  }, 180_000);

  it('"selected" needs a group: refused on the picker, then a group found by name is stored', async () => {
    const group = await createGroup(portal.services, systemContext(portal.services), { tenantId: portal.tenant.id, displayName: 'SSPR Pilot', mailNickname: 'sspr-pilot', securityEnabled: true, mailEnabled: false });
    await createGroup(portal.services, systemContext(portal.services), { tenantId: portal.tenant.id, displayName: 'Finance', mailNickname: 'finance', securityEnabled: true, mailEnabled: false });
    const page = await admin();
    await page.goto('/admin/policies/sspr/properties');
    await page.getByRole('heading', { level: 2, name: 'Properties' }).waitFor();
    await page.getByLabel('Selected: members of one group').check();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('alert').waitFor();
    const search = page.getByLabel('Search groups by name');
    expect(await search.getAttribute('aria-invalid')).toBe('true');
    expect((await getSsprPolicy(portal.services, portal.tenant.id)).enabledFor).toBe('all');

    await search.fill('SSPR');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const results = page.getByRole('region', { name: 'Groups found' });
    const choose = results.getByRole('button', { name: 'Select SSPR Pilot' });
    await choose.waitFor();
    // startswith(displayName,'SSPR'): the other group is not offered
    expect(await results.getByRole('listitem').count()).toBe(1);
    await choose.click();
    expect(await results.getByRole('button', { name: 'Selected SSPR Pilot' }).getAttribute('aria-pressed')).toBe('true');
    await check(page, 'admin-sspr-selected-group');
    const patch = patchTo(page, '/api/v1/policies/sspr');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    expect((await patch).postDataJSON()).toEqual({ enabledFor: 'selected', groupId: group.id });
    await page.getByRole('status').filter({ hasText: 'Your changes were saved.' }).waitFor();
    expect(await page.locator('main').innerText()).toContain('Selected group: SSPR Pilot');
    expect(await getSsprPolicy(portal.services, portal.tenant.id)).toMatchObject({ enabledFor: 'selected', groupId: group.id });
    // back to everyone, so the other cases see the whole tenant
    await page.getByLabel('All: every user').check();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Your changes were saved.' }).waitFor();
    await page.context().close();
  }, 120_000);

  it('customization: a malformed helpdesk URL is refused on its field; a URL and an email are stored', async () => {
    const page = await admin();
    await page.goto('/admin/policies/sspr/customization');
    await page.getByRole('heading', { level: 2, name: 'Customization' }).waitFor();
    await page.getByLabel('Customize helpdesk link').check();
    const url = page.getByLabel('Custom helpdesk URL');
    await url.fill('helpdesk.contoso.test/tickets');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('alert').waitFor();
    expect(await url.getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('alert').textContent()).toContain('Custom helpdesk URL: Must be an absolute http or https URL.');
    expect((await getSsprPolicy(portal.services, portal.tenant.id)).helpdeskUrl).toBeNull();
    await check(page, 'admin-sspr-customization-refused');

    await url.fill('https://helpdesk.contoso.test/tickets');
    await page.getByLabel('Custom helpdesk email').fill('helpdesk@contoso.test');
    const patch = patchTo(page, '/api/v1/policies/sspr');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    expect((await patch).postDataJSON()).toEqual({ helpdeskUrl: 'https://helpdesk.contoso.test/tickets', helpdeskEmail: 'helpdesk@contoso.test' });
    await page.getByRole('status').filter({ hasText: 'Your changes were saved.' }).waitFor();
    expect(await url.getAttribute('aria-invalid')).toBeNull();
    expect(await getSsprPolicy(portal.services, portal.tenant.id)).toMatchObject({ helpdeskUrl: 'https://helpdesk.contoso.test/tickets', helpdeskEmail: 'helpdesk@contoso.test' });
    await page.context().close();
  }, 120_000);

  it('writeback: an agent registered through the API is listed with its health; disable, enable, sync, and a token from the page registers another', async () => {
    const ctx = { app: portal.app } as unknown as TestContext;
    const { token } = await createAgentRegistrationToken(portal.services, portal.tenant.id);
    const dc1 = await registerAgent(ctx, token, 'dc1-writeback');

    const page = await admin();
    await page.goto('/admin/writeback');
    await h1(page, 'On-premises writeback agents');
    const table = page.getByRole('table', { name: '1 writeback agent' });
    await table.waitFor();
    const row = table.getByRole('row', { name: /dc1-writeback/ });
    const cells = await row.getByRole('cell').allTextContents();
    expect(cells[0]).toBe('1.0.0-test');
    expect(cells[1]).toMatch(/ago|now/); // relative time, with the absolute one under it
    expect(await row.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(cells[2]).toBe('Yesldaps://dc1 ok');
    expect(cells.slice(3, 6)).toEqual(['0', '0', 'Up and running']);
    await check(page, 'admin-writeback');

    await row.getByRole('button', { name: 'Disable dc1-writeback' }).click();
    await page.getByRole('status').filter({ hasText: 'Writeback is disabled for dc1-writeback.' }).waitFor();
    expect(await row.getByRole('cell').nth(5).textContent()).toBe('Disabled');
    expect((await listAgentViews(portal.services, portal.tenant.id)).find((a) => a.id === dc1.agentId)?.enabled).toBe(false);
    await row.getByRole('button', { name: 'Enable dc1-writeback' }).click();
    await page.getByRole('status').filter({ hasText: 'Writeback is enabled for dc1-writeback.' }).waitFor();
    expect((await listAgentViews(portal.services, portal.tenant.id)).find((a) => a.id === dc1.agentId)?.enabled).toBe(true);

    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.getByRole('status').filter({ hasText: '1 agent was asked to sync at its next heartbeat.' }).waitFor();
    expect((await listAgentViews(portal.services, portal.tenant.id)).find((a) => a.id === dc1.agentId)?.syncRequested).toBe(true);

    // the tenant's switch (the SSPR policy's writebackEnabled) from the same page
    expect((await getSsprPolicy(portal.services, portal.tenant.id)).writebackEnabled).toBe(false);
    await page.getByRole('button', { name: 'Turn writeback on' }).click();
    await page.getByRole('status').filter({ hasText: 'Password writeback was turned on.' }).waitFor();
    expect((await getSsprPolicy(portal.services, portal.tenant.id)).writebackEnabled).toBe(true);

    await page.getByRole('button', { name: 'Create registration token' }).click();
    await page.getByRole('heading', { level: 2, name: 'Register a new agent' }).waitFor();
    const shown = await page.getByLabel('Registration token').inputValue();
    expect(await page.locator('.token-card pre').textContent()).toBe(`postern agent --url ${portal.baseUrl} --token-file /etc/postern/agent.token --config /etc/postern/directory.json`);
    await check(page, 'admin-writeback-token');
    await registerAgent(ctx, shown, 'dc2-writeback');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('table', { name: '2 writeback agents' }).getByRole('row', { name: /dc2-writeback/ }).waitFor();
    await page.context().close();
  }, 120_000);

  it('each page renders in German', async () => {
    const page = await admin('de-DE');
    for (const [path, title, name] of [
      ['/admin/policies/sspr/properties', 'Kennwortzurücksetzung', 'admin-sspr-de'],
      ['/admin/policies/sspr/authentication-methods', 'Kennwortzurücksetzung', 'admin-sspr-methods-de'],
      ['/admin/policies/sspr/on-premises', 'Kennwortzurücksetzung', 'admin-sspr-on-premises-de'],
      ['/admin/policies/password', 'Kennwortrichtlinie', 'admin-password-policy-de'],
      ['/admin/writeback', 'Lokale Rückschreib-Agents', 'admin-writeback-de'],
    ] as const) {
      await page.goto(path);
      await h1(page, title);
      await page.getByRole('button', { name: /^(Speichern|Registrierungstoken erstellen)$/ }).first().waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('de');
      await check(page, name);
    }
    expect(await page.locator('main').innerText()).toContain('Letzter Heartbeat');
    await page.goto('/admin/policies/sspr/authentication-methods');
    await page.getByRole('group', { name: 'Für Benutzer verfügbare Methoden' }).getByLabel('Mobiltelefon (SMS)').waitFor();
    // a range refusal from the server is told in German, on the field
    await page.getByRole('link', { name: 'Registrierung', exact: true }).click();
    const days = page.getByLabel('Anzahl der Tage, bevor Benutzer ihre Authentifizierungsinformationen erneut bestätigen müssen');
    await days.fill('999');
    await page.getByRole('button', { name: 'Speichern', exact: true }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('Darf höchstens 730 sein.');
    expect(await days.getAttribute('aria-invalid')).toBe('true');
    await check(page, 'admin-sspr-registration-refused-de');
    await page.context().close();
  }, 120_000);
  it('security questions: the admin unticks predefined questions and saves; users are offered only the ticked ones (English and German)', async () => {
    const ALL = SECURITY_QUESTIONS.map((q) => q.id);
    const textOf = (qid: string, lang: 'en' | 'de') => SECURITY_QUESTIONS.find((q) => q.id === qid)![lang];
    await updateSsprPolicy(portal.services, systemContext(portal.services), portal.tenant.id, {
      enabledFor: 'all',
      methodsRequired: 1,
      methods: ['email', 'mobileSms', 'securityQuestions'],
      securityQuestions: { toRegister: 3, toReset: 3, custom: [], predefined: ALL },
    });
    const keep = [ALL[1]!, ALL[4]!, ALL[7]!, ALL[9]!];
    const page = await admin();
    await page.goto('/admin/policies/sspr/authentication-methods');
    const group = page.getByRole('group', { name: 'Predefined security questions', exact: true });
    const boxes = group.getByRole('checkbox');
    await expect.poll(() => boxes.count()).toBe(ALL.length);
    expect(await boxes.evaluateAll((els) => els.map((e) => (e as HTMLInputElement).labels?.[0]?.textContent ?? ''))).toEqual(SECURITY_QUESTIONS.map((q) => q.en));
    expect(await boxes.evaluateAll((els) => els.every((e) => (e as HTMLInputElement).checked))).toBe(true);
    await group.getByText(`${ALL.length} of ${ALL.length} selected`).waitFor();
    await check(page, 'admin-sspr-predefined-select');

    // "Clear" and saving: too few questions to register three is refused by the server, on the field
    await group.getByRole('button', { name: 'Clear', exact: true }).click();
    await group.getByText(`0 of ${ALL.length} selected`).waitFor();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const fieldError = group.locator('.field-error');
    await fieldError.waitFor();
    expect(await fieldError.textContent()).toContain('at least 3 predefined and custom questions');
    expect(await group.getAttribute('class')).toContain('field-invalid');
    expect((await getSsprPolicy(portal.services, portal.tenant.id)).securityQuestions.predefined).toEqual(ALL);
    await check(page, 'admin-sspr-predefined-refused');

    // "Select all", then untick every question but four, by its label
    await group.getByRole('button', { name: 'Select all', exact: true }).click();
    for (const qid of ALL.filter((x) => !keep.includes(x))) await group.getByLabel(textOf(qid, 'en'), { exact: true }).uncheck();
    await group.getByText(`${keep.length} of ${ALL.length} selected`).waitFor();
    const patch = patchTo(page, '/api/v1/policies/sspr');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    expect((await patch).postDataJSON()).toEqual({ securityQuestions: { predefined: keep } });
    await page.getByRole('status').filter({ hasText: 'Your changes were saved.' }).waitFor();
    expect((await getSsprPolicy(portal.services, portal.tenant.id)).securityQuestions.predefined).toEqual(keep);

    // after a reload the unticked ones stay unticked
    await page.reload();
    await expect.poll(() => boxes.count()).toBe(ALL.length);
    expect(await boxes.evaluateAll((els) => els.filter((e) => (e as HTMLInputElement).checked).map((e) => e.id))).toEqual(keep.map((qid) => `sspr-predefined-${qid}`));
    await page.context().close();

    // the user's security-info page offers exactly the ticked questions, in their language
    for (const [locale, lang, addLabel, addButton, methodLabel, questionLabel] of [
      [undefined, 'en', 'Which method would you like to add?', 'Add', 'Security questions', 'Question'],
      ['de-DE', 'de', 'Welche Methode möchten Sie hinzufügen?', 'Hinzufügen', 'Sicherheitsfragen', 'Frage'],
    ] as const) {
      const user = await portal.newPage(locale ? { locale } : {});
      await portal.signIn(user, USER, USER_PW);
      await user.goto('/account/security-info');
      await user.getByLabel(addLabel).selectOption({ label: methodLabel });
      await user.getByRole('button', { name: addButton, exact: true }).click();
      const select = user.getByLabel(questionLabel, { exact: true }).first();
      await select.waitFor();
      const offered = await select.locator('option').evaluateAll((els) => els.map((e) => e.textContent ?? '').slice(1, -1)); // without "Choose…" and "Write my own…"
      expect(offered).toEqual(keep.map((qid) => textOf(qid, lang)));
      expect(await user.locator('html').getAttribute('lang')).toBe(lang);
      await check(user, `account-security-questions-predefined-${lang}`);
      await user.context().close();
    }

    // German admin page: the same selection, labelled in German
    const de = await admin('de-DE');
    await de.goto('/admin/policies/sspr/authentication-methods');
    const gruppe = de.getByRole('group', { name: 'Vordefinierte Sicherheitsfragen', exact: true });
    await gruppe.getByText(`${keep.length} von ${ALL.length} ausgewählt`).waitFor();
    for (const qid of keep) expect(await gruppe.getByLabel(textOf(qid, 'de'), { exact: true }).isChecked()).toBe(true);
    expect(await gruppe.getByLabel(textOf(ALL[0]!, 'de'), { exact: true }).isChecked()).toBe(false);
    await gruppe.getByRole('button', { name: 'Alle auswählen', exact: true }).waitFor();
    await check(de, 'admin-sspr-predefined-select-de');
    await de.context().close();
  }, 180_000);
});
