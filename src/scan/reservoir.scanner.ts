import pLimit from "p-limit";
import type { DataSource } from "typeorm";
import type { ArtifactEntity } from "../artifact/artifact.entity";
import { ArtifactAvailability, ArtifactType } from "../common/enums";
import { ERRORS } from "../common/errors";
import type { Logger } from "../common/logger";
import type { ReservoirRegistryRecord } from "../registry/registry.records";
import type { ReservoirClientFactory } from "../upstream/clients";
import type { ReservoirClient, RemoteArtifactWithRevisions } from "../upstream/reservoir/reservoir.client";
import type { RemoteArtifactFilter } from "../upstream/reservoir/reservoir.documents";
import { ReservoirError, reservoirFailure } from "../upstream/reservoir/reservoir.errors";
import { discoverRevision } from "../revision/lifecycle";
import { RevisionDetailsWriter, upsertArtifact } from "./catalog";
import type { DetailQueue } from "./detail-queue";
import type { ScanActor } from "./huggingface.scanner";
import { artifactUpsertOf, manifestOf, readmeOf, revisionUpsertOf } from "../upstream/reservoir/reservoir.mapping";

export interface ReservoirScanOptions {
  limit: number;
  artifactType?: ArtifactType | null;
  search?: string | null;
}

export interface ReservoirScannerDeps {
  ds: DataSource;
  clients: ReservoirClientFactory;
  /** Looks registries up for scanRegistry / delegateScanRegistry (RegistryService fits). */
  registries: { findReservoir(id: string): Promise<ReservoirRegistryRecord | null> };
  logger: Logger;
  /** Revisions whose details are fetched from the remote at the same time. */
  detailConcurrency?: number;
  /**
   * When given, READMEs and manifests are fetched in the background like a Hugging Face scan's;
   * otherwise a scan returns once they are stored.
   */
  queue?: DetailQueue;
}

const SYSTEM_ACTOR: ScanActor = { sub: "system" };

interface DetailJob {
  label: string;
  remoteRevisionId: string;
  revisionId: string;
  commit: string | null;
  remoteSize: string | null;
}

/**
 * Discovers artifacts on a Reservoir registry, another instance of this service: mirrors its
 * ALIVE artifacts, their revisions (local status SCANNED, remoteStatus following the remote's
 * status) and each revision's README and file manifest.
 */
export class ReservoirScanner {
  private readonly detailConcurrency: number;
  private readonly writer: RevisionDetailsWriter;

  constructor(private readonly deps: ReservoirScannerDeps) {
    this.detailConcurrency = deps.detailConcurrency ?? 4;
    this.writer = new RevisionDetailsWriter(deps.ds);
  }

  /** Scans up to `opts.limit` of the remote's artifacts; returns the local artifacts, in the remote's name order. */
  async scan(registry: ReservoirRegistryRecord, opts: ReservoirScanOptions, actor: ScanActor = SYSTEM_ACTOR, signal?: AbortSignal): Promise<ArtifactEntity[]> {
    const filter: RemoteArtifactFilter = { availability: [ArtifactAvailability.ALIVE] };
    if (opts.artifactType) filter.type = [opts.artifactType];
    if (opts.search) filter.name = { iContains: opts.search };
    return this.mirror(registry, this.client(registry, signal), filter, opts.limit, actor);
  }

  /**
   * Asks the remote to scan one of its own registries (`targetRegistryId` is the remote's ID),
   * then mirrors the artifacts that scan returned. The remote's own details (READMEs, manifests)
   * may still be on their way there: what it has at this moment is copied, a rescan brings the rest.
   */
  async delegateScan(
    delegatee: ReservoirRegistryRecord, targetRegistryId: string, opts: ReservoirScanOptions, actor: ScanActor = SYSTEM_ACTOR, signal?: AbortSignal,
  ): Promise<ArtifactEntity[]> {
    const client = this.client(delegatee, signal);
    let scanned;
    try {
      scanned = await client.scanArtifacts({ registryId: targetRegistryId, limit: opts.limit, artifactType: opts.artifactType ?? null, search: opts.search ?? null });
    } catch (error) {
      throw reservoirFailure(delegatee, error, `could not scan its registry ${targetRegistryId}`);
    }
    if (scanned.length === 0) return [];
    const names = [...new Set(scanned.map((a) => a.name))];
    const types = [...new Set(scanned.map((a) => a.type))].filter((t): t is ArtifactType => (Object.values(ArtifactType) as string[]).includes(t));
    const registries = new Set(scanned.map((a) => a.registry.name));
    const filter: RemoteArtifactFilter = { availability: [ArtifactAvailability.ALIVE], name: { in: names }, type: types };
    // Another of the remote's registries may hold artifacts of the same names: keep to the scanned one.
    const [registryName] = registries;
    if (registries.size === 1 && registryName) filter.registry = { equals: registryName };
    return this.mirror(delegatee, client, filter, names.length, actor);
  }

  /** scan() by registry ID: the shape ScanService calls. */
  async scanRegistry(registryId: string, opts: ReservoirScanOptions, actor: ScanActor, signal?: AbortSignal): Promise<ArtifactEntity[]> {
    return this.scan(await this.registry(registryId), opts, actor, signal);
  }

