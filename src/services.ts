import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import { createMailer, type Mailer } from './delivery/mailer.js';
import { createSmsSender, createVoiceCaller, type SmsSender, type VoiceCaller } from './delivery/sms.js';
import { createArgon2Hasher, type Hasher } from './domain/hasher.js';
import { TokenService } from './domain/tokens.js';
import { systemClock, type Clock } from './lib/clock.js';
import { SecretBox, systemRandom, type Random } from './lib/crypto.js';
import { openDatabase, type Db, type Dialect } from './store/database.js';
import type { WritebackSeam } from './domain/sspr/writeback.js';
import { createWriteback } from './writeback/service.js';
import { createNodeSignals, type NodeSignals } from './writeback/node-signals.js';

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
  /** outbox-only (nothing leaves the process) when SMTP_URL / the webhooks are unset */
  readonly mailer: Mailer;
  readonly sms: SmsSender;
  readonly voice: VoiceCaller;
  /** on-premises password operations through the writeback agents (SPEC 3.6) */
  readonly writeback: WritebackSeam;
  /** writeback wake-ups to and from the other nodes on one PostgreSQL database (unset on SQLite) */
  readonly nodeSignals: NodeSignals | undefined;
  close(): Promise<void>;
}

export interface ServiceOverrides {
  clock?: Clock;
  random?: Random;
  hasher?: Hasher;
  mailer?: Mailer;
  sms?: SmsSender;
  voice?: VoiceCaller;
}

export function createServices(config: Config, overrides: ServiceOverrides = {}): Services {
  const handle = openDatabase(config.databaseUrl);
  const clock = overrides.clock ?? systemClock;
  const random = overrides.random ?? systemRandom;
  const secretBox = new SecretBox(config.secretKey ?? readOrCreateSecretKey(config.dataDir));
  const tokens = new TokenService({ db: handle.db, clock, random, secretBox, publicUrl: config.publicUrl, accessTokenAlg: config.accessTokenAlg });
  const hasher = overrides.hasher ?? createArgon2Hasher(config.argon2);
  const mailer = overrides.mailer ?? createMailer(config);
  const nodeSignals = createNodeSignals(handle.db, handle.dialect, config.databaseUrl);
  return {
    config,
    db: handle.db,
    dialect: handle.dialect,
    clock,
    random,
    hasher,
    secretBox,
    tokens,
    mailer,
    sms: overrides.sms ?? createSmsSender(config),
    voice: overrides.voice ?? createVoiceCaller(config),
    writeback: createWriteback({ db: handle.db, clock, random, nodeSignals }, { timeoutMs: config.writebackJobTimeoutMs }),
    nodeSignals,
    close: async () => {
      await nodeSignals?.close();
      await hasher.close?.(); // the {CRYPT} worker pool, if it was started
      // its pooled SMTP connections; a mailer passed in belongs to the caller
      if (!overrides.mailer) mailer.close();
      await handle.close();
    },
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
