import type { DataSource, EntityManager } from "typeorm";
import { ArtifactEntity } from "../artifact/artifact.entity";
import type { ArtifactUpsert } from "../artifact/artifact.records";
import { hydrate } from "../common/sql";
import { MANIFEST_WRITABLE_STATUSES, statusIn } from "../revision/lifecycle";
import type { ManifestFile } from "../revision/manifest";

/**
 * The writes a scan makes, shared by every upstream (Hugging Face, Reservoir). All are upserts
 * keyed by natural keys, so rescans never duplicate and concurrent scans converge. Revisions
 * themselves are inserted by the lifecycle (discoverRevisions), which owns their status. Each
 * write takes many rows in one statement: a scan of 500 models is a handful of statements, not
 * thousands of round trips and commits.
 */

/** Inserts or refreshes an artifact's metadata. Availability is left alone: a rescan does not undelete. */
export async function upsertArtifact(em: EntityManager, a: ArtifactUpsert): Promise<ArtifactEntity> {
  const [artifact] = await upsertArtifacts(em, [a]);
  return artifact;
}

const artifactKey = (registryId: string, type: string, name: string) => `${registryId}\0${type}\0${name}`;

/**
 * upsertArtifact for many artifacts in one statement; returns them in the order given. The same
 * artifact twice takes the last one's metadata, as one-by-one upserts would.
 */
