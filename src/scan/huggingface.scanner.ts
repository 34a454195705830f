import pLimit from "p-limit";
import type { DataSource, EntityManager } from "typeorm";
import type { ArtifactEntity } from "../artifact/artifact.entity";
import { ArtifactType } from "../common/enums";
import { AppError, ERRORS } from "../common/errors";
import type { Logger } from "../common/logger";
import type { HuggingFaceRegistryRecord } from "../registry/registry.records";
import { ArtifactRevisionEntity } from "../revision/revision.entity";
import { hydrate } from "../common/sql";
import type { HubClientFactory } from "../upstream/clients";
import { HubError, type HubClient, type HubModelInfo, type HubModelSummary, type HubRefs } from "../upstream/huggingface/hub.port";
import { discoverRevision } from "../revision/lifecycle";
import { MAX_README_BYTES, type ManifestFile } from "../revision/manifest";
import { recordRevisionDetails, upsertArtifact } from "./catalog";
import type { DetailQueue } from "./detail-queue";
import { unsafeModelIdReason, unsafePathReason, unsafeVersionReason } from "../revision/safe-path";
import { withDeadline } from "../common/deadline";

export const SOURCE_NAME = "huggingface";
const MODEL_CONCURRENCY = 8;

export interface ScanActor {
  sub: string;
}

export interface ScannedRevision {
  artifact: ArtifactEntity;
  revision: ArtifactRevisionEntity;
}

/** What the scanner needs from the hub port, per registry (URL and token). */

