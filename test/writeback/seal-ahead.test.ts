import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { exportJWK, flattenedDecrypt, generalDecrypt, generateKeyPair, type GeneralJWE, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import type { SealedJobPayload } from '../../src/writeback/protocol.js';
import { agreeEphemeral, openJwe, publicKeyFromJwk, sealJwe } from '../../src/writeback/jwe.js';
import { agreementReady, PREPARE_AHEAD_MS, recipientJwe, sealPayload } from '../../src/writeback/seal.js';

/**
 * src/writeback/seal.ts keeps one ephemeral key agreement per recipient key made ahead of time and
 * makes the next PREPARE_AHEAD_MS after a seal. An ephemeral key (and so its KEK: for one recipient key the KEK is
 * a function of the epk) must never serve two seals, whichever path made it, and both paths must stay
 * standard JWE that the agent and jose open.
 */
const agentKey = async (kid: string) => {
  const { publicKey, privateKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
  const node: KeyObject = createPrivateKey({ key: (await exportJWK(privateKey)) as JWK & { kty: 'EC' }, format: 'jwk' });
  return { kid, privateKey, node, publicJwk: (await exportJWK(publicKey)) as Record<string, unknown> };
};
type Agent = Awaited<ReturnType<typeof agentKey>>;
const options = { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] };
let n = 0;
const payload = (): SealedJobPayload => ({
  jobId: `6f1c1b1e-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  tenantId: 'b2a0f6a3-4c35-4a4e-9d76-6f0e4f1a7c11',
  kind: 'resetPassword',
  user: { anchor: null, name: 'adele@contoso.test' },
  newPassword: `Copper-Heron-Lattice-${n}`,
  expiresAt: '2026-11-26T12:00:00.000Z',
});
/** past the refill: timers fire in the order they expire, so one set now for longer runs after it */
const nextTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, PREPARE_AHEAD_MS + 5));

/** the epk and wrapped key of each recipient, as one string each */
const recipientParts = (sealed: GeneralJWE): { epks: string[]; wrapped: string[] } => ({
  epks: sealed.recipients.map((r) => {
    const epk = r.header?.epk as { x: string; y: string };
    return `${epk.x}.${epk.y}`;
  }),
  wrapped: sealed.recipients.map((r) => r.encrypted_key!),
});

/** opens every recipient's part with the agent's own code and with jose, and checks the payload */
async function expectOpens(sealed: GeneralJWE, expected: SealedJobPayload, agents: Agent[]): Promise<void> {
  for (const agent of agents) {
    const ours = openJwe(recipientJwe(sealed, new Set([agent.kid]))!, (kid) => (kid === agent.kid ? agent.node : undefined));
    expect(JSON.parse(ours.plaintext.toString('utf8'))).toEqual(expected);
    expect(ours.aad?.toString()).toBe(expected.jobId);
    const flat = await flattenedDecrypt(recipientJwe(sealed, new Set([agent.kid]))!, agent.privateKey, options);
    expect(JSON.parse(new TextDecoder().decode(flat.plaintext))).toEqual(expected);
    const general = await generalDecrypt(sealed, agent.privateKey, options);
    expect(JSON.parse(new TextDecoder().decode(general.plaintext))).toEqual(expected);
  }
}

describe('ephemeral key agreements made ahead of time', () => {
  it('the inline and the prepared path both open with the agent (openJwe) and with jose', async () => {
    const [a, b] = [await agentKey('agent-a'), await agentKey('agent-b')];
    expect(agreementReady(a.publicJwk)).toBe(false);
    const first = payload();
    const inline = await sealPayload(first, [a]); // the first seal to a key agrees inline
    expect(agreementReady(a.publicJwk)).toBe(false); // the next one is made later, not during this turn
    await new Promise((resolve) => setImmediate(resolve));
    expect(agreementReady(a.publicJwk)).toBe(false); // nor in the next turn: still on this job's path
    await expectOpens(inline, first, [a]);
    await nextTurn();
    expect(agreementReady(a.publicJwk)).toBe(true);
    const second = payload();
    const prepared = await sealPayload(second, [a]);
    expect(agreementReady(a.publicJwk)).toBe(false); // taken
    await expectOpens(prepared, second, [a]);
    // two recipients, one prepared (a, after this turn) and one inline (b, never seen)
    await nextTurn();
    expect([agreementReady(a.publicJwk), agreementReady(b.publicJwk)]).toEqual([true, false]);
    const third = payload();
    const mixed = await sealPayload(third, [a, b]);
    await expectOpens(mixed, third, [a, b]);
    await nextTurn();
    expect([agreementReady(a.publicJwk), agreementReady(b.publicJwk)]).toEqual([true, true]);
  });

  it('never uses an ephemeral key twice: back to back, concurrently, and with a turn between', async () => {
    const [a, b] = [await agentKey('agent-a'), await agentKey('agent-b')];
    const sealed: { jwe: GeneralJWE; payload: SealedJobPayload }[] = [];
    const seal = async (): Promise<void> => {
      const p = payload();
      sealed.push({ jwe: await sealPayload(p, [a, b]), payload: p });
    };
    for (let round = 0; round < 5; round++) {
      await seal(); // prepared from round 1 on
      await seal(); // the same turn: the slot is empty, inline
      await Promise.all([seal(), seal(), seal(), seal()]); // concurrent, all in one turn
      await nextTurn();
      await seal(); // prepared
      await nextTurn();
      await nextTurn(); // a second turn must not prepare a second agreement over the first
      await seal();
      await seal();
    }
    const epks = sealed.flatMap((s) => recipientParts(s.jwe).epks);
    const wrapped = sealed.flatMap((s) => recipientParts(s.jwe).wrapped);
    expect(epks).toHaveLength(sealed.length * 2);
    expect(new Set(epks).size, 'an epk was published twice').toBe(epks.length);
    expect(new Set(wrapped).size, 'a wrapped key was published twice').toBe(wrapped.length);
    expect(new Set(sealed.map((s) => s.jwe.iv)).size).toBe(sealed.length);
    for (const s of sealed) await expectOpens(s.jwe, s.payload, [a, b]);
  });

  it('an agreement is used once, and only for its own key', () => {
    const mk = () => publicKeyFromJwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }));
    const [k1, k2] = [mk(), mk()];
    const agreement = agreeEphemeral(k1);
    expect(agreement.used).toBe(false);
    sealJwe('x', 'job', {}, [{ kid: 'k1', key: k1, agreement }]);
    expect(agreement.used).toBe(true);
    expect(() => agreement.take()).toThrow(/used once/);
    expect(() => sealJwe('y', 'job', {}, [{ kid: 'k1', key: k1, agreement }])).toThrow(/used once/);
    expect(() => sealJwe('y', 'job', {}, [{ kid: 'k2', key: k2, agreement: agreeEphemeral(k1) }])).toThrow(/another recipient key/);
  });

  it('keeps agreements for 256 keys at most, and forgets a key’s agreement with its cache entry', async () => {
    const jwk = (): Record<string, unknown> => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const first = jwk();
    await sealPayload(payload(), [{ kid: 'first', publicJwk: first }]);
    // in the same turn, 256 other keys push the first out of the cache before its agreement is made
    const others = Array.from({ length: 256 }, jwk);
    for (const [i, publicJwk] of others.entries()) await sealPayload(payload(), [{ kid: `k${i}`, publicJwk }]);
    await nextTurn();
    expect(agreementReady(first)).toBe(false);
    expect(others.filter(agreementReady)).toHaveLength(256);
    // one more key pushes out the oldest of those, with its prepared agreement
    await sealPayload(payload(), [{ kid: 'last', publicJwk: jwk() }]);
    expect(agreementReady(others[0]!)).toBe(false);
    expect(others.slice(1).filter(agreementReady)).toHaveLength(255);
  });
});
