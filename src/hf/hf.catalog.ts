import type { DataSource } from "typeorm";
import { canSeeArtifact } from "../artifact/artifact.service";
import type { Viewer } from "../auth/viewer";
import { ArtifactAvailability, ArtifactStatus, ArtifactType } from "../common/enums";
import { decodeGlobalId, isUuid } from "../common/relay";
import { TRANSITIONS } from "../revision/lifecycle";
import type { ImportProgressData } from "../revision/revision.entity";
import { HF_ERRORS } from "./hf.errors";
import { hubFile, type HubFile, type ManifestRow } from "./hf.files";

/** A revision the endpoint serves: AVAILABLE, of an artifact the viewer may see, stored in the namespace asked for. */
export interface ServedRevision {
  id: string;
  artifactId: string;
  repo: string;
  version: string;
  /** The upstream commit its files were imported from: the Hub's `sha` and X-Repo-Commit. */
  commit: string;
  namespaceId: string;
  /** When it last became AVAILABLE. */
  lastModified: Date;
  artifactCreatedAt: Date;
  extra: Record<string, unknown>;
}

interface CandidateRow {
  artifact_id: string;
  name: string;
  availability: ArtifactAvailability;
  extra: Record<string, unknown> | null;
  artifact_created_at: Date;
  id: string | null;
  version: string;
  status: ArtifactStatus;
  digest: string | null;
  import_progress: ImportProgressData | null;
  updated_at: Date;
  in_namespace: boolean;
  last_from: ArtifactStatus | null;
  available_at: Date | null;
}

/*
 * Every artifact of the name (one per registry that has it), each with its revisions matching the
 * revision asked for by version or by commit (none: a row with nulls), the matches by version
 * first. The namespace test, the last transition and the time it became AVAILABLE come along,
 * so one statement decides the answer or tells why there is none.
 */
const CANDIDATES_SQL = `
  SELECT a.id AS artifact_id, a.name, a.availability, a.extra, a.created_at AS artifact_created_at,
         r.id, r.version, r.status, r.digest, r.import_progress, r.updated_at,
         EXISTS (SELECT 1 FROM artifact_revision_namespaces n WHERE n.revision_id = r.id AND n.namespace_id = $4) AS in_namespace,
         (SELECT h.from_status FROM artifact_revision_status_history h WHERE h.revision_id = r.id ORDER BY h.id DESC LIMIT 1) AS last_from,
         (SELECT max(h.created_at) FROM artifact_revision_status_history h WHERE h.revision_id = r.id AND h.to_status = '${ArtifactStatus.AVAILABLE}') AS available_at
    FROM artifacts a
    LEFT JOIN artifact_revisions r ON r.artifact_id = a.id AND (r.version = ANY($2::text[]) OR r.digest = $3)
   WHERE a.name = $1 AND a.type = '${ArtifactType.MODEL}'
   ORDER BY (r.version = ANY($2::text[])) DESC NULLS LAST, r.updated_at DESC NULLS LAST, r.id`;

const FILE_COLUMNS = `path, size::text AS size, sha256, upstream_oid, storage_key`;

/** Reads the catalogue for the Hugging Face-compatible endpoint. */
export class HfCatalog {
  constructor(private readonly ds: DataSource, private readonly defaultNamespaceId: string) {}

  /** The namespace of `/hf/namespaces/{namespace}`: a UUID, a StorageNamespace global ID, or a name only one namespace has. */
  async namespace(segment: string | null): Promise<string> {
    if (segment === null) return this.defaultNamespaceId;
    const global = decodeGlobalId(segment);
    const id = isUuid(segment) ? segment.toLowerCase() : global?.type === "StorageNamespace" ? global.id : null;
    const rows: Array<{ id: string }> = id
      ? await this.ds.query(`SELECT id FROM storage_namespaces WHERE id = $1`, [id])
      : await this.ds.query(`SELECT id FROM storage_namespaces WHERE namespace = $1 LIMIT 2`, [segment]);
    if (rows.length === 1) return rows[0].id;
    if (rows.length === 0) throw HF_ERRORS.repoNotFound(`No storage namespace ${JSON.stringify(segment)}`);
    throw HF_ERRORS.repoNotFound(`Several storage namespaces are named ${JSON.stringify(segment)}: address one by its id`);
  }

