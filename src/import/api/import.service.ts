import type { DataSource, EntityManager } from "typeorm";
import type { Viewer } from "../../auth/viewer";
import { ArtifactStatus } from "../../common/enums";
import { AppError, ERRORS } from "../../common/errors";
import type { Logger } from "../../common/logger";
import { RSV_ID_TYPES } from "../../registry/registry.service";
import { parseId, toGlobalId } from "../../common/relay";
import { hydrate } from "../../common/sql";
import type { Config } from "../../config/config";
import type { EventBus, RevisionStatusChangedEvent } from "../../events/event-bus";
import { applyTransition, applyTransitionIn, CLEANABLE_STATUSES, IMPORTING_STATUSES, statusIn, UPLOADABLE_STATUSES } from "../../revision/lifecycle";
import { ArtifactRevisionEntity } from "../../revision/revision.entity";
import type { StorageManager } from "../../storage/storage-manager";
import type { RevisionServing } from "../../revision/revision.service";
import { delegateImport, type ReservoirImportDeps } from "../sources/delegate";
import { finalKey } from "../../revision/layout";
import { claimFolder, folderSharer, namesStoredFiles, stagingArea } from "../pipeline/folders";
import type { ImportQueue } from "../import.ports";
import { finishedUploads, forgetUploads } from "../uploads";
import type { UploadService } from "./upload.service";

export const MAX_IMPORT_IDS = 100;
const DEFAULT_URL_EXPIRY_SECONDS = 3600;

export interface ImportTask {
  taskId: string | null;
  revision: ArtifactRevisionEntity;
}

interface RevisionRow {
  revision: ArtifactRevisionEntity;
  artifactName: string;
  artifactReadonly: boolean;
  availability: string;
}

/** A presigned URL's lifetime, when given, is a whole number of seconds, at least one. */
function checkExpiration(expiration: number | null | undefined): void {
  if (expiration != null && (!Number.isInteger(expiration) || expiration < 1)) throw ERRORS.badInput("expiration must be a positive number of seconds", { argumentName: "expiration" });
}

/**
 * The import lifecycle as clients drive it: start, cancel, clean up, approve, reject, and the
 * presigned URLs of imported files. The transfers themselves run in the import worker.
 */
export class ImportService {
  constructor(
    private readonly ds: DataSource,
    private readonly config: Config,
    private readonly storage: StorageManager,
    private readonly queue: ImportQueue,
    private readonly events: EventBus,
    private readonly logger: Logger,
    private readonly reservoirs: ReservoirImportDeps,
    private readonly uploads: UploadService,
  ) {}

  /**
   * For revisions mirrored from Reservoir peers: asks each peer to import its copy (all-or-nothing
   * across peers), then starts the local imports, which wait for the peers' copies through their
   * subscriptions before pulling. This instance is the delegator; `delegatorReservoirId` and the
   * delegatee target are accepted for Backend.AI compatibility and checked as IDs.
   */
  async delegateImportArtifacts(
    rawIds: readonly string[],
    opts: { force: boolean; delegatorReservoirId?: string | null; delegateeReservoirId?: string | null },
    viewer: Viewer,
  ): Promise<ImportTask[]> {
    const ids = this.parseIds(rawIds, "artifactRevisionIds");
    if (opts.delegatorReservoirId) parseId(RSV_ID_TYPES, opts.delegatorReservoirId, "delegatorReservoirId");
    if (opts.delegateeReservoirId) parseId(RSV_ID_TYPES, opts.delegateeReservoirId, "delegateeReservoirId");
    await delegateImport(this.reservoirs, ids, { force: opts.force });
    return this.importArtifacts(ids, { force: opts.force, delegate: true }, viewer);
  }

