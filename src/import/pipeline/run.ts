import { createHash } from "node:crypto";
import pLimit from "p-limit";
import type { DataSource } from "typeorm";
import { ArtifactStatus } from "../../common/enums";
import { AppError } from "../../common/errors";
import type { Logger } from "../../common/logger";
import type { EventBus } from "../../events/event-bus";
import { applyTransition, applyTransitionIn, IMPORTING_STATUSES, type LifecycleAction } from "../../revision/lifecycle";
import type { VerificationResultData } from "../../revision/revision.entity";
import type { ManifestFile } from "../../revision/manifest";
import type { StorageManager } from "../../storage/storage-manager";
import { StorageKeyError, StorageNotFoundError, type StagingArea, type StorageAdapter } from "../../storage/storage.port";
import { DEFAULT_RETRY, sleep, type RetryPolicy } from "../../common/backoff";
import { describeError, ImportCancelledError, ImportInterruptedError, isRetryable, PermanentImportError } from "../import.errors";
import type { FileSourceFactory, ImportFile, ImportRevision, PreparedSource } from "../import.ports";
import { finalKey } from "../../revision/layout";
import { folderSharer, namesStoredFiles, stagingArea } from "./folders";
import { loadImportRevision } from "./revision";
import { clearUploadObjects, forgetUploads } from "../uploads";
import type { HashPlacement } from "./hash";
import { transferFile, type StallPolicy } from "./transfer";
import { ImportProgressTracker, isSameImport, readPulse } from "./progress";
import { WriteBehind } from "./write-behind";
import { fromBothEnds } from "./lanes";
import { runVerifiers, type VerifiableFile, type Verifier } from "./verifiers";
import { NO_IMPORT_METRICS, type ImportMetrics, type ImportRunMetrics } from "../../metrics/metrics.ports";

const { PULLING, PULLED, VERIFYING, FAILED, SCANNED } = ArtifactStatus;
const ACTOR = "import-worker";
/** Staging checks, publications and deletes in flight at once. */
const STORAGE_CONCURRENCY = 8;
/**
 * How long the notes of verified (and placed) files wait for others before they are written. A
 * note per small file cost a commit each, flushed to disk beside the files' own fsyncs; a note
 * lost to a crash only means that file is fetched or checked again.
 */
const NOTE_LINGER_MS = 100;

export interface PipelineDeps {
  ds: DataSource;
  storage: Pick<StorageManager, "adapterFor" | "defaultNamespaceId">;
  events: Pick<EventBus, "publish" | "publishIn">;
  logger: Logger;
  sources: FileSourceFactory;
  verifiers: readonly Verifier[];
  /** Files transferred at once. */
  fileConcurrency: number;
  requireApproval: boolean;
  /** Crashes in a row without progress after which the import fails instead of running again. */
  maxCrashes: number;
  /** Breaks of one file's transfer tolerated in a row, and the backoff between them. */
  transferRetry?: RetryPolicy;
  /** Requests after the first one file may take in an attempt (unbounded when absent). */
  maxReconnectsPerFile?: number;
  /** When a transfer counts as stalled (never, when absent). */
  stall?: StallPolicy;
  /** How often progress is written and the revision's status checked. */
  tickMs?: number;
  /** Where files are hashed, by the kind of storage they go to; the process's shared pool when absent. */
  hashes?: HashPlacement;
  /** Told of each run, its bytes and its end. */
  metrics?: ImportMetrics;
}

export interface ImportAttempt {
  /** 1 for the first try. */
  number: number;
  /** The last try: a transient failure then fails the revision. */
  max: number;
}

/** Where the run left the revision: a settled status, "cancelled" (someone else moved it), or "idle" (nothing to do). */
export type ImportOutcome = ArtifactStatus.AVAILABLE | ArtifactStatus.NEEDS_APPROVAL | ArtifactStatus.FAILED | "cancelled" | "idle";

/**
 * Drives one revision from wherever its import stands (PULLING, PULLED or VERIFYING) to a settled
 * status. Every step can be repeated after a crash: verified files in staging are kept, moved
 * files are not moved twice, and the status says which step comes next.
 *
 * Resolves with the outcome; rejects only when the job should be tried again: a transient error
 * before the last attempt, or ImportInterruptedError when `signal` was aborted for a shutdown.
 */
