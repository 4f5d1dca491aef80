import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { quoteIdentifier } from '@pushcast/store';

export const TEST_PG_SERVER = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A database of its own for one test file (created empty; Pushcast's start creates its schema). */
export function freshDatabaseUrl(label: string): TestDatabase {
  const name = `pushcast_test_${label}_${randomBytes(4).toString('hex')}`;
  return {
    name,
    url: `${TEST_PG_SERVER}/${name}`,
    async drop() {
      const admin = new pg.Client({ connectionString: `${TEST_PG_SERVER}/postgres` });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
