import { createHash } from "node:crypto";
import type { DataSource } from "typeorm";
import type { ManifestFile } from "../revision/manifest";
import { S3StorageAdapter } from "../storage/s3.adapter";
import type { StorageAdapter } from "../storage/storage.port";

/*
 * Uploads into a revision, as the upload links, the import and cleanup see them. Each upload
 * waits under its own key, so two uploads of one path never write the same object, and nothing
 * under `.uploads/` is ever served: an import copies a finished upload into staging, hashing it
 * again against what was recorded when it arrived, and only then places it.
 */

type Queryable = { query: DataSource["query"] };

/** Where uploads into the revision wait until an import publishes them. */
export function uploadPrefix(revisionId: string): string {
  return `.uploads/${revisionId}/`;
}

export function uploadKey(revisionId: string, uploadId: string): string {
  return `${uploadPrefix(revisionId)}${uploadId}`;
}

export interface UploadedFile extends ManifestFile {
  uploadId: string;
  sha256: string;
}

export interface RevisionUploads {
  namespaceId: string;
  files: UploadedFile[];
  /** `sha256:` and the SHA-256 of the files' `sha256sum` listing: what the revision holds, as its digest. */
  digest: string;
}

/** The revision's finished uploads (one per path, the latest), or null when it has none. */
export async function finishedUploads(q: Queryable, revisionId: string): Promise<RevisionUploads | null> {
  const rows: Array<{ id: string; namespace_id: string; path: string; size: string; sha256: string }> = await q.query(
    `SELECT id, namespace_id, path, size::text AS size, sha256 FROM artifact_revision_uploads
      WHERE revision_id = $1 AND completed_at IS NOT NULL ORDER BY path`,
    [revisionId],
  );
  if (rows.length === 0) return null;
  const files = rows.map((r) => ({ uploadId: r.id, path: r.path, size: r.size, sha256: r.sha256, upstreamOid: null }));
  const listing = files.map((f) => `${f.sha256}  ${f.path}\n`).join("");
  return { namespaceId: rows[0].namespace_id, files, digest: `sha256:${createHash("sha256").update(listing).digest("hex")}` };
}

/** Forgets every upload of the revision, finished or not (its unused links die with it); answers the namespaces to clear. */
export async function forgetUploads(q: Queryable, revisionId: string): Promise<string[]> {
  // TypeORM answers a DELETE ... RETURNING with [rows, affected].
  const [rows]: [Array<{ namespace_id: string }>, number] = await q.query(
    `DELETE FROM artifact_revision_uploads WHERE revision_id = $1 RETURNING namespace_id`,
    [revisionId],
  );
  return [...new Set(rows.map((r) => r.namespace_id))];
}

/** Deletes the revision's upload objects and, on S3, the multipart uploads a killed process left pending there. */
export async function clearUploadObjects(adapter: StorageAdapter, revisionId: string): Promise<void> {
  await adapter.deletePrefix(uploadPrefix(revisionId));
  if (adapter instanceof S3StorageAdapter) await adapter.abortUploads(uploadPrefix(revisionId));
}
