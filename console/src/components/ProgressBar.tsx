import type { ArtifactStatus, ProgressFragment } from "../gql/graphql";
import { formatBytes, formatDuration, formatRate } from "../lib/format";

const IMPORTING: readonly ArtifactStatus[] = ["PULLING", "PULLED", "VERIFYING"];

export function isImporting(status: ArtifactStatus): boolean {
  return IMPORTING.includes(status);
}

/** Percent of bytes received, 0–100; an import of nothing counts as done once its files are. */
export function percentOf(progress: ProgressFragment): number {
  const total = Number(progress.totalBytes);
  if (total > 0) return Math.min(100, Math.floor((Number(progress.downloadedBytes) / total) * 100));
  return progress.totalFiles > 0 && progress.completedFiles >= progress.totalFiles ? 100 : 0;
}

function etaOf(progress: ProgressFragment): string | null {
  const left = Number(progress.totalBytes) - Number(progress.downloadedBytes);
  if (!progress.bytesPerSecond || progress.bytesPerSecond <= 0 || left <= 0) return null;
  return formatDuration(left / progress.bytesPerSecond);
}

function elapsedOf(progress: ProgressFragment): string | null {
  if (!progress.startedAt || !progress.updatedAt) return null;
  return formatDuration((Date.parse(progress.updatedAt) - Date.parse(progress.startedAt)) / 1000);
}

/**
 * The bytes, files, rate and time left of one revision's import, as pushed by the service.
 * After the import it stays, full, as a record of how long it took.
 */
export function ProgressBar({ progress, status, label }: { progress: ProgressFragment; status: ArtifactStatus; label: string }) {
  const percent = percentOf(progress);
  const running = isImporting(status);
  const eta = running && status === "PULLING" ? etaOf(progress) : null;
  const elapsed = elapsedOf(progress);
  return (
    <div className="progress" data-status={status}>
      <div
        className="progress-track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={`${percent}%`}
      >
        <div className={`progress-fill${running ? " progress-running" : ""}`} style={{ width: `${percent}%` }} />
      </div>
      <div className="progress-text">
        <span className="progress-percent">{percent}%</span>
        <span>
          {formatBytes(progress.downloadedBytes)} of {formatBytes(progress.totalBytes)}
        </span>
        <span>
          {progress.completedFiles} of {progress.totalFiles} files
        </span>
        {running && progress.bytesPerSecond ? <span>{formatRate(progress.bytesPerSecond)}</span> : null}
        {eta ? <span>about {eta} left</span> : null}
        {!running && elapsed ? <span>took {elapsed}</span> : null}
        {status === "PULLED" ? <span>placing files…</span> : null}
        {status === "VERIFYING" ? <span>verifying…</span> : null}
      </div>
    </div>
  );
}
