import type { DataSource } from "typeorm";
import type { ImportRevision } from "../import.ports";

/** The revision as its import sees it; null once it is gone. */
export async function loadImportRevision(ds: DataSource, revisionId: string): Promise<ImportRevision | null> {
  const [row] = await ds.query(
    `SELECT r.id, r.artifact_id, r.version, r.status, r.import_commit, r.import_namespace_id, r.import_delegate, r.import_uploads, r.import_crashes, r.import_crash_mark::text, r.import_progress,
            a.name AS artifact_name, a.type AS artifact_type, a.registry_id, g.type AS registry_type
       FROM artifact_revisions r
       JOIN artifacts a ON a.id = r.artifact_id
       JOIN artifact_registries g ON g.id = a.registry_id
      WHERE r.id = $1`,
    [revisionId],
  );
  if (!row) return null;
  return {
    id: row.id,
    artifactId: row.artifact_id,
    artifactName: row.artifact_name,
    artifactType: row.artifact_type,
    version: row.version,
    registryId: row.registry_id,
    registryType: row.registry_type,
    status: row.status,
    commit: row.import_commit,
    namespaceId: row.import_namespace_id,
    delegate: row.import_delegate,
    fromUploads: row.import_uploads,
    crashes: row.import_crashes,
    crashMark: row.import_crash_mark === null ? null : BigInt(row.import_crash_mark),
    importProgress: row.import_progress,
  };
}
