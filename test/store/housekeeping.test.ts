import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepExpired } from '../../src/domain/housekeeping.js';
import { issueRefreshToken } from '../../src/domain/refresh-tokens.js';
import { createTestContext, testDialects, ADMIN_PASSWORD, type TestContext } from '../helpers/context.js';

describe.each(testDialects())('housekeeping on %s', (dialect) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => ctx.close());

  it('deletes expired sessions and refresh tokens, and nothing that is still valid', async () => {
    const signIn = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { userPrincipalName: 'admin@contoso.test', password: ADMIN_PASSWORD },
    });
    expect(signIn.statusCode).toBe(200);
    const admin = ctx.tenant.admin;
    await issueRefreshToken(ctx.services, ctx.services.db, { tenantId: admin.tenantId, userId: admin.id, clientId: 'c', scope: 'openid' });

    expect(await sweepExpired(ctx.services)).toMatchObject({ sessions: 0, refreshTokens: 0 });
    ctx.clock.advance(9 * 3600 * 1000); // past the 8 h idle session lifetime
    expect(await sweepExpired(ctx.services)).toMatchObject({ sessions: 1, refreshTokens: 0 });
    ctx.clock.advance(91 * 86_400_000); // past the 90-day refresh token lifetime
    expect(await sweepExpired(ctx.services)).toMatchObject({ sessions: 0, refreshTokens: 1 });
  });
});
