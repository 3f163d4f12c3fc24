import type { Migration, MigrationProvider } from 'kysely';
import * as directoryCore from './2026_11_25_1700_directory_core.js';

/** A static map, so migrations ship inside the build and run the same from src or dist. */
const migrations: Record<string, Migration> = {
  '2026_11_25_1700_directory_core': directoryCore,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
