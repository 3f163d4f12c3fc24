import { afterAll, describe, expect, it } from 'vitest';
import { createCryptPool } from '../../src/domain/crypt-pool.js';
import { createArgon2Hasher } from '../../src/domain/hasher.js';
import { shaCrypt, verifyCrypt } from '../../src/domain/ldap-hashes-crypt.js';
import { verifyLdapHash } from '../../src/domain/ldap-hashes.js';

const HW = 'Hello world!';

/** slappasswd and glibc output (the same vectors as ldap-hashes.test.ts), without the {CRYPT} prefix */
const VECTORS = [
  ['sha512', '$6$4XjWyOEGOSpqTzEE$.O0oxj3hSR2qrG7CbZp6VyZnPrrT4LZkooKMOYULcOjomQF45SyloVE3RFawH7ZuRxgwYxBqNNXotPGSwXs.I/'],
  ['sha256', '$5$3uOSnizuMUHsusTi$U1GUBZopCesUK0/B7/CnxxMqfaXdbSa7psOc9YOj.q3'],
  ['md5', '$1$tZMJwjvt$KmRyCLvXmjLuQBdceNq1o0'],
  ['sha512 rounds=10000 (Drepper)', '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.'],
] as const;

const MALFORMED = [
  '', '$6$', '$6$salt', '$6$salt$', '$6$rounds=999999999$salt$abc', '$6$rounds=abc$salt$x', '$5$\u0000$\u0000', '$1$', '$2y$10$abcdefghijklmnopqrstuu',
  'abJnggxhB/yWI', '$6$4XjWyOEGOSpqTzEE$.O0oxj3hSR2qrG7CbZp6VyZnPrrT4LZkooKMOYULcOjomQF45SyloVE3RFawH7ZuRxgwYxBqNNXotPGSwXs.I',
];

describe('{CRYPT} verification in the worker pool', () => {
  const pool = createCryptPool(2);
  afterAll(() => pool.close());

  it.each(VECTORS)('%s: the right password verifies through a worker, a near miss does not', async (_name, value) => {
    expect(await pool.verify(value, HW)).toBe(true);
    expect(await pool.verify(value, `${HW} `)).toBe(false);
    expect(await pool.verify(value, '')).toBe(false);
    // the synchronous function stays for tests and tools and agrees with the worker
    expect(verifyCrypt(value, HW)).toBe(true);
  });

  it('a malformed value is false, never a rejection, and the pool keeps answering after it', async () => {
    for (const value of MALFORMED) await expect(pool.verify(value, HW), value).resolves.toBe(false);
    await expect(pool.verify(VECTORS[0][1], HW)).resolves.toBe(true);
  });

  it('twenty verifies at once each get their own answer', async () => {
    const cases = Array.from({ length: 20 }, (_, i) => {
      const [, value] = VECTORS[i % VECTORS.length]!;
      const right = i % 3 !== 0;
      return { value, password: right ? HW : `${HW}${i}`, right };
    });
    const answers = await Promise.all(cases.map((c) => pool.verify(c.value, c.password)));
    expect(answers).toEqual(cases.map((c) => c.right));
  });

  it('the event loop keeps turning while a 50,000-round sha512-crypt verify runs', async () => {
    const password = 'Slow-Hash-50k';
    const value = shaCrypt('sha512', Buffer.from(password, 'utf8'), '$6$rounds=50000$eventloopsalt')!;
    let ticks = 0;
    let spinning = true;
    const spin = (): void => {
      ticks += 1;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const ok = await pool.verify(value, password);
    spinning = false;
    expect(ok).toBe(true);
    // on the event loop this verify would have run start to finish between two turns: not one tick
    expect(ticks).toBeGreaterThan(1);
  });

  it('a worker that dies answers false for what it held, and the next verify starts a fresh one', async () => {
    const own = createCryptPool(1);
    const value = shaCrypt('sha512', Buffer.from(HW, 'utf8'), '$6$rounds=50000$dyingworker')!;
    const held = own.verify(value, HW);
    await own.close(); // terminates the worker mid-computation
    expect(await held).toBe(false);
    expect(await own.verify(VECTORS[2][1], HW)).toBe(true);
    await own.close();
  });

  it('verifyLdapHash and the Hasher send {CRYPT} through a pool; close() ends the hasher\'s workers', async () => {
    expect(await verifyLdapHash(`{CRYPT}${VECTORS[1][1]}`, HW, pool)).toBe(true);
    expect(await verifyLdapHash(`{CRYPT}${VECTORS[1][1]}`, 'hello world!', pool)).toBe(false);
    const hasher = createArgon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
    expect(await hasher.verify(`{CRYPT}${VECTORS[0][1]}`, HW)).toBe(true);
    expect(await hasher.verify('{CRYPT}$6$rounds=5000$', HW)).toBe(false);
    await hasher.close?.();
    expect(await hasher.verify(`{CRYPT}${VECTORS[2][1]}`, HW)).toBe(true); // restarts lazily after close
    await hasher.close?.();
  });
});
