/**
 * The proof of work of the reset CAPTCHA (altcha-lib v2 challenges with the SHA algorithms): find
 * the counter whose key, SHA-256(salt ‖ nonce ‖ uint32be(counter)) hashed `cost` times and cut to
 * `keyLength`, starts with `keyPrefix`. Inputs that fit one SHA-256 block (the server's: 16-byte
 * salt and nonce) are hashed by a synchronous SHA-256 here, about ten times faster than a WebCrypto
 * call per counter; anything else goes through crypto.subtle. DOM-free: the Web Worker runs it, and
 * test/web/pow.test.ts runs it in node against the server's own challenges.
 */
export interface PowParameters {
  algorithm: string;
  nonce: string;
  salt: string;
  cost: number;
  keyLength?: number;
  keyPrefix: string;
}

export interface PowSolution {
  counter: number;
  derivedKey: string;
  time: number;
}

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const W = new Uint32Array(64);
const BLOCK = new Uint8Array(64);

/** SHA-256 of a message of at most 55 bytes (one padded block). */
export function sha256Short(msg: Uint8Array): Uint8Array {
  if (msg.length > 55) throw new RangeError('sha256Short takes at most 55 bytes');
  const block = BLOCK;
  block.fill(0);
  block.set(msg);
  block[msg.length] = 0x80;
  const bits = msg.length * 8;
  block[62] = (bits >>> 8) & 0xff;
  block[63] = bits & 0xff;
  for (let i = 0; i < 16; i++) W[i] = (block[i * 4]! << 24) | (block[i * 4 + 1]! << 16) | (block[i * 4 + 2]! << 8) | block[i * 4 + 3]!;
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15]!;
    const w2 = W[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = 0x6a09e667, b = 0xbb67ae85, c = 0x3c6ef372, d = 0xa54ff53a, e = 0x510e527f, f = 0x9b05688c, g = 0x1f83d9ab, h = 0x5be0cd19;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  [a + 0x6a09e667, b + 0xbb67ae85, c + 0x3c6ef372, d + 0xa54ff53a, e + 0x510e527f, f + 0x9b05688c, g + 0x1f83d9ab, h + 0x5be0cd19].forEach((v, i) => view.setUint32(i * 4, v >>> 0, false));
  return out;
}

export const hexToBytes = (hex: string): Uint8Array => {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
};
export const bytesToHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function input(salt: Uint8Array, nonce: Uint8Array, counter: number): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(salt.length + nonce.length + 4);
  data.set(salt, 0);
  data.set(nonce, salt.length);
  new DataView(data.buffer).setUint32(salt.length + nonce.length, counter, false);
  return data;
}

/** The derived key of one counter, as altcha-lib's web deriveKey computes it (hex). */
export async function deriveKeyHex(p: PowParameters, counter: number): Promise<string> {
  let data = input(hexToBytes(p.salt), hexToBytes(p.nonce), counter);
  for (let i = 0; i < Math.max(1, p.cost); i++) data = new Uint8Array(await crypto.subtle.digest(p.algorithm, data));
  return bytesToHex(data.slice(0, p.keyLength ?? 32));
}

/**
 * Searches counters from 0 until the key starts with the prefix; `onProgress` is called now and then
 * with the number of counters tried. Returns null after `maxCounter` counters or when `shouldStop` says so.
 */
export async function solvePow(p: PowParameters, options: { maxCounter?: number; onProgress?: (tried: number) => void; shouldStop?: () => boolean } = {}): Promise<PowSolution | null> {
  const { maxCounter = 10_000_000, onProgress, shouldStop } = options;
  if (!['SHA-256', 'SHA-384', 'SHA-512'].includes(p.algorithm)) throw new Error(`unsupported algorithm ${p.algorithm}`);
  const salt = hexToBytes(p.salt);
  const nonce = hexToBytes(p.nonce);
  const prefix = p.keyPrefix.toLowerCase();
  const keyLength = p.keyLength ?? 32;
  const start = Date.now();
  const done = (counter: number, derivedKey: string): PowSolution => ({ counter, derivedKey, time: Date.now() - start });
  const fast = p.algorithm === 'SHA-256' && salt.length + nonce.length + 4 <= 55 && keyLength <= 32 && prefix.length % 2 === 0 && prefix.length <= keyLength * 2;
  if (fast) {
    const want = hexToBytes(prefix);
    const data = input(salt, nonce, 0);
    const view = new DataView(data.buffer);
    const at = data.length - 4;
    for (let counter = 0; counter < maxCounter; counter++) {
      view.setUint32(at, counter, false);
      let key = sha256Short(data);
      for (let i = 1; i < Math.max(1, p.cost); i++) key = sha256Short(key);
      let match = true;
      for (let i = 0; i < want.length; i++) {
        if (key[i] !== want[i]) {
          match = false;
          break;
        }
      }
      if (match) return done(counter, bytesToHex(key.subarray(0, keyLength)));
      if (counter % 20_000 === 19_999) {
        onProgress?.(counter + 1);
        if (shouldStop?.()) return null;
      }
    }
    return null;
  }
  const BATCH = 256;
  for (let base = 0; base < maxCounter; base += BATCH) {
    const keys = await Promise.all(Array.from({ length: BATCH }, (_, i) => deriveKeyHex(p, base + i)));
    const hit = keys.findIndex((k) => k.startsWith(prefix));
    if (hit >= 0) return done(base + hit, keys[hit]!);
    onProgress?.(base + BATCH);
    if (shouldStop?.()) return null;
  }
  return null;
}
