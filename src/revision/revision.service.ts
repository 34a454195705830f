import path from "node:path";
import type { DataSource } from "typeorm";
import type { Viewer } from "../auth/viewer";
import { seesDeletedArtifacts } from "../artifact/artifact.service";
import { ArtifactMountKind, ArtifactStatus, type ArtifactAvailability } from "../common/enums";
import { finalKey } from "./layout";
import { countRows, countRowsByParent, fetchPage, fetchPagesByParent, type Paging } from "../common/paging";
import { hydratePage, type EntityPage } from "../common/paging.util";
import { hydrate, SqlParams } from "../common/sql";
import { ArtifactRevisionFileEntity } from "./revision-file.entity";
import { ArtifactRevisionEntity } from "./revision.entity";
import type { ArtifactRevisionFilter, ArtifactRevisionOrderBy } from "./revision.inputs";
import type { ArtifactMount } from "./revision.type";
import {
  FILE_FROM, FILE_ID, FILE_ORDER, FILE_PARENT, REVISION_FROM, REVISION_ID, REVISION_PARENT, revisionConditions, revisionOrder,
} from "./revision.query";

/** What serving a revision's files depends on. */
export interface RevisionServing {
  status: ArtifactStatus;
  /** The namespace holding its files, if any. */
  namespaceId: string | null;
}

/** A revision and what deciding who may see it needs of its artifact. */
export interface RevisionWithAvailability {
  revision: ArtifactRevisionEntity;
  artifactAvailability: ArtifactAvailability;
}

export interface RevisionQuery {
  filter?: ArtifactRevisionFilter | null;
  orderBy?: readonly ArtifactRevisionOrderBy[] | null;
  paging: Paging;
}

export interface ListRevisionsArgs extends RevisionQuery {
  viewer: Viewer;
}

/** Revisions and their files: listing and the batched per-parent queries behind the DataLoaders. */
export class RevisionService {
  constructor(private readonly ds: DataSource) {}

  /** One page and a lazy count (the count query runs only when called). */
  async list(args: ListRevisionsArgs): Promise<{ page: EntityPage<ArtifactRevisionEntity>; count: () => Promise<number> }> {
    const params = new SqlParams();
    const where = revisionConditions(args.filter, params, !seesDeletedArtifacts(args.viewer));
    const order = revisionOrder(args.orderBy);
    const page = await fetchPage({ ds: this.ds, select: "r.*", from: REVISION_FROM, idExpr: REVISION_ID, where, params, order, paging: args.paging });
    return {
      page: hydratePage(this.ds, ArtifactRevisionEntity, page),
      count: () => countRows({ ds: this.ds, from: REVISION_FROM, where, params }),
    };
  }

  /** For DataLoaders: one statement, results in the order of `ids` (null where unknown). No role check. */
  async findRevisionsByIds(ids: readonly string[]): Promise<(ArtifactRevisionEntity | null)[]> {
    const rows: Record<string, unknown>[] = await this.ds.query(`SELECT * FROM artifact_revisions WHERE id = ANY($1::uuid[])`, [ids]);
    const map = new Map(rows.map((row) => [String(row.id), hydrate(this.ds, ArtifactRevisionEntity, row)]));
    return ids.map((id) => map.get(id) ?? null);
  }

