import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import type { LightMyRequestResponse } from 'fastify';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { upsertEmailMethod, upsertPhoneMethod } from '../../src/store/auth-methods.js';
import type { User } from '../../src/store/users.js';
import type { TestContext } from '../helpers/context.js';

export const SSPR = '/api/v1/sspr';
export const OLD_PASSWORD = 'Zephyr-Marmot-Quill-47';
export const NEW_PASSWORD = 'Copper-Heron-Lattice-93';

let n = 0;

/** A user with an authentication email and mobile on file (registered straight into the store). */
export async function userWithMethods(ctx: TestContext, opts: { email?: boolean; mobile?: boolean; prefix?: string } = {}): Promise<User & { address: string; mobile: string }> {
  n += 1;
  const user = await createUser(ctx.services, systemContext(ctx.services), {
    tenantId: ctx.tenant.tenant.id,
    userPrincipalName: `${opts.prefix ?? 'reset'}${n}@contoso.test`,
    displayName: `Reset ${n}`,
    password: OLD_PASSWORD,
  });
  const at = ctx.clock.now().toISOString();
  const address = `reset${n}.private@example.test`;
  const mobile = `+1425555${String(1000 + n).slice(-4)}`;
  if (opts.email !== false) await upsertEmailMethod(ctx.services.db, { userId: user.id, address, verifiedAt: at, createdAt: at });
  if (opts.mobile !== false) await upsertPhoneMethod(ctx.services.db, { userId: user.id, phoneType: 'mobile', number: mobile, verifiedAt: at, createdAt: at });
  return { ...user, address, mobile };
}

/** Fetches a CAPTCHA and solves it as the ALTCHA widget would, answering the widget's payload. */
export async function solvedCaptcha(ctx: TestContext): Promise<string> {
  const res = await ctx.app.inject({ method: 'GET', url: `${SSPR}/captcha` });
  if (res.statusCode !== 200) throw new Error(`captcha: ${res.statusCode}`);
  const challenge = res.json<Challenge>();
  const solution = await solveChallenge({ challenge, deriveKey });
  if (!solution) throw new Error('captcha not solved');
  return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
}

export function post(ctx: TestContext, url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return ctx.app.inject({ method: 'POST', url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

export async function startFlow(ctx: TestContext, upn: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return post(ctx, `${SSPR}/flows`, { userPrincipalName: upn, captcha: await solvedCaptcha(ctx) }, headers);
}

/** The keys of a JSON value, recursively (values ignored): two responses of the same shape give the same string. */
export function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shapeOf((value as Record<string, unknown>)[k])]));
  }
  return typeof value;
}