  /**
   * The revision `revision` names (a version, `HEAD` or `refs/heads|tags/…` for one, or a full
   * commit SHA) as the viewer may read it. RepoNotFound when no artifact of that name is visible;
   * RevisionNotFound, saying why, when no such revision is served here.
   */
  async revision(namespaceId: string, repo: string, revision: string, viewer: Viewer | null): Promise<ServedRevision> {
    const versions = [revision];
    if (revision === "HEAD") versions.push("main");
    const ref = /^refs\/(?:heads|tags)\/(.+)$/.exec(revision);
    if (ref) versions.push(ref[1]);
    const commit = /^[0-9a-f]{40}$/.test(revision) ? revision : null;
    const rows: CandidateRow[] = await this.ds.query(CANDIDATES_SQL, [repo, versions, commit, namespaceId]);
    const visible = rows.filter((row) => canSeeArtifact(viewer, row));
    if (visible.length === 0) throw HF_ERRORS.repoNotFound(`Repository ${repo} not found`);
    const candidates = visible.filter((row) => row.id !== null);
    const served = candidates.find((row) => row.status === ArtifactStatus.AVAILABLE && row.in_namespace && row.digest);
    if (served) {
      return {
        id: served.id!,
        artifactId: served.artifact_id,
        repo: served.name,
        version: served.version,
        commit: served.digest!,
        namespaceId,
        lastModified: served.available_at ?? served.updated_at,
        artifactCreatedAt: served.artifact_created_at,
        extra: served.extra ?? {},
      };
    }
    if (candidates.length === 0) throw HF_ERRORS.revisionNotFound(`Invalid rev id: ${revision} (${repo} has no such version or commit here)`);
    throw HF_ERRORS.revisionNotFound(whyNotServed(candidates[0]));
  }

  /** Every file of a served revision, by path. */
  async files(revisionId: string): Promise<HubFile[]> {
    const rows: ManifestRow[] = await this.ds.query(`SELECT ${FILE_COLUMNS} FROM artifact_revision_files WHERE revision_id = $1 ORDER BY path`, [revisionId]);
    return rows.map(hubFile).filter((file): file is HubFile => file !== null);
  }

  async file(revisionId: string, path: string): Promise<HubFile | null> {
    const [row]: ManifestRow[] = await this.ds.query(`SELECT ${FILE_COLUMNS} FROM artifact_revision_files WHERE revision_id = $1 AND path = $2`, [revisionId, path]);
    return row ? hubFile(row) : null;
  }
}

/** Why a revision that exists is not served: its status, in words a session's log can show. */
function whyNotServed(row: CandidateRow): string {
  const label = `${row.name}@${row.version}`;
  switch (row.status) {
    case ArtifactStatus.AVAILABLE:
      return `${label} is AVAILABLE in another storage namespace`;
    case ArtifactStatus.PULLING:
      return `${label} is PULLING (${percent(row.import_progress)}%)`;
    case ArtifactStatus.PULLED:
    case ArtifactStatus.VERIFYING:
      return `${label} is ${row.status}: its files are being verified`;
    case ArtifactStatus.NEEDS_APPROVAL:
      return `${label} is NEEDS_APPROVAL: an administrator has to approve it`;
    case ArtifactStatus.FAILED:
      return `${label} is FAILED: its import failed`;
    case ArtifactStatus.REJECTED:
      return `${label} was REJECTED by an administrator`;
    default:
      // SCANNED after a cleanup: only cleanup leads there from these states (cancel comes from PULLING…).
      return row.last_from && (TRANSITIONS.cleanup.from as readonly ArtifactStatus[]).includes(row.last_from)
        ? `${label} was cleaned up: its files were deleted`
        : `${label} is SCANNED: it has not been imported`;
  }
}

function percent(progress: ImportProgressData | null): number {
  const total = Number(progress?.totalBytes ?? 0);
  const done = Number(progress?.downloadedBytes ?? 0);
  return total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 0;
}
