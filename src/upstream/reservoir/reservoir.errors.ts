import { AppError, ERRORS } from "../../common/errors";
import type { ReservoirRegistryRecord } from "../../registry/registry.records";

/**
 * Why a call to a Reservoir remote failed:
 * - `refused`: the remote answered UNAUTHENTICATED (unknown, revoked or misconfigured key pair);
 * - `forbidden`: the key pair's role may not do this on the remote;
 * - `remote`: any other GraphQL error the remote reported;
 * - `http`: a non-GraphQL HTTP failure (after retries, for the transient ones);
 * - `network` / `timeout`: no answer (after retries);
 * - `protocol`: an answer this client does not understand.
 */
export type ReservoirFailure = "refused" | "forbidden" | "remote" | "http" | "network" | "timeout" | "protocol";

export interface ReservoirErrorDetails {
  status?: number | null;
  /** The remote's `extensions.code`. */
  remoteCode?: string | null;
  /** The remote's own message, verbatim (it is shown to our clients: the remote is not ours to mask). */
  remoteMessage?: string | null;
  cause?: unknown;
}

/** A failed call to a Reservoir remote. The message says what happened in words an operator can act on. */
export class ReservoirError extends Error {
  readonly status: number | null;
  readonly remoteCode: string | null;
  readonly remoteMessage: string | null;

  constructor(readonly kind: ReservoirFailure, message: string, details: ReservoirErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ReservoirError";
    this.status = details.status ?? null;
    this.remoteCode = details.remoteCode ?? null;
    this.remoteMessage = details.remoteMessage ?? null;
  }
}

/** A remote failure as our clients see it: UPSTREAM_ERROR naming the registry and the remote's reason. */
export function reservoirFailure(registry: Pick<ReservoirRegistryRecord, "id" | "name" | "endpoint">, error: unknown, doing = ""): Error {
  if (error instanceof AppError || !(error instanceof ReservoirError)) return error as Error;
  return ERRORS.upstream(`Reservoir registry ${JSON.stringify(registry.name)} (${registry.endpoint})${doing ? ` ${doing}` : ""}: ${error.message}`, {
    registryId: registry.id,
    registryName: registry.name,
    reason: error.kind,
    remoteCode: error.remoteCode,
    upstreamStatus: error.status,
  });
}