  /** The revisions with their artifact's availability, in one statement: a subscription event's one read. */
  async findRevisionsWithAvailability(ids: readonly string[]): Promise<Map<string, RevisionWithAvailability>> {
    const rows: Record<string, unknown>[] = await this.ds.query(
      `SELECT r.*, a.availability AS artifact_availability FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE r.id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(rows.map((row) => [String(row.id), { revision: hydrate(this.ds, ArtifactRevisionEntity, row), artifactAvailability: row.artifact_availability as ArtifactAvailability }]));
  }

  /**
   * The same page of revisions for each artifact, in one statement. No role filter: callers reach
   * here through an artifact the viewer may already see.
   */
  async pagesByArtifact(artifactIds: readonly string[], q: RevisionQuery): Promise<Map<string, EntityPage<ArtifactRevisionEntity>>> {
    const params = new SqlParams();
    const where = revisionConditions(q.filter, params, false);
    const pages = await fetchPagesByParent({
      ds: this.ds, select: "r.*", from: REVISION_FROM, idExpr: REVISION_ID, where, params, order: revisionOrder(q.orderBy), paging: q.paging,
      parentExpr: REVISION_PARENT, parentIds: artifactIds,
    });
    return new Map([...pages].map(([id, page]) => [id, hydratePage(this.ds, ArtifactRevisionEntity, page)]));
  }

  /** Matching revisions per artifact, in one statement. */
  countsByArtifact(artifactIds: readonly string[], filter: ArtifactRevisionFilter | null | undefined): Promise<Map<string, number>> {
    const params = new SqlParams();
    const where = revisionConditions(filter, params, false);
    return countRowsByParent({ ds: this.ds, from: REVISION_FROM, where, params, parentExpr: REVISION_PARENT, parentIds: artifactIds });
  }

  /** The same page of files (ordered by path) for each revision, in one statement. */
  async filePagesByRevision(revisionIds: readonly string[], paging: Paging): Promise<Map<string, EntityPage<ArtifactRevisionFileEntity>>> {
    const pages = await fetchPagesByParent({
      ds: this.ds, select: "f.*", from: FILE_FROM, idExpr: FILE_ID, where: [], params: new SqlParams(), order: FILE_ORDER, paging,
      parentExpr: FILE_PARENT, parentIds: revisionIds,
    });
    return new Map([...pages].map(([id, page]) => [id, hydratePage(this.ds, ArtifactRevisionFileEntity, page)]));
  }

  fileCountsByRevision(revisionIds: readonly string[]): Promise<Map<string, number>> {
    return countRowsByParent({ ds: this.ds, from: FILE_FROM, where: [], params: new SqlParams(), parentExpr: FILE_PARENT, parentIds: revisionIds });
  }

  /** What serving the revisions' files depends on: their status and the namespace holding their files. */
  async servingByRevision(revisionIds: readonly string[]): Promise<Map<string, RevisionServing>> {
    const rows: Array<{ id: string; status: ArtifactStatus; namespace_id: string | null }> = await this.ds.query(
      `SELECT r.id, r.status, (SELECT n.namespace_id FROM artifact_revision_namespaces n WHERE n.revision_id = r.id LIMIT 1) AS namespace_id
         FROM artifact_revisions r WHERE r.id = ANY($1::uuid[])`,
      [revisionIds],
    );
    return new Map(rows.map((r) => [r.id, { status: r.status, namespaceId: r.namespace_id }]));
  }

  /**
   * Where each AVAILABLE revision's folder is (others are left out): its namespace's storage and
   * the folder's key prefix there, as the import laid it out (finalKey). Never a credential.
   */
  async mountsByRevision(revisionIds: readonly string[]): Promise<Map<string, ArtifactMount>> {
    const rows: Array<{ id: string; name: string; version: string; namespace: string; endpoint: string | null; region: string | null; base_path: string | null }> = await this.ds.query(
      `SELECT r.id, a.name, r.version, s.namespace, o.endpoint, o.region, v.base_path
         FROM artifact_revisions r
         JOIN artifacts a ON a.id = r.artifact_id
         JOIN LATERAL (SELECT n.namespace_id FROM artifact_revision_namespaces n WHERE n.revision_id = r.id LIMIT 1) rn ON true
         JOIN storage_namespaces s ON s.id = rn.namespace_id
         LEFT JOIN object_storages o ON o.id = s.object_storage_id
         LEFT JOIN vfs_storages v ON v.id = s.vfs_storage_id
        WHERE r.id = ANY($1::uuid[]) AND r.status = $2`,
      [revisionIds, ArtifactStatus.AVAILABLE],
    );
    const none = { hostPath: null, endpoint: null, region: null, bucket: null, prefix: null };
    return new Map(rows.map((row) => {
      const prefix = finalKey(row.name, row.version, "");
      // The filesystem adapter's own layout: {base path}/{namespace}/{key}.
      const mount: ArtifactMount = row.base_path !== null
        ? { ...none, kind: ArtifactMountKind.FILESYSTEM, hostPath: path.resolve(row.base_path, row.namespace, ...prefix.split("/").filter(Boolean)) }
        : { ...none, kind: ArtifactMountKind.S3, endpoint: row.endpoint, region: row.region, bucket: row.namespace, prefix };
      return [row.id, mount];
    }));
  }
}