  /**
   * Validates every revision first and starts all imports, jobs included, in ONE transaction, so
   * a request with one illegal item changes nothing and an answered error means nothing started.
   * An import already running returns its task; an AVAILABLE revision whose upstream commit has
   * not moved is not downloaded again unless forced. A revision with uploads imports them, not
   * upstream's files, into the namespace they wait in.
   */
  async importArtifacts(rawIds: readonly string[], opts: { force: boolean; namespaceId?: string | null; delegate?: boolean }, viewer: Viewer): Promise<ImportTask[]> {
    const ids = this.parseIds(rawIds, "artifactRevisionIds");
    const requestedNamespace = opts.namespaceId ? parseId("StorageNamespace", opts.namespaceId, "vfolderId") : null;
    const [namespace] = await this.ds.query(`SELECT id FROM storage_namespaces WHERE id = $1`, [requestedNamespace ?? this.storage.defaultNamespaceId]);
    if (!namespace) throw ERRORS.notFound("StorageNamespace", opts.namespaceId ?? this.storage.defaultNamespaceId);

    const started = await this.ds.transaction(async (em) => {
      const rows = await this.lockRevisions(em, ids);
      const started: RevisionStatusChangedEvent[] = [];
      const taskIds = new Map<string, string>();
      for (const id of ids) {
        const { revision, artifactName } = rows.get(id)!;
        // Already importing: its task is returned. AVAILABLE at the same commit: nothing to download.
        if (IMPORTING_STATUSES.includes(revision.status)) continue;
        const source = await this.importSource(em, revision, artifactName, { ...opts, namespaceId: requestedNamespace });
        if (!source) continue;
        await claimFolder(em, id, artifactName, revision.version, source.namespaceId, source.uploads ? null : source.commit);
        // Links not used yet die with an import of upstream's files: none may be used after it.
        if (!source.uploads) await forgetUploads(em, id);
        started.push(await applyTransitionIn(em, id, "startImport", {
          actor: viewer.sub,
          reason: source.uploads ? "import of uploaded files requested" : opts.force ? "forced import requested" : "import requested",
          force: opts.force,
          patch: {
            importCommit: source.commit, importNamespaceId: source.namespaceId, importDelegate: opts.delegate ?? false, importUploads: source.uploads,
            importCrashes: 0, importCrashMark: null, lastError: null, importProgress: null, importTaskId: null,
          },
        }, this.events));
        taskIds.set(id, await this.queue.enqueue(id, em));
      }
      for (const [id, taskId] of taskIds) await em.query(`UPDATE artifact_revisions SET import_task_id = $2 WHERE id = $1`, [id, taskId]);
      return started;
    });
    if (started.length > 0) this.queue.notifyEnqueued();
    const fresh = await this.findRevisions(ids);
    return Promise.all(ids.map(async (id) => {
      const revision = fresh.get(id)!;
      const running = IMPORTING_STATUSES.includes(revision.status);
      return { taskId: revision.importTaskId ?? (running ? await this.queue.activeJobId(id) : null), revision };
    }));
  }

  /**
   * What an import of the revision fetches, and where it goes; null when there is nothing to do
   * (AVAILABLE at the upstream commit, not forced). The uploads of a revision that takes them
   * are its content: they go to the namespace they wait in, and no peer can be asked for them.
   */
  private async importSource(
    em: EntityManager,
    revision: ArtifactRevisionEntity,
    artifactName: string,
    opts: { force: boolean; namespaceId: string | null; delegate?: boolean },
  ): Promise<{ commit: string; namespaceId: string; uploads: boolean } | null> {
    const globalId = toGlobalId("ArtifactRevision", revision.id);
    const uploads = statusIn(UPLOADABLE_STATUSES, revision.status) ? await finishedUploads(em, revision.id) : null;
    if (uploads) {
      if (opts.delegate) throw ERRORS.conflict(`ArtifactRevision ${globalId} of ${artifactName} has uploaded files, which no peer holds: import it with importArtifacts`);
      if (opts.namespaceId && opts.namespaceId !== uploads.namespaceId) {
        throw ERRORS.conflict(`ArtifactRevision ${globalId} has uploaded files waiting in StorageNamespace ${uploads.namespaceId}: import it there`, { argumentName: "vfolderId" });
      }
      return { commit: uploads.digest, namespaceId: uploads.namespaceId, uploads: true };
    }
    if (revision.status === ArtifactStatus.AVAILABLE && !opts.force && (revision.latestUpstreamDigest ?? revision.digest) === revision.digest) return null;
    if (!revision.latestUpstreamDigest) {
      throw ERRORS.conflict(`ArtifactRevision ${globalId} has no known upstream commit: scan it first`, { currentStatus: revision.status });
    }
    return { commit: revision.latestUpstreamDigest, namespaceId: opts.namespaceId ?? this.storage.defaultNamespaceId, uploads: false };
  }

