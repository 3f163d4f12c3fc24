import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import { createArgon2Hasher, type Hasher } from './domain/hasher.js';
import { TokenService } from './domain/tokens.js';
import { systemClock, type Clock } from './lib/clock.js';
import { SecretBox, systemRandom, type Random } from './lib/crypto.js';
import { openDatabase, type Db, type Dialect } from './store/database.js';

/** Everything the app needs, built once. Tests build it with a pinned clock or random. */
export interface Services {
  readonly config: Config;
  readonly db: Db;
  readonly dialect: Dialect;
  readonly clock: Clock;
  readonly random: Random;
  readonly hasher: Hasher;
  readonly secretBox: SecretBox;
  readonly tokens: TokenService;
  close(): Promise<void>;
}

export interface ServiceOverrides {
  clock?: Clock;
  random?: Random;
  hasher?: Hasher;
}

export function createServices(config: Config, overrides: ServiceOverrides = {}): Services {
  const handle = openDatabase(config.databaseUrl);
  const clock = overrides.clock ?? systemClock;
  const random = overrides.random ?? systemRandom;
  const secretBox = new SecretBox(config.secretKey ?? readOrCreateSecretKey(config.dataDir));
  const tokens = new TokenService({ db: handle.db, clock, random, secretBox, publicUrl: config.publicUrl });
  return {
    config,
    db: handle.db,
    dialect: handle.dialect,
    clock,
    random,
    hasher: overrides.hasher ?? createArgon2Hasher(config.argon2),
    secretBox,
    tokens,
    close: () => handle.close(),
  };
}

/** POSTERN_SECRET_KEY unset: generated into the data folder on first start, readable by the owner only. */
function readOrCreateSecretKey(dataDir: string): string {
  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}
