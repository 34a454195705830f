/** Where an import puts a revision's files in a namespace: its folder, its staging area, and who else may use the folder. */
import type { DataSource } from "typeorm";
import type { ArtifactStatus } from "../../common/enums";
import { ERRORS } from "../../common/errors";
import { toGlobalId } from "../../common/relay";
import { finalKey } from "../../revision/layout";
import { IMPORTING_STATUSES } from "../../revision/lifecycle";
import type { StagingArea, StorageAdapter } from "../../storage/storage.port";

type Queryable = { query: DataSource["query"] };

export function stagingPrefix(revisionId: string): string {
  return `.staging/${revisionId}/`;
}

/** Where an import of the revision stages its files before they go to their final keys. */
export function stagingArea(adapter: StorageAdapter, artifactName: string, version: string, revisionId: string): StagingArea {
  return adapter.staging(finalKey(artifactName, version, ""), stagingPrefix(revisionId));
}

/*
 * A namespace keeps a revision's files at `{artifact name}/{version}/`, the Backend.AI layout,
 * which does not name the registry: the same model mirrored from two registries (a Hugging Face
 * hub and a Reservoir peer, say) has one folder per namespace. Two such revisions may share it
 * only while they hold the same commit, hence the same bytes; one import at a time writes to it;
 * and a folder goes only with the last revision that names it.
 */

export interface FolderSharer {
  id: string;
  status: ArtifactStatus;
  digest: string | null;
}

/** Another revision whose files are in this folder of the namespace, if any. */
export async function folderSharer(q: Queryable, revisionId: string, artifactName: string, version: string, namespaceId: string): Promise<FolderSharer | null> {
  const [other]: FolderSharer[] = await q.query(
    `SELECT r.id, r.status, r.digest FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id
      WHERE a.name = $1 AND r.version = $2 AND r.id <> $3
        AND EXISTS (SELECT 1 FROM artifact_revision_namespaces n WHERE n.revision_id = r.id AND n.namespace_id = $4)
      ORDER BY r.id LIMIT 1`,
    [artifactName, version, revisionId, namespaceId],
  );
  return other ?? null;
}

/**
 * Lets an import of `commit` into the namespace start, inside the transaction that starts it: a
 * CONFLICT while another revision imports into the same folder, or stores another commit there.
 * A `commit` of null stands for bytes no other revision can hold (uploads): then any other
 * revision in the folder refuses, so an upload never changes the files of another, readonly or
 * not. A transaction lock on the folder orders concurrent requests.
 */
export async function claimFolder(q: Queryable, revisionId: string, artifactName: string, version: string, namespaceId: string, commit: string | null): Promise<void> {
  const folder = finalKey(artifactName, version, "");
  await q.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`${namespaceId}:${folder}`]);
  const [importing]: Array<{ id: string; status: ArtifactStatus }> = await q.query(
    `SELECT r.id, r.status FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id
      WHERE a.name = $1 AND r.version = $2 AND r.id <> $3 AND r.import_namespace_id = $4 AND r.status = ANY($5)
      LIMIT 1`,
    [artifactName, version, revisionId, namespaceId, IMPORTING_STATUSES],
  );
  const refuse = (other: { id: string }, why: string) => {
    const otherId = toGlobalId("ArtifactRevision", other.id);
    return ERRORS.conflict(
      `ArtifactRevision ${toGlobalId("ArtifactRevision", revisionId)} would store its files at ${folder} in this namespace, where ArtifactRevision ${otherId} ${why}`,
      { conflictingArtifactRevisionId: otherId },
    );
  };
  if (importing) throw refuse(importing, `is being imported (${importing.status}): wait until it settles`);
  const sharer = await folderSharer(q, revisionId, artifactName, version, namespaceId);
  if (sharer && commit === null) {
    throw refuse(sharer, `keeps its files (${sharer.status}): uploads never change another revision's files; clean that one up first`);
  }
  if (sharer && sharer.digest !== commit) {
    throw refuse(sharer, `keeps commit ${sharer.digest ?? "(unknown)"} (${sharer.status}), not ${commit}: clean that one up first, or import into another namespace`);
  }
}

/**
 * Whether the revision's rows name stored files. Then its folder serves them (or a cancel gives
 * them back), so its import publishes nothing there before PULLED; otherwise it may publish each
 * file as it arrives (`StagingArea.putFinal`), and a cancel or failure while PULLING
 * removes the folder.
 */
export async function namesStoredFiles(q: Queryable, revisionId: string): Promise<boolean> {
  const [row]: Array<{ stored: boolean }> = await q.query(
    `SELECT EXISTS (SELECT 1 FROM artifact_revision_files WHERE revision_id = $1 AND storage_key IS NOT NULL) AS stored`,
    [revisionId],
  );
  return row.stored;
}
