import type { HuggingFaceRegistryRecord, ReservoirRegistryRecord } from "../registry/registry.records";
import type { EgressPolicy } from "./egress";
import { NO_UPSTREAM_METRICS, type UpstreamMetrics } from "../metrics/metrics.ports";
import { createHubClient } from "./huggingface/hub.client";
import type { HubClient } from "./huggingface/hub.port";
import { reservoirClientFactory, type ReservoirClient } from "./reservoir/reservoir.client";

/** A client for one Hugging Face registry (its endpoint and token). */
export type HubClientFactory = (registry: HuggingFaceRegistryRecord) => HubClient;
/** A client for one Reservoir registry (its endpoint and key pair). */
export type ReservoirClientFactory = (registry: ReservoirRegistryRecord) => ReservoirClient;

/** How a process reaches upstream registries: built once at start-up, shared by scans and imports. */
export interface UpstreamClients {
  hub: HubClientFactory;
  reservoir: ReservoirClientFactory;
  /** Where every upstream connection may go; presigned downloads go through it too. */
  egress: EgressPolicy;
  /** Told how each request went, by registry name. */
  metrics: UpstreamMetrics;
}

export interface UpstreamClientOptions {
  timeoutMs: number;
  egress: EgressPolicy;
  /** Pages one upstream listing may take (SCAN_MAX_TREE_PAGES). */
  maxPages: number;
  /** Files one revision's manifest may list (SCAN_MAX_FILES). */
  maxFiles: number;
  metrics?: UpstreamMetrics;
}

export function createUpstreamClients(options: UpstreamClientOptions): UpstreamClients {
  const { timeoutMs, egress, maxPages, maxFiles } = options;
  const metrics = options.metrics ?? NO_UPSTREAM_METRICS;
  const createReservoir = reservoirClientFactory({ timeoutMs, egress, maxPages, maxFilesPerRevision: maxFiles });
  return {
    hub: (registry) => createHubClient({
      endpoint: registry.url, token: registry.token ?? undefined, timeoutMs, egress, maxPages, maxTreeFiles: maxFiles,
      observe: (outcome) => metrics.request(registry.name, outcome),
    }),
    reservoir: (registry) => createReservoir({ ...registry, observe: (outcome) => metrics.request(registry.name, outcome) }),
    egress,
    metrics,
  };
}
