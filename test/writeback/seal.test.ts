import { createPrivateKey, type KeyObject } from 'node:crypto';
import { exportJWK, flattenedDecrypt, FlattenedEncrypt, generalDecrypt, GeneralEncrypt, generateKeyPair, type FlattenedJWE, type GeneralJWE, type JWK } from 'jose';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SealedJobPayload } from '../../src/writeback/protocol.js';
import { openJwe } from '../../src/writeback/jwe.js';
import { recipientJwe, sealPayload } from '../../src/writeback/seal.js';

/**
 * src/writeback/seal.ts writes the JWE with node:crypto; the agent opens it with jose. Every sealed
 * job must open there, for each of its recipients, and nothing that was changed may.
 */
const agentKey = async (kid: string) => {
  const { publicKey, privateKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
  const node: KeyObject = createPrivateKey({ key: (await exportJWK(privateKey)) as JWK & { kty: 'EC' }, format: 'jwk' });
  return { kid, privateKey, node, publicKey, publicJwk: (await exportJWK(publicKey)) as Record<string, unknown> };
};
const options = { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] };
const payloadOf = (jobId: string, newPassword: string): SealedJobPayload => ({
  jobId,
  tenantId: 'b2a0f6a3-4c35-4a4e-9d76-6f0e4f1a7c11',
  kind: 'resetPassword',
  user: { anchor: null, name: 'adele@contoso.test' },
  newPassword,
  expiresAt: '2026-11-26T12:00:00.000Z',
});

