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
});
