import DataLoader from "dataloader";
import { In, type DataSource } from "typeorm";
import type { ConnectionShape } from "../common/connection.type";
import { connectionOf } from "../common/paging.util";
import { countRowsByParent, fetchPagesByParent, type Paging } from "../common/paging";
import { isUuid } from "../common/relay";
import { hydrate, SqlParams } from "../common/sql";
import { ObjectStorageEntity } from "./object-storage.entity";
import { StorageNamespaceEntity } from "./storage-namespace.entity";
import { toObjectStorage, toStorageNamespace, toVFSStorage, type ObjectStorage, type StorageNamespace, type VFSStorage } from "./storage.type";
import { VFSStorageEntity } from "./vfs-storage.entity";

function byId<E extends { id: string }, T>(rows: E[], ids: readonly string[], map: (row: E) => T): (T | null)[] {
  const found = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => {
    const row = found.get(id);
    return row ? map(row) : null;
  });
}

/** Keyed by bare UUID; values are GraphQL objects (secrets masked), null when absent or not a UUID. */
export function createStorageLoaders(ds: DataSource) {
  const namespacePages = new Map<string, DataLoader<string, ConnectionShape<StorageNamespace>>>();
  const from = "storage_namespaces n";
  const parentExpr = "n.object_storage_id";

  const namespaceCounts = new DataLoader<string, number>(async (storageIds) => {
    const counts = await countRowsByParent({ ds, from, where: [], params: new SqlParams(), parentExpr, parentIds: storageIds });
    return storageIds.map((id) => counts.get(id) ?? 0);
  });

  return {
    objectStorageById: new DataLoader<string, ObjectStorage | null>(async (ids) =>
      byId(await ds.getRepository(ObjectStorageEntity).findBy({ id: In(ids.filter(isUuid)) }), ids, toObjectStorage)),
    vfsStorageById: new DataLoader<string, VFSStorage | null>(async (ids) =>
      byId(await ds.getRepository(VFSStorageEntity).findBy({ id: In(ids.filter(isUuid)) }), ids, toVFSStorage)),
    storageNamespaceById: new DataLoader<string, StorageNamespace | null>(async (ids) =>
      byId(await ds.getRepository(StorageNamespaceEntity).findBy({ id: In(ids.filter(isUuid)) }), ids, toStorageNamespace)),

    /**
     * ObjectStorage.namespaces for every storage of a page in one statement; one loader per
     * distinct paging, since a query may alias the field with different arguments.
     */
    namespacesByObjectStorage(paging: Paging): DataLoader<string, ConnectionShape<StorageNamespace>> {
      const key = JSON.stringify(paging);
      let loader = namespacePages.get(key);
      if (!loader) {
        loader = new DataLoader(async (storageIds) => {
          const pages = await fetchPagesByParent({
            ds, select: "n.id, n.object_storage_id, n.vfs_storage_id, n.namespace", from, idExpr: "n.id", where: [],
            params: new SqlParams(), paging, order: [{ expr: "n.namespace", cast: "text", direction: "ASC" }],
            parentExpr, parentIds: storageIds,
          });
          return storageIds.map((storageId) =>
            connectionOf(
              pages.get(storageId)!,
              (row: Record<string, unknown>) => toStorageNamespace(hydrate(ds, StorageNamespaceEntity, row)),
              () => namespaceCounts.load(storageId),
            ));
        });
        namespacePages.set(key, loader);
      }
      return loader;
    },
  };
}
