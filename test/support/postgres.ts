/**
 * PostgreSQL for tests: a fresh database per suite on the server named by MLCYCLE_TEST_PG_URL (which `npm test`
 * provides: see deploy/lib/postgres.mjs). Without it, PostgreSQL suites skip, and say why.
 */
import { randomBytes } from 'node:crypto';

interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}

// `pg` ships no types of its own and @types/pg is not a dependency; these two calls are all we use.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('pg') as { Client: new (config: { connectionString: string }) => PgClient };

export interface TestPostgresDatabase {
  /** postgres:// URL of the new, empty database */
  url: string;
  name: string;
  /** drops the database, closing whatever connections are still open to it */
  drop(): Promise<void>;
}

/** Why PostgreSQL suites cannot run here, or null when they can. */
export function postgresSkipReason(): string | null {
  if (process.env.MLCYCLE_TEST_PG_URL) return null;
  return process.env.MLCYCLE_TEST_PG_SKIP_REASON || 'MLCYCLE_TEST_PG_URL is not set (npm test provides it)';
}

/**
 * `describe` for suites that need PostgreSQL: the real thing when MLCYCLE_TEST_PG_URL is set, otherwise a skipped
 * suite whose name carries the reason, so the skip shows in the report.
 */
export function describeWithPostgres(name: string, fn: () => void): void {
  const reason = postgresSkipReason();
  if (reason) describe.skip(`${name} [PostgreSQL unavailable: ${reason}]`, fn);
  else describe(name, fn);
}

async function withAdmin<T>(work: (client: PgClient) => Promise<T>): Promise<T> {
  const url = process.env.MLCYCLE_TEST_PG_URL;
  if (!url) throw new Error(`no PostgreSQL for tests: ${postgresSkipReason()}`);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createTestPostgresDatabase(): Promise<TestPostgresDatabase> {
  const name = `mlcycle_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE "${name}"`));
  const url = new URL(process.env.MLCYCLE_TEST_PG_URL as string);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      // WITH (FORCE) (PostgreSQL 13+) ends connections a test forgot to close instead of failing on them.
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
