import type { PubSub } from "type-graphql";
import type { DataSource } from "typeorm";
import type { Verifiers } from "../auth/authenticate";
import { bootCore, type CoreOptions } from "../boot/core";
import type { Clock } from "../common/clock";
import { createServices, type Services } from "../boot/services";
import type { Logger } from "../common/logger";
import type { Config } from "../config/config";
import type { EventBus } from "../events/event-bus";
import type { PgBossImportQueue } from "../import/job/queue";
import type { ImportWorker } from "../import/job/worker";
import { createHfRouter } from "../hf/hf.router";
import { ensureDefaultHuggingFaceRegistry } from "../registry/bootstrap";
import { buildFederatedSchema } from "../schema/build-schema";
import { createFsLinkRouter } from "../storage/fs-link.router";
import { createUploadRouter } from "../import/api/upload.router";
import type { StorageManager } from "../storage/storage-manager";
import type { Metrics } from "../metrics/metrics";
import { mountConsole } from "../../console/server";
import { checkPortFree, startApp, type RunningApp } from "./app";

export interface Booted {
  app: RunningApp;
  ds: DataSource;
  events: EventBus;
  storage: StorageManager;
  config: Config;
  services: Services;
  /** The durable import queue, and this process's import worker (null with IMPORT_WORKER=false). */
  imports: { queue: PgBossImportQueue; worker: ImportWorker | null };
  /** What this process counts, served at /metrics. */
  metrics: Metrics;
  authSecret: string;
  generatedSecret: boolean;
  logger: Logger;
  /** Stops accepting requests, drains HTTP and WebSocket, closes the database, stops embedded PostgreSQL. */
  close(): Promise<void>;
}

export type BootOptions = CoreOptions & {
  /** When tokens expire (the system clock unless a test moves one by hand). */
  clock?: Clock;
};

/**
 * A public URL on port 0 (PORT=0 without PUBLIC_URL) reaches nobody: it stands for the port the
 * server got from the system, which `listening` (the server's own URL) names.
 */
export function withListeningPort(publicUrl: string, listening: string): string {
  const url = new URL(publicUrl);
  if (url.port !== "0") return publicUrl;
  url.port = new URL(listening).port;
  return url.toString().replace(/\/+$/, "");
}

/** The API server: the core every process starts (boot/core.ts), then the domain services and HTTP on top. */
export async function boot(config: Config, options: BootOptions = {}): Promise<Booted> {
  await checkPortFree(config.port, config.host);
  // Read when a link is made: with PORT=0 the port is known only once the server listens (below).
  let publicUrl = config.publicUrl;
  const core = await bootCore(config, { ...options, publicUrl: () => publicUrl });
  const { ds, events, storage, logger, authSecret, signer } = core;
  try {
    await ensureDefaultHuggingFaceRegistry(ds, config);
    const services = createServices({
      ds, config, authSecret, events, logger, storage, importQueue: core.imports.queue, clients: core.clients, registries: core.registries,
      signer, publicUrl: () => publicUrl, clock: options.clock,
    });
    await services.revocations.start();
    core.onClose("token revocations", () => services.revocations.stop());
    const verifiers: Verifiers = { users: services.tokens, keypairs: services.keypairs, revocations: services.revocations };
    const schema = await buildFederatedSchema(events as unknown as PubSub);
    const app = await startApp({
      config, ds, schema, services, events, verifiers, revocations: services.revocations, clock: options.clock, logger, metrics: core.metrics,
      mount: (express) => {
        express.use("/storage/fs", createFsLinkRouter({ signer, resolve: (store) => storage.filesystemAdapter(store) }));
        express.use("/storage/uploads", createUploadRouter(services.uploads, logger));
        express.use("/hf", createHfRouter({ ds, storage, config, logger, verifiers }));
        mountConsole(express);
      },
      ready: () => storage.ping(),
    });
    core.onClose("HTTP and WebSocket server", () => app.close());
    publicUrl = withListeningPort(config.publicUrl, app.url);
    return {
      app, ds, events, storage, config: { ...config, publicUrl }, services, imports: core.imports, metrics: core.metrics, authSecret, generatedSecret: core.generatedSecret, logger, close: core.close,
    };
  } catch (error) {
    await core.close();
    throw error;
  }
}