export async function runImport(deps: PipelineDeps, revisionId: string, signal: AbortSignal, attempt: ImportAttempt): Promise<ImportOutcome> {
  const revision = await loadImportRevision(deps.ds, revisionId);
  if (!revision || !IMPORTING_STATUSES.includes(revision.status)) return "idle";
  const { generation } = await readPulse(deps.ds, revisionId);
  const observed = (deps.metrics ?? NO_IMPORT_METRICS).runStarted();
  const run = new ImportRun(deps, revision, generation, signal, attempt, observed);
  let outcome: ImportOutcome;
  try {
    outcome = await run.execute();
  } catch (error) {
    observed.requeued();
    throw error;
  }
  // execute() never answers "idle"; ending the run anyway keeps the running gauge honest.
  if (outcome === "idle") observed.requeued();
  else observed.finished(outcome === "cancelled" ? "CANCELLED" : outcome, (Date.now() - run.startedAtMs) / 1000);
  return outcome;
}

interface WorkingFile {
  path: string;
  commit: string | null;
  size: string;
  sha256: string | null;
  upstreamOid: string | null;
  stagedSha256: string | null;
  stagedReceipt: string | null;
  /** Stored at its final key while PULLING (`StagingArea.putFinal`). */
  placed: boolean;
}

/** A file of the revision on its way from staging to its final key. */
interface PlacedFile {
  path: string;
  size: string;
  sha256: string | null;
  storage_key: string;
  staged_receipt: string | null;
}

/** A file's failure, naming the file; keeps the cause's verdict on retrying. */
class FileImportError extends Error {
  readonly retryable: boolean;

  constructor(readonly path: string, cause: unknown) {
    const message = describeError(cause);
    super(cause instanceof PermanentImportError && message.includes(path) ? message : `Could not fetch ${path}: ${message}`, { cause });
    this.retryable = isRetryable(cause);
  }
}

class ImportRun {
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;
  private readonly tracker: ImportProgressTracker;
  private readonly label: string;
  private adapter!: StorageAdapter;
  private staging: StagingArea | null = null;
  /** Whether this attempt publishes each file as it arrives; decided when PULLING starts. */
  private publishOnArrival = false;
  private namespaceId!: string;
  private phase: ArtifactStatus;
  private verification: VerificationResultData | null = null;
  private ticking: Promise<void> | null = null;
  private readonly stopTicks = new AbortController();

  constructor(
    private readonly deps: PipelineDeps,
    private readonly revision: ImportRevision,
    private readonly generation: string | null,
    private readonly outer: AbortSignal,
    private readonly attempt: ImportAttempt,
    private readonly observed: ImportRunMetrics,
  ) {
    this.signal = AbortSignal.any([outer, this.controller.signal]);
    this.tracker = new ImportProgressTracker(deps.ds, deps.events, { id: revision.id, artifactId: revision.artifactId }, revision.importProgress);
    this.label = `${revision.artifactName}@${revision.version}`;
    this.phase = revision.status;
  }

  /** When the import's first attempt began. */
  get startedAtMs(): number {
    return this.tracker.startedAtMs;
  }

  async execute(): Promise<ImportOutcome> {
    this.ticking = this.tick();
    try {
      if (!this.revision.commit) throw new PermanentImportError(`${this.label} has no pinned commit: start the import again`);
      this.namespaceId = this.revision.namespaceId ?? this.deps.storage.defaultNamespaceId;
      this.adapter = await this.deps.storage.adapterFor(this.namespaceId);
      this.staging = this.stagingFor(this.revision);
      // After the adapter: failing cleans up the staging area the crashed runs left. PULLING
      // accounts once it knows what the crashed runs kept (pull).
      if (this.phase !== PULLING) await this.accountCrashes(await this.keptBeyondPulling());
      if (this.phase === PULLING) await this.pull();
      if (this.phase === PULLED) await this.place();
      // Staging is empty once files are placed; the working manifest goes before the revision settles.
      await this.cleanupStaging();
      if (this.revision.fromUploads) await this.consumeUploads();
      return await this.verifyAndSettle();
    } catch (error) {
      return await this.settleFailure(error);
    } finally {
      this.stopTicks.abort();
      await this.ticking;
    }
  }

  /** The revision's staging area; a name or version no store accepts (scanned before names were checked) fails for good. */
  private stagingFor({ artifactName, version, id }: ImportRevision): StagingArea {
    try {
      return stagingArea(this.adapter, artifactName, version, id);
    } catch (error) {
      if (!(error instanceof StorageKeyError)) throw error;
      throw new PermanentImportError(`${this.label} cannot be stored: its name or version is not a safe storage folder (${error.message}); it is never retried`);
    }
  }

  // --- PULLING: every file into staging, verified in-stream ------------------------------------

