import { randomBytes } from "node:crypto";
import { Client } from "pg";
import type { DataSource } from "typeorm";
import { createDataSource } from "../../src/db/data-source";

/**
 * The PostgreSQL server tests use: TEST_DATABASE_URL, which the global setup points at its own
 * embedded server when it is unset. Each test file gets its own fresh database on it.
 */
export function testPgUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error("TEST_DATABASE_URL is unset: run tests through jest, whose global setup starts an embedded PostgreSQL (or call that setup first)");
  return url;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: testPgUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database with a unique name; drop() removes it (closing leftover sessions). */
export async function createTestDatabase(prefix = "ar_test"): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: withDatabase(testPgUrl(), name),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** A fresh, migrated database and a DataSource on it. */
export async function createMigratedDataSource(): Promise<{ ds: DataSource; db: TestDatabase; close(): Promise<void> }> {
  const db = await createTestDatabase();
  const ds = createDataSource({ url: db.url, poolSize: 4 });
  await ds.initialize();
  await ds.runMigrations({ transaction: "all" });
  return {
    ds,
    db,
    close: async () => {
      if (ds.isInitialized) await ds.destroy();
      await db.drop();
    },
  };
}
