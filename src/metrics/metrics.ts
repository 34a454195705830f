import { performance } from "node:perf_hooks";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Logger } from "../common/logger";
import type { ImportFinalStatus, ImportMetrics, QueueJobCounts, RequestMetrics, UpstreamMetrics } from "./metrics.ports";

const PREFIX = "artifact_registry_";
/** An import takes seconds (a config) to a day (a 70 GB model on a slow link). */
const IMPORT_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400, 43_200, 86_400];
const FINAL_STATUSES: readonly ImportFinalStatus[] = ["AVAILABLE", "NEEDS_APPROVAL", "FAILED", "CANCELLED"];
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** One process's metrics: its own registry, so test servers (and a worker beside a server) never mix counts. */
export interface Metrics {
  readonly registry: Registry;
  readonly imports: ImportMetrics;
  readonly upstream: UpstreamMetrics;
  readonly requests: RequestMetrics;
  /** Where the queue's job counts come from; read at each scrape. */
  watchQueue(read: () => Promise<QueueJobCounts>): void;
  /** The Prometheus text exposition. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

export function createMetrics(logger: Logger): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const importsStarted = new Counter({ name: `${PREFIX}imports_started_total`, help: "Import runs (attempts) this process started.", registers });
  const importsFinished = new Counter({
    name: `${PREFIX}imports_total`, help: "Imports this process settled, by the revision's final status.", labelNames: ["status"] as const, registers,
  });
  const importRetries = new Counter({
    name: `${PREFIX}import_retries_total`, help: "Import runs that ended without settling: a transient failure retried later, or a shutdown.", registers,
  });
  const importBytes = new Counter({ name: `${PREFIX}import_bytes_total`, help: "Bytes imports received from their sources.", registers });
  const importDuration = new Histogram({
    name: `${PREFIX}import_duration_seconds`, help: "From an import's first attempt to its final status.", labelNames: ["status"] as const, buckets: IMPORT_BUCKETS, registers,
  });
  const importsRunning = new Gauge({ name: `${PREFIX}imports_running`, help: "Imports running in this process now.", registers });
  let readQueue: (() => Promise<QueueJobCounts>) | null = null;
  new Gauge({
    name: `${PREFIX}queue_jobs`,
    help: "Import jobs in the queue (all processes) by state: created (waiting), retry (waiting after a failure), active (running).",
    labelNames: ["state"] as const,
    registers,
    async collect() {
      this.reset();
      if (!readQueue) return;
      try {
        for (const [state, count] of Object.entries(await readQueue())) this.set({ state }, count);
      } catch (error) {
        // A scrape still answers the process's own metrics while the database does not.
        logger.warn("metrics: could not read the import queue", error);
      }
    },
  });
  const upstreamRequests = new Counter({
    name: `${PREFIX}upstream_requests_total`, help: "Requests to upstream registries, by registry name and outcome.", labelNames: ["registry", "outcome"] as const, registers,
  });
  const requestDuration = new Histogram({
    name: `${PREFIX}graphql_request_duration_seconds`,
    help: "GraphQL requests by transport and operation type; for a subscription, until its stream is set up.",
    labelNames: ["transport", "operation"] as const,
    buckets: REQUEST_BUCKETS,
    registers,
  });
  const subscriptionsOpen = new Gauge({ name: `${PREFIX}subscriptions_open`, help: "GraphQL subscriptions open on this process.", registers });
  // Every status from the start: increase() misses the first failure of a series that did not exist before it.
  for (const status of FINAL_STATUSES) {
    importsFinished.inc({ status }, 0);
    importDuration.zero({ status });
  }

  return {
    registry,
    imports: {
      runStarted() {
        importsStarted.inc();
        importsRunning.inc();
        let ended = false;
        const end = () => {
          if (ended) return false;
          ended = true;
          importsRunning.dec();
          return true;
        };
        return {
          received: (bytes) => {
            if (bytes > 0) importBytes.inc(bytes);
          },
          finished: (status: ImportFinalStatus, seconds: number) => {
            if (!end()) return;
            importsFinished.inc({ status });
            importDuration.observe({ status }, Math.max(0, seconds));
          },
          requeued: () => {
            if (end()) importRetries.inc();
          },
        };
      },
    },
    upstream: { request: (registry, outcome) => upstreamRequests.inc({ registry, outcome }) },
    requests: {
      request: (transport, operation, seconds) => requestDuration.observe({ transport, operation }, seconds),
      subscriptionOpened: () => subscriptionsOpen.inc(),
      subscriptionClosed: () => subscriptionsOpen.dec(),
    },
    watchQueue(read) {
      readQueue = read;
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** Seconds since a `performance.now()` reading. */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