  private async pull(): Promise<void> {
    this.publishOnArrival = await this.mayPublishWhilePulling();
    const prepared = await this.deps.sources(this.revision, this.signal);
    const manifest = await this.workingManifest(prepared);
    if (!this.publishOnArrival) {
      // Placed notes of an earlier import of this commit, cancelled while its run was gone: only PULLED places here.
      await this.deps.ds.query(`UPDATE artifact_import_files SET placed = false WHERE revision_id = $1 AND placed`, [this.revision.id]);
    }
    this.tracker.setTotals(manifest.length, manifest.reduce((sum, f) => sum + Number(f.size), 0));

    const check = pLimit(STORAGE_CONCURRENCY);
    const staged = await Promise.all(manifest.map((file) => check(() => this.isStaged(file))));
    const todo = manifest.filter((file, i) => {
      if (!staged[i]) return true;
      this.tracker.add(Number(file.size));
      this.tracker.fileDone();
      return false;
    });
    // Smallest first for half the slots, largest first for the rest (fromBothEnds).
    todo.sort((a, b) => Number(a.size) - Number(b.size) || (a.path < b.path ? -1 : 1));
    const resume = await this.resumablePartials(todo);
    const stagedFiles = manifest.filter((_file, i) => staged[i]);
    // What puts cut short left behind goes, but for the partials resumed and the uploads noted as staged.
    await this.staging!.dropAbandoned(stagedFiles.map((f) => ({ path: f.path, receipt: f.stagedReceipt! })), new Set(resume.keys()));
    const sum = (values: Iterable<number>) => [...values].reduce((total, n) => total + BigInt(n), 0n);
    await this.accountCrashes(sum(stagedFiles.map((f) => Number(f.size))) + sum(resume.values()));
    await this.tracker.flush(PULLING, true);

    // The first failure stops the other transfers: the revision fails (or retries) as a whole.
    const siblings = new AbortController();
    const signal = AbortSignal.any([this.signal, siblings.signal]);
    let failure: FileImportError | null = null;
    let notesFailed = false;
    // A file stored at its final key on arrival is noted staged and placed at once.
    const verified = new WriteBehind<{ path: string; sha256: string; receipt: string; placed: boolean }>((notes) => this.deps.ds.query(
      `UPDATE artifact_import_files AS i SET staged_sha256 = n.sha256, staged_receipt = n.receipt, sha256 = COALESCE(i.sha256, n.sha256), placed = n.placed
         FROM unnest($2::text[], $3::text[], $4::text[], $5::bool[]) AS n(path, sha256, receipt, placed)
        WHERE i.revision_id = $1 AND i.path = n.path`,
      [this.revision.id, notes.map((n) => n.path), notes.map((n) => n.sha256), notes.map((n) => n.receipt), notes.map((n) => n.placed)],
    ), {
      lingerMs: NOTE_LINGER_MS,
      // What arrives from here on could not be noted: stop, as when a file fails.
      onFailure: (error) => {
        notesFailed = true;
        siblings.abort(error);
      },
    });
    await fromBothEnds(todo, this.deps.fileConcurrency, async (file) => {
      try {
        const staged = signal.aborted ? null : await transferFile(
          {
            source: prepared.source,
            staging: this.publishOnArrival ? { put: (path, body, opts) => this.staging!.putFinal!(path, body, opts) } : this.staging!,
            signal,
            onBytes: (bytes) => this.tracker.add(bytes),
            onReceived: (bytes) => this.observed.received(bytes),
            retry: this.deps.transferRetry ?? DEFAULT_RETRY,
            maxReconnects: this.deps.maxReconnectsPerFile,
            stall: this.deps.stall,
            hashes: this.deps.hashes?.poolFor(this.adapter.kind),
          },
          toImportFile(file),
          file.path,
          resume.get(file.path),
        );
        if (!staged) return;
        verified.add({ path: file.path, sha256: staged.sha256, receipt: staged.receipt, placed: this.publishOnArrival });
        this.tracker.fileDone();
      } catch (error) {
        // Stopped because the notes failed: that failure is the one to report, not this file.
        if (failure || this.signal.aborted || notesFailed) return;
        failure = new FileImportError(file.path, error);
        siblings.abort(failure);
      }
    });
    // What did arrive is noted whatever happened to the rest: another attempt skips it.
    const unnoted = await verified.flush().then(() => null, (error: unknown) => ({ error }));
    this.signal.throwIfAborted();
    if (failure) throw failure;
    if (unnoted) throw unnoted.error;
    await this.tracker.flush(PULLING, true);
    await this.publishStagedFiles(manifest);
  }

