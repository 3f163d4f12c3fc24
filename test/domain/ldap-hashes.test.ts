import { afterAll, describe, expect, it } from 'vitest';
import { createCryptPool } from '../../src/domain/crypt-pool.js';
import { createArgon2Hasher } from '../../src/domain/hasher.js';
import { isSupportedLdapHash, verifyLdapHash } from '../../src/domain/ldap-hashes.js';
import { md5Crypt, shaCrypt } from '../../src/domain/ldap-hashes-crypt.js';

const HW = 'Hello world!';

/**
 * Vectors made outside Postern: slappasswd 2.5 (with its pw-sha2 and argon2 modules), glibc crypt(3)
 * through Python, `openssl passwd`, Drepper's published sha-crypt vectors, and Python's
 * hashlib.pbkdf2_hmac in pw-pbkdf2's format. Each must accept its password and refuse a near miss.
 */
const VECTORS: [scheme: string, password: string, encoded: string][] = [
  ['SSHA (slappasswd)', HW, '{SSHA}2SRX+9smhqHoQhcmNSdeNPAF3Y61UQLe'],
  ['SHA (slappasswd)', HW, '{SHA}00hq6RNueFa8QiEjhep5cJRHWAI='],
  ['SSHA512 (slappasswd pw-sha2)', HW, '{SSHA512}GZVe0g2hdywvHWjs9k86DpZCF+dfNsHhUabC1EgAuZWIMqrp4Mm88xFUnlisq0gqo3lZLNeB3k0kgktBK8vrHnhsQUBxr3WU'],
  ['SHA512 (slappasswd pw-sha2)', HW, '{SHA512}9s3ioPgZMUzd5V/CJ9jX2uPSjMVWIioKitZtkcytSq1glPUXohgjYMmqz2o9wyMWLLb9jN/+2w/gOPVehf+1tg=='],
  ['ARGON2 argon2i (slappasswd argon2)', HW, '{ARGON2}$argon2i$v=19$m=4096,t=3,p=1$m8QAYBQqGp54TDFEJq/fjA$YnhCs7MLMsik3IUOBe4mP3HaBKxFURl2T8wCWeE12rg'],
  ['CRYPT sha512 (slappasswd)', HW, '{CRYPT}$6$4XjWyOEGOSpqTzEE$.O0oxj3hSR2qrG7CbZp6VyZnPrrT4LZkooKMOYULcOjomQF45SyloVE3RFawH7ZuRxgwYxBqNNXotPGSwXs.I/'],
  ['CRYPT sha256 (slappasswd)', HW, '{CRYPT}$5$3uOSnizuMUHsusTi$U1GUBZopCesUK0/B7/CnxxMqfaXdbSa7psOc9YOj.q3'],
  ['CRYPT md5 (slappasswd)', HW, '{CRYPT}$1$tZMJwjvt$KmRyCLvXmjLuQBdceNq1o0'],
  ['crypt scheme in lower case', HW, '{crypt}$1$tZMJwjvt$KmRyCLvXmjLuQBdceNq1o0'],
  ['PBKDF2-SHA256', HW, '{PBKDF2-SHA256}10000$AAECAwQFBgcICQoLDA0ODw$0Vl9u2tTV5ewKoVkduL5sTyDKVfq8YIPmgxo1cfBP88'],
  ['PBKDF2-SHA512', HW, '{PBKDF2-SHA512}10000$AAECAwQFBgcICQoLDA0ODw$ErLOSt4Kq5ki1vvD/qzNBG9bGGILIR3Zs1969.snvCUfO35TSHK2hoeqddv7H5W5UNjkQwzEYpGYPY1K52KJgA'],
  ['PBKDF2-SHA1', HW, '{PBKDF2-SHA1}10000$AAECAwQFBgcICQoLDA0ODw$dbbktpoDm1uSAzJP6On1mSn0dkQ'],
  ['PBKDF2', HW, '{PBKDF2}10000$AAECAwQFBgcICQoLDA0ODw$dbbktpoDm1uSAzJP6On1mSn0dkQ'],
];

