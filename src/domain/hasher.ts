import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';
import { createCryptPool } from './crypt-pool.js';
import { verifyLdapHash } from './ldap-hashes.js';

/** The narrow interface the domain needs for password hashing. */
export interface Hasher {
  hash(password: string): Promise<string>;
  verify(encoded: string, password: string): Promise<boolean>;
  /** true when `encoded` was made with other parameters than the current ones (never for imported `{…}` hashes) */
  needsRehash(encoded: string): boolean;
  /** ends any worker threads the hasher started (the {CRYPT} pool); optional for test doubles */
  close?(): Promise<void>;
}

export interface Argon2Params {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/**
 * argon2id through @node-rs/argon2, whose work runs on libuv's threadpool, never on the event loop.
 * `verify` also takes the `{SCHEME}…` values imported by password hash sync (src/domain/ldap-hashes.ts):
 * the encoded value names its scheme, so one stored column serves cloud and synced users.
 * A semaphore sized to the cores keeps hashing from starving the pool's other users (file and DNS
 * work, and the SQLite driver's neighbours) and bounds memory to cores × memoryCost. Imported {CRYPT}
 * values are computed in JS, so they go to this hasher's own worker pool, started on first use.
 */
export function createArgon2Hasher(params: Argon2Params, concurrency = availableParallelism()): Hasher {
  const options = {
    algorithm: 2, // Algorithm.Argon2id (a const enum, not importable under verbatimModuleSyntax)
    memoryCost: params.memoryCost,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
  };
  const limit = createLimiter(Math.max(1, concurrency));
  const marker = `$argon2id$v=19$m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}$`;
  const crypt = createCryptPool();
  return {
    hash: (password) => limit(() => hash(password, options)),
    // a malformed stored hash is a failed verification, not a crash
    verify: (encoded, password) => limit(() => (encoded.startsWith('{') ? verifyLdapHash(encoded, password, crypt) : verify(encoded, password))).catch(() => false),
    // An imported hash belongs to the directory: the next sync would put it back, so never replace it.
    needsRehash: (encoded) => !encoded.startsWith('{') && !encoded.startsWith(marker),
    close: () => crypt.close(),
  };
}

/**
 * At most `max` tasks at once, the rest in arrival order. A finishing task hands its slot straight to
 * the next waiting one, so a caller arriving meanwhile cannot take it too (which would make max + 1),
 * and a task that starts at once costs no extra promise turns on the event loop.
 */
function createLimiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active -= 1;
  };
  const run = <T>(task: () => Promise<T>): Promise<T> => {
    let running: Promise<T>;
    try {
      running = task();
    } catch (err) {
      release();
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return running.then(
      (value) => {
        release();
        return value;
      },
      (err: unknown) => {
        release();
        throw err;
      },
    );
  };
  return <T>(task: () => Promise<T>): Promise<T> => {
    if (active < max) {
      active += 1;
      return run(task);
    }
    return new Promise<void>((resolve) => waiting.push(resolve)).then(() => run(task));
  };
}
