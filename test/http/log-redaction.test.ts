import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { redactUrl } from '../../src/http/log-redaction.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

describe('request logs', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext('sqlite');
  });
  afterAll(async () => ctx.close());

  it.each([
    ['/api/v1/sspr/flows/SECRETtoken_123/verifications', '/api/v1/sspr/flows/[redacted]/verifications'],
    ['/api/v1/sspr/flows/SECRETtoken_123', '/api/v1/sspr/flows/[redacted]'],
    ['/api/v1/sspr/flows/SECRETtoken_123?x=1', '/api/v1/sspr/flows/[redacted]?x=1'],
    ['/api/v1/sspr/flows', '/api/v1/sspr/flows'],
    ['/v1.0/users/alice@contoso.test', '/v1.0/users/alice@contoso.test'],
  ])('redacts %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('never write an SSPR flow id, a bearer token or a cookie', async () => {
    const lines: string[] = [];
    const app = await createApp(ctx.services, { logLevel: 'info', logStream: { write: (line) => lines.push(line) } });
    try {
      const flowId = 'FlowTokenThatMustNotBeLogged0123456789abcdef';
      const res = await app.inject({
        method: 'POST',
        url: `/api/v1/sspr/flows/${flowId}/unlock`,
        payload: {},
        headers: { authorization: 'Bearer TokenThatMustNotBeLogged', cookie: 'postern_session=CookieThatMustNotBeLogged' },
      });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      const log = lines.join('');
      expect(log).toContain('/api/v1/sspr/flows/[redacted]/unlock');
      expect(log).not.toContain(flowId);
      expect(log).not.toContain('TokenThatMustNotBeLogged');
      expect(log).not.toContain('CookieThatMustNotBeLogged');
    } finally {
      await app.close();
    }
  });

  it('keeps headers out of any req or res a line carries: the serializers are the redaction', async () => {
    const lines: string[] = [];
    const app = await createApp(ctx.services, { logLevel: 'info', logStream: { write: (line) => lines.push(line) } });
    try {
      // what a careless log call could hand pino: raw objects with their headers
      app.log.info(
        {
          req: { method: 'GET', url: '/v1.0/me', headers: { authorization: 'Bearer TokenThatMustNotBeLogged', cookie: 'postern_session=CookieThatMustNotBeLogged' } },
          res: { statusCode: 200, headers: { 'set-cookie': 'postern_session=SetCookieThatMustNotBeLogged' } },
        },
        'a careless line',
      );
      const [entry] = lines.map((l) => JSON.parse(l) as { msg: string; req: Record<string, unknown>; res: Record<string, unknown> }).filter((e) => e.msg === 'a careless line');
      expect(entry?.req).toMatchObject({ method: 'GET', url: '/v1.0/me' });
      expect(entry?.res).toEqual({ statusCode: 200 });
      const log = lines.join('');
      for (const secret of ['TokenThatMustNotBeLogged', 'CookieThatMustNotBeLogged', 'SetCookieThatMustNotBeLogged', 'headers']) expect(log).not.toContain(secret);
    } finally {
      await app.close();
    }
  });

  it('writes one line per request, when it is answered, with its status and time', async () => {
    const lines: string[] = [];
    const app = await createApp(ctx.services, { logLevel: 'info', logStream: { write: (line) => lines.push(line) } });
    try {
      const res = await app.inject({ method: 'GET', url: '/v1.0/users?$top=1' });
      expect(res.statusCode).toBe(401);
      const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e['reqId'] === res.headers['request-id']);
      expect(entries).toHaveLength(1);
      const [entry] = entries as [{ msg: string; req: { method: string; url: string }; res: { statusCode: number }; responseTime: number }];
      expect(entry.msg).toBe('request completed');
      expect(entry.req).toMatchObject({ method: 'GET', url: '/v1.0/users?$top=1' });
      expect(entry.res.statusCode).toBe(401);
      expect(entry.responseTime).toBeGreaterThanOrEqual(0);
    } finally {
      await app.close();
    }
  });
});
