import { generate, generateURI } from 'otplib';
import type { Page } from 'playwright-core';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOTP_PERIOD } from '../../src/domain/security-info/totp.js';
import { getSsprPolicy } from '../../src/domain/sspr-policy-update.js';
import { listAuditEvents } from '../../src/store/audit-events.js';
import { listSecurityAnswers } from '../../src/store/security-questions.js';
import { listRecoveryCodes, listSoftwareOathMethods } from '../../src/store/software-oath.js';
import type { User } from '../../src/store/users.js';
import { chromiumAvailable, expectOnlyNewPassword, startPortal, type Portal } from './harness.js';

/**
 * The reset wizard's other methods in Debian's Chromium (SQLite, the server's real clock): the
 * authenticator app, security questions and recovery codes, each registered through
 * /account/security-info and then used in /reset. The tenant's SSPR policy (two methods, questions
 * allowed) is set by the admin through PATCH /api/v1/policies/sspr from a signed-in admin page.
 * - English: the authenticator page shows the QR code (the very otpauth URI of the secret shown as
 *   text) and the secret; the TOTP computed from that text, against the server's clock, registers
 *   the app; questions and ten recovery codes are registered; the wizard offers exactly these three
 *   methods, and the app code + answers reset the password, which then signs in (the old one not);
 * - a recovery code + answers reset it again; the code is spent (stored, and refused a second time);
 * - German: a wrong app code and wrong answers are shown as German alerts (role=alert), the server
 *   records the failures, and the right code and answers (to the new questions) still get through;
 * every new page and step is checked by axe-core (and for CSP violations) and screenshotted.
 */
