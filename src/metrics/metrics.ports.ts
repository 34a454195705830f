/*
 * What the rest of the service tells the metrics, through these small interfaces passed in at
 * start-up. Nothing here reads a global: each process (and each test server) has its own.
 */

/** How an import settled; a cancel that put the revision back is CANCELLED. */
export type ImportFinalStatus = "AVAILABLE" | "NEEDS_APPROVAL" | "FAILED" | "CANCELLED";

/** One run (attempt) of one import in this process. */
export interface ImportRunMetrics {
  /** Bytes that arrived from the source. */
  received(bytes: number): void;
  /** The import settled, `seconds` after its first attempt began. */
  finished(status: ImportFinalStatus, seconds: number): void;
  /** The attempt ended without settling: retried later, or handed back by a shutdown. */
  requeued(): void;
}

export interface ImportMetrics {
  runStarted(): ImportRunMetrics;
}

/**
 * How one upstream request (one attempt, redirects followed) ended: by the status of its
 * answer, or why there was none. A fixed set, so the label stays bounded.
 */
export const UPSTREAM_OUTCOMES = ["ok", "rate_limited", "client_error", "server_error", "timeout", "network_error", "refused", "cancelled"] as const;
export type UpstreamOutcome = (typeof UPSTREAM_OUTCOMES)[number];

export interface UpstreamMetrics {
  /** `registry` is the registry's name (set by administrators, so bounded), never a URL. */
  request(registry: string, outcome: UpstreamOutcome): void;
}

export type Transport = "http" | "ws";
export type OperationKind = "query" | "mutation" | "subscription" | "unknown";

export interface RequestMetrics {
  request(transport: Transport, operation: OperationKind, seconds: number): void;
  subscriptionOpened(): void;
  subscriptionClosed(): void;
}

/** The import queue's jobs by state, read when scraped. */
export type QueueJobCounts = Record<"created" | "retry" | "active", number>;

const noop = () => undefined;

export const NO_IMPORT_METRICS: ImportMetrics = { runStarted: () => ({ received: noop, finished: noop, requeued: noop }) };
export const NO_UPSTREAM_METRICS: UpstreamMetrics = { request: noop };
