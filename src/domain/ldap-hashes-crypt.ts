import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The {CRYPT} schemes of glibc that OpenLDAP hands to crypt(3): sha512-crypt ($6$) and sha256-crypt
 * ($5$) from Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512" (2008), and md5-crypt ($1$,
 * Poul-Henning Kamp's FreeBSD algorithm). Each takes the stored string as the setting, recomputes
 * the whole string, and the caller compares the two in constant time. Written here from the specs
 * rather than pulled from a package; the tests hold the published vectors and slappasswd's output.
 */

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
/**
 * Drepper allows 999,999,999. Sign-in runs these in a worker (crypt-pool.ts), off the event loop, but a
 * worker busy for minutes is still a denial of service (about 7 µs a round here), so a value from the
 * directory is capped: 200,000 rounds is about 1.4 s, far above any distribution's default (5,000).
 */
const ROUNDS_MAX = 200_000;

/** Byte triples of the final encoding (Drepper's spec, steps 22 e/f). */
const SHA512_ORDER: [number, number, number][] = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48], [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10],
  [53, 11, 32], [12, 33, 54], [34, 55, 13], [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];
const SHA256_ORDER: [number, number, number][] = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14], [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
];
const MD5_ORDER: [number, number, number][] = [[0, 6, 12], [1, 7, 13], [2, 8, 14], [3, 9, 15], [4, 10, 5]];

function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += ITOA64[w & 0x3f];
    w >>= 6;
  }
  return out;
}

/** `bytes` repeated (and cut) to `length` bytes. */
function stretch(bytes: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += bytes.length) bytes.copy(out, i, 0, Math.min(bytes.length, length - i));
  return out;
}

/**
 * sha-crypt of `key` with the setting in `setting` ("$6$[rounds=N$]salt[$…]"): returns the full
 * "$6$[rounds=N$]salt$hash" string, or undefined when the setting is malformed or too costly.
 */
export function shaCrypt(algorithm: 'sha256' | 'sha512', key: Buffer, setting: string): string | undefined {
  const prefix = algorithm === 'sha512' ? '$6$' : '$5$';
  if (!setting.startsWith(prefix)) return undefined;
  let rest = setting.slice(3);
  let rounds = ROUNDS_DEFAULT;
  let roundsCustom = false;
  const roundsMatch = /^rounds=(\d{1,10})\$/.exec(rest);
  if (roundsMatch?.[1]) {
    rounds = Math.max(ROUNDS_MIN, Number(roundsMatch[1]));
    if (rounds > ROUNDS_MAX) return undefined;
    roundsCustom = true;
    rest = rest.slice(roundsMatch[0].length);
  }
  const saltString = rest.split('$')[0]!.slice(0, 16);
  const salt = Buffer.from(saltString, 'utf8');
  const H = (...parts: Buffer[]): Buffer => {
    const h = createHash(algorithm);
    for (const p of parts) h.update(p);
    return h.digest();
  };

  const b = H(key, salt, key);
  const a = createHash(algorithm).update(key).update(salt).update(stretch(b, key.length));
  for (let n = key.length; n > 0; n >>= 1) a.update(n & 1 ? b : key);
  let c = a.digest();

  const dp = createHash(algorithm);
  for (let i = 0; i < key.length; i++) dp.update(key);
  const p = stretch(dp.digest(), key.length);
  const ds = createHash(algorithm);
  for (let i = 0; i < 16 + c[0]!; i++) ds.update(salt);
  const s = stretch(ds.digest(), salt.length);

  for (let i = 0; i < rounds; i++) {
    const h = createHash(algorithm);
    h.update(i & 1 ? p : c);
    if (i % 3) h.update(s);
    if (i % 7) h.update(p);
    h.update(i & 1 ? c : p);
    c = h.digest();
  }

  let encoded = '';
  if (algorithm === 'sha512') {
    for (const [x, y, z] of SHA512_ORDER) encoded += b64From24(c[x]!, c[y]!, c[z]!, 4);
    encoded += b64From24(0, 0, c[63]!, 2);
  } else {
    for (const [x, y, z] of SHA256_ORDER) encoded += b64From24(c[x]!, c[y]!, c[z]!, 4);
    encoded += b64From24(0, c[31]!, c[30]!, 3);
  }
  return `${prefix}${roundsCustom ? `rounds=${rounds}$` : ''}${saltString}$${encoded}`;
}

/** md5-crypt of `key` with the setting "$1$salt[$…]": returns "$1$salt$hash". */
export function md5Crypt(key: Buffer, setting: string): string | undefined {
  const magic = '$1$';
  if (!setting.startsWith(magic)) return undefined;
  const saltString = setting.slice(3).split('$')[0]!.slice(0, 8);
  const salt = Buffer.from(saltString, 'utf8');
  const md5 = (...parts: Buffer[]): Buffer => {
    const h = createHash('md5');
    for (const p of parts) h.update(p);
    return h.digest();
  };

  const alt = md5(key, salt, key);
  const ctx = createHash('md5').update(key).update(magic).update(salt);
  for (let left = key.length; left > 0; left -= 16) ctx.update(alt.subarray(0, Math.min(16, left)));
  // the C original feeds key[0], which is the terminating NUL for an empty key
  const first = Buffer.from([key.length > 0 ? key[0]! : 0]);
  const zero = Buffer.from([0]);
  for (let n = key.length; n > 0; n >>= 1) ctx.update(n & 1 ? zero : first);
  let final = ctx.digest();

  for (let i = 0; i < 1000; i++) {
    const h = createHash('md5');
    h.update(i & 1 ? key : final);
    if (i % 3) h.update(salt);
    if (i % 7) h.update(key);
    h.update(i & 1 ? final : key);
    final = h.digest();
  }

  let encoded = '';
  for (const [x, y, z] of MD5_ORDER) encoded += b64From24(final[x]!, final[y]!, final[z]!, 4);
  encoded += b64From24(0, 0, final[11]!, 2);
  return `${magic}${saltString}$${encoded}`;
}

/**
 * Checks `password` against a crypt(3) string ($6$, $5$ or $1$), synchronously: ~35 ms at 5,000 rounds,
 * so the server calls it through the worker pool (crypt-pool.ts); tests and tools may call it directly.
 * The recomputed string is compared in constant time; a malformed or too costly setting is false.
 */
export function verifyCrypt(value: string, password: string): boolean {
  const key = Buffer.from(password, 'utf8');
  let computed: string | undefined;
  if (value.startsWith('$6$')) computed = shaCrypt('sha512', key, value);
  else if (value.startsWith('$5$')) computed = shaCrypt('sha256', key, value);
  else if (value.startsWith('$1$')) computed = md5Crypt(key, value);
  if (computed === undefined) return false;
  const a = Buffer.from(computed, 'utf8');
  const b = Buffer.from(value, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
