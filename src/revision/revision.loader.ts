import DataLoader from "dataloader";
import type { DataSource } from "typeorm";
import type { Viewer } from "../auth/viewer";
import type { ArtifactLoaders } from "../artifact/artifact.loader";
import { canSeeArtifact, seesDeletedArtifacts } from "../artifact/artifact.service";
import type { Paging } from "../common/paging";
import type { EntityPage } from "../common/paging.util";
import { isUuid } from "../common/relay";
import type { ArtifactRevisionFileEntity } from "./revision-file.entity";
import type { ArtifactRevisionEntity } from "./revision.entity";
import type { ArtifactRevisionFilter } from "./revision.inputs";
import { RevisionService, type RevisionQuery, type RevisionServing, type RevisionWithAvailability } from "./revision.service";
import { toRevision, type ArtifactMount, type ArtifactRevision } from "./revision.type";

/** The revisions of one artifact under one set of arguments. `signature` is querySignature(query). */
export interface RevisionPageKey { artifactId: string; query: RevisionQuery; signature: string }
export interface RevisionCountKey { artifactId: string; filter: ArtifactRevisionFilter | null | undefined; signature: string }
export interface FilePageKey { revisionId: string; paging: Paging; signature: string }

/**
 * A stable text for arguments: object keys sorted, null and undefined dropped (an absent filter
 * field and a null one mean the same), so equal arguments share one batch whatever their order.
 */
export function querySignature(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    return Object.fromEntries(Object.keys(v).sort().filter((k) => v[k] != null).map((k) => [k, v[k]]));
  });
}

/**
 * Batches keys that share a signature into one call for all their parents. Each group fails on
 * its own: a bad cursor in one field must not fail its neighbours.
 */
async function batchByGroup<K extends { signature: string }, V>(
  keys: readonly K[],
  parentOf: (key: K) => string,
  run: (sample: K, parentIds: string[]) => Promise<Map<string, V>>,
  empty: V,
): Promise<(V | Error)[]> {
  const groups = new Map<string, K[]>();
  for (const key of keys) {
    const group = groups.get(key.signature);
    if (group) group.push(key);
    else groups.set(key.signature, [key]);
  }
  const results = new Map<string, Map<string, V> | Error>();
  await Promise.all([...groups].map(async ([signature, group]) => {
    try {
      results.set(signature, await run(group[0], [...new Set(group.map(parentOf))]));
    } catch (error) {
      results.set(signature, error instanceof Error ? error : new Error(String(error)));
    }
  }));
  return keys.map((key) => {
    const result = results.get(key.signature)!;
    return result instanceof Error ? result : result.get(parentOf(key)) ?? empty;
  });
}

const EMPTY_PAGE = { rows: [], cursors: [], hasNextPage: false, hasPreviousPage: false };

/** Per-request loaders of the revision domain. Keys are lower-case UUIDs (what parseId returns). */
export function createRevisionLoaders(ds: DataSource) {
  const service = new RevisionService(ds);
  return {
    revisionById: new DataLoader<string, ArtifactRevisionEntity | null>(async (ids) => {
      // Non-UUID keys never reach SQL (a bad cast would fail the whole batch); they load as null.
      const found = await service.findRevisionsByIds(ids.filter(isUuid));
      const map = new Map(found.filter((e): e is ArtifactRevisionEntity => e !== null).map((e) => [e.id, e]));
      return ids.map((id) => map.get(id) ?? null);
    }),
    /** For subscription events: the revision and its artifact's availability in one read. */
    revisionWithAvailabilityById: new DataLoader<string, RevisionWithAvailability | null>(async (ids) => {
      const found = await service.findRevisionsWithAvailability(ids.filter(isUuid));
      return ids.map((id) => found.get(id) ?? null);
    }),
    revisionsByArtifact: new DataLoader<RevisionPageKey, EntityPage<ArtifactRevisionEntity>, string>(
      (keys) => batchByGroup(keys, (k) => k.artifactId, (k, ids) => service.pagesByArtifact(ids, k.query), EMPTY_PAGE),
      { cacheKeyFn: (k) => `${k.artifactId}|${k.signature}` },
    ),
    revisionCountByArtifact: new DataLoader<RevisionCountKey, number, string>(
      (keys) => batchByGroup(keys, (k) => k.artifactId, (k, ids) => service.countsByArtifact(ids, k.filter), 0),
      { cacheKeyFn: (k) => `${k.artifactId}|${k.signature}` },
    ),
    filesByRevision: new DataLoader<FilePageKey, EntityPage<ArtifactRevisionFileEntity>, string>(
      (keys) => batchByGroup(keys, (k) => k.revisionId, (k, ids) => service.filePagesByRevision(ids, k.paging), EMPTY_PAGE),
      { cacheKeyFn: (k) => `${k.revisionId}|${k.signature}` },
    ),
    fileCountByRevision: new DataLoader<string, number>(async (ids) => {
      const counts = await service.fileCountsByRevision(ids);
      return ids.map((id) => counts.get(id) ?? 0);
    }),
    /** For ArtifactFile.downloadUrl: one query for every revision whose files a request lists. */
    servingByRevision: new DataLoader<string, RevisionServing | null>(async (ids) => {
      const serving = await service.servingByRevision(ids);
      return ids.map((id) => serving.get(id) ?? null);
    }),
    /** For ArtifactRevision.mount: null unless AVAILABLE. */
    mountByRevision: new DataLoader<string, ArtifactMount | null>(async (ids) => {
      const mounts = await service.mountsByRevision(ids);
      return ids.map((id) => mounts.get(id) ?? null);
    }),
  };
}

export type RevisionLoaders = ReturnType<typeof createRevisionLoaders>;

/**
 * Node and federation lookups: the revision as this viewer may see it (null when unknown, or its
 * artifact is DELETED and the viewer is a `user`), as a class instance.
 */
export async function loadRevisionNode(
  ctx: { viewer: Viewer | null; loaders: RevisionLoaders & ArtifactLoaders },
  uuid: string,
): Promise<ArtifactRevision | null> {
  const revision = await ctx.loaders.revisionById.load(uuid.toLowerCase());
  if (!revision) return null;
  if (seesDeletedArtifacts(ctx.viewer)) return toRevision(revision);
  const artifact = await ctx.loaders.artifactById.load(revision.artifactId);
  return artifact && canSeeArtifact(ctx.viewer, artifact) ? toRevision(revision) : null;
}