  /**
   * The files this import fetches, kept apart from the revision's published rows until they are
   * verified: a resumed attempt finds the manifest (and what is staged) where the last one left it.
   */
  private async workingManifest(prepared: PreparedSource): Promise<WorkingFile[]> {
    const { ds } = this.deps;
    const id = this.revision.id;
    const existing = await this.readWorkingManifest();
    if (existing.length > 0 && existing.every((f) => f.commit === this.revision.commit)) return existing;

    let files: ManifestFile[];
    if (prepared.listFiles) {
      const listed = await prepared.listFiles(this.signal);
      if (listed.skipped.length) this.deps.logger.warn(`import of ${this.label}: skipped ${listed.skipped.length} file(s) with unsafe paths: ${listed.skipped.slice(0, 10).join(", ")}`);
      files = listed.files;
    } else {
      const rows: Array<{ path: string; size: string; sha256: string | null; upstream_oid: string | null }> = await ds.query(
        `SELECT path, size::text AS size, sha256, upstream_oid FROM artifact_revision_files WHERE revision_id = $1`,
        [id],
      );
      files = rows.map((r) => ({ path: r.path, size: r.size, sha256: r.sha256, upstreamOid: r.upstream_oid }));
    }
    await ds.transaction(async (em) => {
      await em.query(`DELETE FROM artifact_import_files WHERE revision_id = $1`, [id]);
      const batch = 1000;
      for (let i = 0; i < files.length; i += batch) {
        const slice = files.slice(i, i + batch);
        await em.query(
          `INSERT INTO artifact_import_files (revision_id, path, commit, size, sha256, upstream_oid)
           SELECT $1, f.path, $2, f.size, f.sha256, f.oid FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[]) AS f(path, size, sha256, oid)`,
          [id, this.revision.commit, slice.map((f) => f.path), slice.map((f) => f.size), slice.map((f) => f.sha256?.toLowerCase() ?? null), slice.map((f) => f.upstreamOid)],
        );
      }
    });
    return this.readWorkingManifest();
  }

  private async readWorkingManifest(): Promise<WorkingFile[]> {
    const rows: Array<{
      path: string; commit: string | null; size: string; sha256: string | null; upstream_oid: string | null;
      staged_sha256: string | null; staged_receipt: string | null; placed: boolean;
    }> = await this.deps.ds.query(
      `SELECT path, commit, size::text AS size, sha256, upstream_oid, staged_sha256, staged_receipt, placed FROM artifact_import_files WHERE revision_id = $1 ORDER BY path`,
      [this.revision.id],
    );
    return rows.map((r) => ({
      path: r.path, commit: r.commit, size: r.size, sha256: r.sha256, upstreamOid: r.upstream_oid, stagedSha256: r.staged_sha256, stagedReceipt: r.staged_receipt, placed: r.placed,
    }));
  }

  /**
   * The partials of files still to fetch that a crashed attempt left and this one can continue:
   * bytes that the manifest's hash will check (a file without one starts over).
   */
  private async resumablePartials(todo: WorkingFile[]): Promise<Map<string, number>> {
    const partials = (await this.staging!.partials?.()) ?? new Map<string, number>();
    const resume = new Map<string, number>();
    for (const file of todo) {
      const kept = partials.get(file.path) ?? 0;
      if (kept > 0 && kept <= Number(file.size) && (file.sha256 || file.upstreamOid)) resume.set(file.path, kept);
    }
    return resume;
  }

  /**
   * Crash accounting, at the start of every run: a crash since the last run started counts
   * toward IMPORT_MAX_CRASHES only if this run keeps no more bytes than that one did (staged,
   * partial, placed). A model of large files thus goes on as long as each crash leaves it
   * further on, and an import that kills its process at the same place fails.
   */
  private async accountCrashes(kept: bigint): Promise<void> {
    const { crashes, crashMark } = this.revision;
    const row = crashes > 0 && crashMark !== null && kept > crashMark ? 0 : crashes;
    if (row >= this.deps.maxCrashes) {
      throw new PermanentImportError(
        `${this.label}: the process running this import stopped ${row} time(s) in a row without keeping more of it ` +
        `(IMPORT_MAX_CRASHES=${this.deps.maxCrashes}); find out what stops it (memory, a storage driver), then import again`,
      );
    }
    await this.deps.ds.query(
      `UPDATE artifact_revisions SET import_crashes = $2, import_crash_mark = $3 WHERE id = $1 AND status = ANY($4)`,
      [this.revision.id, row, kept.toString(), IMPORTING_STATUSES],
    );
  }