  /**
   * Stops an import: the transition first (so a worker in any process sees it at its next tick),
   * then the job and its staging objects. The target is decided under the row lock, from the
   * status the import is in right then:
   * - a forced re-import of an AVAILABLE revision still PULLING goes back to AVAILABLE: its old
   *   files were never touched;
   * - any other import goes to SCANNED; from PULLED on (or while PULLING into a folder that named
   *   none of its files: they are published on arrival where the storage gains by it), its files
   *   are being (or have been) put in place, replacing a forced re-import's old ones, so they are
   *   removed, as cleanup would. A revision never reaches AVAILABLE with files the verifiers have
   *   not passed.
   */
  async cancel(rawId: string, viewer: Viewer): Promise<ArtifactRevisionEntity> {
    const id = parseId("ArtifactRevision", rawId, "artifactRevisionId");
    const { artifactName, revision } = await this.findVisible(id, viewer);
    const { placed, namespaces, importNamespaceId } = await this.ds.transaction(async (em) => {
      const [row]: Array<{ status: ArtifactStatus; import_namespace_id: string | null }> = await em.query(
        `SELECT status, import_namespace_id FROM artifact_revisions WHERE id = $1 FOR UPDATE`,
        [id],
      );
      const [started]: Array<{ from_status: ArtifactStatus | null }> = await em.query(
        `SELECT from_status FROM artifact_revision_status_history WHERE revision_id = $1 AND to_status = $2 ORDER BY id DESC LIMIT 1`,
        [id, ArtifactStatus.PULLING],
      );
      const restore = row.status === ArtifactStatus.PULLING && started?.from_status === ArtifactStatus.AVAILABLE;
      await applyTransitionIn(em, id, "cancel", {
        actor: viewer.sub,
        reason: "import cancelled",
        to: restore ? ArtifactStatus.AVAILABLE : ArtifactStatus.SCANNED,
        patch: { importTaskId: null, importCommit: null, importNamespaceId: null, importUploads: false, ...(restore ? {} : { digest: null }) },
      }, this.events);
      // While PULLING, files are in place only if the import published them on arrival, which it
      // does only when the revision named no stored files.
      const placed = row.status !== ArtifactStatus.PULLING || (!restore && !(await namesStoredFiles(em, id)));
      const namespaces = placed ? await this.forgetFiles(em, id) : [];
      return { placed, namespaces, importNamespaceId: row.import_namespace_id };
    });
    // Stops a run in this process and waits for it to unwind; a run elsewhere stops at its next
    // tick and removes what it wrote after this point itself. The cancel has committed: what
    // follows is best effort, and a job left behind finds its revision SCANNED and ends idle.
    try {
      await this.queue.cancel(id);
    } catch (error) {
      this.logger.warn(`could not stop the job of the cancelled import of revision ${id}; it ends when it finds the revision SCANNED`, error);
    }
    await this.deleteStaging(artifactName, revision.version, id, importNamespaceId);
    if (placed) {
      try {
        await this.deleteFiles(artifactName, revision.version, id, [...namespaces, ...(importNamespaceId ? [importNamespaceId] : [])]);
      } catch (error) {
        this.logger.warn(`could not delete the files of the cancelled import of revision ${id}; cleanup of a later import removes them`, error);
      }
    }
    return (await this.findRevisions([id])).get(id)!;
  }

  /**
   * Deletes the files of AVAILABLE, FAILED, REJECTED or NEEDS_APPROVAL revisions and returns them
   * to SCANNED, keeping every row of metadata; discards the uploads of SCANNED (and FAILED) ones.
   * Other revisions are errors for their item.
   */
  async cleanup(rawIds: readonly string[], viewer: Viewer, onItemError: (index: number, error: AppError) => void): Promise<ArtifactRevisionEntity[]> {
    const ids = this.parseIds(rawIds, "artifactRevisionIds");
    // Errors name the item where the client first listed the revision, repeats included.
    const firstIndex = new Map<string, number>();
    rawIds.forEach((raw, index) => {
      const id = parseId("ArtifactRevision", raw, "artifactRevisionIds");
      if (!firstIndex.has(id)) firstIndex.set(id, index);
    });
    const done: string[] = [];
    for (const id of ids) {
      try {
        await this.cleanupOne(id, viewer);
        done.push(id);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        onItemError(firstIndex.get(id)!, error);
      }
    }
    const fresh = await this.findRevisions(done);
    return done.map((id) => fresh.get(id)!);
  }