  /** delegateScan() by the delegatee's ID. */
  async delegateScanRegistry(delegateeId: string, targetRegistryId: string, opts: ReservoirScanOptions, actor: ScanActor, signal?: AbortSignal): Promise<ArtifactEntity[]> {
    return this.delegateScan(await this.registry(delegateeId), targetRegistryId, opts, actor, signal);
  }

  /** The registry's client, its calls stopped by the scan's deadline. */
  private client(registry: ReservoirRegistryRecord, signal?: AbortSignal): ReservoirClient {
    const client = this.deps.clients(registry);
    return signal ? client.withSignal(signal) : client;
  }

  private async registry(id: string): Promise<ReservoirRegistryRecord> {
    const registry = await this.deps.registries.findReservoir(id);
    if (!registry) throw ERRORS.notFound("ReservoirRegistry", id);
    return registry;
  }

  private async mirror(registry: ReservoirRegistryRecord, client: ReservoirClient, filter: RemoteArtifactFilter, limit: number, actor: ScanActor): Promise<ArtifactEntity[]> {
    const artifacts: ArtifactEntity[] = [];
    const jobs: DetailJob[] = [];
    // Our key is (registry, type, name); the remote's also has its registry, so two of its artifacts may meet in one of ours.
    const seen = new Set<string>();
    try {
      for await (const remote of client.artifacts(filter, limit)) {
        const key = `${remote.artifact.type}\0${remote.artifact.name}`;
        if (seen.has(key)) {
          this.deps.logger.warn(`reservoir ${registry.name}: ${remote.artifact.type} ${remote.artifact.name} is offered by more than one of its registries; keeping the first`);
          continue;
        }
        seen.add(key);
        const stored = await this.store(registry, remote, actor);
        if (!stored) continue;
        artifacts.push(stored.artifact);
        jobs.push(...stored.jobs);
      }
    } catch (error) {
      throw reservoirFailure(registry, error, "failed while listing artifacts");
    }
    if (this.deps.queue) {
      for (const job of jobs) this.deps.queue.enqueue(`${registry.name}: ${job.label}`, () => this.details(registry, client, job));
    } else {
      const limitDetails = pLimit(this.detailConcurrency);
      // Once the remote refuses us or is gone, the queued jobs would only fail the same way.
      let failed = false;
      await Promise.all(jobs.map((job) => limitDetails(async () => {
        if (failed) return;
        try {
          await this.details(registry, client, job);
        } catch (error) {
          failed = true;
          throw error;
        }
      })));
    }
    return artifacts;
  }

  private async store(registry: ReservoirRegistryRecord, remote: RemoteArtifactWithRevisions, actor: ScanActor) {
    const mapped = artifactUpsertOf(registry.id, remote.artifact);
    if ("skip" in mapped) {
      this.deps.logger.warn(`reservoir ${registry.name}: skipped artifact ${JSON.stringify(remote.artifact.name.slice(0, 200))}: ${mapped.skip}`);
      return null;
    }
    return this.deps.ds.transaction(async (em) => {
      const artifact = await upsertArtifact(em, mapped.ok);
      const jobs: DetailJob[] = [];
      for (const rev of remote.revisions) {
        const upsert = revisionUpsertOf(artifact.id, rev);
        if ("skip" in upsert) {
          this.deps.logger.warn(`reservoir ${registry.name}: skipped a revision of ${artifact.name}: ${upsert.skip}`);
          continue;
        }
        const { revision } = await discoverRevision(em, upsert.ok, { actor: actor.sub, registryName: registry.name });
        jobs.push({ label: `${artifact.name}@${revision.version}`, remoteRevisionId: rev.id, revisionId: revision.id, commit: revision.latestUpstreamDigest, remoteSize: rev.size });
      }
      return { artifact, jobs };
    });
  }

  // The same audit row the Hugging Face scanner writes for a revision it discovers.

  /**
   * Copies one revision's README and manifest. A revision the remote cannot describe keeps the
   * reason in lastError; a refused key pair or an unreachable remote fails the whole scan.
   */
  private async details(registry: ReservoirRegistryRecord, client: ReservoirClient, job: DetailJob): Promise<void> {
    let remote;
    try {
      remote = await client.revisionDetails(job.remoteRevisionId);
    } catch (error) {
      if (!(error instanceof ReservoirError) || (error.kind !== "remote" && error.kind !== "protocol")) {
        throw reservoirFailure(registry, error, `failed while reading ${job.label}`);
      }
      const lastError = `Could not read ${job.label} from ${registry.name}: ${error.message}`;
      this.deps.logger.info(lastError);
      await this.writer.write(job.revisionId, { commit: job.commit, readme: null, files: null, lastError });
      return;
    }
    const { files, skipped } = manifestOf(remote.files);
    // No files and no size: the remote has not read them yet (it fetches details in the background); not an empty revision.
    const manifest = remote.files.length === 0 && job.remoteSize === null ? null : files;
    const lastError = skipped.length ? `Skipped ${skipped.length} file(s) with unsafe paths: ${skipped.slice(0, 10).join(", ")}` : null;
    await this.writer.write(job.revisionId, { commit: job.commit, readme: readmeOf(remote.readme), files: manifest, lastError });
  }
}