function describe(error: unknown): string {
  if (error instanceof HubError) {
    const code = error.errorCode ?? (error.status === null ? null : `HTTP ${error.status}`);
    return code ? `${code}: ${error.message}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A hub failure as the client sees it, naming the model. */
export function hubFailure(repo: string, error: unknown, revision?: string): AppError {
  if (error instanceof AppError) return error;
  const what = revision ? `${repo}@${revision}` : repo;
  if (error instanceof HubError && error.notFound) {
    return new AppError("NOT_FOUND", `Model ${what} not found on the hub (${describe(error)})`, { modelId: repo, revision: revision ?? null, upstreamCode: error.errorCode });
  }
  return ERRORS.upstream(`Hugging Face hub failed for ${what}: ${describe(error)}`, {
    modelId: repo, revision: revision ?? null, upstreamStatus: error instanceof HubError ? error.status : null,
  });
}

function licenseOf(info: HubModelSummary & { cardData?: Record<string, unknown> }): string | null {
  const fromCard = info.cardData?.license;
  if (typeof fromCard === "string") return fromCard;
  const tag = info.tags?.find((t) => t.startsWith("license:"));
  return tag ? tag.slice("license:".length) : null;
}

function extraOf(info: HubModelSummary & { cardData?: Record<string, unknown> }): Record<string, unknown> {
  return {
    gated: info.gated ?? false,
    private: info.private ?? false,
    tags: info.tags ?? [],
    pipelineTag: info.pipeline_tag ?? null,
    libraryName: info.library_name ?? null,
    downloads: info.downloads ?? null,
    likes: info.likes ?? null,
    license: licenseOf(info),
    lastModified: info.lastModified ?? null,
    createdAt: info.createdAt ?? null,
  };
}

/** Discovers models on a Hugging Face Hub: artifacts, one revision per branch and tag, then their details. */
export class HuggingFaceScanner {
  constructor(
    private readonly ds: DataSource,
    private readonly clients: HubClientFactory,
    private readonly queue: DetailQueue,
    private readonly logger: Logger,
    /** Deadline of each background detail job (SCAN_REQUEST_TIMEOUT_SECONDS). */
    private readonly detailTimeoutMs = 120_000,
  ) {}

  /**
   * Lists up to `limit` models and upserts them with a revision per ref; returns once they exist.
   * READMEs and manifests follow in the background (the detail queue).
   */
  async scan(registry: HuggingFaceRegistryRecord, opts: { limit: number; search?: string | null }, actor: ScanActor, signal?: AbortSignal): Promise<ArtifactEntity[]> {
    const client = this.clients(registry);
    const summaries: HubModelSummary[] = [];
    try {
      for await (const model of client.listModels({ search: opts.search ?? undefined, limit: opts.limit, signal })) summaries.push(model);
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw ERRORS.upstream(`Hugging Face hub ${registry.url} failed while listing models: ${describe(error)}`);
    }
    // A name that cannot be a folder of a storage key is never stored: skipped, and logged.
    const safe = summaries.filter((summary) => {
      const unsafe = unsafeModelIdReason(summary.id);
      if (unsafe) this.logger.warn(`hub ${registry.name}: skipped model ${JSON.stringify(summary.id.slice(0, 200))}: ${unsafe}`);
      return !unsafe;
    });
    const limit = pLimit(MODEL_CONCURRENCY);
    const results = await Promise.all(safe.map((summary) => limit(() => this.scanModel(client, registry, summary, actor, signal))));
    for (const { artifact, revisions } of results) {
      for (const { revision, commit } of revisions) {
        const label = `${artifact.name}@${revision.version}`;
        this.queue.enqueue(label, () => withDeadline(this.detailTimeoutMs, `Reading the details of ${label}`, (deadline) => this.fetchDetails(client, artifact.name, revision.id, commit, deadline)));
      }
    }
    return results.map((r) => r.artifact);
  }

  private async scanModel(client: HubClient, registry: HuggingFaceRegistryRecord, summary: HubModelSummary, actor: ScanActor, signal?: AbortSignal) {
    const repo = summary.id;
    let info: HubModelInfo;
    let refs: HubRefs;
    try {
      [info, refs] = await Promise.all([client.modelInfo(repo, undefined, { signal }), client.refs(repo, { signal })]);
    } catch (error) {
      if (error instanceof HubError && error.denied) return this.recordDenied(registry, summary, error, actor);
      throw hubFailure(repo, error);
    }
    const refNames = [...refs.branches, ...refs.tags];
    const versions = refNames.map((ref) => ({ version: ref.name, commit: ref.targetCommit })).filter(({ version }) => {
      const unsafe = unsafeVersionReason(version);
      if (unsafe) this.logger.warn(`hub ${registry.name}: skipped version ${JSON.stringify(version.slice(0, 200))} of ${repo}: ${unsafe}`);
      return !unsafe;
    });
    if (refNames.length === 0) versions.push({ version: "main", commit: info.sha });
    return this.ds.transaction(async (em) => {
      const artifact = await this.upsertModel(em, registry, { ...summary, ...info });
      const revisions = [];
      for (const { version, commit } of versions) {
        const revision = await this.upsertVersion(em, artifact.id, version, commit, actor, registry);
        revisions.push({ revision, commit });
      }
      return { artifact, revisions };
    });
  }

  /** A model whose details the token may not read: keep what the listing showed, and why the rest is missing. */
  private async recordDenied(registry: HuggingFaceRegistryRecord, summary: HubModelSummary, error: HubError, actor: ScanActor) {
    const artifact = await this.ds.transaction(async (em) => {
      const a = await this.upsertModel(em, registry, summary);
      const revision = await this.upsertVersion(em, a.id, "main", summary.sha ?? null, actor, registry);
      await em.query(`UPDATE artifact_revisions SET last_error = $2 WHERE id = $1`, [revision.id, describe(error)]);
      return a;
    });
    return { artifact, revisions: [] };
  }

  /**
   * A targeted scan of one model at one revision (the default branch when none is given),
   * details included, before it returns.
   */
  async scanModelRevision(registry: HuggingFaceRegistryRecord, modelId: string, revision: string | null, actor: ScanActor, signal?: AbortSignal): Promise<ScannedRevision> {
    const client = this.clients(registry);
    let info: HubModelInfo;
    let version = revision;
    try {
      info = await client.modelInfo(modelId, revision ?? undefined, { signal });
      if (!version) version = await this.defaultBranch(client, modelId, info.sha, signal);
    } catch (error) {
      throw hubFailure(modelId, error, revision ?? undefined);
    }
    // What the hub answered names the stored folders too: a renamed repo's id, its default branch.
    const unsafe = unsafeModelIdReason(info.id) ?? unsafeVersionReason(version!);
    if (unsafe) {
      throw ERRORS.upstream(`The hub answered a name for ${modelId} that cannot be stored (${JSON.stringify(info.id.slice(0, 200))}@${JSON.stringify(version!.slice(0, 200))}): ${unsafe}`, {
        modelId, revision: revision ?? null,
      });
    }
    const scanned = await this.ds.transaction(async (em) => {
      const artifact = await this.upsertModel(em, registry, info);
      const rev = await this.upsertVersion(em, artifact.id, version!, info.sha, actor, registry);
      return { artifact, revision: rev };
    });
    await this.fetchDetails(client, modelId, scanned.revision.id, info.sha, signal);
    const [fresh] = await this.ds.query(`SELECT * FROM artifact_revisions WHERE id = $1`, [scanned.revision.id]);
    return { artifact: scanned.artifact, revision: hydrate(this.ds, ArtifactRevisionEntity, fresh) };
  }

  private async defaultBranch(client: HubClient, repo: string, sha: string, signal?: AbortSignal): Promise<string> {
    try {
      const refs = await client.refs(repo, { signal });
      const at = refs.branches.filter((b) => b.targetCommit === sha).map((b) => b.name);
      return at.includes("main") ? "main" : at[0] ?? "main";
    } catch {
      if (signal?.aborted) throw signal.reason;
      return "main";
    }
  }

  private upsertModel(em: EntityManager, registry: HuggingFaceRegistryRecord, info: HubModelSummary) {
    return upsertArtifact(em, {
      registryId: registry.id,
      type: ArtifactType.MODEL,
      name: info.id,
      sourceName: SOURCE_NAME,
      sourceUrl: registry.url,
      extra: extraOf(info),
    });
  }

  private async upsertVersion(em: EntityManager, artifactId: string, version: string, commit: string | null, actor: ScanActor, registry: HuggingFaceRegistryRecord) {
    const { revision } = await discoverRevision(em, { artifactId, version, latestUpstreamDigest: commit }, { actor: actor.sub, registryName: registry.name });
    return revision;
  }

  /**
   * README, manifest (sizes, LFS SHA-256, git blob ids) and total size of a revision at its
   * pinned commit. Failures land in lastError, never in the README.
   */
  async fetchDetails(client: HubClient, repo: string, revisionId: string, commit: string | null, signal?: AbortSignal): Promise<void> {
    const ref = commit ?? "main";
    const files: ManifestFile[] = [];
    const skipped: string[] = [];
    let readme: string | null = null;
    let lastError: string | null = null;
    try {
      for await (const entry of client.tree(repo, ref, { signal })) {
        if (entry.type !== "file") continue;
        const unsafe = unsafePathReason(entry.path);
        if (unsafe) {
          skipped.push(`${JSON.stringify(entry.path.slice(0, 200))} (${unsafe})`);
          continue;
        }
        files.push({
          path: entry.path,
          size: String(entry.lfs?.size ?? entry.size),
          sha256: entry.lfs?.oid ?? null,
          upstreamOid: entry.oid ?? null,
        });
      }
    } catch (error) {
      lastError = `Could not read ${repo}@${ref}: ${describe(error)}`;
      this.logger.info(lastError);
      await recordRevisionDetails(this.ds.manager, revisionId, { commit, readme: null, files: null, lastError });
      return;
    }
    const problems: string[] = [];
    if (skipped.length) problems.push(`Skipped ${skipped.length} file(s) with unsafe paths: ${skipped.slice(0, 10).join(", ")}`);
    if (files.some((f) => f.path === "README.md")) {
      try {
        readme = await client.readText(repo, ref, "README.md", MAX_README_BYTES, { signal });
      } catch (error) {
        // The manifest stands without it; what the hub answered instead is never shown as the README.
        problems.push(`Could not read the README of ${repo}@${ref}: ${describe(error)}`);
      }
    }
    if (problems.length) lastError = problems.join("; ");
    await recordRevisionDetails(this.ds.manager, revisionId, { commit, readme, files, lastError });
  }
}
