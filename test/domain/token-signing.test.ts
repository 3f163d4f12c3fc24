import { decodeProtectedHeader, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueUserAccessToken } from '../../src/domain/access-tokens.js';
import { TokenService, type SigningAlg } from '../../src/domain/tokens.js';
import { systemRandom, type Random } from '../../src/lib/crypto.js';
import { listPublishedKeys } from '../../src/store/signing-keys.js';
import { findUserByUpn } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

/**
 * TokenService builds the compact JWS itself (node:crypto signs): the tokens must be what jose's
 * SignJWT made from the same claims and key — the same header and claims bytes, in the same order,
 * and for RS256 (deterministic PKCS #1 v1.5) the very same token.
 */
describe.each(testDialects())('token signing on %s', (dialect) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => ctx.close());

  const fixedJti: Random = { ...systemRandom, uuid: () => '0b5c3c8e-7a61-4d55-9e0f-3f1f0c4a2b77' };
  const tokensWith = (alg: SigningAlg) =>
    new TokenService({ db: ctx.services.db, clock: ctx.clock, random: fixedJti, secretBox: ctx.services.secretBox, publicUrl: 'http://localhost:8080', accessTokenAlg: alg });

  /** jose's token from the same claims with the key the service signs with */
  async function viaJose(alg: SigningAlg, token: string, claims: Record<string, unknown> & { tid: string }, lifetime: number): Promise<string> {
    const { kid } = decodeProtectedHeader(token);
    const row = (await listPublishedKeys(ctx.services.db, ctx.clock.now().toISOString())).find((r) => r.kid === kid)!;
    const key = await importJWK(JSON.parse(ctx.services.secretBox.open(row.privateJwkSealed)) as JWK, alg);
    const now = Math.floor(ctx.clock.now().getTime() / 1000);
    return new SignJWT({ ver: '2.0', ...claims })
      .setProtectedHeader({ alg, kid: kid!, typ: 'JWT' })
      .setIssuer(`http://localhost:8080/${claims.tid}/v2.0`)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + lifetime)
      .setJti(fixedJti.uuid())
      .sign(key);
  }

  async function userClaims(): Promise<Record<string, unknown> & { tid: string }> {
    const user = (await findUserByUpn(ctx.services.db, 'admin@contoso.test'))!;
    // the claims an access token carries, as issueUserAccessToken builds them (non-ASCII name included)
    const probe = new TokenService({ db: ctx.services.db, clock: ctx.clock, random: fixedJti, secretBox: ctx.services.secretBox, publicUrl: 'http://localhost:8080' });
    const token = await issueUserAccessToken(probe, { user: { ...user, displayName: 'Zoë Ångström ✓' }, roles: ['62e90394-69f5-4237-9190-012177145e10'], clientId: 'c1', scope: 'User.Read' });
    const { ver: _ver, iss: _iss, iat: _iat, nbf: _nbf, exp: _exp, jti: _jti, ...claims } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    return claims as Record<string, unknown> & { tid: string };
  }

  it('RS256: the same token, byte for byte, as jose signs', async () => {
    const claims = await userClaims();
    const tokens = tokensWith('RS256');
    const ours = await tokens.sign(claims);
    expect(ours).toBe(await viaJose('RS256', ours, claims, 3600));
    const id = await tokens.sign({ aud: 'c1', tid: claims.tid, sub: 's' }, 600, 'id');
    expect(id).toBe(await viaJose('RS256', id, { aud: 'c1', tid: claims.tid, sub: 's' }, 600));
  });

  it('ES256: the same header and claims as jose, a P-256 signature in JWS form that jose accepts, and the service verifies it', async () => {
    const claims = await userClaims();
    const tokens = tokensWith('ES256');
    const ours = await tokens.sign(claims);
    const theirs = await viaJose('ES256', ours, claims, 3600);
    const [h, p, s] = ours.split('.');
    expect(`${h}.${p}`).toBe(theirs.split('.').slice(0, 2).join('.'));
    expect(decodeProtectedHeader(ours)).toEqual({ alg: 'ES256', kid: expect.any(String), typ: 'JWT' });
    expect(Buffer.from(s!, 'base64url')).toHaveLength(64); // r‖s, not DER
    const row = (await listPublishedKeys(ctx.services.db, ctx.clock.now().toISOString())).find((r) => r.kid === decodeProtectedHeader(ours).kid)!;
    const publicKey = await importJWK(JSON.parse(row.publicJwk) as JWK, 'ES256');
    const { payload } = await jwtVerify(ours, publicKey, { algorithms: ['ES256'], currentDate: ctx.clock.now() });
    expect(payload).toMatchObject({ ...claims, ver: '2.0', jti: fixedJti.uuid(), exp: payload.iat! + 3600 });
    expect(await tokens.verify(ours)).toMatchObject({ sub: claims.sub, tid: claims.tid });
    // a flipped signature bit is refused
    const bad = Buffer.from(s!, 'base64url');
    bad[10]! ^= 1;
    expect(await tokensWith('ES256').verify(`${h}.${p}.${bad.toString('base64url')}`)).toBeUndefined();
  });
});
