import pLimit from "p-limit";
import type { DataSource } from "typeorm";
import type { ArtifactEntity } from "../artifact/artifact.entity";
import type { ArtifactUpsert } from "../artifact/artifact.records";
import { ArtifactType } from "../common/enums";
import { AppError, ERRORS } from "../common/errors";
import type { Logger } from "../common/logger";
import type { HuggingFaceRegistryRecord } from "../registry/registry.records";
import { ArtifactRevisionEntity } from "../revision/revision.entity";
import { hydrate } from "../common/sql";
import type { HubClientFactory } from "../upstream/clients";
import { HubError, type HubClient, type HubModelInfo, type HubModelSummary, type HubRefs } from "../upstream/huggingface/hub.port";
import { discoverRevision, discoverRevisions } from "../revision/lifecycle";
import { MAX_README_BYTES, type ManifestFile } from "../revision/manifest";
import { RevisionDetailsWriter, upsertArtifact, upsertArtifacts, type RevisionDetails } from "./catalog";
import type { DetailQueue } from "./detail-queue";
import { unsafeModelIdReason, unsafePathReason, unsafeVersionReason } from "../revision/safe-path";
import { withDeadline } from "../common/deadline";

export const SOURCE_NAME = "huggingface";
const MODEL_CONCURRENCY = 8;

export interface ScanActor {
  sub: string;
}

/** A listed model, the versions its refs name, and why the hub refused to show them (null: it did not). */
interface FoundModel {
  summary: HubModelSummary;
  versions: Array<{ version: string; commit: string | null }>;
  denied: string | null;
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

function licenseOf(info: HubModelSummary): string | null {
  const fromCard = info.cardData?.license;
  if (typeof fromCard === "string") return fromCard;
  const tag = info.tags?.find((t) => t.startsWith("license:"));
  return tag ? tag.slice("license:".length) : null;
}

function extraOf(info: HubModelSummary): Record<string, unknown> {
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
  private readonly writer: RevisionDetailsWriter;

  constructor(
    private readonly ds: DataSource,
    private readonly clients: HubClientFactory,
    private readonly queue: DetailQueue,
    private readonly logger: Logger,
    /** Deadline of each background detail job (SCAN_REQUEST_TIMEOUT_SECONDS). */
    private readonly detailTimeoutMs = 120_000,
  ) {
    this.writer = new RevisionDetailsWriter(ds);
  }

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
    // The listing carries every field of the artifact (cardData included): only the refs are asked per model.
    const limit = pLimit(MODEL_CONCURRENCY);
    const found = await Promise.all(safe.map((summary) => limit(() => this.readModel(client, registry, summary, signal))));
    const results = await this.store(registry, found, actor);
    for (const { artifact, revisions } of results) {
      for (const { revision, commit } of revisions) {
        const label = `${artifact.name}@${revision.version}`;
        this.queue.enqueue(label, () => {
          let written!: Promise<unknown>;
          const read = withDeadline(this.detailTimeoutMs, `Reading the details of ${label}`, (deadline) => {
            // Past the deadline too: what was read, or why not, is written when the read gives up.
            const details = this.readDetails(client, artifact.name, commit, deadline);
            // A read that fails is reported once, by the job.
            written = details.then((d) => this.writer.write(revision.id, d), () => undefined);
            return details.then(() => undefined);
          });
          // Tracked now, not when the read ends: a deadline frees the fetch slot before the write, and idle() must still wait for it.
          this.queue.track(label, written);
          return read;
        });
      }
    }
    return results.map((r) => r.artifact);
  }

  /** A model's refs as versions to store; a model the token may not read is kept with what the listing showed, and why the rest is missing. */
  private async readModel(client: HubClient, registry: HuggingFaceRegistryRecord, summary: HubModelSummary, signal?: AbortSignal): Promise<FoundModel> {
    const repo = summary.id;
    let refs: HubRefs;
    try {
      refs = await client.refs(repo, { signal });
    } catch (error) {
      if (error instanceof HubError && error.denied) return { summary, versions: [{ version: "main", commit: summary.sha ?? null }], denied: describe(error) };
      throw hubFailure(repo, error);
    }
    const refNames = [...refs.branches, ...refs.tags];
    const versions: FoundModel["versions"] = refNames.map((ref) => ({ version: ref.name, commit: ref.targetCommit })).filter(({ version }) => {
      const unsafe = unsafeVersionReason(version);
      if (unsafe) this.logger.warn(`hub ${registry.name}: skipped version ${JSON.stringify(version.slice(0, 200))} of ${repo}: ${unsafe}`);
      return !unsafe;
    });
    if (refNames.length === 0) versions.push({ version: "main", commit: summary.sha ?? null });
    return { summary, versions, denied: null };
  }

  /** Every model of a scan, its revisions and their history in one transaction: a few statements, whatever the number of models. */
  private store(registry: HuggingFaceRegistryRecord, found: FoundModel[], actor: ScanActor) {
    return this.ds.transaction(async (em) => {
      const artifacts = await upsertArtifacts(em, found.map(({ summary }) => this.modelUpsert(registry, summary)));
      const wanted = found.flatMap(({ versions }, i) => versions.map(({ version, commit }) => ({ artifactId: artifacts[i].id, version, latestUpstreamDigest: commit })));
      const discovered = await discoverRevisions(em, wanted, { actor: actor.sub, registryName: registry.name });
      let next = 0;
      const results = found.map(({ versions, denied }, i) => {
        const revisions = versions.map(({ commit }) => ({ revision: discovered[next++].revision, commit }));
        return { artifact: artifacts[i], revisions, denied };
      });
      const denied = results.filter((r) => r.denied !== null);
      if (denied.length > 0) {
        await em.query(
          `UPDATE artifact_revisions r SET last_error = u.last_error FROM unnest($1::uuid[], $2::text[]) AS u(id, last_error) WHERE r.id = u.id`,
          [denied.map((r) => r.revisions[0].revision.id), denied.map((r) => r.denied)],
        );
      }
      // The details of a model the token may not read are not fetched: the refusal stays in lastError.
      return results.map(({ artifact, revisions, denied }) => ({ artifact, revisions: denied === null ? revisions : [] }));
    });
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
      const artifact = await upsertArtifact(em, this.modelUpsert(registry, info));
      const { revision: rev } = await discoverRevision(em, { artifactId: artifact.id, version: version!, latestUpstreamDigest: info.sha }, { actor: actor.sub, registryName: registry.name });
      return { artifact, revision: rev };
    });
    await this.writer.write(scanned.revision.id, await this.readDetails(client, modelId, info.sha, signal));
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

  private modelUpsert(registry: HuggingFaceRegistryRecord, info: HubModelSummary): ArtifactUpsert {
    return {
      registryId: registry.id,
      type: ArtifactType.MODEL,
      name: info.id,
      sourceName: SOURCE_NAME,
      sourceUrl: registry.url,
      extra: extraOf(info),
    };
  }

  /**
   * README, manifest (sizes, LFS SHA-256, git blob ids) and total size of a revision at its
   * pinned commit. Failures land in lastError, never in the README.
   */
  async readDetails(client: HubClient, repo: string, commit: string | null, signal?: AbortSignal): Promise<RevisionDetails> {
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
      return { commit, readme: null, files: null, lastError };
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
    return { commit, readme, files, lastError };
  }
}