describe('sealing writeback jobs', () => {
  it('opens with jose for each recipient, flattened and general, with the job id as the AAD', async () => {
    const [a, b] = [await agentKey('agent-a'), await agentKey('agent-b')];
    const payload = payloadOf('6f1c1b1e-0000-4000-8000-000000000001', 'Copper-Heron-Lattice-93');
    const sealed = await sealPayload(payload, [a, b]);
    expect(sealed.recipients).toHaveLength(2);
    for (const agent of [a, b]) {
      const flat = recipientJwe(sealed, new Set([agent.kid]))!;
      const opened = await flattenedDecrypt(flat, agent.privateKey, options);
      expect(JSON.parse(new TextDecoder().decode(opened.plaintext))).toEqual(payload);
      expect(new TextDecoder().decode(opened.additionalAuthenticatedData)).toBe(payload.jobId);
      expect(opened.protectedHeader).toEqual({ enc: 'A256GCM', cty: 'postern-writeback-job+json' });
      expect(opened.unprotectedHeader).toMatchObject({ alg: 'ECDH-ES+A256KW', kid: agent.kid, epk: { kty: 'EC', crv: 'P-256' } });
      const general = await generalDecrypt(sealed, agent.privateKey, options);
      expect(JSON.parse(new TextDecoder().decode(general.plaintext))).toEqual(payload);
    }
    // one agent cannot open the other's recipient
    await expect(flattenedDecrypt(recipientJwe(sealed, new Set(['agent-a']))!, b.privateKey, options)).rejects.toThrow();
  });

  it('round-trips any payload text, and never seals the same way twice', async () => {
    const agent = await agentKey('agent');
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.uuid(), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 256 }), async (jobId, password) => {
        const payload = payloadOf(jobId, password);
        const sealed = await sealPayload(payload, [agent]);
        for (const part of [sealed.iv!, sealed.ciphertext, sealed.recipients[0]!.encrypted_key!]) {
          expect(seen.has(part)).toBe(false);
          seen.add(part);
        }
        const opened = await flattenedDecrypt(recipientJwe(sealed, new Set(['agent']))!, agent.privateKey, options);
        expect(JSON.parse(new TextDecoder().decode(opened.plaintext))).toEqual(payload);
      }),
      { numRuns: 100 },
    );
  });

  it('does not open once any part was changed', async () => {
    const agent = await agentKey('agent');
    const flat = recipientJwe(await sealPayload(payloadOf('6f1c1b1e-0000-4000-8000-000000000002', 'Copper-Heron-Lattice-93'), [agent]), new Set(['agent']))!;
    const flip = (text: string): string => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[bytes.length >> 1]! ^= 0x01;
      return bytes.toString('base64url');
    };
    const header = flat.header as { epk: { x: string } };
    const variants: FlattenedJWE[] = [
      { ...flat, ciphertext: flip(flat.ciphertext) },
      { ...flat, tag: flip(flat.tag!) },
      { ...flat, iv: flip(flat.iv!) },
      { ...flat, encrypted_key: flip(flat.encrypted_key!) },
      { ...flat, aad: Buffer.from('6f1c1b1e-0000-4000-8000-000000000003').toString('base64url') },
      { ...flat, protected: Buffer.from(JSON.stringify({ enc: 'A256GCM', cty: 'other' })).toString('base64url') },
      { ...flat, header: { ...flat.header, epk: { ...header.epk, x: flip(header.epk.x) } } },
    ];
    for (const variant of variants) await expect(flattenedDecrypt(variant, agent.privateKey, options)).rejects.toThrow();
  });

  it('refuses agent keys that are not public P-256 EC keys', async () => {
    const payload = payloadOf('6f1c1b1e-0000-4000-8000-000000000004', 'Copper-Heron-Lattice-93');
    const rsa = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    const p384 = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-384', extractable: true });
    const p256 = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
    for (const jwk of [await exportJWK(rsa.publicKey), await exportJWK(p384.publicKey), await exportJWK(p256.privateKey)]) {
      await expect(sealPayload(payload, [{ kid: 'k', publicJwk: jwk }])).rejects.toThrow(/P-256/);
    }
    const sealed: GeneralJWE = await sealPayload(payload, [{ kid: 'k', publicJwk: await exportJWK(p256.publicKey) }]);
    expect(sealed.recipients).toHaveLength(1);
    await expect(sealPayload(payload, [])).rejects.toThrow(/no recipient/);
  });

  it('the agent side (openJwe) opens what it seals and what jose seals, by kid, for either serialisation', async () => {
    const [a, b] = [await agentKey('agent-a'), await agentKey('agent-b')];
    const payload = payloadOf('6f1c1b1e-0000-4000-8000-000000000005', 'Zoë-Ünicode-Pass-1');
    const keyFor = (kid: string | undefined) => (kid === 'agent-a' ? a.node : kid === 'agent-b' ? b.node : undefined);
    const ours = await sealPayload(payload, [a, b]);
    const text = (r: { plaintext: Buffer }) => JSON.parse(r.plaintext.toString('utf8')) as unknown;
    expect(text(openJwe(ours, keyFor))).toEqual(payload);
    expect(text(openJwe(recipientJwe(ours, new Set(['agent-b']))!, keyFor))).toEqual(payload);
    expect(openJwe(ours, keyFor).aad?.toString()).toBe(payload.jobId);
    // what an older Postern sealed with jose (Web Crypto) opens too
    const general = new GeneralEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ enc: 'A256GCM', cty: 'postern-writeback-job+json' })
      .setAdditionalAuthenticatedData(new TextEncoder().encode(payload.jobId));
    general.addRecipient(a.publicKey).setUnprotectedHeader({ alg: 'ECDH-ES+A256KW', kid: 'agent-a' });
    general.addRecipient(b.publicKey).setUnprotectedHeader({ alg: 'ECDH-ES+A256KW', kid: 'agent-b' });
    const byJose = await general.encrypt();
    expect(text(openJwe(byJose, (kid) => (kid === 'agent-b' ? b.node : undefined)))).toEqual(payload);
    // with PartyUInfo / PartyVInfo, which Postern does not set but the profile allows
    const flat = await new FlattenedEncrypt(new TextEncoder().encode('hello'))
      .setProtectedHeader({ enc: 'A256GCM' })
      .setUnprotectedHeader({ alg: 'ECDH-ES+A256KW', kid: 'agent-a' })
      .setKeyManagementParameters({ apu: new TextEncoder().encode('Postern'), apv: new TextEncoder().encode('agent') })
      .encrypt(a.publicKey);
    expect(openJwe(flat, keyFor).plaintext.toString()).toBe('hello');
    // no key for any recipient
    expect(() => openJwe(ours, () => undefined)).toThrow(/no recipient/);
    // the wrong key under the right kid
    expect(() => openJwe(recipientJwe(ours, new Set(['agent-a']))!, () => b.node)).toThrow();
  });

  it('the agent side refuses other algorithms, critical or repeated parameters and any changed byte', async () => {
    const a = await agentKey('agent-a');
    const keyFor = () => a.node;
    const flat = recipientJwe(await sealPayload(payloadOf('6f1c1b1e-0000-4000-8000-000000000006', 'Copper-Heron-Lattice-93'), [a]), new Set(['agent-a']))!;
    expect(openJwe(flat, keyFor).plaintext.length).toBeGreaterThan(0);
    const flip = (text: string): string => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[bytes.length >> 1]! ^= 0x01;
      return bytes.toString('base64url');
    };
    const header = flat.header as { epk: { x: string; y: string } };
    const protectedWith = (extra: Record<string, unknown>) => Buffer.from(JSON.stringify({ cty: 'postern-writeback-job+json', enc: 'A256GCM', ...extra })).toString('base64url');
    const variants: [string, FlattenedJWE][] = [
      ['ciphertext', { ...flat, ciphertext: flip(flat.ciphertext) }],
      ['tag', { ...flat, tag: flip(flat.tag!) }],
      ['iv', { ...flat, iv: flip(flat.iv!) }],
      ['encrypted key', { ...flat, encrypted_key: flip(flat.encrypted_key!) }],
      ['aad', { ...flat, aad: Buffer.from('another job').toString('base64url') }],
      ['no aad', { ...flat, aad: undefined }],
      ['epk', { ...flat, header: { ...flat.header, epk: { ...header.epk, x: flip(header.epk.x) } } }],
      ['epk off the curve', { ...flat, header: { ...flat.header, epk: { ...header.epk, y: header.epk.x } } }],
      ['alg', { ...flat, header: { ...flat.header, alg: 'ECDH-ES' } }],
      ['enc', { ...flat, protected: protectedWith({ enc: 'A128GCM' }) }],
      ['crit', { ...flat, protected: protectedWith({ crit: ['exp'], exp: 1 }) }],
      ['zip', { ...flat, protected: protectedWith({ zip: 'DEF' }) }],
      ['kid twice', { ...flat, unprotected: { kid: 'agent-a' } }],
      ['not base64url', { ...flat, ciphertext: `${flat.ciphertext}*` }],
    ];
    for (const [what, variant] of variants) expect(() => openJwe(variant, keyFor), what).toThrow();
  });
});

