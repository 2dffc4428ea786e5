/** A fresh PostgreSQL database per suite, dropped afterwards. */
import { createTestPostgresDatabase, describeWithPostgres } from './postgres';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('pg') as { Client: new (c: { connectionString: string }) => { connect(): Promise<void>; query(sql: string): Promise<{ rows: Record<string, unknown>[] }>; end(): Promise<void> } };

describeWithPostgres('createTestPostgresDatabase', () => {
  it('creates an empty database that can be used and is gone after drop()', async () => {
    const db = await createTestPostgresDatabase();
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('CREATE TABLE t (id int primary key)');
      await client.query('INSERT INTO t VALUES (1)');
      const { rows } = await client.query('SELECT current_database() AS name, count(*)::int AS n FROM t');
      expect(rows[0]).toEqual({ name: db.name, n: 1 });
    } finally {
      await client.end();
    }
    await db.drop();
    const admin = new Client({ connectionString: process.env.MLCYCLE_TEST_PG_URL as string });
    await admin.connect();
    try {
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_database WHERE datname = '${db.name}'`);
      expect(rows[0]).toEqual({ n: 0 });
    } finally {
      await admin.end();
    }
  });
});
