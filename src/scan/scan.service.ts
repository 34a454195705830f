import pLimit from "p-limit";
import type { ArtifactEntity } from "../artifact/artifact.entity";
import type { Viewer } from "../auth/viewer";
import { ArtifactRegistryType, ArtifactType } from "../common/enums";
import { AppError, ERRORS } from "../common/errors";
import { parseAnyId, parseId } from "../common/relay";
import { RSV_ID_TYPES, type RegistryService } from "../registry/registry.service";
import { unsafeModelIdReason, unsafeVersionReason } from "../revision/safe-path";
import type { DetailQueue } from "./detail-queue";
import type { ReservoirScanner } from "./reservoir.scanner";
import { hubFailure, type HuggingFaceScanner, type ScannedRevision } from "./huggingface.scanner";
import { deadlineSignal, withDeadline } from "../common/deadline";

export const MAX_SCAN_LIMIT = 500;
export const MAX_TARGETED_MODELS = 100;
const TARGETED_CONCURRENCY = 4;

export interface ScanArtifactsRequest {
  registryId?: string | null;
  limit: number;
  artifactType?: ArtifactType | null;
  search?: string | null;
}

export interface ModelTargetRequest {
  modelId: string;
  revision?: string | null;
}

export interface DelegateScanRequest {
  delegatorReservoirId?: string | null;
  delegateeTarget?: { delegateeReservoirId: string; targetRegistryId: string } | null;
  limit: number;
  artifactType?: ArtifactType | null;
  search?: string | null;
}

function checkScanSize(input: { limit: number; search?: string | null }): void {
  if (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > MAX_SCAN_LIMIT) {
    throw ERRORS.badInput(`limit must be between 1 and ${MAX_SCAN_LIMIT}`, { argumentName: "limit" });
  }
  if (input.search != null && input.search.length > 256) throw ERRORS.badInput("search may be at most 256 characters", { argumentName: "search" });
}

/** Which registry a scan talks to, and through which scanner. */
export class ScanService {
  constructor(
    private readonly registries: RegistryService,
    private readonly huggingface: HuggingFaceScanner,
    private readonly queue: DetailQueue,
    private readonly reservoir: ReservoirScanner,
    /** Deadline of one scan request (SCAN_REQUEST_TIMEOUT_SECONDS). */
    private readonly requestTimeoutMs = 120_000,
  ) {}

  async scanArtifacts(input: ScanArtifactsRequest, viewer: Viewer): Promise<ArtifactEntity[]> {
    checkScanSize(input);
    const registry = await this.resolveRegistry(input.registryId, input.artifactType ?? ArtifactType.MODEL);
    if (registry.type === ArtifactRegistryType.RESERVOIR) {
      return this.deadline("The scan", (signal) =>
        this.reservoir.scanRegistry(registry.id, { limit: input.limit, artifactType: input.artifactType, search: input.search }, viewer, signal));
    }
    if (input.artifactType && input.artifactType !== ArtifactType.MODEL) {
      throw ERRORS.badInput(`A Hugging Face registry offers MODEL artifacts only, not ${input.artifactType}`, { argumentName: "artifactType" });
    }
    const hf = await this.registries.findHuggingFace(registry.id);
    if (!hf) throw ERRORS.notFound("HuggingFaceRegistry", registry.id);
    return this.deadline("The scan", (signal) => this.huggingface.scan(hf, { limit: input.limit, search: input.search }, viewer, signal));
  }

  /**
   * Scans each listed model at its revision, details included. One bad item is an error for that
   * item (passed to onItemError with its index) while the others succeed.
   */
  async scanModels(
    models: readonly ModelTargetRequest[],
    registryId: string | null | undefined,
    viewer: Viewer,
    onItemError: (index: number, error: AppError) => void,
  ): Promise<ScannedRevision[]> {
    if (models.length === 0) throw ERRORS.badInput("models must list at least one model", { argumentName: "models" });
    if (models.length > MAX_TARGETED_MODELS) throw ERRORS.badInput(`models may list at most ${MAX_TARGETED_MODELS} models`, { argumentName: "models" });
    const registry = await this.resolveRegistry(registryId, ArtifactType.MODEL);
    const hf = registry.type === ArtifactRegistryType.HUGGINGFACE ? await this.registries.findHuggingFace(registry.id) : null;
    if (!hf) throw ERRORS.badInput("scanArtifactModels scans a Hugging Face registry; use scanArtifacts for a Reservoir", { argumentName: "registryId" });
    const limit = pLimit(TARGETED_CONCURRENCY);
    // One deadline for the whole request; each model still answers on its own, and those it cut short say so.
    const { signal, clear } = deadlineSignal(this.requestTimeoutMs, "The scan");
    const results = await Promise.all(models.map((target, index) => limit(async () => {
      try {
        const revision = target.revision?.trim() || null;
        const badId = unsafeModelIdReason(target.modelId);
        if (badId) throw ERRORS.badInput(`modelId ${JSON.stringify(target.modelId.slice(0, 200))} is not a repository id like "org/name": ${badId}`, { argumentName: "modelId" });
        const badVersion = revision === null ? null : unsafeVersionReason(revision);
        if (badVersion) throw ERRORS.badInput(`revision ${JSON.stringify(revision!.slice(0, 200))} cannot name a stored version: ${badVersion}`, { argumentName: "revision" });
        signal.throwIfAborted();
        return await this.huggingface.scanModelRevision(hf, target.modelId, revision, viewer, signal);
      } catch (error) {
        onItemError(index, error instanceof AppError ? error : hubFailure(target.modelId, error, target.revision ?? undefined));
        return null;
      }
    }))).finally(clear);
    return results.filter((r): r is ScannedRevision => r !== null);
  }

  /**
   * Asks a Reservoir peer (the delegatee) to scan one of its own registries, then mirrors what it
   * found. This instance is always the delegator: `delegatorReservoirId` is accepted for
   * Backend.AI compatibility and checked to be a well-formed ID, nothing more.
   */
  async delegateScan(input: DelegateScanRequest, viewer: Viewer): Promise<ArtifactEntity[]> {
    checkScanSize(input);
    if (input.delegatorReservoirId) parseId(RSV_ID_TYPES, input.delegatorReservoirId, "delegatorReservoirId");
    const target = input.delegateeTarget;
    if (!target) throw ERRORS.badInput("delegateeTarget is required: which Reservoir peer scans which of its registries", { argumentName: "delegateeTarget" });
    const delegatee = parseId(RSV_ID_TYPES, target.delegateeReservoirId, "delegateeReservoirId");
    if (!target.targetRegistryId.trim()) throw ERRORS.badInput("targetRegistryId must not be empty", { argumentName: "targetRegistryId" });
    return this.deadline("The delegated scan", (signal) =>
      this.reservoir.delegateScanRegistry(delegatee, target.targetRegistryId, { limit: input.limit, artifactType: input.artifactType, search: input.search }, viewer, signal));
  }

  /** Waits for background detail jobs (tests and graceful shutdown). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private deadline<T>(what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withDeadline(this.requestTimeoutMs, what, work);
  }

  private async resolveRegistry(rawId: string | null | undefined, type: ArtifactType) {
    if (rawId) {
      const { id } = parseAnyId(["HuggingFaceRegistry", "ReservoirRegistry", "ArtifactRegistry"], rawId, "registryId");
      const registry = await this.registries.findRegistry(id);
      if (!registry) throw ERRORS.notFound("Registry", rawId);
      return registry;
    }
    const registry = await this.registries.defaultRegistry(type);
    if (!registry) throw ERRORS.notFound("Default registry for", type);
    return registry;
  }
}
