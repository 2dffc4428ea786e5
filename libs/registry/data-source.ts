/** Builds the registry's TypeORM DataSource for SQLite or PostgreSQL; migrations run explicitly, never synchronize. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config';
import { REGISTRY_ENTITIES } from './entities';
import { InitialRegistry1763900000000 } from './migrations/1763900000000-initial-registry';
import { ServingAndApprovals1764000000000 } from './migrations/1764000000000-serving-and-approvals';
import { Monitoring1764100000000 } from './migrations/1764100000000-monitoring';

export const REGISTRY_MIGRATIONS = [InitialRegistry1763900000000, ServingAndApprovals1764000000000, Monitoring1764100000000];

export function createRegistryDataSource(db: AppConfig['db']): DataSource {
  const common = {
    entities: REGISTRY_ENTITIES,
    migrations: REGISTRY_MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    logging: db.logging,
  } as const;
  if (db.type === 'postgres') {
    return new DataSource({ ...common, type: 'postgres', url: db.url, extra: { max: 10 } });
  }
  fs.mkdirSync(path.dirname(db.path), { recursive: true });
  return new DataSource({
    ...common,
    type: 'better-sqlite3',
    database: db.path,
    // The API and the worker are two processes on one file: WAL lets readers run beside the writer, and the busy
    // timeout makes a writer wait for the lock instead of failing with SQLITE_BUSY.
    prepareDatabase: (database: { pragma(source: string): unknown }) => {
      database.pragma('journal_mode = WAL');
      database.pragma('busy_timeout = 10000');
      database.pragma('foreign_keys = ON');
    },
  });
}

/** Opens the data source and applies pending migrations (each in its own transaction). */
export async function openRegistry(db: AppConfig['db']): Promise<DataSource> {
  const dataSource = createRegistryDataSource(db);
  await dataSource.initialize();
  // The API and the worker may start together and race to migrate; the loser sees the winner's work on retry.
  for (let attempt = 1; ; attempt++) {
    try {
      await dataSource.runMigrations({ transaction: 'each' });
      return dataSource;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      if (!(await dataSource.showMigrations())) return dataSource;
    }
  }
}
