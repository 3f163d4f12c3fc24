import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hintsOf } from '../../src/domain/password-hints.js';
import { errorCodes } from '../../src/errors.js';
import { buildBannedTermIndex } from '../../src/domain/banned-passwords.js';
import { checkPasswordPolicy, DEFAULT_PASSWORD_POLICY, type PolicyForCheck } from '../../src/domain/password-policy.js';
import { updatePasswordPolicy } from '../../src/domain/policies.js';
import { systemContext } from '../../src/domain/tenants.js';
import { clientViolations, hintChecklist, type PasswordHints } from '../../web/src/lib/password-hints.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

/**
 * The pages' live password hints must agree with the server: the client module (web/src/lib/
 * password-hints.ts, run here in node) and checkPasswordPolicy give the same violations for the
 * same policy and password, for every rule the client can know (the banned lists and names are the
 * server's alone, so the server runs here with an empty banned list and no names).
 */

const POLICIES: PolicyForCheck[] = [
  { ...DEFAULT_PASSWORD_POLICY },
  { ...DEFAULT_PASSWORD_POLICY, minLength: 12 },
  { ...DEFAULT_PASSWORD_POLICY, minLength: 8, maxLength: 16 },
  { ...DEFAULT_PASSWORD_POLICY, profile: 'nist', minLength: 15 },
  { ...DEFAULT_PASSWORD_POLICY, profile: 'nist', minLength: 20, maxLength: 64 },
  // a minimum below the profile's floor: the floor wins on both sides
  { ...DEFAULT_PASSWORD_POLICY, profile: 'nist', minLength: 8 },
];

const SAMPLES: string[] = [
  '',
  'a',
  'short1!',
  'abcdefgh',
  'abcdefg1',
  'Abcdefg1',
  'ABCDEFG1',
  'abcdefg!',
  'Abcdefgh',
  'abc defg1',
  'Pässwort-123',
  'Passwort 123 ',
  'Zephyr-Marmot-Quill-47',
  'correct horse battery staple',
  'correcthorsebatterystaple',
  'ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰ', // full-width: 16 code points, NFKC keeps 16
  'ﬃﬃﬃﬃﬃﬃﬃﬃ', // ligatures: 8 code points, NFKC makes 24
  '😀😀😀😀😀😀😀😀Aa1', // astral: 11 code points, 19 UTF-16 units
  'bad\u0000nul-Byte1',
  'lone\uD800surrogate-A1',
  'x'.repeat(15),
  'Aa1!'.repeat(4),
  'Aa1!'.repeat(4) + 'x',
  'Aa1!'.repeat(64),
  'Aa1!'.repeat(64) + 'B',
  'a'.repeat(513),
  '😀'.repeat(256),
  '😀'.repeat(257),
  'tab\there-A1x',
  'Ünïcödé-Wörds-1',
  '~`"();<>Aa',
  '[]{}|\\:\',.?/',
];

const noBanned = { globalTerms: buildBannedTermIndex([]) };

describe('password hints: client rules = server rules', () => {
  for (const policy of POLICIES) {
    const hints = hintsOf({ ...DEFAULT_PASSWORD_POLICY, ...policy }) as PasswordHints;
    it(`${policy.profile} min ${policy.minLength} max ${policy.maxLength}`, () => {
      for (const sample of SAMPLES) {
        const server = checkPasswordPolicy(policy, sample, {}, noBanned).map((v) => v.code);
        expect({ sample, codes: clientViolations(hints, sample) }).toEqual({ sample, codes: server });
      }
    });
  }

  it('the checklist is all met exactly when the client finds no violation', () => {
    for (const policy of POLICIES) {
      const hints = hintsOf({ ...DEFAULT_PASSWORD_POLICY, ...policy }) as PasswordHints;
      for (const sample of SAMPLES) {
        const allMet = hintChecklist(hints, sample).every((c) => c.met);
        expect({ sample, allMet }).toEqual({ sample, allMet: clientViolations(hints, sample).length === 0 });
      }
    }
  });
});

describe.each(testDialects())('GET /api/v1/password-policy/hints on %s', (dialect) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const get = (url: string) => ctx.app.inject({ method: 'GET', url });

  it('answers without sign-in with the tenant policy, by domain or id, and names no secret', async () => {
    await updatePasswordPolicy(ctx.services, systemContext(ctx.services), ctx.tenant.tenant.id, { profile: 'nist', minLength: 18, historyCount: 5, customBannedPasswords: ['contosoSecret'] });
    for (const key of ['contoso.test', ctx.tenant.tenant.id]) {
      const res = await get(`/api/v1/password-policy/hints?tenant=${encodeURIComponent(key)}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        profile: 'nist',
        minLength: 18,
        maxLength: 256,
        requiredClasses: 0,
        classes: ['lower', 'upper', 'digit', 'symbol'],
        allowedCharacters: 'any',
        historyCount: 5,
        bannedListChecked: true,
      });
      expect(res.body).not.toContain('contosoSecret');
      expect(res.body).not.toContain('lockout');
    }
    await updatePasswordPolicy(ctx.services, systemContext(ctx.services), ctx.tenant.tenant.id, { profile: 'azure', minLength: 10 });
    const azure = (await get('/api/v1/password-policy/hints?tenant=CONTOSO.TEST')).json();
    expect(azure).toMatchObject({ profile: 'azure', minLength: 10, requiredClasses: 3, allowedCharacters: 'azure' });
  });

  it('gives the defaults without a tenant (or a blank one), and tenant.not_found for an unknown one', async () => {
    for (const url of ['/api/v1/password-policy/hints', '/api/v1/password-policy/hints?tenant=', '/api/v1/password-policy/hints?tenant=%20']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.json()).toMatchObject({ profile: 'azure', minLength: 8, maxLength: 256, requiredClasses: 3 });
    }
    for (const key of ['nowhere.test', '00000000-0000-4000-8000-000000000000', 'x'.repeat(300)]) {
      const unknown = await get(`/api/v1/password-policy/hints?tenant=${key}`);
      expect(unknown.statusCode, key).toBe(errorCodes['tenant.not_found'].status);
      expect(unknown.json().error.code).toBe('tenant.not_found');
    }
    expect((await get('/api/v1/password-policy/hints?tenant=x&other=1')).statusCode).toBe(400);
  });
});