describe('imported OpenLDAP password hashes', () => {
  const crypt = createCryptPool(1);
  afterAll(() => crypt.close());

  it.each(VECTORS)('%s: the right password verifies, a near miss does not', async (_scheme, password, encoded) => {
    expect(isSupportedLdapHash(encoded)).toBe(true);
    expect(await verifyLdapHash(encoded, password, crypt)).toBe(true);
    expect(await verifyLdapHash(encoded, `${password} `, crypt)).toBe(false);
    expect(await verifyLdapHash(encoded, password.slice(0, -1), crypt)).toBe(false);
    expect(await verifyLdapHash(encoded, '', crypt)).toBe(false);
  });

  it('the Hasher verifies imported values by their prefix and never asks to rehash them', async () => {
    const hasher = createArgon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
    const [, , ssha] = VECTORS[0]!;
    expect(await hasher.verify(ssha, HW)).toBe(true);
    expect(await hasher.verify(ssha, 'Hello world?')).toBe(false);
    expect(hasher.needsRehash(ssha)).toBe(false);
    const own = await hasher.hash(HW);
    expect(await hasher.verify(own, HW)).toBe(true);
    expect(hasher.needsRehash(own)).toBe(false);
    expect(hasher.needsRehash(own.replace('m=1024', 'm=2048'))).toBe(true);
  });

  it('argon2id values verify through the same scheme', async () => {
    const phc = await createArgon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }).hash('Correct-Horse-7');
    expect(await verifyLdapHash(`{ARGON2}${phc}`, 'Correct-Horse-7', crypt)).toBe(true);
    expect(await verifyLdapHash(`{ARGON2}${phc}`, 'correct-Horse-7', crypt)).toBe(false);
  });

  it('malformed, plaintext and unknown schemes verify nothing and never throw', async () => {
    const bad = [
      'Hello world!', '{CLEARTEXT}Hello world!', '{MD5}hvsmnRkNLIX24EaM7KQqIA==', '{SSHA}', '{SSHA}!!!!', '{SHA}00hq6RNueFa8QiEjhep5cJRHWAI',
      '{SSHA}AAAA', '{ARGON2}not-a-phc', '{CRYPT}abJnggxhB/yWI', '{CRYPT}$2y$10$abcdefghijklmnopqrstuu', '{PBKDF2-SHA256}x$AA$AA',
      '{PBKDF2-SHA256}99999999$AAECAwQFBgcICQoLDA0ODw$0Vl9u2tTV5ewKoVkduL5sTyDKVfq8YIPmgxo1cfBP88', '{CRYPT}$6$rounds=999999999$salt$abc',
    ];
    for (const encoded of bad) expect(await verifyLdapHash(encoded, HW, crypt), encoded).toBe(false);
    expect(isSupportedLdapHash('Hello world!')).toBe(false);
    expect(isSupportedLdapHash('{CLEARTEXT}x')).toBe(false);
    expect(isSupportedLdapHash('{MD5}x')).toBe(false);
  });

  // Drepper's published vectors ("Unix crypt using SHA-256 and SHA-512", test cases) and glibc/openssl output.
  it.each([
    ['sha512', HW, '$6$saltstring', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
    ['sha512', HW, '$6$rounds=10000$saltstringsaltstring', '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.'],
    ['sha512', 'a very much longer text to encrypt.  This one even stretches over morethan one line.', '$6$rounds=1400$anotherlongsaltstring',
      '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1'],
    ['sha512', 'we have a short salt string but not a short password', '$6$rounds=77777$short',
      '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0'],
    ['sha512', 'Pässwörd ünïcode', '$6$abcdefgh', '$6$abcdefgh$EUC8z9kF93o..3RXZY9cCTWTOzF4sFZWO/qYIy0TGNelwRWTB8uT8ey0YvIwcBEz9QZvgnrwKGAQWg6XnCuxd0'],
    ['sha256', HW, '$5$saltstring', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
    ['sha256', HW, '$5$rounds=10000$saltstringsaltstring', '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA'],
    ['sha256', 'a'.repeat(100), '$5$abcdefgh', '$5$abcdefgh$kg.QqUYqMw/Wz/s7yUb1pF5ODo6FqYdRAXHt/FJ/Eh3'],
  ] as const)('%s-crypt computes the reference string for %j', (algorithm, password, setting, expected) => {
    expect(shaCrypt(algorithm, Buffer.from(password, 'utf8'), setting)).toBe(expected);
  });

  it.each([
    [HW, '$1$saltstri', '$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1'],
    ['Pässwörd ünïcode', '$1$abcdefgh', '$1$abcdefgh$EQeArVubS.EC/ZMUj/nsk/'],
    ['', '$1$abcdefgh', '$1$abcdefgh$M55TzYaaccxVGbptZWaxX/'],
    ['a'.repeat(100), '$1$abcdefgh', '$1$abcdefgh$PMYmUtA3DUw85XNTjARVj0'],
  ])('md5-crypt computes the reference string for %j', (password, setting, expected) => {
    expect(md5Crypt(Buffer.from(password, 'utf8'), setting)).toBe(expected);
  });
});
