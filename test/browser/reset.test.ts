import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateSsprPolicy } from '../../src/domain/sspr-policy-update.js';
import { systemContext } from '../../src/domain/tenants.js';
import { chromiumAvailable, expectOnlyNewPassword, startPortal, type Portal } from './harness.js';

/**
 * The self-service reset and unlock wizard in Debian's Chromium, against a real SMTP sink and SMS
 * webhook sink, with the tenant's policy requiring two methods:
 * - the whole journey: a user registers email and phone on the security info page, signs out, solves
 *   the proof-of-work CAPTCHA, verifies with the emailed code and the texted code, sees a
 *   policy refusal named, sets a new password, signs in with it, and the old one fails;
 * - unlock: a locked user verifies twice and unlocks without a new password, then signs in;
 * - errors (in German): a wrong number and a wrong code are shown with their meaning and the request
 *   id; "contact your administrator" reaches the admins; cancel starts over; an ineligible tenant
 *   shows Azure's text with its SSPR_0009 support code;
 * every wizard step checked by axe-core (and for CSP violations) and screenshotted.
 */
describe.skipIf(!chromiumAvailable())('reset and unlock wizard in the browser', () => {
  let portal: Portal;
  const OLD = 'Initial#Pass2026!';
  const NEW = 'Copper-Heron-Lattice-93';

  beforeAll(async () => {
    portal = await startPortal();
    // SSPR for non-admins needs a paid edition; the policy asks for two methods
    await portal.services.db.updateTable('tenants').set({ edition: 'premium' } as never).where('id', '=', portal.tenant.id).execute();
    await updateSsprPolicy(portal.services, systemContext(portal.services), portal.tenant.id, { methodsRequired: 2, methods: ['email', 'mobileSms', 'mobileCall', 'appCode'] });
  }, 240_000);
  afterAll(async () => {
    await portal?.close();
  });

  const codeFromMail = async (address: string, after: number) => {
    let code: string | undefined;
    await expect
      .poll(
        () => {
          const mail = portal.smtp.messages.filter((m) => m.envelopeTo.includes(address)).slice(after).at(-1);
          code = /\b(\d{8})\b/.exec(mail?.text ?? '')?.[1];
          return code;
        },
        { timeout: 15_000 },
      )
      .toBeDefined();
    return code!;
  };
  const mailsTo = (address: string) => portal.smtp.messages.filter((m) => m.envelopeTo.includes(address)).length;
  const textsTo = (number: string) => portal.sms.received.filter((h) => h.path === '/sms' && (h.json as { to: string }).to === number);
  /** the code of the first text to `number` after the first `after` ones */
  const codeFromSms = async (number: string, after: number) => {
    let code: string | undefined;
    await expect
      .poll(
        () => {
          const hook = textsTo(number).slice(after).at(-1);
          const m = /(\d{4}) (\d{4})/.exec((hook?.json as { body?: string } | undefined)?.body ?? '');
          code = m ? `${m[1]}${m[2]}` : undefined;
          return code;
        },
        { timeout: 15_000 },
      )
      .toBeDefined();
    return code!;
  };
  const stepHeading = (page: Page, name: string) => page.getByRole('heading', { level: 2, name }).waitFor();
  const check = (page: Page, name: string) => portal.check(page, name);

  /** /reset or /unlock with ?upn=, the CAPTCHA solved in the page's worker, then Next. */
  async function identify(page: Page, path: '/reset' | '/unlock', upn: string, labels = { robot: "I'm not a robot", verified: 'Verified.', next: 'Next' }, shot?: string, keyboard = false) {
    await page.goto(`${path}?upn=${encodeURIComponent(upn)}`);
    await expect.poll(() => page.getByRole('textbox').first().inputValue()).toBe(upn);
    if (keyboard) {
      // keyboard alone: Tab from the user ID to the CAPTCHA box, Space ticks it, Tab to Next, Enter
      await page.getByRole('textbox').first().focus();
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { type?: string } | null } }).document.activeElement?.type)).toBe('checkbox');
      await page.keyboard.press('Space');
      await page.getByText(labels.verified, { exact: true }).waitFor({ timeout: 30_000 });
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      return;
    }
    await page.getByLabel(labels.robot).check();
    await page.getByText(labels.verified, { exact: true }).waitFor({ timeout: 30_000 });
    if (shot) await check(page, shot);
    await page.getByRole('button', { name: labels.next, exact: true }).click();
  }

  it('the whole journey: register email and phone, sign out, reset with two methods, sign in with the new password', async () => {
    const upn = 'megan@contoso.test';
    const email = 'megan.private@example.test';
    const mobile = '+14255550101';
    await portal.createUser({ upn, password: OLD, displayName: 'Megan Bowen' });

    // register through the portal's security info page
    const account = await portal.newPage();
    await portal.signIn(account, upn, OLD);
    await account.goto('/account/security-info');
    await account.getByRole('table', { name: 'Registered methods' }).waitFor();
    const addMethod = async (label: string) => {
      await account.getByLabel('Which method would you like to add?').selectOption({ label });
      await account.getByRole('button', { name: 'Add', exact: true }).click();
    };
    await addMethod('Email');
    await account.getByLabel('Email address').fill(email);
    let before = mailsTo(email);
    await account.getByRole('button', { name: 'Send code' }).click();
    await account.getByLabel('Enter the code').fill(await codeFromMail(email, before));
    await account.getByRole('button', { name: 'Verify' }).click();
    await account.getByRole('table', { name: 'Registered methods' }).getByRole('rowheader', { name: 'Email', exact: true }).waitFor();
    await addMethod('Phone');
    await account.getByLabel('Phone number').fill('+1 425 555 0101');
    let texts = textsTo(mobile).length;
    await account.getByRole('button', { name: 'Send code' }).click();
    await account.getByLabel('Enter the code').fill(await codeFromSms(mobile, texts));
    await account.getByRole('button', { name: 'Verify' }).click();
    await account.getByRole('table', { name: 'Registered methods' }).getByRole('rowheader', { name: 'Phone', exact: true }).waitFor();
    await account.getByRole('button', { name: 'Sign out' }).click();
    await account.waitForURL((u) => u.pathname.startsWith('/signin'));
    await account.context().close();

    const page = await portal.newPage();
    const response = await page.goto('/reset');
    expect(response?.headers()['referrer-policy']).toBe('no-referrer');
    await page.getByRole('heading', { level: 1, name: 'Get back into your account' }).waitFor();
    await identify(page, '/reset', upn, undefined, 'reset-1-identify');

    await stepHeading(page, 'Why are you having trouble signing in?');
    expect(await page.getByLabel('I forgot my password').isChecked()).toBe(true);
    await check(page, 'reset-2-intent');
    await page.getByRole('button', { name: 'Next', exact: true }).click();

    // step 1: the emailed code (the masked address is shown, never the address itself)
    await stepHeading(page, 'Verification step 1 of 2');
    await expect.poll(() => page.locator('main').innerText()).toContain('On file: m***@example.test');
    expect(await page.locator('main').innerText()).not.toContain(email);
    await page.getByLabel('Email my alternate email').check();
    before = mailsTo(email);
    await page.getByRole('button', { name: 'Email', exact: true }).click();
    await page.getByText("We've sent an email with a verification code to your inbox.").waitFor();
    await check(page, 'reset-3-verify-email');
    await page.getByLabel('Enter your verification code').fill(await codeFromMail(email, before));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();

    // step 2: the texted code; the number on file must be typed in full
    await stepHeading(page, 'Verification step 2 of 2');
    expect(await page.getByLabel('Email my alternate email').count()).toBe(0);
    await page.getByLabel('Text my mobile phone').check();
    await page.getByLabel('Your phone number').fill('+1 425 555 0101');
    await check(page, 'reset-4-verify-sms');
    texts = textsTo(mobile).length;
    await page.getByRole('button', { name: 'Text', exact: true }).click();
    await page.getByLabel('Enter your verification code').fill(await codeFromSms(mobile, texts));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();

    // new password: the live hints follow the typing; the server's refusal is named
    await stepHeading(page, 'Choose a new password');
    await page.getByLabel('New password', { exact: true }).fill('short');
    await expect.poll(() => page.locator('.password-rules li.unmet').count()).toBeGreaterThan(0);
    await page.getByLabel('New password', { exact: true }).fill('Contoso-Rocks-2026!');
    await page.getByLabel('Confirm new password').fill('Contoso-Rocks-2026!');
    await expect.poll(() => page.locator('.password-rules li.unmet').count()).toBe(0);
    await page.getByRole('button', { name: 'Finish', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').first().innerText()).toContain("can't contain your first name, your last name or your organization's name");
    await check(page, 'reset-5-password-refused');
    await page.getByLabel('New password', { exact: true }).fill(NEW);
    await page.getByLabel('Confirm new password').fill(NEW);
    await expect.poll(() => page.locator('.strength-text').innerText()).toMatch(/Strength: (Strong|Very strong)/);
    await check(page, 'reset-5-password');
    await page.getByRole('button', { name: 'Finish', exact: true }).click();
    await stepHeading(page, 'Your password has been reset');
    await check(page, 'reset-6-done');

    // the new password signs in, the old one does not
    await expectOnlyNewPassword(portal, upn, OLD, NEW);
  }, 120_000);

  it('unlock: /unlock preselects unlock; after two verifications the account is unlocked and the current password signs in', async () => {
    const upn = 'lee@contoso.test';
    const mobile = '+14255550202';
    const user = await portal.createUser({ upn, password: OLD, displayName: 'Lee Gu', otherMails: ['lee.private@example.test'], mobilePhone: mobile });
    await portal.services.db
      .updateTable('users')
      .set({ locked_until: new Date(Date.now() + 3_600_000).toISOString(), lockout_count: 1 })
      .where('id', '=', user.id)
      .execute();
    const locked = await portal.newPage();
    await locked.goto('/signin');
    await locked.locator('input[autocomplete="username"]').fill(upn);
    await locked.locator('input[autocomplete="current-password"]').fill(OLD);
    await locked.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => locked.getByRole('alert').innerText()).toContain('locked');

    const page = await portal.newPage();
    await identify(page, '/unlock', upn, undefined, undefined, true);
    await stepHeading(page, 'Why are you having trouble signing in?');
    expect(await page.getByLabel("I know my password, but still can't sign in").isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Next', exact: true }).click();

    await stepHeading(page, 'Verification step 1 of 2');
    await page.getByLabel('Email my alternate email').check();
    const before = mailsTo('lee.private@example.test');
    await page.getByRole('button', { name: 'Email', exact: true }).click();
    await page.getByLabel('Enter your verification code').fill(await codeFromMail('lee.private@example.test', before));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await stepHeading(page, 'Verification step 2 of 2');
    await page.getByLabel('Text my mobile phone').check();
    await page.getByLabel('Your phone number').fill(mobile);
    const texts = textsTo(mobile).length;
    await page.getByRole('button', { name: 'Text', exact: true }).click();
    await page.getByLabel('Enter your verification code').fill(await codeFromSms(mobile, texts));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();

    await stepHeading(page, 'Unlock your account');
    expect(await page.getByLabel('New password', { exact: true }).count()).toBe(0);
    await check(page, 'unlock-1-confirm');
    await page.getByRole('button', { name: 'Unlock my account' }).click();
    await stepHeading(page, 'Your account has been unlocked');
    await check(page, 'unlock-2-done');

    const fresh = await portal.newPage();
    await portal.signIn(fresh, upn, OLD);
  }, 90_000);

  it('in German: a wrong number and a wrong code are shown with their meaning and the request id; contact the admin; cancel starts over', async () => {
    const upn = 'jonas@contoso.test';
    await portal.createUser({ upn, password: OLD, displayName: 'Jonas Weber', otherMails: ['jonas.private@example.test'], mobilePhone: '+4915112345678' });
    const page = await portal.newPage({ locale: 'de-DE' });
    await page.goto('/reset');
    await page.getByRole('heading', { level: 1, name: 'Zugriff auf Ihr Konto wiederherstellen' }).waitFor();
    await identify(page, '/reset', upn, { robot: 'Ich bin kein Roboter', verified: 'Bestätigt.', next: 'Weiter' }, 'reset-de-1-identify');
    await stepHeading(page, 'Warum können Sie sich nicht anmelden?');
    await check(page, 'reset-de-2-intent');
    await page.getByRole('button', { name: 'Weiter', exact: true }).click();

    await stepHeading(page, 'Überprüfungsschritt 1 von 2');
    // a number that is not the one on file
    await page.getByLabel('SMS an mein Mobiltelefon senden').check();
    await page.getByLabel('Ihre Telefonnummer').fill('+49 151 99999999');
    await page.getByRole('button', { name: 'SMS senden', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').innerText()).toContain('Die Telefonnummer stimmt nicht mit der hinterlegten überein.');

    // a wrong code
    await page.getByLabel('E-Mail an meine alternative E-Mail-Adresse senden').check();
    await page.getByRole('button', { name: 'E-Mail senden', exact: true }).click();
    await page.getByText('Wir haben Ihnen eine E-Mail mit einem Überprüfungscode gesendet.').waitFor();
    await page.getByLabel('Geben Sie Ihren Überprüfungscode ein').fill('00000000');
    await page.getByRole('button', { name: 'Überprüfen', exact: true }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.innerText()).toContain('Der Code ist nicht korrekt. Prüfen Sie ihn und versuchen Sie es erneut.');
    expect(await alert.innerText()).toMatch(/Anforderungs-ID: \S+/);
    await check(page, 'reset-de-3-wrong-code');

    // "contact your administrator": the server writes to the admins (no help desk is configured)
    const toAdmin = mailsTo(portal.tenant.adminUpn);
    await page.getByRole('button', { name: 'Administrator kontaktieren' }).click();
    await page.getByText('Wir haben einen Administrator Ihrer Organisation gebeten, Ihr Kennwort für Sie zurückzusetzen.').waitFor();
    await expect.poll(() => mailsTo(portal.tenant.adminUpn), { timeout: 15_000 }).toBeGreaterThan(toAdmin);

    await page.getByRole('button', { name: 'Abbrechen' }).click();
    await stepHeading(page, 'Wer sind Sie?');
    await page.getByText('Das Zurücksetzen des Kennworts wurde abgebrochen. Sie können neu beginnen.').waitFor();
  });

  it('an ineligible account sees Azure’s reason with its SSPR support code', async () => {
    await updateSsprPolicy(portal.services, systemContext(portal.services), portal.tenant.id, { enabledFor: 'none' });
    try {
      await portal.createUser({ upn: 'adele@contoso.test', password: OLD, otherMails: ['adele.private@example.test'], mobilePhone: '+14255550303' });
      const page = await portal.newPage();
      await identify(page, '/reset', 'adele@contoso.test');
      const alert = page.getByRole('alert');
      await expect.poll(() => alert.innerText()).toContain('your administrator has disabled password reset for your organization');
      expect(await alert.innerText()).toContain('Support code: SSPR_0009');
      await check(page, 'reset-error-sspr-0009');
      // the spent challenge is not offered again: the box must be ticked anew
      expect(await page.getByLabel("I'm not a robot").isChecked()).toBe(false);
    } finally {
      await updateSsprPolicy(portal.services, systemContext(portal.services), portal.tenant.id, { enabledFor: 'all' });
    }
  });
});