describe.skipIf(!chromiumAvailable())('reset wizard with the authenticator app, security questions and recovery codes', () => {
  let portal: Portal;
  const OLD = 'Initial#Pass2026!';
  const NEW = 'Velvet-Osprey-Granite-58';
  const NEWER = 'Amber-Quokka-Meridian-71';
  const EN = { robot: "I'm not a robot", verified: 'Verified.', next: 'Next' };
  const DE = { robot: 'Ich bin kein Roboter', verified: 'Bestätigt.', next: 'Weiter' };

  beforeAll(async () => {
    portal = await startPortal();
    // SSPR for non-admins needs a paid edition (no API sets a tenant's edition)
    await portal.services.db.updateTable('tenants').set({ edition: 'premium' } as never).where('id', '=', portal.tenant.id).execute();
    // the admin sets the policy through the route the admin pages use: two methods, questions allowed
    const admin = await portal.newPage();
    await portal.signIn(admin, portal.tenant.adminUpn, portal.tenant.adminPassword);
    const patch = { methodsRequired: 2, methods: ['email', 'mobileSms', 'securityQuestions', 'appCode'], securityQuestions: { toRegister: 3, toReset: 3 } };
    const answer = await admin.evaluate(async (body) => {
      const session = (await (await fetch('/api/v1/session')).json()) as { csrfToken: string };
      const r = await fetch('/api/v1/policies/sspr', { method: 'PATCH', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken }, body: JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as unknown };
    }, patch);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject(patch);
    await admin.context().close();
    const stored = await getSsprPolicy(portal.services, portal.tenant.id);
    expect(stored.methodsRequired).toBe(2);
    expect(stored.methods).toEqual(patch.methods);
  }, 240_000);
  afterAll(async () => {
    await portal?.close();
  });

  const check = (page: Page, name: string) => portal.check(page, name);
  const stepHeading = (page: Page, name: string) => page.getByRole('heading', { level: 2, name }).waitFor();

  /** What the server recorded about `user` (the audit chain), as "activity: reason". */
  const auditOf = async (user: User) =>
    (await listAuditEvents(portal.services.db, portal.tenant.id, 0, 10_000))
      .filter((e) => e.targetResources.some((t) => t.id === user.id))
      .map((e) => `${e.result} ${e.activityDisplayName}: ${e.resultReason}`);

  /**
   * The code an authenticator app shows now for `secret`, by the server's clock. The server takes
   * each 30-second step once (replay refused) and accepts ±1 step, so when the current step was
   * used already (by the registration a moment ago) the app's next code is the one to type.
   */
  async function totp(secret: string, user: User): Promise<string> {
    const used = Math.max(0, ...(await listSoftwareOathMethods(portal.services.db, user.id)).map((m) => m.lastUsedStep));
    const now = Math.floor(portal.services.clock.now().getTime() / 1000 / TOTP_PERIOD);
    return generate({ secret, epoch: Math.max(now, used + 1) * TOTP_PERIOD });
  }
  /** Six digits the server cannot accept now: none of the codes of the steps it would take. */
  async function wrongTotp(secret: string): Promise<string> {
    const now = Math.floor(portal.services.clock.now().getTime() / 1000 / TOTP_PERIOD);
    const valid = new Set(await Promise.all([-2, -1, 0, 1, 2].map((d) => generate({ secret, epoch: (now + d) * TOTP_PERIOD }))));
    let n = 123456;
    while (valid.has(String(n))) n++;
    return String(n);
  }

  interface Labels {
    chooseMethod: string;
    add: string;
    table: string;
    authenticator: string;
    qrAlt: string;
    secretLabel: string;
    appCode: string;
    verify: string;
    appDone: string;
    questions: string;
    question: string;
    answer: string;
    save: string;
    questionsDone: string;
    signOut: string;
  }
  const SEC_EN: Labels = {
    chooseMethod: 'Which method would you like to add?',
    add: 'Add',
    table: 'Registered methods',
    authenticator: 'Authenticator app',
    qrAlt: 'QR code for your authenticator app',
    secretLabel: 'Secret key',
    appCode: 'Code from the app',
    verify: 'Verify',
    appDone: 'Your authenticator app was registered.',
    questions: 'Security questions',
    question: 'Question',
    answer: 'Answer',
    save: 'Save answers',
    questionsDone: 'Your security questions were saved.',
    signOut: 'Sign out',
  };
  const SEC_DE: Labels = {
    chooseMethod: 'Welche Methode möchten Sie hinzufügen?',
    add: 'Hinzufügen',
    table: 'Registrierte Methoden',
    authenticator: 'Authenticator-App',
    qrAlt: 'QR-Code für Ihre Authenticator-App',
    secretLabel: 'Geheimer Schlüssel',
    appCode: 'Code aus der App',
    verify: 'Überprüfen',
    appDone: 'Ihre Authenticator-App wurde registriert.',
    questions: 'Sicherheitsfragen',
    question: 'Frage',
    answer: 'Antwort',
    save: 'Antworten speichern',
    questionsDone: 'Ihre Sicherheitsfragen wurden gespeichert.',
    signOut: 'Abmelden',
  };

  async function addMethod(page: Page, l: Labels, label: string) {
    await page.getByLabel(l.chooseMethod).selectOption({ label });
    await page.getByRole('button', { name: l.add, exact: true }).click();
  }

  /**
   * The authenticator app through the page: the QR image must encode the otpauth URI of the secret
   * the page shows as text; the code computed from that text confirms the registration. Answers the secret.
   */
  async function registerAuthenticator(page: Page, l: Labels, user: User, shot: string): Promise<string> {
    await addMethod(page, l, l.authenticator);
    const secretEl = page.locator('.totp-secret');
    await secretEl.waitFor();
    const secret = ((await secretEl.textContent()) ?? '').replace(/\s/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 20 random bytes in base32
    // the text is labelled for screen readers, and the QR image has its text alternative and loads under the CSP
    expect(await page.getByLabel(l.secretLabel, { exact: true }).textContent()).toContain(secret.slice(0, 4));
    const qr = page.getByRole('img', { name: l.qrAlt });
    await expect.poll(() => qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    const src = (await qr.getAttribute('src')) ?? '';
    const svg = decodeURIComponent(src.replace(/^data:image\/svg\+xml;charset=utf-8,/, ''));
    const uri = generateURI({ issuer: 'Contoso', label: user.userPrincipalName, secret, period: TOTP_PERIOD, digits: 6, algorithm: 'sha1' });
    expect(svg).toBe(await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }));
    await check(page, shot);
    expect((await listSoftwareOathMethods(portal.services.db, user.id)).map((m) => m.confirmedAt)).toEqual([null]); // pending until the code
    await page.getByLabel(l.appCode, { exact: true }).fill(await totp(secret, user));
    await page.getByRole('button', { name: l.verify, exact: true }).click();
    await page.getByText(l.appDone).waitFor();
    await page.getByRole('table', { name: l.table }).getByRole('rowheader', { name: l.authenticator, exact: true }).waitFor();
    const stored = await listSoftwareOathMethods(portal.services.db, user.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.confirmedAt).not.toBeNull();
    return secret;
  }

  /** Three questions from the catalogue, answered; answers the question text (as the page showed it) → answer. */
  async function registerQuestions(page: Page, l: Labels, user: User, answers: string[], shot: string): Promise<Map<string, string>> {
    await addMethod(page, l, l.questions);
    const selects = page.getByLabel(l.question, { exact: true });
    await selects.first().waitFor();
    expect(await selects.count()).toBe(3);
    const chosen = new Map<string, string>();
    for (let i = 0; i < 3; i++) {
      await selects.nth(i).selectOption({ index: 1 }); // the first question not chosen above
      const text = await selects.nth(i).evaluate((s) => {
        const select = s as unknown as { selectedOptions: ArrayLike<{ textContent: string | null }> };
        return select.selectedOptions[0]?.textContent ?? '';
      });
      await page.getByLabel(l.answer, { exact: true }).nth(i).fill(answers[i]!);
      chosen.set(text, answers[i]!);
    }
    expect(chosen.size).toBe(3);
    await check(page, shot);
    await page.getByRole('button', { name: l.save }).click();
    await page.getByText(l.questionsDone).waitFor();
    expect(await listSecurityAnswers(portal.services.db, user.id)).toHaveLength(3);
    return chosen;
  }

  /** /reset with ?upn=, the CAPTCHA solved, Next; then "I forgot my password" (preselected), Next. */
  async function startReset(page: Page, upn: string, labels: typeof EN, intentTitle: string) {
    await page.goto(`/reset?upn=${encodeURIComponent(upn)}`);
    await expect.poll(() => page.getByRole('textbox').first().inputValue()).toBe(upn);
    await page.getByLabel(labels.robot).check();
    await page.getByText(labels.verified, { exact: true }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: labels.next, exact: true }).click();
    await stepHeading(page, intentTitle);
    await page.getByRole('button', { name: labels.next, exact: true }).click();
  }

  /** The radio labels of the offered methods, in order. */
  const offered = (page: Page, legend: string) =>
    page
      .getByRole('group', { name: legend })
      .getByRole('radio')
      .evaluateAll((els) => els.map((e) => (e as unknown as { labels: ArrayLike<{ textContent: string | null }> | null }).labels?.[0]?.textContent?.trim() ?? ''));

  /** Fills each question field the wizard shows (labelled with the question) with its registered answer. */
  async function answerQuestions(page: Page, registered: Map<string, string>, wrong = false) {
    const fields = page.locator('.verify form input[type="password"]');
    await expect.poll(() => fields.count()).toBe(3);
    for (const [question, answer] of registered) await page.getByLabel(question, { exact: true }).fill(wrong ? `${answer} nope` : answer);
  }

  let alex: User;
  let alexSecret: string;
  let alexQuestions: Map<string, string>;
  let alexCodes: string[];

  it('registers the app (QR + secret), questions and recovery codes, then resets with the app code and the answers', async () => {
    const upn = 'alex@contoso.test';
    alex = await portal.createUser({ upn, password: OLD, displayName: 'Alex Wilber' });

    const account = await portal.newPage();
    await portal.signIn(account, upn, OLD);
    await account.goto('/account/security-info');
    await account.getByRole('table', { name: SEC_EN.table }).waitFor();
    await account.getByText('Your organization requires 2 methods to reset your password. Add them below.').waitFor();
    alexSecret = await registerAuthenticator(account, SEC_EN, alex, 'reset-methods-1-authenticator');
    alexQuestions = await registerQuestions(account, SEC_EN, alex, ['harbour lights', 'granite ridge', 'maple syrup'], 'reset-methods-2-questions');
    await account.locator('tr[data-method="questions"]').getByText('3 questions answered').waitFor();
    await account.getByText('You have registered enough methods to reset your password yourself.').waitFor();

    await addMethod(account, SEC_EN, 'Recovery codes');
    await account.getByRole('button', { name: 'Generate codes' }).click();
    const list = account.getByRole('list', { name: 'Your recovery codes' });
    await list.waitFor();
    alexCodes = await list.locator('code').allTextContents();
    expect(alexCodes).toHaveLength(10);
    for (const c of alexCodes) expect(c).toMatch(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    await check(account, 'reset-methods-3-recovery-codes');
    await account.getByRole('button', { name: 'I have saved my codes' }).click();
    await account.locator('tr[data-method="recovery"]').getByText('10 of 10 codes left').waitFor();
    await check(account, 'reset-methods-4-registered');
    expect((await listRecoveryCodes(portal.services.db, alex.id)).filter((c) => c.usedAt === null)).toHaveLength(10);
    const registered = await auditOf(alex);
    expect(registered).toEqual(
      expect.arrayContaining([
        'success User registered security info: User registered Authenticator app',
        'success User registered security info: User registered Security questions',
        'success User registered security info: User registered Recovery codes',
        'success User registered for self-service password reset: User registered all required security info',
      ]),
    );
    await account.getByRole('button', { name: SEC_EN.signOut }).click();
    await account.waitForURL((u) => u.pathname.startsWith('/signin'));
    await account.context().close();

    // the wizard: two steps; exactly the registered methods are offered (no email or phone on file)
    const page = await portal.newPage();
    await startReset(page, upn, EN, 'Why are you having trouble signing in?');
    await stepHeading(page, 'Verification step 1 of 2');
    expect(await offered(page, 'Contact method')).toEqual(['Answer my security questions', 'Enter a code from my authenticator app', 'Use a recovery code']);
    await page.getByLabel('Enter a code from my authenticator app').check();
    const appCode = page.getByLabel('Enter the code from your authenticator app');
    await check(page, 'reset-methods-5-verify-app');
    await appCode.fill(await totp(alexSecret, alex));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();

    await stepHeading(page, 'Verification step 2 of 2');
    expect(await offered(page, 'Contact method')).toEqual(['Answer my security questions', 'Use a recovery code']);
    await page.getByLabel('Answer my security questions').check();
    await answerQuestions(page, alexQuestions);
    await check(page, 'reset-methods-6-verify-questions');
    await page.getByRole('button', { name: 'Verify', exact: true }).click();

    await stepHeading(page, 'Choose a new password');
    await page.getByLabel('New password', { exact: true }).fill(NEW);
    await page.getByLabel('Confirm new password').fill(NEW);
    await page.getByRole('button', { name: 'Finish', exact: true }).click();
    await stepHeading(page, 'Your password has been reset');
    await page.context().close();

    const trail = await auditOf(alex);
    expect(trail).toEqual(
      expect.arrayContaining([
        'success Self-service password reset flow activity progress: User completed the authenticator app code verification option',
        'success Self-service password reset flow activity progress: User completed the security questions option',
      ]),
    );
    expect(trail.some((e) => e.includes('User successfully reset password'))).toBe(true);
    // no recovery code was spent
    expect((await listRecoveryCodes(portal.services.db, alex.id)).filter((c) => c.usedAt === null)).toHaveLength(10);

    await expectOnlyNewPassword(portal, upn, OLD, NEW);
  }, 150_000);

  it('resets with a recovery code and the answers; the code is spent and refused a second time', async () => {
    expect(alexCodes, 'the first test registers the codes').toHaveLength(10);
    const upn = alex.userPrincipalName;
    const page = await portal.newPage();
    await startReset(page, upn, EN, 'Why are you having trouble signing in?');
    await stepHeading(page, 'Verification step 1 of 2');
    await page.getByLabel('Use a recovery code').check();
    await check(page, 'reset-methods-7-verify-recovery-code');
    // typed as a person might: upper case, spaces instead of dashes
    await page.getByLabel('Enter one of your recovery codes').fill(alexCodes[3]!.toUpperCase().replace(/-/g, ' '));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await stepHeading(page, 'Verification step 2 of 2');
    expect(await offered(page, 'Contact method')).toEqual(['Answer my security questions', 'Enter a code from my authenticator app']);
    await page.getByLabel('Answer my security questions').check();
    await answerQuestions(page, alexQuestions);
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await stepHeading(page, 'Choose a new password');
    await page.getByLabel('New password', { exact: true }).fill(NEWER);
    await page.getByLabel('Confirm new password').fill(NEWER);
    await page.getByRole('button', { name: 'Finish', exact: true }).click();
    await stepHeading(page, 'Your password has been reset');
    await check(page, 'reset-methods-8-done');
    await page.context().close();

    const codes = await listRecoveryCodes(portal.services.db, alex.id);
    expect(codes.filter((c) => c.usedAt !== null)).toHaveLength(1);
    expect((await auditOf(alex)).filter((e) => e.endsWith('User completed the recovery code verification option'))).toHaveLength(1);

    // the same code again: refused with its meaning
    const again = await portal.newPage();
    await startReset(again, upn, EN, 'Why are you having trouble signing in?');
    await stepHeading(again, 'Verification step 1 of 2');
    await again.getByLabel('Use a recovery code').check();
    await again.getByLabel('Enter one of your recovery codes').fill(alexCodes[3]!);
    await again.getByRole('button', { name: 'Verify', exact: true }).click();
    await expect.poll(() => again.getByRole('alert').innerText()).toContain('The code is not correct. Check it and try again.');
    await stepHeading(again, 'Verification step 1 of 2');
    await check(again, 'reset-methods-9-recovery-code-spent');
    expect((await auditOf(alex)).filter((e) => e === 'failure Self-service password reset flow activity progress: User failed the recovery code verification option')).toHaveLength(1);
    await again.getByRole('button', { name: 'Cancel' }).click();
    await stepHeading(again, 'Who are you?');
    await again.context().close();

    // the new password signs in, and the security info page counts the spent code
    const fresh = await portal.newPage();
    await portal.signIn(fresh, upn, NEWER);
    await fresh.goto('/account/security-info');
    await fresh.locator('tr[data-method="recovery"]').getByText('9 of 10 codes left').waitFor();
    await fresh.context().close();
  }, 120_000);

  it('in German: a wrong app code and wrong answers are German alerts; the right ones still get through', async () => {
    const upn = 'jana@contoso.test';
    const jana = await portal.createUser({ upn, password: OLD, displayName: 'Jana Becker' });
    const account = await portal.newPage({ locale: 'de-DE' });
    await portal.signIn(account, upn, OLD);
    await account.goto('/account/security-info');
    await account.getByRole('table', { name: SEC_DE.table }).waitFor();
    const secret = await registerAuthenticator(account, SEC_DE, jana, 'reset-methods-de-1-authenticator');
    const questions = await registerQuestions(account, SEC_DE, jana, ['Lindenallee', 'Bergsee im Herbst', 'Apfelstrudel'], 'reset-methods-de-2-questions');
    // the catalogue is German: the chosen questions are not the English ones
    for (const q of questions.keys()) expect(alexQuestions.has(q)).toBe(false);
    await account.getByRole('button', { name: SEC_DE.signOut }).click();
    await account.waitForURL((u) => u.pathname.startsWith('/signin'));
    await account.context().close();

    const page = await portal.newPage({ locale: 'de-DE' });
    await startReset(page, upn, DE, 'Warum können Sie sich nicht anmelden?');
    await stepHeading(page, 'Überprüfungsschritt 1 von 2');
    expect(await offered(page, 'Kontaktmethode')).toEqual(['Meine Sicherheitsfragen beantworten', 'Einen Code aus meiner Authenticator-App eingeben']);

    // a wrong app code
    await page.getByLabel('Einen Code aus meiner Authenticator-App eingeben').check();
    await page.getByLabel('Geben Sie den Code aus Ihrer Authenticator-App ein').fill(await wrongTotp(secret));
    await page.getByRole('button', { name: 'Überprüfen', exact: true }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.innerText()).toContain('Der Code ist nicht korrekt. Prüfen Sie ihn und versuchen Sie es erneut.');
    expect(await alert.innerText()).not.toContain('The code is not correct');
    // focus is back on the code field, not on the Verify button the request disabled
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('autocomplete'))).toBe('one-time-code');
    await check(page, 'reset-methods-de-3-wrong-app-code');
    await expect.poll(async () => (await auditOf(jana)).filter((e) => e.endsWith('User failed the authenticator app code verification option')).length).toBe(1);
    // the right one
    await page.getByLabel('Geben Sie den Code aus Ihrer Authenticator-App ein').fill(await totp(secret, jana));
    await page.getByRole('button', { name: 'Überprüfen', exact: true }).click();

    // wrong answers: German alert, new questions; then the right answers
    await stepHeading(page, 'Überprüfungsschritt 2 von 2');
    await page.getByLabel('Meine Sicherheitsfragen beantworten').check();
    await answerQuestions(page, questions, true); // the wizard shows the German texts the user chose
    await page.getByRole('button', { name: 'Überprüfen', exact: true }).click();
    await expect.poll(() => alert.innerText()).toContain('Mindestens eine Antwort ist nicht korrekt. Versuchen Sie es mit den neuen Fragen erneut.');
    expect(await alert.innerText()).not.toContain('One or more answers');
    await expect.poll(() => page.locator('.verify form input[type="password"]').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value).join(''))).toBe('');
    // focus is on the first of the new questions
    await expect.poll(() => page.evaluate(() => document.activeElement === document.querySelector('.verify form input[type="password"]'))).toBe(true);
    await check(page, 'reset-methods-de-4-wrong-answers');
    expect((await auditOf(jana)).filter((e) => e.endsWith('User failed the security questions option'))).toHaveLength(1);
    await answerQuestions(page, questions);
    await page.getByRole('button', { name: 'Überprüfen', exact: true }).click();

    await stepHeading(page, 'Neues Kennwort wählen');
    await check(page, 'reset-methods-de-5-password');
    await page.getByLabel('Neues Kennwort', { exact: true }).fill(NEW);
    await page.getByLabel('Neues Kennwort bestätigen').fill(NEW);
    await page.getByRole('button', { name: 'Fertig stellen', exact: true }).click();
    await stepHeading(page, 'Ihr Kennwort wurde zurückgesetzt');
    await page.context().close();
    const fresh = await portal.newPage({ locale: 'de-DE' });
    await portal.signIn(fresh, upn, NEW);
    await fresh.context().close();
  }, 150_000);
});
