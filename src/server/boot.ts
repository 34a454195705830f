import type { PubSub } from "type-graphql";
import type { DataSource } from "typeorm";
import { resolveAuthSecret } from "../auth/secret";
import { createLogger, type Logger } from "../common/logger";
import type { Config } from "../config/config";
import { createDataSource } from "../db/data-source";
import { QueryObserver } from "../db/query-observer";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../db/embedded-postgres";
import type { EventBus } from "../events/event-bus";
import { createPgEventBus, DEFAULT_EVENTS_CHANNEL } from "../events/pg-event-bus";
import { PgBossImportQueue } from "../import/queue";
import { createImportWorker, type ImportWorker } from "../import/worker";
import { ensureDefaultHuggingFaceRegistry } from "../registry/bootstrap";
import { buildFederatedSchema } from "../schema/build-schema";
import { ensureDefaultStorage } from "../storage/bootstrap";
import { createFsLinkRouter } from "../storage/fs-link.router";
import { LinkSigner } from "../storage/link-signer";
import { StorageManager } from "../storage/storage-manager";
import { mountConsole } from "../../console/server";
import { startApp, type RunningApp } from "./app";
import { createServices, type Services } from "./services";

export interface Booted {
  app: RunningApp;
  ds: DataSource;
  events: EventBus;
  storage: StorageManager;
  config: Config;
  services: Services;
  /** The durable import queue, and this process's import worker (null with IMPORT_WORKER=false). */
  imports: { queue: PgBossImportQueue; worker: ImportWorker | null };
  authSecret: string;
  generatedSecret: boolean;
  logger: Logger;
  /** Stops accepting requests, drains HTTP and WebSocket, closes the database, stops embedded PostgreSQL. */
  close(): Promise<void>;
}

/** The composition root: every long-lived part is built here, in order, and torn down in reverse. */
export interface BootOptions {
  logger?: Logger;
  /** Called with every SQL statement (tests count statements per request). */
  onQuery?: (sql: string) => void;
}

export async function boot(config: Config, options: BootOptions = {}): Promise<Booted> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const cleanups: Array<{ what: string; run: () => Promise<void> }> = [];
  const onClose = (what: string, run: () => Promise<void>) => cleanups.push({ what, run });
  const close = async () => {
    // splice: each cleanup runs once, in reverse order, however often close() is called.
    for (const { what, run } of cleanups.splice(0).reverse()) {
      const started = Date.now();
      await run().catch((error) => logger.error(`error while stopping ${what}`, error));
      logger.debug(`stopped ${what} in ${Date.now() - started} ms`);
    }
  };
  try {
    const { secret: authSecret, generated } = await resolveAuthSecret(config.jwtSecret, config.dataDir);

    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const embedded: EmbeddedDatabase = await startEmbeddedPostgres(config.dataDir, logger);
      onClose("embedded PostgreSQL", () => embedded.stop());
      databaseUrl = embedded.url;
    }
    const ds = createDataSource({ url: databaseUrl, logger: new QueryObserver(logger, options.onQuery) });
    await ds.initialize();
    onClose("database connections", () => ds.destroy());
    const applied = await ds.runMigrations({ transaction: "each" });
    if (applied.length) logger.info(`applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(", ")}`);

    await ensureDefaultHuggingFaceRegistry(ds, config);
    const signer = new LinkSigner(authSecret);
    const defaultNamespaceId = await ensureDefaultStorage(ds, config);
    const storage = new StorageManager(ds, { signer, publicUrl: config.publicUrl, defaultNamespaceId });
    // Signed filesystem links are resolved synchronously by namespace: know them all up front.
    await storage.preload();

    // Over LISTEN/NOTIFY, so subscribers see what every process on this database publishes.
    const events = await createPgEventBus({ connectionString: databaseUrl, channel: DEFAULT_EVENTS_CHANNEL, logger });
    onClose("event bus", () => events.close());
    // Jobs survive restarts in PostgreSQL; stopped after the worker, before the DataSource closes.
    const importQueue = new PgBossImportQueue({ connectionString: databaseUrl, config: config.import, logger });
    await importQueue.start();
    onClose("import queue", () => importQueue.stop());
    const services = createServices({ ds, config, authSecret, events, logger, storage, importQueue });
    let importWorker: ImportWorker | null = null;
    if (config.import.worker) {
      const worker = createImportWorker({ ds, config, storage, events, logger, queue: importQueue, connectionString: databaseUrl, registries: services.registries });
      // Registered before start: a start that fails half-way still releases what it opened.
      onClose("import worker", () => worker.stop());
      await worker.start();
      importWorker = worker;
    }
    const schema = await buildFederatedSchema(events as unknown as PubSub);
    const app = await startApp({
      config, ds, schema, services, events, authSecret, logger,
      mount: (express) => {
        express.use("/storage/fs", createFsLinkRouter({ signer, resolve: (store) => storage.filesystemAdapter(store) }));
        mountConsole(express);
      },
      ready: () => storage.ping(),
    });
    onClose("HTTP and WebSocket server", () => app.close());
    return { app, ds, events, storage, config, services, imports: { queue: importQueue, worker: importWorker }, authSecret, generatedSecret: generated, logger, close };
  } catch (error) {
    await close();
    throw error;
  }
}
