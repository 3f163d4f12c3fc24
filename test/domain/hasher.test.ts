import { describe, expect, it } from 'vitest';
import { createArgon2Hasher } from '../../src/domain/hasher.js';

describe('argon2id hasher', () => {
  const params = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
  const hasher = createArgon2Hasher(params, 2);

  it('hashes with argon2id and the configured parameters, and verifies', async () => {
    const h = await hasher.hash('pässwörd-1');
    expect(h).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(await hasher.verify(h, 'pässwörd-1')).toBe(true);
    expect(await hasher.verify(h, 'pässwörd-2')).toBe(false);
  });

  it('says a hash made with other parameters needs rehashing', async () => {
    const other = createArgon2Hasher({ ...params, timeCost: 2 }, 1);
    const old = await other.hash('x-password');
    expect(hasher.needsRehash(old)).toBe(true);
    expect(hasher.needsRehash(await hasher.hash('x-password'))).toBe(false);
  });

  it('treats a malformed stored hash as a failed verification', async () => {
    expect(await hasher.verify('not-a-hash', 'anything')).toBe(false);
  });

  it('runs many hashes concurrently through the limiter without losing any', async () => {
    const hashes = await Promise.all(Array.from({ length: 12 }, (_, i) => hasher.hash(`pw-${i}`)));
    const checks = await Promise.all(hashes.map((h, i) => hasher.verify(h, `pw-${i}`)));
    expect(checks.every(Boolean)).toBe(true);
  });
});