  /**
   * Under the row lock from the status check to the transition, so no import can start in
   * between: a failed delete leaves the revision as it was, still naming its files.
   */
  private async cleanupOne(id: string, viewer: Viewer): Promise<void> {
    const { artifactName } = await this.findVisible(id, viewer);
    await this.ds.transaction(async (em) => {
      const { revision } = (await this.lockRevisions(em, [id])).get(id)!;
      // A SCANNED revision stores nothing but its uploads, if any.
      if (revision.status === ArtifactStatus.SCANNED && (await this.uploads.discard(em, id, []))) return;
      if (!CLEANABLE_STATUSES.includes(revision.status)) {
        throw ERRORS.conflict(`ArtifactRevision ${toGlobalId("ArtifactRevision", id)} is ${revision.status}: only AVAILABLE, FAILED, REJECTED or NEEDS_APPROVAL revisions, or SCANNED ones with uploads, can be cleaned up`, { currentStatus: revision.status, action: "cleanup" });
      }
      // Rows first, files next, status last: if deleting fails, all of it rolls back.
      const namespaces = [...await this.forgetFiles(em, id), ...(revision.importNamespaceId ? [revision.importNamespaceId] : [])];
      await this.uploads.discard(em, id, namespaces);
      await this.deleteFiles(artifactName, revision.version, id, namespaces);
      await applyTransitionIn(em, id, "cleanup", {
        actor: viewer.sub,
        reason: "files cleaned up",
        patch: { digest: null, importTaskId: null, importCommit: null, importNamespaceId: null, importUploads: false, importProgress: null, verificationResult: null },
      }, this.events);
    });
  }

  /** The revision's rows stop naming stored files; answers the namespaces it was linked to. */
  private async forgetFiles(em: { query: DataSource["query"] }, id: string): Promise<string[]> {
    const [linked]: Array<{ ids: string[] }> = await em.query(`SELECT COALESCE(array_agg(namespace_id), '{}') AS ids FROM artifact_revision_namespaces WHERE revision_id = $1`, [id]);
    await em.query(`UPDATE artifact_revision_files SET storage_key = NULL, staged_sha256 = NULL WHERE revision_id = $1`, [id]);
    await em.query(`DELETE FROM artifact_revision_namespaces WHERE revision_id = $1`, [id]);
    return linked.ids;
  }

  /** Deletes the revision's folder (unless another revision still names it) and staging area in each namespace. */
  private async deleteFiles(artifactName: string, version: string, id: string, namespaceIds: string[]): Promise<void> {
    for (const namespaceId of new Set(namespaceIds)) {
      const adapter = await this.storage.adapterFor(namespaceId);
      if (!(await folderSharer(this.ds, id, artifactName, version, namespaceId))) await adapter.deletePrefix(finalKey(artifactName, version, ""));
      await stagingArea(adapter, artifactName, version, id).clear();
    }
  }

  async approve(rawId: string, viewer: Viewer): Promise<ArtifactRevisionEntity> {
    return this.decide(rawId, viewer, "approve", "approved");
  }

  async reject(rawId: string, viewer: Viewer): Promise<ArtifactRevisionEntity> {
    return this.decide(rawId, viewer, "reject", "rejected");
  }

  private async decide(rawId: string, viewer: Viewer, action: "approve" | "reject", reason: string): Promise<ArtifactRevisionEntity> {
    const id = parseId("ArtifactRevision", rawId, "artifactRevisionId");
    await this.findVisible(id, viewer);
    await applyTransition(this.ds, id, action, {
      actor: viewer.sub,
      reason,
      patch: { importTaskId: null },
    }, this.events);
    return (await this.findRevisions([id])).get(id)!;
  }

  /** A presigned GET of one file of an AVAILABLE revision; the expiry is clamped to the configured maximum. */
  async presignedDownloadUrl(rawId: string, key: string, expiration: number | null | undefined, viewer: Viewer): Promise<string> {
    const id = parseId("ArtifactRevision", rawId, "artifactRevisionId");
    const { revision } = await this.findVisible(id, viewer);
    checkExpiration(expiration);
    if (revision.status !== ArtifactStatus.AVAILABLE) {
      throw ERRORS.conflict(`ArtifactRevision ${toGlobalId("ArtifactRevision", id)} is ${revision.status}: files are served once it is AVAILABLE`, { currentStatus: revision.status });
    }
    const [file] = await this.ds.query(`SELECT storage_key FROM artifact_revision_files WHERE revision_id = $1 AND path = $2`, [id, key]);
    if (!file?.storage_key) throw ERRORS.notFound(`File of ArtifactRevision ${toGlobalId("ArtifactRevision", id)}:`, key);
    return this.presign(id, file.storage_key, expiration);
  }

  /**
   * For ArtifactFile.downloadUrl: null unless the revision is AVAILABLE and the file is stored.
   * `serving` loads the revision's status and namespace (batched across a request's files).
   */
  async fileDownloadUrl(storageKey: string | null, expiration: number | null | undefined, serving: () => Promise<RevisionServing | null>): Promise<string | null> {
    checkExpiration(expiration);
    if (!storageKey) return null;
    const revision = await serving();
    if (revision?.status !== ArtifactStatus.AVAILABLE || !revision.namespaceId) return null;
    return this.presignIn(revision.namespaceId, storageKey, expiration);
  }

