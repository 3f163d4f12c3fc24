import { readFile } from 'node:fs/promises';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updatePasswordPolicy } from '../../src/domain/policies.js';
import { updateSsprPolicy } from '../../src/domain/sspr-policy-update.js';
import { systemContext } from '../../src/domain/tenants.js';
import { chromiumAvailable, startPortal, type Portal } from './harness.js';

/**
 * The end-user portal in Debian's Chromium: sign-in (wrong password, the forced change, the
 * "register security info" interrupt, returnTo), change password (a policy refusal names the rule,
 * then the change works and the new password signs in), security info (email with the code from the
 * SMTP sink, phone with the code from the SMS webhook sink, authenticator app with a TOTP computed
 * from the secret the page shows), every page checked by axe-core and rendered in German.
 */
describe.skipIf(!chromiumAvailable())('end-user portal in the browser', () => {
  let portal: Portal;
  const FIRST = 'Initial#Pass2026!';
  const CHOSEN = 'Lantern-Harbor-47-Quietly!';
  const LATER = 'Copper*Meadow*Sunrise*93';

  beforeAll(async () => {
    portal = await startPortal();
  }, 240_000);
  afterAll(async () => {
    await portal?.close();
  });

  const heading = (page: Page) => page.locator('h1');
  const codeFromMail = async (address: string) => {
    let code: string | undefined;
    await expect
      .poll(
        () => {
          const mail = portal.smtp.messages.filter((m) => m.envelopeTo.includes(address)).at(-1);
          code = /\b(\d{8})\b/.exec(mail?.text ?? '')?.[1];
          return code;
        },
        { timeout: 15_000 },
      )
      .toBeDefined();
    return code!;
  };
  const codeFromSms = async (number: string) => {
    let code: string | undefined;
    await expect
      .poll(
        () => {
          const hook = portal.sms.received.filter((h) => h.path === '/sms' && (h.json as { to: string }).to === number).at(-1);
          const m = /(\d{4}) (\d{4})/.exec((hook?.json as { body?: string } | undefined)?.body ?? '');
          code = m ? `${m[1]}${m[2]}` : undefined;
          return code;
        },
        { timeout: 15_000 },
      )
      .toBeDefined();
    return code!;
  };
  const addMethod = async (page: Page, label: string) => {
    await page.getByLabel('Which method would you like to add?').selectOption({ label });
    await page.getByRole('button', { name: 'Add', exact: true }).click();
  };

  it('refuses a wrong password on the sign-in page and says why', async () => {
    const page = await portal.newPage();
    await page.goto('/signin');
    await expect.poll(() => heading(page).textContent()).toBe('Sign in');
    await portal.checkA11y(page, 'signin');
    await portal.screenshot(page, 'account-signin');
    await page.locator('input[autocomplete="username"]').fill(portal.tenant.adminUpn);
    await page.locator('input[autocomplete="current-password"]').fill('certainly-not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/incorrect/i);
    expect(new URL(page.url()).pathname).toBe('/signin');
    // the links carry the typed user name on to the reset and unlock wizards
    expect(await page.getByRole('link', { name: 'Unlock my account' }).getAttribute('href')).toBe(`/unlock?upn=${encodeURIComponent(portal.tenant.adminUpn)}`);
    expect(await page.getByRole('link', { name: 'Forgot my password' }).getAttribute('href')).toBe(`/reset?upn=${encodeURIComponent(portal.tenant.adminUpn)}`);
    await portal.checkA11y(page, 'signin with error');
    await portal.screenshot(page, 'account-signin-error');
    await page.context().close();
  }, 90_000);

  it('makes a user with forceChangePasswordNextSignIn change it at sign-in, offers registration, then lands on /account', async () => {
    await portal.createUser({ upn: 'megan@contoso.test', password: FIRST, displayName: 'Megan Bowen', forceChangePasswordNextSignIn: true });
    const page = await portal.newPage();
    await page.goto('/signin');
    await page.locator('input[autocomplete="username"]').fill('megan@contoso.test');
    await page.locator('input[autocomplete="current-password"]').fill(FIRST);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => heading(page).textContent()).toBe('Update your password');
    await portal.checkA11y(page, 'change at sign-in');
    await portal.screenshot(page, 'account-change-at-signin');

    const fresh = page.locator('input[autocomplete="new-password"]');
    await fresh.nth(0).fill(CHOSEN);
    await fresh.nth(1).fill(CHOSEN);
    await page.getByRole('button', { name: 'Update password and sign in' }).click();

    // a new user has no security info, and the tenant asks for it at sign-in: the interrupt, skippable
    await page.waitForURL((u) => u.pathname === '/account/security-info');
    await page.getByRole('heading', { name: 'More information required' }).waitFor();
    await portal.checkA11y(page, 'registration interrupt');
    await portal.screenshot(page, 'account-register-interrupt');
    await page.getByRole('button', { name: 'Skip for now' }).click();
    await page.waitForURL((u) => u.pathname === '/account');
    await expect.poll(() => heading(page).textContent()).toBe('My account');
    await page.getByText('megan@contoso.test', { exact: true }).waitFor();
    await portal.checkA11y(page, 'overview');
    await portal.screenshot(page, 'account-overview');

    // the old password no longer signs in; the chosen one does
    const other = await portal.newPage();
    await other.goto('/signin');
    await other.locator('input[autocomplete="username"]').fill('megan@contoso.test');
    await other.locator('input[autocomplete="current-password"]').fill(FIRST);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('alert').waitFor();
    expect(new URL(other.url()).pathname).toBe('/signin');
    await other.context().close();
    await page.context().close();
  }, 90_000);

  it('change password: a policy-breaking password names the rule, a good one is accepted and signs in', async () => {
    const page = await portal.newPage();
    await portal.signIn(page, 'megan@contoso.test', CHOSEN);
    await page.goto('/account/password');
    await expect.poll(() => heading(page).textContent()).toBe('Change password');
    await portal.checkA11y(page, 'change password');
    await portal.screenshot(page, 'account-change-password');

    await page.locator('input[autocomplete="current-password"]').fill(CHOSEN);
    const fresh = page.locator('input[autocomplete="new-password"]');
    await fresh.nth(0).fill('short');
    await fresh.nth(1).fill('short');
    await page.getByRole('button', { name: 'Change password' }).click();
    const alert = page.locator('.alert-error');
    await alert.waitFor();
    // the refusal lists each broken rule (as a list item), not just "bad request"
    const rules = alert.locator('li');
    await rules.first().waitFor();
    expect(await rules.count()).toBeGreaterThan(0);
    expect((await alert.textContent()) ?? '').toMatch(/too short|at least 8 characters/i);
    await portal.checkA11y(page, 'change password refused');
    await portal.screenshot(page, 'account-change-password-refused');

    await page.locator('input[autocomplete="current-password"]').fill(CHOSEN);
    await fresh.nth(0).fill(LATER);
    await fresh.nth(1).fill(LATER);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Your password was changed.', { exact: false }).waitFor();
    await page.context().close();

    const again = await portal.newPage();
    await portal.signIn(again, 'megan@contoso.test', LATER);
    await again.context().close();
  }, 90_000);

  it('registers an email, a phone and an authenticator app; they then appear in the list', async () => {
    const page = await portal.newPage();
    await portal.signIn(page, 'megan@contoso.test', LATER);
    await page.goto('/account/security-info');
    await expect.poll(() => heading(page).textContent()).toBe('Security info');
    await page.getByRole('table', { name: 'Registered methods' }).waitFor();
    await portal.checkA11y(page, 'security info empty');

    // email: the code arrives at the SMTP sink
    await addMethod(page, 'Email');
    await page.getByLabel('Email address').fill('megan.private@example.test');
    await page.getByRole('button', { name: 'Send code' }).click();
    const mailed = await codeFromMail('megan.private@example.test');
    await portal.checkA11y(page, 'security info code step');
    await portal.screenshot(page, 'account-security-info-code');
    await page.getByLabel('Enter the code').fill(mailed);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Your email was registered.').waitFor();
    await page.locator('tr[data-method="email"]').getByText('m***@example.test').waitFor();

    // phone: the code arrives at the SMS webhook
    await addMethod(page, 'Phone');
    await page.getByLabel('Phone number').fill('+1 425 555 0101');
    await page.getByRole('button', { name: 'Send code' }).click();
    const texted = await codeFromSms('+14255550101');
    await page.getByLabel('Enter the code').fill(texted);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Your phone was registered.').waitFor();
    await page.locator('tr[data-method="phone-mobile"]').getByText('0101', { exact: false }).waitFor();

    // authenticator app: a QR image and the secret as text; the TOTP computed from that text confirms it
    await addMethod(page, 'Authenticator app');
    const secretEl = page.locator('.totp-secret');
    await secretEl.waitFor();
    const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
    await expect.poll(() => qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    const shown = ((await secretEl.textContent()) ?? '').replace(/\s/g, '');
    expect(shown).toMatch(/^[A-Z2-7]{16,}$/);
    await portal.checkA11y(page, 'security info authenticator');
    await portal.screenshot(page, 'account-security-info-authenticator');
    await page.getByLabel('Code from the app').fill(await generate({ secret: shown }));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Your authenticator app was registered.').waitFor();

    const table = page.getByRole('table', { name: 'Registered methods' });
    for (const method of ['Email', 'Phone', 'Authenticator app']) await table.getByRole('rowheader', { name: method, exact: true }).waitFor();
    await portal.checkA11y(page, 'security info registered');
    await portal.screenshot(page, 'account-security-info');
    await page.context().close();
  }, 90_000);

  it('security questions (when the policy offers them), recovery codes downloaded as a file, and deleting a method', async () => {
    await updateSsprPolicy(portal.services, systemContext(portal.services), portal.tenant.id, { methods: ['email', 'mobileSms', 'appCode', 'securityQuestions'], securityQuestions: { toRegister: 3, toReset: 3, custom: [] } });
    const page = await portal.newPage();
    await portal.signIn(page, 'megan@contoso.test', LATER);
    await page.goto('/account/security-info');
    await page.getByRole('table', { name: 'Registered methods' }).waitFor();

    await addMethod(page, 'Security questions');
    const questions = page.getByLabel('Question', { exact: true });
    await questions.first().waitFor();
    expect(await questions.count()).toBe(3);
    const answers = ['blue harbor', 'green valley', 'red canyon'];
    for (let i = 0; i < 3; i++) {
      await questions.nth(i).selectOption({ index: 1 }); // the first question not chosen above
      await page.getByLabel('Answer', { exact: true }).nth(i).fill(answers[i]!);
    }
    await portal.checkA11y(page, 'security questions');
    await portal.screenshot(page, 'account-security-questions');
    await page.getByRole('button', { name: 'Save answers' }).click();
    await page.getByText('Your security questions were saved.').waitFor();
    await page.locator('tr[data-method="questions"]').getByText('3 questions answered').waitFor();

    await addMethod(page, 'Recovery codes');
    await page.getByRole('button', { name: 'Generate codes' }).click();
    const shown = page.locator('.recovery-codes code');
    await shown.first().waitFor();
    const codes = await shown.allTextContents();
    expect(codes).toHaveLength(10);
    await portal.checkA11y(page, 'recovery codes');
    await portal.screenshot(page, 'account-recovery-codes');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download as text file' }).click()]);
    expect(download.suggestedFilename()).toBe('recovery-codes.txt');
    expect(download.url()).toMatch(/^blob:/);
    const file = await readFile(await download.path(), 'utf8');
    for (const c of codes) expect(file).toContain(c);
    await page.getByRole('button', { name: 'I have saved my codes' }).click();
    await page.locator('tr[data-method="recovery"]').getByText('10 of 10 codes left').waitFor();

    // delete asks first, then the row is gone
    await page.getByRole('button', { name: 'Delete Phone', exact: true }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByText('Phone was deleted.').waitFor();
    await page.locator('tr[data-method="phone-mobile"]').waitFor({ state: 'detached' });
    await page.context().close();
  }, 90_000);

  it('tells a locked-out user what to do and links to the unlock wizard with the user name', async () => {
    await portal.createUser({ upn: 'lynne@contoso.test', password: FIRST, displayName: 'Lynne Robbins' });
    const page = await portal.newPage();
    await page.goto('/signin');
    // ten different wrong passwords (the tenant's threshold) from this origin lock the account
    const statuses = await page.evaluate(async () => {
      const out: number[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await fetch('/api/v1/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userPrincipalName: 'lynne@contoso.test', password: `wrong-${i}` }) });
        out.push(r.status);
      }
      return out;
    });
    expect(statuses.at(-1)).toBe(423);
    await page.locator('input[autocomplete="username"]').fill('lynne@contoso.test');
    await page.locator('input[autocomplete="current-password"]').fill(FIRST);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/temporarily locked/);
    expect(await alert.getByRole('link', { name: 'Unlock my account now' }).getAttribute('href')).toBe('/unlock?upn=lynne%40contoso.test');
    await portal.checkA11y(page, 'signin locked');
    await portal.screenshot(page, 'account-signin-locked');
    await page.context().close();
  });

  it('renders every page in German and returns to returnTo after sign-in (never to another site)', async () => {
    const page = await portal.newPage({ locale: 'de-DE' });
    await page.goto('/signin?returnTo=//evil.example/x');
    await expect.poll(() => heading(page).textContent()).toBe('Anmelden');
    await portal.checkA11y(page, 'signin de');
    await portal.screenshot(page, 'account-signin-de');
    await page.locator('input[autocomplete="username"]').fill('megan@contoso.test');
    await page.locator('input[autocomplete="current-password"]').fill(LATER);
    await page.getByRole('button', { name: 'Anmelden' }).click();
    await page.waitForURL((u) => u.origin === portal.baseUrl && u.pathname === '/account');
    await expect.poll(() => heading(page).textContent()).toBe('Mein Konto');
    await portal.checkA11y(page, 'overview de');
    await portal.screenshot(page, 'account-overview-de');

    await page.goto('/account/security-info');
    await expect.poll(() => heading(page).textContent()).toBe('Sicherheitsinformationen');
    await page.getByRole('table', { name: 'Registrierte Methoden' }).getByRole('rowheader', { name: 'Authenticator-App' }).waitFor();
    await portal.checkA11y(page, 'security info de');
    await portal.screenshot(page, 'account-security-info-de');

    // signed out, a protected page sends to sign-in and back again
    await page.getByRole('button', { name: 'Abmelden' }).click();
    await page.waitForURL((u) => u.pathname === '/signin');
    await page.goto('/account/password');
    await page.waitForURL((u) => u.pathname === '/signin' && u.searchParams.get('returnTo') === '/account/password');
    await page.locator('input[autocomplete="username"]').fill('megan@contoso.test');
    await page.locator('input[autocomplete="current-password"]').fill(LATER);
    await page.getByRole('button', { name: 'Anmelden' }).click();
    await page.waitForURL((u) => u.pathname === '/account/password');
    await expect.poll(() => heading(page).textContent()).toBe('Kennwort ändern');
    await portal.checkA11y(page, 'change password de');
    await portal.screenshot(page, 'account-change-password-de');
    await page.context().close();
  }, 90_000);
  it('warns on the overview when the password expires within the notification window', async () => {
    // passwords last 30 days, users are told in the last 20: Nestor's, set 10 days ago, has 20 left;
    // a new one has 30 and is not told
    await updatePasswordPolicy(portal.services, systemContext(portal.services), portal.tenant.id, { expiresAfterDays: 30, notificationWindowDays: 20 });
    const nestor = await portal.createUser({ upn: 'nestor@contoso.test', password: FIRST, displayName: 'Nestor Wilke' });
    await portal.services.db
      .updateTable('users')
      .set({ last_password_change_at: new Date(Date.now() - 10 * 86_400_000).toISOString() })
      .where('id', '=', nestor.id)
      .execute();
    const page = await portal.newPage();
    await portal.signIn(page, 'nestor@contoso.test', FIRST);
    // no security info yet: the interrupt first, skipped
    await page.getByRole('button', { name: 'Skip for now' }).click();
    await page.waitForURL((u) => u.pathname === '/account');
    const notice = page.getByRole('status').filter({ hasText: 'Your password expires in 20 days' });
    await notice.waitFor();
    expect(await notice.getByRole('link', { name: 'Change password now' }).getAttribute('href')).toBe('/account/password');
    await portal.checkA11y(page, 'overview expiry notice');
    await portal.screenshot(page, 'account-overview-expiry');
    // still told after a reload, from GET /api/v1/session itself: nothing kept in the tab counts
    await page.evaluate(() => {
      sessionStorage.clear();
      localStorage.clear();
    });
    await page.reload();
    await page.getByRole('heading', { name: 'Profile' }).waitFor();
    await notice.waitFor();
    // and in a second tab of the same browser, which never saw the sign-in answer
    const tab = await page.context().newPage();
    await tab.goto('/account');
    await tab.getByRole('status').filter({ hasText: 'Your password expires in 20 days' }).waitFor();
    await tab.close();
    // changing the password ends the notice
    await notice.getByRole('link', { name: 'Change password now' }).click();
    await page.locator('input[autocomplete="current-password"]').fill(FIRST);
    await page.locator('input[autocomplete="new-password"]').nth(0).fill(LATER);
    await page.locator('input[autocomplete="new-password"]').nth(1).fill(LATER);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Your password was changed.', { exact: false }).waitFor();
    await page.getByRole('link', { name: 'Back to my account' }).click();
    await page.getByRole('heading', { name: 'Profile' }).waitFor();
    expect(await page.getByText('Your password expires in', { exact: false }).count()).toBe(0);
    // nor after a reload: the session now says nothing about expiry
    await page.reload();
    await page.getByRole('heading', { name: 'Profile' }).waitFor();
    expect(await page.getByText('Your password expires in', { exact: false }).count()).toBe(0);
    await page.context().close();
  }, 90_000);
});
