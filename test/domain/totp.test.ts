import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { call, dumpRows, newUser, SI } from '../http/security-info-helpers.js';

describe.each(testDialects())('authenticator app (TOTP) on %s', (dialect) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  /** The code the app would show `steps` periods from the pinned clock. */
  const codeAt = (secret: string, steps: number) => generate({ secret, epoch: Math.floor(ctx.clock.now().getTime() / 1000) + steps * 30 });

  async function enrol(token: string) {
    const res = await call(ctx, token, 'POST', `${SI}/authenticator`);
    expect(res.statusCode).toBe(201);
    return res.json<{ secret: string; otpauthUri: string; qrCodeSvg: string }>();
  }

  it('enrols with a secret, an otpauth URI (issuer = tenant, label = UPN) and a QR code; confirms with a code; refuses replay', async () => {
    const { user, token } = await newUser(ctx);
    const e = await enrol(token);
    expect(e.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(e.otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(decodeURIComponent(uri.pathname)).toBe(`/Contoso:${user.userPrincipalName}`);
    expect(uri.searchParams.get('secret')).toBe(e.secret);
    expect(uri.searchParams.get('issuer')).toBe('Contoso');
    expect(e.qrCodeSvg).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect((await call(ctx, token, 'GET', SI)).json().authenticatorApp.registered).toBe(false);

    const code = await codeAt(e.secret, 0);
    expect((await call(ctx, token, 'POST', `${SI}/authenticator/verify`, { code })).statusCode).toBe(204);
    expect((await call(ctx, token, 'GET', SI)).json()).toMatchObject({ authenticatorApp: { registered: true }, usableMethods: ['authenticatorApp'] });
    // the same code (the same step) again is refused
    const replay = await call(ctx, token, 'POST', `${SI}/authenticator/verify`, { code });
    expect(replay.statusCode).toBe(400);
    expect(replay.json().error.code).toBe('verification.code_invalid');
    // the next step is fine once
    expect((await call(ctx, token, 'POST', `${SI}/authenticator/verify`, { code: await codeAt(e.secret, 1) })).statusCode).toBe(204);
    // the seed is sealed at rest
    expect(await dumpRows(ctx)).not.toContain(e.secret);
    const audit = await ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', '=', 'User registered security info').where('target_resources', 'like', `%${user.id}%`).execute();
    expect(audit.map((a): unknown => JSON.parse(a.additional_details))).toEqual([[{ key: 'Method', value: 'Authenticator app' }]]);
  });

  it.each<[number, number]>([
    [-1, 204],
    [1, 204],
    [-2, 400],
    [2, 400],
  ])('a code %i step(s) from now answers %i', async (steps, status) => {
    const { token } = await newUser(ctx);
    const e = await enrol(token);
    expect((await call(ctx, token, 'POST', `${SI}/authenticator/verify`, { code: await codeAt(e.secret, steps) })).statusCode).toBe(status);
  });

  it('a new enrolment replaces the confirmed app only once confirmed; DELETE removes it', async () => {
    const { user, token } = await newUser(ctx);
    const first = await enrol(token);
    await call(ctx, token, 'POST', `${SI}/authenticator/verify`, { code: await codeAt(first.secret, 0) });
    const second = await enrol(token);
    const rows = () => ctx.services.db.selectFrom('auth_software_oath_methods').selectAll().where('user_id', '=', user.id).execute();
    expect((await rows()).map((r) => r.confirmed_at !== null).sort()).toEqual([false, true]);
    ctx.clock.advance(30_000);
    expect((await call(ctx, token, 'POST', `${SI}/authenticator/verify`, { code: await codeAt(second.secret, 0) })).statusCode).toBe(204);
    expect(await rows()).toHaveLength(1);
    expect((await call(ctx, token, 'DELETE', `${SI}/authenticator`)).statusCode).toBe(204);
    expect(await rows()).toHaveLength(0);
    expect((await call(ctx, token, 'DELETE', `${SI}/authenticator`)).statusCode).toBe(404);
  });
});