  /**
   * What an import past PULLING keeps, on the same scale: every byte once staged, plus the
   * bytes placed (PULLED); twice the total once everything is placed (VERIFYING).
   */
  private async keptBeyondPulling(): Promise<bigint> {
    const [row]: Array<{ total: string; placed: string }> = this.phase === PULLED
      ? await this.deps.ds.query(
        `SELECT COALESCE(sum(size), 0)::text AS total, COALESCE(sum(size) FILTER (WHERE placed), 0)::text AS placed FROM artifact_import_files WHERE revision_id = $1`,
        [this.revision.id],
      )
      : await this.deps.ds.query(
        `SELECT COALESCE(sum(size), 0)::text AS total, COALESCE(sum(size), 0)::text AS placed FROM artifact_revision_files WHERE revision_id = $1 AND storage_key IS NOT NULL`,
        [this.revision.id],
      );
    return BigInt(row.total) + BigInt(row.placed);
  }

  /**
   * Verified in an earlier attempt, and still in staging with every byte, or (published on
   * arrival) at its final key. A placed note is written only after the publication, and only
   * imports of this commit write to the folder; the size catches a folder deleted since (by a
   * cancel whose run was gone).
   */
  private async isStaged(file: WorkingFile): Promise<boolean> {
    if (!file.stagedSha256 || !file.stagedReceipt) return false;
    const size = Number(file.size);
    if (file.placed && this.publishOnArrival) {
      if ((await this.adapter.stat(finalKey(this.revision.artifactName, this.revision.version, file.path)))?.size === size) return true;
    } else if (await this.staging!.holds(file.path, file.stagedReceipt, size)) {
      return true;
    }
    await this.deps.ds.query(
      `UPDATE artifact_import_files SET staged_sha256 = NULL, staged_receipt = NULL, placed = false WHERE revision_id = $1 AND path = $2`,
      [this.revision.id, file.path],
    );
    return false;
  }

  /** Whether this import may publish files while PULLING: where the staging gains by it, into a folder that serves nothing of the revision. */
  private async mayPublishWhilePulling(): Promise<boolean> {
    return !!this.staging?.putFinal && !(await namesStoredFiles(this.deps.ds, this.revision.id));
  }

