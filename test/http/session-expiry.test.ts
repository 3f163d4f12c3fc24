import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { updatePasswordPolicy } from '../../src/domain/policies.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { findUserByUpn, updateUser } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const PASSWORD = 'Vq7#Lantern-Orbit';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * GET /api/v1/session repeats the sign-in answer's passwordExpiresInDays (issue 8: the expiry notice
 * survives a reload). The clock is pinned; the user's password is set at the start of each case and the
 * clock moved on, so "set N days ago" is exact.
 */
describe.each(testDialects())('GET /api/v1/session and password expiry on %s', (dialect) => {
  let ctx: TestContext;
  let n = 0;
  let upn: string;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => ctx?.close());

  const setPolicy = (patch: { expiresAfterDays: number | null; notificationWindowDays?: number }) =>
    updatePasswordPolicy(ctx.services, systemContext(ctx.services), ctx.tenant.tenant.id, patch);

  beforeEach(async () => {
    await setPolicy({ expiresAfterDays: null, notificationWindowDays: 14 });
    n += 1;
    upn = `expiry${n}@contoso.test`;
    await createUser(ctx.services, systemContext(ctx.services), { tenantId: ctx.tenant.tenant.id, userPrincipalName: upn, displayName: `Expiry ${n}`, password: PASSWORD });
  });

  async function signIn(): Promise<{ res: LightMyRequestResponse; cookie: string }> {
    const res = await ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password: PASSWORD } });
    expect(res.statusCode, res.body).toBe(200);
    const c = res.cookies.find((x) => x.name === 'postern_session');
    expect(c).toBeDefined();
    return { res, cookie: `postern_session=${c!.value}` };
  }
  async function session(cookie: string): Promise<Record<string, unknown>> {
    const res = await ctx.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  }

  it('a password set 80 days ago under a 90-day policy with a 14-day window: GET says 10, like the sign-in answer', async () => {
    await setPolicy({ expiresAfterDays: 90, notificationWindowDays: 14 });
    ctx.clock.advance(80 * DAY);
    const { res, cookie } = await signIn();
    expect(res.json()).toMatchObject({ passwordExpiresInDays: 10 });
    const view = await session(cookie);
    expect(view.passwordExpiresInDays).toBe(10);
    // the rest of the view is unchanged
    expect(view).toMatchObject({ user: { userPrincipalName: upn }, csrfToken: expect.any(String) });
  });

  it('is computed at each read: a policy set after sign-in shows on the next GET, and a window that no longer covers it drops it', async () => {
    ctx.clock.advance(85 * DAY);
    const { res, cookie } = await signIn();
    expect(res.json()).not.toHaveProperty('passwordExpiresInDays');
    expect(await session(cookie)).not.toHaveProperty('passwordExpiresInDays');

    await setPolicy({ expiresAfterDays: 90, notificationWindowDays: 14 });
    expect((await session(cookie)).passwordExpiresInDays).toBe(5);

    // 5 days left, told only 3 days before: outside the window
    await setPolicy({ expiresAfterDays: 90, notificationWindowDays: 3 });
    expect(await session(cookie)).not.toHaveProperty('passwordExpiresInDays');

    await setPolicy({ expiresAfterDays: 90, notificationWindowDays: 7 });
    expect((await session(cookie)).passwordExpiresInDays).toBe(5);
  });

  it('outside the window, under a policy without expiry, or for a user exempt from expiry: absent; the window is entered during a session', async () => {
    await setPolicy({ expiresAfterDays: 90, notificationWindowDays: 14 });
    // 14 days and 4 hours left: 15 whole days, outside the 14-day window
    ctx.clock.advance(75 * DAY + 20 * HOUR);
    const { res, cookie } = await signIn();
    expect(res.json()).not.toHaveProperty('passwordExpiresInDays');
    expect(await session(cookie)).not.toHaveProperty('passwordExpiresInDays');

    // five hours on (the session has not idled out): 13 days 23 hours left, counted as 14
    ctx.clock.advance(5 * HOUR);
    expect((await session(cookie)).passwordExpiresInDays).toBe(14);

    const u = (await findUserByUpn(ctx.services.db, upn))!;
    await updateUser(ctx.services.db, u.tenantId, u.id, { passwordPolicies: 'DisablePasswordExpiration' }, ctx.clock.now().toISOString());
    expect(await session(cookie)).not.toHaveProperty('passwordExpiresInDays');
    await updateUser(ctx.services.db, u.tenantId, u.id, { passwordPolicies: null }, ctx.clock.now().toISOString());
    expect((await session(cookie)).passwordExpiresInDays).toBe(14);

    await setPolicy({ expiresAfterDays: null });
    expect(await session(cookie)).not.toHaveProperty('passwordExpiresInDays');
  });
});
