import type { DataSource } from "typeorm";
import type { ArtifactStatus } from "../../common/enums";
import type { EventBus } from "../../events/event-bus";
import { IMPORTING_STATUSES } from "../../revision/lifecycle";
import type { ImportProgressData } from "../../revision/revision.entity";

/** How far back the transfer rate looks: long enough to smooth bursts, short enough to show a stall. */
const RATE_WINDOW_MS = 5_000;

/** The import the job was started for, as the database says now. */
export interface RevisionPulse {
  status: ArtifactStatus | null;
  /** Id of the latest history row that started an import: a new import of the same revision has another. */
  generation: string | null;
}

/** Reads the revision's status and import generation in one statement. */
export async function readPulse(ds: DataSource, revisionId: string): Promise<RevisionPulse> {
  const [row] = await ds.query(
    `SELECT r.status,
            (SELECT max(h.id) FROM artifact_revision_status_history h WHERE h.revision_id = r.id AND h.to_status = 'PULLING')::text AS generation
       FROM artifact_revisions r WHERE r.id = $1`,
    [revisionId],
  );
  return { status: row?.status ?? null, generation: row?.generation ?? null };
}

/** Whether the revision is still in the import the job started (not cancelled, failed or restarted meanwhile). */
export function isSameImport(pulse: RevisionPulse, generation: string | null): boolean {
  return pulse.status !== null && IMPORTING_STATUSES.includes(pulse.status) && pulse.generation === generation;
}

/**
 * The progress of one revision's import: counted in memory as bytes flow, written to
 * import_progress and published on "revision.progress" at most once per tick (about a second).
 */
export class ImportProgressTracker {
  private totalFiles = 0;
  private completedFiles = 0;
  private totalBytes = 0;
  private downloadedBytes = 0;
  private startedAt: string;
  private samples: Array<{ at: number; bytes: number }> = [];
  private dirty = true;

  constructor(
    private readonly ds: DataSource,
    private readonly events: Pick<EventBus, "publish">,
    private readonly revision: { id: string; artifactId: string },
    previous: ImportProgressData | null,
    private readonly now: () => number = Date.now,
  ) {
    // A resumed attempt keeps the start of the import, so the UI does not restart its clock.
    this.startedAt = previous?.startedAt ?? new Date(this.now()).toISOString();
  }

  /** When the import's first attempt began (ms since the epoch). */
  get startedAtMs(): number {
    return Date.parse(this.startedAt);
  }

  setTotals(files: number, bytes: number): void {
    this.totalFiles = files;
    this.totalBytes = bytes;
    this.completedFiles = 0;
    this.downloadedBytes = 0;
    this.samples = [];
    this.dirty = true;
  }

  /** Bytes received (negative when a file restarts from scratch and its bytes no longer count). */
  add(bytes: number): void {
    if (bytes === 0) return;
    this.downloadedBytes += bytes;
    this.dirty = true;
  }

  fileDone(): void {
    this.completedFiles++;
    this.dirty = true;
  }

  snapshot(): ImportProgressData {
    return {
      totalFiles: this.totalFiles,
      completedFiles: this.completedFiles,
      totalBytes: String(this.totalBytes),
      downloadedBytes: String(Math.max(0, this.downloadedBytes)),
      bytesPerSecond: this.rate(),
      startedAt: this.startedAt,
      updatedAt: new Date(this.now()).toISOString(),
    };
  }

  /** Writes and publishes the progress when it changed since the last write. */
  async flush(status: ArtifactStatus, force = false): Promise<void> {
    this.sample();
    if (!this.dirty && !force) return;
    this.dirty = false;
    const progress = this.snapshot();
    // Only while the revision is still importing: a cancelled revision keeps what cancel wrote.
    const [, updated]: [unknown, number] = await this.ds.query(
      `UPDATE artifact_revisions SET import_progress = $2::jsonb WHERE id = $1 AND status = ANY($3)`,
      [this.revision.id, JSON.stringify(progress), IMPORTING_STATUSES],
    );
    if (updated === 0) return;
    this.events.publish("revision.progress", this.revision.id, { revisionId: this.revision.id, artifactId: this.revision.artifactId, status, progress });
  }

  private sample(): void {
    const at = this.now();
    this.samples.push({ at, bytes: this.downloadedBytes });
    while (this.samples.length > 2 && at - this.samples[1].at >= RATE_WINDOW_MS) this.samples.shift();
  }

  private rate(): number | null {
    if (this.samples.length < 2) return null;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const seconds = (last.at - first.at) / 1000;
    if (seconds <= 0) return null;
    return Math.max(0, Math.round((last.bytes - first.bytes) / seconds));
  }
}
