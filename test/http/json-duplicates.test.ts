import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDuplicateKey } from '../../src/lib/json-duplicates.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

describe('findDuplicateKey', () => {
  it.each([
    ['{"a":1,"b":2}', null],
    ['{"a":1,"a":2}', 'a'],
    ['{"a":{"b":1},"c":{"b":2}}', null],
    ['{"a":{"b":1,"b":2}}', 'b'],
    ['[{"a":1},{"a":1}]', null],
    ['{"a":"\\"a\\"","b":["a","a"]}', null],
    ['{"a":1,"\\u0061":2}', 'a'],
    ['{"x":[{"k":1,"y":{"k":2},"k":3}]}', 'k'],
    ['"plain"', null],
  ])('%s → %s', (text, expected) => {
    JSON.parse(text);
    expect(findDuplicateKey(text)).toBe(expected);
  });
});

describe.each(testDialects())('JSON bodies app-wide on %s', (dialect) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => ctx?.close());
  const send = (payload: string) => ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload, headers: { 'content-type': 'application/json', origin: 'http://localhost:8080' } });

  it('refuses a body naming a key twice, with a 400 naming the key', async () => {
    const res = await send('{"userPrincipalName":"admin@contoso.test","password":"a","password":"b"}');
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'request.invalid_json', details: { duplicateKey: 'password' } });
    expect(res.json().error.message).toContain("'password'");
  });

  it('still maps invalid, empty and prototype-polluting JSON to request.invalid_json, and keeps the body limit', async () => {
    expect((await send('{"a":')).json().error.code).toBe('request.invalid_json');
    expect((await send('')).json().error.code).toBe('request.invalid_json');
    expect((await send('{"__proto__":{"x":1}}')).json().error.code).toBe('request.invalid_json');
    const big = await send(JSON.stringify({ userPrincipalName: 'x'.repeat(70 * 1024), password: 'p' }));
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('request.too_large');
  });

  it('refuses NUL and unpaired surrogates in any text but a password, alike on both dialects, and writes nothing', async () => {
    const admin = await ctx.userToken('admin@contoso.test');
    const count = async () => (await ctx.services.db.selectFrom('users').select('id').execute()).length;
    const before = await count();
    const create = (displayName: string) =>
      ctx.app.inject({
        method: 'POST',
        url: '/v1.0/users',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        payload: `{"accountEnabled":true,"displayName":"${displayName}","mailNickname":"odd","userPrincipalName":"odd@contoso.test","passwordProfile":{"password":"Orig1nal-Kestrel-42"}}`,
      });
    for (const [name, why] of [['Nul\\u0000Name', /'displayName' holds a NUL/], ['Lone\\ud800Name', /'displayName' holds an unpaired UTF-16 surrogate/], ['Lone\\udc00', /unpaired/]] as const) {
      const res = await create(name);
      expect(res.statusCode, name).toBe(400);
      // Graph's error shape: Graph's code outside, Postern's inside
      expect(res.json().error, name).toMatchObject({ code: 'Request_BadRequest', innerError: { code: 'request.invalid' } });
      expect(res.json().error.message, name).toMatch(why);
    }
    expect((await send('{"userPrincipalName":"admin@contoso.test","pass\\u0000word":"x"}')).json().error.message).toMatch(/property name/);
    expect(await count()).toBe(before);
    // a pair is a character: an emoji's escapes are taken, and the user is made
    const paired = await create('Fox \\ud83e\\udd8a');
    expect(paired.statusCode, paired.body).toBe(201);
    expect(paired.json().displayName).toBe('Fox 🦊');
    // a password with NUL is left to the password policy, which names it in its own words
    const res = await send('{"userPrincipalName":"admin@contoso.test","password":"a\\u0000b"}');
    expect(res.json().error.code).not.toBe('request.invalid');
  });
});
