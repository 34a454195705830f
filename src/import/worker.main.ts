import "reflect-metadata";
import { resolveAuthSecret } from "../auth/secret";
import { createLogger } from "../common/logger";
import { ConfigError, loadConfig, type Config } from "../config/config";
import { createDataSource } from "../db/data-source";
import { QueryObserver } from "../db/query-observer";
import { createPgEventBus, DEFAULT_EVENTS_CHANNEL } from "../events/pg-event-bus";
import { RegistryService } from "../registry/registry.service";
import { ensureDefaultStorage } from "../storage/bootstrap";
import { LinkSigner } from "../storage/link-signer";
import { StorageManager } from "../storage/storage-manager";
import { PgBossImportQueue } from "./job/queue";
import { createImportWorker } from "./job/worker";

/*
 * A process that only runs imports (`npm run worker`): the database, storage, event bus, queue
 * and worker of the server, without HTTP. Point it at the servers' DATABASE_URL (and S3 or
 * DATA_DIR); the API servers can then run with IMPORT_WORKER=false.
 */

async function main(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  if (!config.databaseUrl) {
    throw new Error("a separate import worker needs DATABASE_URL: the embedded PostgreSQL belongs to the server process");
  }
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error) => logger.error("error during shutdown", error));
  };
  try {
    const ds = createDataSource({ url: config.databaseUrl, logger: new QueryObserver(logger) });
    await ds.initialize();
    cleanups.push(() => ds.destroy());
    await ds.runMigrations({ transaction: "each" });

    // Filesystem adapters sign links with the server's secret; the worker never serves them, but builds the same adapters.
    const { secret } = await resolveAuthSecret(config.jwtSecret, config.dataDir);
    const defaultNamespaceId = await ensureDefaultStorage(ds, config);
    const storage = new StorageManager(ds, { signer: new LinkSigner(secret), publicUrl: config.publicUrl, defaultNamespaceId });
    const events = await createPgEventBus({ connectionString: config.databaseUrl, channel: DEFAULT_EVENTS_CHANNEL, logger });
    cleanups.push(() => events.close());
    const queue = new PgBossImportQueue({ connectionString: config.databaseUrl, config: config.import, logger });
    await queue.start();
    cleanups.push(() => queue.stop());
    const worker = createImportWorker({
      ds, config, storage, events, logger, queue, connectionString: config.databaseUrl, registries: new RegistryService(ds, config.limits),
    });
    cleanups.push(() => worker.stop());
    await worker.start();
    logger.info(`import worker running ${config.import.concurrency} revision(s) at a time`);
  } catch (error) {
    await close();
    throw error;
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received: handing running imports back to the queue`);
    close().then(() => process.exit(0), (error) => {
      logger.error("shutdown failed", error);
      process.exit(1);
    });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

let config: Config;
try {
  // A worker process exists to run imports, whatever IMPORT_WORKER says for the servers.
  config = loadConfig({ ...process.env, IMPORT_WORKER: "true" });
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
main(config).catch((error) => {
  console.error("import worker failed to start:", error);
  process.exit(1);
});
