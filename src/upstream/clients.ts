import type { HuggingFaceRegistryRecord, ReservoirRegistryRecord } from "../registry/registry.records";
import type { EgressPolicy } from "./egress";
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
}

export function createUpstreamClients(options: { timeoutMs: number; egress: EgressPolicy }): UpstreamClients {
  const { timeoutMs, egress } = options;
  return {
    hub: (registry) => createHubClient({ endpoint: registry.url, token: registry.token ?? undefined, timeoutMs, egress }),
    reservoir: reservoirClientFactory({ timeoutMs, egress }),
    egress,
  };
}
