import type { EntityManager } from "typeorm";
import { ArtifactEntity } from "../artifact/artifact.entity";
import type { ArtifactUpsert } from "../artifact/artifact.records";
import { hydrate } from "../common/sql";
import { MANIFEST_WRITABLE_STATUSES, statusIn } from "../revision/lifecycle";
import type { ManifestFile } from "../revision/manifest";

/**
 * The writes a scan makes, shared by every upstream (Hugging Face, Reservoir). All are upserts
 * keyed by natural keys, so rescans never duplicate and concurrent scans converge. Revisions
 * themselves are inserted by the lifecycle (discoverRevision), which owns their status.
 */

/** Inserts or refreshes an artifact's metadata. Availability is left alone: a rescan does not undelete. */
export async function upsertArtifact(em: EntityManager, a: ArtifactUpsert): Promise<ArtifactEntity> {
  const [row] = await em.query(
    `INSERT INTO artifacts (registry_id, type, name, description, source_name, source_url, extra, scanned_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now())
     ON CONFLICT (registry_id, type, name) DO UPDATE SET
       description = COALESCE(EXCLUDED.description, artifacts.description),
       source_name = EXCLUDED.source_name,
       source_url = EXCLUDED.source_url,
       extra = EXCLUDED.extra,
       scanned_at = now(),
       updated_at = now()
     RETURNING *`,
    [a.registryId, a.type, a.name, a.description ?? null, a.sourceName, a.sourceUrl, a.extra === null ? null : JSON.stringify(a.extra)],
  );
  return hydrate(em.connection, ArtifactEntity, row);
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
  return em.transaction(async (tx) => {
    const [current] = await tx.query(`SELECT status, latest_upstream_digest FROM artifact_revisions WHERE id = $1 FOR UPDATE`, [revisionId]);
    if (!current) return false;
    if (d.commit !== null && current.latest_upstream_digest !== d.commit) return false;
    if (!statusIn(MANIFEST_WRITABLE_STATUSES, current.status)) {
      if (d.lastError !== null) return false;
      await tx.query(`UPDATE artifact_revisions SET readme = COALESCE($2, readme), updated_at = now() WHERE id = $1`, [revisionId, d.readme]);
      return true;
    }
    if (d.files !== null) {
      await tx.query(`DELETE FROM artifact_revision_files WHERE revision_id = $1`, [revisionId]);
      const batch = 1000;
      for (let i = 0; i < d.files.length; i += batch) {
        const slice = d.files.slice(i, i + batch);
        await tx.query(
          `INSERT INTO artifact_revision_files (revision_id, path, size, sha256, upstream_oid)
           SELECT $1, f.path, f.size, f.sha256, f.oid FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[]) AS f(path, size, sha256, oid)`,
          [revisionId, slice.map((f) => f.path), slice.map((f) => f.size), slice.map((f) => f.sha256), slice.map((f) => f.upstreamOid)],
        );
      }
    }
    const size = d.files === null ? null : d.files.reduce((sum, f) => sum + BigInt(f.size), 0n).toString();
    await tx.query(
      `UPDATE artifact_revisions SET
         readme = CASE WHEN $2::boolean THEN $3 ELSE readme END,
         size = CASE WHEN $4::boolean THEN $5::bigint ELSE size END,
         last_error = $6,
         updated_at = now()
       WHERE id = $1`,
      [revisionId, d.readme !== null || d.files !== null, d.readme, d.files !== null, size, d.lastError],
    );
    return true;
  });
}