  private async presign(revisionId: string, storageKey: string, expiration: number | null | undefined): Promise<string> {
    const namespaceId = await this.namespaceOf(revisionId);
    if (!namespaceId) throw ERRORS.conflict(`ArtifactRevision ${toGlobalId("ArtifactRevision", revisionId)} has no storage namespace`);
    return this.presignIn(namespaceId, storageKey, expiration);
  }

  private async presignIn(namespaceId: string, storageKey: string, expiration: number | null | undefined): Promise<string> {
    const adapter = await this.storage.adapterFor(namespaceId);
    const seconds = Math.min(Math.max(expiration ?? DEFAULT_URL_EXPIRY_SECONDS, 1), this.config.presignedUrlMaxExpiry);
    return adapter.presignGet(storageKey, { expiresInSeconds: seconds });
  }

  /** The namespace holding a revision's imported files, if any. */
  private async namespaceOf(revisionId: string): Promise<string | null> {
    const [association] = await this.ds.query(`SELECT namespace_id FROM artifact_revision_namespaces WHERE revision_id = $1 LIMIT 1`, [revisionId]);
    return association?.namespace_id ?? null;
  }

  private parseIds(rawIds: readonly string[], argName: string): string[] {
    if (rawIds.length === 0) throw ERRORS.badInput(`${argName} must list at least one revision`, { argumentName: argName });
    if (rawIds.length > MAX_IMPORT_IDS) throw ERRORS.badInput(`${argName} may list at most ${MAX_IMPORT_IDS} revisions`, { argumentName: argName });
    return [...new Set(rawIds.map((raw) => parseId("ArtifactRevision", raw, argName)))];
  }

  /** Locks the revisions (in id order, so concurrent requests cannot deadlock); NOT_FOUND names every unknown one. */
  private async lockRevisions(em: { query: DataSource["query"] }, ids: string[]): Promise<Map<string, RevisionRow>> {
    const rows: Record<string, unknown>[] = await em.query(
      `SELECT r.*, a.name AS artifact_name, a.readonly AS artifact_readonly, a.availability AS artifact_availability
         FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id
        WHERE r.id = ANY($1::uuid[]) ORDER BY r.id FOR UPDATE OF r`,
      [ids],
    );
    const found = new Map(rows.map((row) => [String(row.id), {
      revision: hydrate(this.ds, ArtifactRevisionEntity, row),
      artifactName: String(row.artifact_name),
      artifactReadonly: row.artifact_readonly === true,
      availability: String(row.artifact_availability),
    }]));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) {
      throw new AppError("NOT_FOUND", `ArtifactRevision not found: ${missing.map((id) => toGlobalId("ArtifactRevision", id)).join(", ")}`, { ids: missing.map((id) => toGlobalId("ArtifactRevision", id)) });
    }
    return found;
  }

  /** The revision as this viewer may see it: a `user` does not see revisions of DELETED artifacts. */
  private async findVisible(id: string, viewer: Viewer): Promise<RevisionRow> {
    const row = await this.loadRevision(id);
    if (!row || (viewer.role === "user" && row.availability !== "ALIVE")) throw ERRORS.notFound("ArtifactRevision", toGlobalId("ArtifactRevision", id));
    return row;
  }

  private async loadRevision(id: string): Promise<RevisionRow | undefined> {
    const [row] = await this.ds.query(
      `SELECT r.*, a.name AS artifact_name, a.readonly AS artifact_readonly, a.availability AS artifact_availability
         FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE r.id = $1`,
      [id],
    );
    if (!row) return undefined;
    return { revision: hydrate(this.ds, ArtifactRevisionEntity, row), artifactName: row.artifact_name, artifactReadonly: row.artifact_readonly === true, availability: row.artifact_availability };
  }

  private async findRevisions(ids: string[]): Promise<Map<string, ArtifactRevisionEntity>> {
    const rows: Record<string, unknown>[] = await this.ds.query(`SELECT * FROM artifact_revisions WHERE id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((row) => [String(row.id), hydrate(this.ds, ArtifactRevisionEntity, row)]));
  }

  private async deleteStaging(artifactName: string, version: string, id: string, namespaceId: string | null): Promise<void> {
    const namespaces = new Set([this.storage.defaultNamespaceId, ...(namespaceId ? [namespaceId] : [])]);
    for (const namespaceId of namespaces) {
      try {
        await stagingArea(await this.storage.adapterFor(namespaceId), artifactName, version, id).clear();
      } catch (error) {
        this.logger.warn(`could not delete staging of revision ${id}`, error);
      }
    }
  }
}