export async function upsertArtifacts(em: EntityManager, artifacts: readonly ArtifactUpsert[]): Promise<ArtifactEntity[]> {
  if (artifacts.length === 0) return [];
  const unique = new Map<string, ArtifactUpsert>();
  for (const a of artifacts) {
    const key = artifactKey(a.registryId, a.type, a.name);
    unique.delete(key);
    unique.set(key, a);
  }
  // One order for every writer, so two scans of the same models lock their rows in the same order.
  const rows = [...unique.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  const returned: Record<string, unknown>[] = await em.query(
    `INSERT INTO artifacts (registry_id, type, name, description, source_name, source_url, extra, scanned_at)
     SELECT u.registry_id, u.type, u.name, u.description, u.source_name, u.source_url, u.extra, now()
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
            WITH ORDINALITY AS u(registry_id, type, name, description, source_name, source_url, extra, n)
      ORDER BY u.n
     ON CONFLICT (registry_id, type, name) DO UPDATE SET
       description = COALESCE(EXCLUDED.description, artifacts.description),
       source_name = EXCLUDED.source_name,
       source_url = EXCLUDED.source_url,
       extra = EXCLUDED.extra,
       scanned_at = now(),
       updated_at = now()
     RETURNING *`,
    [
      rows.map((a) => a.registryId),
      rows.map((a) => a.type),
      rows.map((a) => a.name),
      rows.map((a) => a.description ?? null),
      rows.map((a) => a.sourceName),
      rows.map((a) => a.sourceUrl),
      rows.map((a) => (a.extra === null ? null : JSON.stringify(a.extra))),
    ],
  );
  const byKey = new Map(returned.map((row) => [artifactKey(row.registry_id as string, row.type as string, row.name as string), hydrate(em.connection, ArtifactEntity, row)]));
  return artifacts.map((a) => byKey.get(artifactKey(a.registryId, a.type, a.name))!);
}

export interface RevisionDetails {
  /** The upstream commit the details describe; they are dropped if the revision has moved on since. */
  commit: string | null;
  readme: string | null;
  files: ManifestFile[] | null;
  lastError: string | null;
}

/**
 * Replaces a revision's README, file manifest and size in one transaction, under a row lock,
 * unless the revision holds imported files or a newer scan has seen another commit.
 * Returns whether anything was written.
 */
export async function recordRevisionDetails(em: EntityManager, revisionId: string, d: RevisionDetails): Promise<boolean> {
  const [written] = await recordManyRevisionDetails(em, [{ revisionId, details: d }]);
  return written;
}

export interface RevisionDetailsWrite {
  revisionId: string;
  details: RevisionDetails;
}

/** What one revision's row gets: each set* says whether its column changes. */
interface RowUpdate {
  id: string;
  setReadme: boolean;
  readme: string | null;
  setSize: boolean;
  size: string | null;
  setError: boolean;
  lastError: string | null;
}

/** Manifest rows one INSERT takes. */
const FILE_ROWS_PER_STATEMENT = 5000;

/**
 * recordRevisionDetails for many revisions (each at most once) in one transaction; returns, for
 * each, whether anything was written.
 */
export async function recordManyRevisionDetails(em: EntityManager, writes: readonly RevisionDetailsWrite[]): Promise<boolean[]> {
  if (writes.length === 0) return [];
  const ids = writes.map((w) => w.revisionId);
  if (new Set(ids).size !== ids.length) throw new Error("recordManyRevisionDetails: a revision appears twice in one batch");
  return em.transaction(async (tx) => {
    const locked: Array<{ id: string; status: string; latest_upstream_digest: string | null }> = await tx.query(
      // In the order discoverRevisions locks them (compareRevisionKeys): a rescan and this batch cannot deadlock.
      `SELECT id, status, latest_upstream_digest FROM artifact_revisions WHERE id = ANY($1::uuid[]) ORDER BY artifact_id, version COLLATE "C" FOR UPDATE`,
      [ids],
    );
    const current = new Map(locked.map((row) => [row.id, row]));
    const updates: RowUpdate[] = [];
    const replaced: RevisionDetailsWrite[] = [];
    const written = writes.map(({ revisionId, details: d }) => {
      const row = current.get(revisionId);
      if (!row) return false;
      if (d.commit !== null && row.latest_upstream_digest !== d.commit) return false;
      if (!statusIn(MANIFEST_WRITABLE_STATUSES, row.status)) {
        // Imported files stay as they are: only a README may be refreshed, and a failure to read is nobody's news.
        if (d.lastError !== null) return false;
        updates.push({ id: revisionId, setReadme: d.readme !== null, readme: d.readme, setSize: false, size: null, setError: false, lastError: null });
        return true;
      }
      if (d.files !== null) replaced.push({ revisionId, details: d });
      const size = d.files === null ? null : d.files.reduce((sum, f) => sum + BigInt(f.size), 0n).toString();
      updates.push({ id: revisionId, setReadme: d.readme !== null || d.files !== null, readme: d.readme, setSize: d.files !== null, size, setError: true, lastError: d.lastError });
      return true;
    });
    if (replaced.length > 0) {
      await tx.query(`DELETE FROM artifact_revision_files WHERE revision_id = ANY($1::uuid[])`, [replaced.map((w) => w.revisionId)]);
      const rows = replaced.flatMap((w) => w.details.files!.map((f) => ({ revisionId: w.revisionId, ...f })));
      for (let i = 0; i < rows.length; i += FILE_ROWS_PER_STATEMENT) {
        const slice = rows.slice(i, i + FILE_ROWS_PER_STATEMENT);
        await tx.query(
          `INSERT INTO artifact_revision_files (revision_id, path, size, sha256, upstream_oid)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[])`,
          [slice.map((f) => f.revisionId), slice.map((f) => f.path), slice.map((f) => f.size), slice.map((f) => f.sha256), slice.map((f) => f.upstreamOid)],
        );
      }
    }
    if (updates.length > 0) {
      const column = <K extends keyof RowUpdate>(key: K) => updates.map((u) => u[key]);
      await tx.query(
        `UPDATE artifact_revisions r SET
           readme = CASE WHEN u.set_readme THEN u.readme ELSE r.readme END,
           size = CASE WHEN u.set_size THEN u.size ELSE r.size END,
           last_error = CASE WHEN u.set_error THEN u.last_error ELSE r.last_error END,
           updated_at = now()
         FROM unnest($1::uuid[], $2::boolean[], $3::text[], $4::boolean[], $5::bigint[], $6::boolean[], $7::text[])
              AS u(id, set_readme, readme, set_size, size, set_error, last_error)
        WHERE r.id = u.id`,
        [column("id"), column("setReadme"), column("readme"), column("setSize"), column("size"), column("setError"), column("lastError")],
      );
    }
    return written;
  });
}

/** How much one batch of RevisionDetailsWriter may hold. */
export interface DetailBatchLimits {
  revisions: number;
  /** README and path bytes, roughly what the statements carry. */
  bytes: number;
}

const DEFAULT_BATCH_LIMITS: DetailBatchLimits = { revisions: 100, bytes: 8 * 1024 * 1024 };

interface PendingWrite extends RevisionDetailsWrite {
  bytes: number;
  resolve(written: boolean): void;
  reject(error: unknown): void;
}

/**
 * Writes revision details as they arrive, many per transaction (group commit): the first waits
 * for no one, and whatever arrives while a transaction runs goes into the next. Concurrent
 * detail jobs then cost one commit per batch, not one each.
 */
export class RevisionDetailsWriter {
  private readonly queue: PendingWrite[] = [];
  private draining = false;

  constructor(
    private readonly ds: DataSource,
    private readonly limits: DetailBatchLimits = DEFAULT_BATCH_LIMITS,
  ) {}

  /** Resolves once the details are committed (with whether anything was written), or rejects with what the write failed with. */
  write(revisionId: string, details: RevisionDetails): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const bytes = Buffer.byteLength(details.readme ?? "") + (details.files ?? []).reduce((sum, f) => sum + f.path.length + 100, 0);
      this.queue.push({ revisionId, details, bytes, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.take();
        try {
          const written = await recordManyRevisionDetails(this.ds.manager, batch);
          batch.forEach((w, i) => w.resolve(written[i]));
        } catch (error) {
          if (batch.length === 1) {
            batch[0].reject(error);
            continue;
          }
          // One row Postgres refuses (a README with a NUL, say) fails its own revision only.
          for (const w of batch) await recordRevisionDetails(this.ds.manager, w.revisionId, w.details).then(w.resolve, w.reject);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** The next batch, in arrival order: within the limits (one write at least), each revision once; a second write of one waits for the next batch. */
  private take(): PendingWrite[] {
    const batch: PendingWrite[] = [];
    const ids = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < this.queue.length && batch.length < this.limits.revisions; ) {
      const w = this.queue[i];
      if (ids.has(w.revisionId)) {
        i++;
        continue;
      }
      if (batch.length > 0 && bytes + w.bytes > this.limits.bytes) break;
      this.queue.splice(i, 1);
      batch.push(w);
      ids.add(w.revisionId);
      bytes += w.bytes;
    }
    return batch;
  }
}