  /**
   * PULLING → PULLED, and in the same transaction the staged manifest becomes the revision's
   * files (with their final keys and SHA-256s) in the target namespace. Until here a forced
   * re-import's old rows and files stayed as they were.
   */
  private async publishStagedFiles(manifest: WorkingFile[]): Promise<void> {
    const { ds } = this.deps;
    const id = this.revision.id;
    const prefix = finalKey(this.revision.artifactName, this.revision.version, "");
    const { oldFiles, oldNamespaces } = await ds.transaction(async (em) => {
      const oldFiles: Array<{ path: string; storage_key: string }> = await em.query(
        `SELECT path, storage_key FROM artifact_revision_files WHERE revision_id = $1 AND storage_key IS NOT NULL`,
        [id],
      );
      const oldNamespaces: Array<{ namespace_id: string }> = await em.query(`SELECT namespace_id FROM artifact_revision_namespaces WHERE revision_id = $1`, [id]);
      // Every file was verified into staging, and each was noted: a file not noted has no receipt
      // to publish it by. Another attempt fetches what is missing.
      const [{ unnoted }]: Array<{ unnoted: number }> = await em.query(
        `SELECT count(*)::int AS unnoted FROM artifact_import_files WHERE revision_id = $1 AND (staged_sha256 IS NULL OR staged_receipt IS NULL)`,
        [id],
      );
      if (unnoted > 0) throw Object.assign(new Error(`${unnoted} file(s) of ${this.label} were transferred but not noted as staged`), { retryable: true });
      await applyTransitionIn(em, id, "pulled", {
        actor: ACTOR,
        reason: "every file is staged and verified",
        patch: { importProgress: this.tracker.snapshot() },
      }, this.deps.events);
      await em.query(
        `INSERT INTO artifact_revision_files (revision_id, path, size, sha256, upstream_oid, storage_key, staged_sha256)
         SELECT revision_id, path, size, COALESCE(sha256, staged_sha256), upstream_oid, $2 || path, staged_sha256
           FROM artifact_import_files WHERE revision_id = $1
         ON CONFLICT (revision_id, path) DO UPDATE SET
           size = EXCLUDED.size, sha256 = EXCLUDED.sha256, upstream_oid = EXCLUDED.upstream_oid,
           storage_key = EXCLUDED.storage_key, staged_sha256 = EXCLUDED.staged_sha256`,
        [id, prefix],
      );
      await em.query(
        `DELETE FROM artifact_revision_files f WHERE f.revision_id = $1
           AND NOT EXISTS (SELECT 1 FROM artifact_import_files i WHERE i.revision_id = f.revision_id AND i.path = f.path)`,
        [id],
      );
      await em.query(`UPDATE artifact_revisions SET size = (SELECT COALESCE(sum(size), 0) FROM artifact_revision_files WHERE revision_id = $1) WHERE id = $1`, [id]);
      await em.query(`DELETE FROM artifact_revision_namespaces WHERE revision_id = $1 AND namespace_id <> $2`, [id, this.namespaceId]);
      await em.query(`INSERT INTO artifact_revision_namespaces (revision_id, namespace_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [id, this.namespaceId]);
      return { oldFiles, oldNamespaces };
    });
    this.phase = PULLED;

    // Old files the new rows no longer name: paths the new commit dropped, or all of them when
    // the import went to another namespace. A crash right here leaves them to cleanup, which
    // deletes the revision's whole folder.
    const kept = new Set(manifest.map((f) => f.path));
    for (const { namespace_id: namespaceId } of oldNamespaces) {
      const stale = oldFiles.filter((f) => namespaceId !== this.namespaceId || !kept.has(f.path));
      if (stale.length === 0) continue;
      try {
        // Another revision of the same folder there still names them (it holds the same commit).
        if (await folderSharer(this.deps.ds, this.revision.id, this.revision.artifactName, this.revision.version, namespaceId)) continue;
        const adapter = await this.deps.storage.adapterFor(namespaceId);
        const remove = pLimit(STORAGE_CONCURRENCY);
        await Promise.all(stale.map((f) => remove(() => adapter.delete(f.storage_key))));
      } catch (error) {
        this.deps.logger.warn(`import of ${this.label}: could not delete replaced files in namespace ${namespaceId}`, error);
      }
    }
  }

  // --- PULLED: staged files to their final place ---------------------------------------------

  private async place(): Promise<void> {
    const rows: PlacedFile[] = await this.deps.ds.query(
      `SELECT f.path, f.size::text AS size, f.sha256, f.storage_key, i.staged_receipt
         FROM artifact_revision_files f LEFT JOIN artifact_import_files i ON i.revision_id = f.revision_id AND i.path = f.path
        WHERE f.revision_id = $1 AND f.storage_key IS NOT NULL AND i.placed IS NOT TRUE
        ORDER BY f.size DESC`,
      [this.revision.id],
    );
    if (!(await this.publishFolder(rows))) await this.publishEach(rows);
    this.signal.throwIfAborted();
    await this.transition("verify", "files are in their final place");
    this.phase = VERIFYING;
  }

  private async publishEach(rows: PlacedFile[]): Promise<void> {
    // Largest first: completing a big upload takes the store longest, and the small files' copies fill in beside it.
    const publish = pLimit(STORAGE_CONCURRENCY);
    const placed = new WriteBehind<string>((paths) => this.deps.ds.query(
      `UPDATE artifact_import_files SET placed = true WHERE revision_id = $1 AND path = ANY($2::text[])`,
      [this.revision.id, paths],
    ), { lingerMs: NOTE_LINGER_MS });
    const published = await Promise.allSettled(rows.map((row) => publish(async () => {
      this.signal.throwIfAborted();
      if (!(await this.publish(row))) await this.checkPlaced(row);
      placed.add(row.path);
    })));
    await placed.flush();
    for (const outcome of published) if (outcome.status === "rejected") throw outcome.reason;
  }

  /**
   * Publishes every staged file in one step where the storage can (a folder rename on the
   * filesystem, when the revision's folder is new: a first import, or one after cleanup); false
   * when the files go one by one. A crash between the rename and the notes leaves the files in
   * place and not noted: the next attempt finds them gone from staging and checks their bytes.
   */
  private async publishFolder(rows: PlacedFile[]): Promise<boolean> {
    const staging = this.staging!;
    if (!staging.publishAll || rows.length === 0) return false;
    const { artifactName, version } = this.revision;
    const staged = rows.flatMap((row) => row.staged_receipt && row.storage_key === finalKey(artifactName, version, row.path) ? [{ path: row.path, receipt: row.staged_receipt }] : []);
    if (staged.length < rows.length) return false;
    this.signal.throwIfAborted();
    if (!(await staging.publishAll(staged))) return false;
    await this.deps.ds.query(`UPDATE artifact_import_files SET placed = true WHERE revision_id = $1`, [this.revision.id]);
    return true;
  }

  /** Publishes a staged file; false when its staging holds nothing (an earlier attempt published it). */
  private async publish(row: { path: string; staged_receipt: string | null }): Promise<boolean> {
    if (!row.staged_receipt) return false;
    try {
      await this.staging!.publish(row.path, row.staged_receipt);
      return true;
    } catch (error) {
      if (error instanceof StorageNotFoundError) return false;
      throw error;
    }
  }

  /**
   * A file no longer staged was published by an attempt that stopped before noting it. Only its
   * bytes can tell the verified file from an older one at the same key (a forced re-import's),
   * so they are hashed again.
   */
  private async checkPlaced(row: { path: string; size: string; sha256: string | null; storage_key: string }): Promise<void> {
    const missing = new PermanentImportError(`${row.path} is neither in staging nor in its final place: import the revision again`);
    const placed = await this.adapter.stat(row.storage_key);
    if (placed?.size !== Number(row.size) || !row.sha256) throw missing;
    const hash = createHash("sha256");
    for await (const chunk of await this.adapter.get(row.storage_key, { signal: this.signal })) hash.update(chunk as Buffer);
    if (hash.digest("hex") !== row.sha256.toLowerCase()) throw missing;
  }

  // --- VERIFYING: verifier plugins, then AVAILABLE or NEEDS_APPROVAL -------------------------------

  private async verifyAndSettle(): Promise<ImportOutcome> {
    const rows: Array<{ path: string; size: string; sha256: string | null; storage_key: string }> = await this.deps.ds.query(
      `SELECT path, size::text AS size, sha256, storage_key FROM artifact_revision_files WHERE revision_id = $1 AND storage_key IS NOT NULL ORDER BY path`,
      [this.revision.id],
    );
    const files: VerifiableFile[] = rows.map((r) => ({ path: r.path, size: r.size, sha256: r.sha256, storageKey: r.storage_key }));
    const { result, refusals } = await runVerifiers(this.deps.verifiers, files, {
      artifactName: this.revision.artifactName,
      version: this.revision.version,
      signal: this.signal,
      readRange: (file, start, end) => this.readRange(file, start, end),
    });
    this.verification = result;
    if (refusals.length) throw new PermanentImportError(`Verification refused ${this.label}: ${refusals.join("; ")}`);
    const action: LifecycleAction = this.deps.requireApproval ? "awaitApproval" : "makeAvailable";
    const event = await this.transition(action, this.deps.requireApproval ? "verified; waiting for approval" : "verified", {
      digest: this.revision.commit,
      importTaskId: null,
      lastError: null,
      verificationResult: result,
      importProgress: this.tracker.snapshot(),
    });
    return event.to as ImportOutcome;
  }

  private async readRange(file: VerifiableFile, start: number, end: number): Promise<Buffer> {
    const size = Number(file.size);
    if (size === 0 || start >= size) return Buffer.alloc(0);
    const stream = await this.adapter.get(file.storageKey, { range: { start, end: Math.min(end, size - 1) }, signal: this.signal });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  // --- Endings ------------------------------------------------------------------------------

  private async settleFailure(error: unknown): Promise<ImportOutcome> {
    const reason: unknown = this.signal.aborted ? this.signal.reason : null;
    if (this.outer.aborted && !(reason instanceof ImportCancelledError)) {
      // A shutdown: staging stays for the next attempt, which skips what is verified.
      throw reason instanceof ImportInterruptedError ? reason : new ImportInterruptedError(`import of ${this.label} interrupted: ${describeError(reason)}`);
    }
    // Someone else moved the revision on (a cancel, here or in another process; a transition of
    // ours then fails with CONFLICT): undo our part.
    if (reason instanceof ImportCancelledError || !isSameImport(await readPulse(this.deps.ds, this.revision.id), this.generation)) {
      await this.cleanupAfterCancel();
      return "cancelled";
    }
    const lastAttempt = this.attempt.number >= this.attempt.max;
    if (isRetryable(error) && !lastAttempt) {
      const note = `Attempt ${this.attempt.number} of ${this.attempt.max} failed, retrying: ${describeError(error)}`;
      await this.deps.ds.query(`UPDATE artifact_revisions SET last_error = $2 WHERE id = $1 AND status = ANY($3)`, [this.revision.id, note, IMPORTING_STATUSES]);
      throw error;
    }
    const message = isRetryable(error) ? `${describeError(error)} (gave up after ${this.attempt.number} attempts)` : describeError(error);
    // Clean before settling: once a client sees FAILED, nothing of this attempt is left, nor
    // what it published while PULLING, which no row names.
    await this.cleanupStaging();
    if (this.phase === PULLING && (await this.mayPublishWhilePulling().catch(() => false))) await this.removeFolder();
    try {
      await applyTransition(this.deps.ds, this.revision.id, "fail", {
        actor: ACTOR,
        reason: "import failed",
        patch: { lastError: message, importTaskId: null, importProgress: this.tracker.snapshot(), ...(this.verification ? { verificationResult: this.verification } : {}) },
      }, this.deps.events);
    } catch (failError) {
      if (!(failError instanceof AppError)) throw failError;
      await this.cleanupAfterCancel();
      return "cancelled";
    }
    this.deps.logger.info(`import of ${this.label} failed: ${message}`);
    return FAILED;
  }

  /** Staging objects and the working manifest go once the revision settles, whatever the outcome. */
  private async cleanupStaging(): Promise<void> {
    try {
      await this.staging?.clear();
    } catch (error) {
      // What is left is overwritten and cleared by the revision's next import.
      this.deps.logger.warn(`import of ${this.label}: could not clean up its staging area`, error);
    }
    try {
      // Even when staging could not be cleared: the next import must not take its copies for its own.
      await this.deps.ds.query(`DELETE FROM artifact_import_files WHERE revision_id = $1`, [this.revision.id]);
    } catch (error) {
      this.deps.logger.warn(`import of ${this.label}: could not drop its working manifest`, error);
    }
  }

  /**
   * Placed, the uploads are the revision's files: they go, with every link not used yet. Before
   * this point a failed or cancelled import leaves them for another try.
   */
  private async consumeUploads(): Promise<void> {
    await forgetUploads(this.deps.ds, this.revision.id);
    try {
      await clearUploadObjects(this.adapter, this.revision.id);
    } catch (error) {
      // Nothing names them any more; cleanup of the revision, or its next upload import, removes them.
      this.deps.logger.warn(`import of ${this.label}: could not delete its uploads once placed`, error);
    }
  }

  /**
   * After a cancel: staging goes, and when the cancel returned the revision to SCANNED after its
   * new files were already being placed (PULLED or later, or PULLING where files are published
   * on arrival), its folder goes too: a SCANNED revision stores nothing. The cancelling request
   * removes the same, but this run may have moved files after it did. A forced re-import
   * cancelled back to AVAILABLE (only possible while PULLING) keeps its old files.
   */
  private async cleanupAfterCancel(): Promise<void> {
    await this.cleanupStaging();
    if (!this.adapter || (this.phase === PULLING && !(await this.mayPublishWhilePulling().catch(() => false)))) return;
    try {
      const [row] = await this.deps.ds.query(`SELECT status FROM artifact_revisions WHERE id = $1`, [this.revision.id]);
      if (row?.status !== SCANNED) return;
    } catch (error) {
      this.deps.logger.warn(`import of ${this.label}: could not remove the files of the cancelled import`, error);
      return;
    }
    await this.removeFolder();
  }

  /** Deletes the revision's folder, unless another revision names it (it holds the same bytes). */
  private async removeFolder(): Promise<void> {
    if (!this.adapter) return;
    try {
      if (await folderSharer(this.deps.ds, this.revision.id, this.revision.artifactName, this.revision.version, this.namespaceId)) return;
      await this.adapter.deletePrefix(finalKey(this.revision.artifactName, this.revision.version, ""));
    } catch (error) {
      this.deps.logger.warn(`import of ${this.label}: could not remove the files it placed`, error);
    }
  }

  private async transition(action: LifecycleAction, reason: string, patch: Parameters<typeof applyTransition>[3]["patch"] = undefined) {
    return applyTransition(this.deps.ds, this.revision.id, action, { actor: ACTOR, reason, patch }, this.deps.events);
  }

  /**
   * About once a second: progress out, and a look at the revision. A cancel (from any process)
   * shows here as a status outside the import, or as a newer import of the same revision.
   */
  private async tick(): Promise<void> {
    const interval = this.deps.tickMs ?? 1000;
    for (;;) {
      try {
        await sleep(interval, this.stopTicks.signal);
      } catch {
        return;
      }
      try {
        const pulse = await readPulse(this.deps.ds, this.revision.id);
        if (!isSameImport(pulse, this.generation)) {
          this.controller.abort(new ImportCancelledError(`${this.label} is ${pulse.status ?? "gone"} now: its import was cancelled`));
          return;
        }
        if (this.phase === PULLING) await this.tracker.flush(PULLING);
      } catch (error) {
        this.deps.logger.warn(`import of ${this.label}: progress update failed`, error);
      }
    }
  }
}

function toImportFile(file: WorkingFile): ImportFile {
  return { id: file.path, path: file.path, size: file.size, sha256: file.sha256, upstreamOid: file.upstreamOid };
}
