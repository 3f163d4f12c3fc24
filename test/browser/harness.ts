import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { createOutboxWorker, type OutboxWorker } from '../../src/delivery/outbox-worker.js';
import { issueAppAccessToken } from '../../src/domain/access-tokens.js';
import { createApplication } from '../../src/domain/applications.js';
import { assignRole } from '../../src/domain/role-assignments.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { createApp } from '../../src/http/app.js';
import { createServices, type Services } from '../../src/services.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import type { User } from '../../src/store/users.js';
import { ADMIN_PASSWORD, createTestDatabase, testConfig, type TestDatabase } from '../helpers/context.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { REPO_ROOT, freePort } from '../helpers/spawn-server.js';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';

/**
 * The portals in a real browser: Debian's Chromium driven by playwright-core against a Postern on a
 * real socket (SQLite, the real clock), with a real SMTP sink and an SMS/voice webhook sink that the
 * outbox delivers to. The web is built once per content of web/ (a hash names the folder in the temp
 * directory), so the suites share one build and a change to web/ rebuilds.
 */

const CHROMIUM_CANDIDATES = [process.env.POSTERN_TEST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);

export function chromiumPath(): string | null {
  return CHROMIUM_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** True when the browser suites can run; under POSTERN_REQUIRE_SERVICES=1 a missing Chromium is an error. */
export function chromiumAvailable(): boolean {
  if (chromiumPath()) return true;
  if (process.env.POSTERN_REQUIRE_SERVICES === '1') throw new Error('POSTERN_REQUIRE_SERVICES=1 but Chromium is not installed (apt-get install chromium)');
  console.error('browser tests skipped: Chromium is not installed (apt-get install chromium, or set POSTERN_TEST_CHROMIUM)');
  return false;
}

/** Where screenshots go; printed by the global teardown and by close(). */
export const SCREENSHOT_DIR = process.env.POSTERN_SCREENSHOT_DIR ?? join(REPO_ROOT, 'test-results', 'screenshots');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Builds web/ once per content; concurrent suites wait for the one that builds. */
export function builtWebDir(): string {
  const web = join(REPO_ROOT, 'web');
  const hash = createHash('sha256');
  for (const f of filesUnder(web).sort()) hash.update(relative(web, f)).update(readFileSync(f));
  hash.update(readFileSync(join(REPO_ROOT, 'package-lock.json')));
  const out = join(process.env.TMPDIR ?? '/tmp', `postern-web-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(out, 'index.html'))) return out;
  const lock = `${out}.lock`;
  let mine = false;
  try {
    mkdirSync(lock);
    mine = true;
  } catch {
    // another suite builds it; a lock older than 5 minutes is a dead builder's
    if (Date.now() - statSync(lock).mtimeMs > 300_000) {
      rmSync(lock, { recursive: true, force: true });
      return builtWebDir();
    }
  }
  if (mine) {
    const tmp = `${out}.tmp-${process.pid}`;
    try {
      const vite = join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js'); // not in vite's package exports
      execFileSync(process.execPath, [vite, 'build', '--config', join(web, 'vite.config.ts'), '--logLevel', 'warn'], { cwd: REPO_ROOT, env: { ...process.env, WEB_OUT_DIR: tmp }, stdio: ['ignore', 'ignore', 'inherit'] });
      renameSync(tmp, out);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
      rmSync(lock, { recursive: true, force: true });
    }
    return out;
  }
  const deadline = Date.now() + 300_000;
  while (!existsSync(join(out, 'index.html'))) {
    if (Date.now() > deadline) throw new Error(`waited 5 minutes for another suite to build ${out}`);
    execFileSync('sleep', ['0.5']);
  }
  return out;
}

export interface NewTestUser {
  upn: string;
  password: string;
  displayName?: string;
  /** role template ids (src/domain/roles.ts ROLE) */
  roles?: string[];
  mobilePhone?: string;
  otherMails?: string[];
  forceChangePasswordNextSignIn?: boolean;
}

export interface PageOptions {
  /** e.g. 'de-DE' (sets navigator.languages and Accept-Language) */
  locale?: string;
}

export interface Portal {
  baseUrl: string;
  services: Services;
  app: FastifyInstance;
  tenant: { id: string; domain: string; adminUpn: string; adminPassword: string };
  smtp: SmtpSink;
  sms: WebhookSink;
  browser: Browser;
  /** a client-credentials token for Graph calls from the test (application permissions) */
  appToken(permissions: string[]): Promise<string>;
  createUser(u: NewTestUser): Promise<User>;
  newPage(options?: PageOptions): Promise<Page>;
  /** through the sign-in page: fills autocomplete=username / current-password, submits, waits to leave /signin */
  signIn(page: Page, upn: string, password: string): Promise<void>;
  /** axe-core on the page as it is now (serious and critical violations fail), plus any CSP violation seen on the page */
  checkA11y(page: Page, name: string): Promise<void>;
  screenshot(page: Page, name: string): Promise<string>;
  /** checkA11y then screenshot, under one name: what each page of a journey gets */
  check(page: Page, name: string): Promise<void>;
  /** CSP violations the browser reported on this page so far */
  cspViolations(page: Page): string[];
  close(): Promise<void>;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export async function startPortal(): Promise<Portal> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('Chromium is not installed: guard the suite with chromiumAvailable()');
  const webDir = builtWebDir();
  const smtp = await startSmtpSink();
  const sms = await startWebhookSink();
  let database: TestDatabase | undefined;
  let app: FastifyInstance | undefined;
  let services: Services | undefined;
  let outbox: OutboxWorker | undefined;
  let browser: Browser | undefined;
  try {
    database = await createTestDatabase('sqlite');
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    services = createServices(testConfig(database.url, { PUBLIC_URL: baseUrl, SMTP_URL: smtp.url, MAIL_FROM: 'Postern <no-reply@contoso.test>', SMS_WEBHOOK_URL: `${sms.url}/sms`, VOICE_WEBHOOK_URL: `${sms.url}/voice`, WEB_DIR: webDir }));
    await migrateToLatest(services.db);
    const created = await createTenant(services, systemContext(services), { name: 'Contoso', domain: 'contoso.test', adminUpn: 'admin@contoso.test', adminPassword: ADMIN_PASSWORD });
    app = await createApp(services, { logger: false });
    await app.listen({ port, host: '127.0.0.1' });
    outbox = createOutboxWorker(services, { mailer: services.mailer, sms: services.sms, voice: services.voice });
    outbox.start(100);
    browser = await chromium.launch({ executablePath, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const svc = services;
    const tenantId = created.tenant.id;
    const csp = new WeakMap<Page, string[]>();
    const portal: Portal = {
      baseUrl,
      services: svc,
      app,
      tenant: { id: tenantId, domain: 'contoso.test', adminUpn: 'admin@contoso.test', adminPassword: ADMIN_PASSWORD },
      smtp,
      sms,
      browser,
      appToken: async (permissions) => {
        const { application } = await createApplication(svc, systemContext(svc), { tenantId, name: `browser test ${permissions.join(' ')}`, permissions });
        return issueAppAccessToken(svc.tokens, application);
      },
      createUser: async (u) => {
        const ctx = systemContext(svc);
        const user = await createUser(svc, ctx, {
          tenantId,
          userPrincipalName: u.upn,
          displayName: u.displayName ?? u.upn.split('@')[0]!,
          password: u.password,
          forceChangePasswordNextSignIn: u.forceChangePasswordNextSignIn ?? false,
          ...(u.mobilePhone ? { mobilePhone: u.mobilePhone } : {}),
          ...(u.otherMails ? { otherMails: u.otherMails } : {}),
        });
        for (const role of u.roles ?? []) await assignRole(svc, ctx, { tenantId, principalId: user.id, roleDefinitionId: role, directoryScopeId: '/' });
        return user;
      },
      newPage: async (options = {}) => {
        const context = await browser!.newContext({ baseURL: baseUrl, ...(options.locale ? { locale: options.locale } : { locale: 'en-US' }) });
        const page = await context.newPage();
        const seen: string[] = [];
        csp.set(page, seen);
        page.on('console', (m) => {
          if (m.type() === 'error' && /Content Security Policy|Refused to (load|execute|apply)/i.test(m.text())) seen.push(m.text());
        });
        return page;
      },
      signIn: async (page, upn, password) => {
        await page.goto('/signin');
        await page.locator('input[autocomplete="username"]').fill(upn);
        await page.locator('input[autocomplete="current-password"]').fill(password);
        await page.locator('form button[type="submit"]').first().click();
        await page.waitForURL((url) => !url.pathname.startsWith('/signin'), { timeout: 15_000 });
      },
      checkA11y: async (page, name) => {
        await page.evaluate(axeSource);
        const result = await page.evaluate(async () => {
          const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
          const r = await axe.run((globalThis as unknown as { document: unknown }).document, { resultTypes: ['violations'] });
          return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)) }));
        });
        const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        const cspSeen = csp.get(page) ?? [];
        if (bad.length > 0 || cspSeen.length > 0) {
          const lines = [...bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.targets.join(', ')}`), ...cspSeen.map((c) => `CSP: ${c}`)];
          throw new Error(`accessibility / CSP problems on "${name}" (${page.url()}):\n  ${lines.join('\n  ')}`);
        }
      },
      screenshot: async (page, name) => {
        const file = join(SCREENSHOT_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
        await page.screenshot({ path: file, fullPage: true });
        return file;
      },
      check: async (page, name) => {
        await portal.checkA11y(page, name);
        await portal.screenshot(page, name);
      },
      cspViolations: (page) => [...(csp.get(page) ?? [])],
      close: async () => {
        await browser?.close();
        await outbox?.stop();
        await app?.close();
        await services?.close();
        await database?.drop();
        await smtp.close();
        await sms.close();
        console.log(`browser screenshots: ${SCREENSHOT_DIR}`);
      },
    };
    return portal;
  } catch (err) {
    await browser?.close().catch(() => undefined);
    await outbox?.stop().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await services?.close().catch(() => undefined);
    await database?.drop().catch(() => undefined);
    await smtp.close();
    await sms.close();
    throw err;
  }
}

/**
 * After a reset: the old password is refused on the sign-in page (with the page's "incorrect" alert)
 * and the new one signs in to /account. Throws naming what went wrong.
 */
export async function expectOnlyNewPassword(portal: Portal, upn: string, oldPassword: string, newPassword: string): Promise<void> {
  const old = await portal.newPage();
  try {
    await old.goto('/signin');
    await old.locator('input[autocomplete="username"]').fill(upn);
    await old.locator('input[autocomplete="current-password"]').fill(oldPassword);
    await old.getByRole('button', { name: 'Sign in' }).click();
    const alert = old.getByRole('alert');
    await alert.filter({ hasText: 'Your account or password is incorrect.' }).waitFor({ timeout: 15_000 });
  } finally {
    await old.context().close();
  }
  const fresh = await portal.newPage();
  try {
    await portal.signIn(fresh, upn, newPassword);
    const path = new URL(fresh.url()).pathname;
    if (!path.startsWith('/account')) throw new Error(`signing in with the new password of ${upn} ended on ${path}, not /account`);
  } finally {
    await fresh.context().close();
  }
}
