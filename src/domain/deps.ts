import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/crypto.js';
import type { Db } from '../store/database.js';
import type { Hasher } from './hasher.js';

/** What most use cases need; services.ts provides it, tests pin clock and random. */
export interface DomainDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly random: Random;
  readonly hasher: Hasher;
}
