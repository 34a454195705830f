// First: it may replace the process before anything else loads.
import "./boot/reexec";
import "reflect-metadata";
import { tuneHeapForStreaming } from "./boot/heap";
import { bootCore } from "./boot/core";
import { createLogger } from "./common/logger";
import { describeStartupFailure, errorMessage, StartupError } from "./common/startup-error";
import { serveMetrics } from "./metrics/metrics.endpoint";
import { ConfigError, loadConfig, type Config } from "./config/config";

tuneHeapForStreaming();

/*
 * A process that only runs imports (`npm run worker`): the core of the server (database,
 * storage, event bus, queue and worker), without HTTP. Point it at the servers' DATABASE_URL
 * (and S3 or DATA_DIR); the API servers can then run with IMPORT_WORKER=false.
 */

async function main(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  if (!config.databaseUrl) {
    throw new StartupError("a separate import worker needs DATABASE_URL: the embedded PostgreSQL belongs to the server process");
  }
  const core = await bootCore(config, { logger });
  logger.info(`import worker running ${config.import.concurrency} revision(s) at a time`);
  if (config.metrics.workerPort !== undefined) {
    try {
      const endpoint = await serveMetrics(core.metrics, { port: config.metrics.workerPort, host: config.host, token: config.metrics.token, logger });
      core.onClose("metrics endpoint", () => endpoint.close());
      logger.info(`import worker metrics at ${endpoint.url}/metrics`);
    } catch (error) {
      await core.close();
      throw new StartupError(`cannot serve the worker's metrics on ${config.host}:${config.metrics.workerPort} (METRICS_PORT): ${errorMessage(error)}`, { cause: error });
    }
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received: handing running imports back to the queue`);
    core.close().then(() => process.exit(0), (error) => {
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
  console.error(`import worker failed to start: ${describeStartupFailure(error)}`);
  process.exit(1);
});
