import { openSecret, S3_SECRET_PURPOSE } from "../common/secrets";
import path from "node:path";
import type { DataSource } from "typeorm";
import { ERRORS } from "../common/errors";
import { FilesystemStorageAdapter } from "./fs.adapter";
import type { LinkSigner } from "./link-signer";
import { S3StorageAdapter } from "./s3.adapter";
import type { StorageAdapter } from "./storage.port";

export interface StorageManagerOptions {
  signer: LinkSigner;
  /** Origin the app is reachable at; filesystem links point there (a function: see FilesystemStorageOptions). */
  publicUrl: string | (() => string);
  /** Where imports go unless told otherwise (see ensureDefaultStorage). */
  defaultNamespaceId: string;
}

/** Where a storage namespace lives: a bucket of an object storage or a directory of a VFS storage. */
export type NamespaceLocation =
  | { kind: "s3"; namespaceId: string; storageId: string; endpoint: string; accessKey: string; secretKey: string; region: string; bucket: string }
  | { kind: "filesystem"; namespaceId: string; storageId: string; basePath: string };

const LOCATION_SQL = `
  SELECT n.id, n.namespace, n.object_storage_id, n.vfs_storage_id,
         o.endpoint, o.access_key, o.secret_key, o.region, v.base_path
  FROM storage_namespaces n
  LEFT JOIN object_storages o ON o.id = n.object_storage_id
  LEFT JOIN vfs_storages v ON v.id = n.vfs_storage_id`;

function toLocation(row: Record<string, any>): NamespaceLocation {
  if (row.object_storage_id) {
    return {
      kind: "s3", namespaceId: row.id, storageId: row.object_storage_id, endpoint: row.endpoint,
      accessKey: row.access_key, secretKey: openSecret(row.secret_key, S3_SECRET_PURPOSE), region: row.region, bucket: row.namespace,
    };
  }
  return { kind: "filesystem", namespaceId: row.id, storageId: row.vfs_storage_id, basePath: path.join(row.base_path, row.namespace) };
}

/**
 * Turns storage namespace ids into StorageAdapters. Adapters are cached per namespace and
 * dropped when the storage service changes or removes their storage. Another replica's edits
 * are not seen until restart (or until that replica evicts): storages change rarely, by hand.
 */
export class StorageManager {
  readonly defaultNamespaceId: string;
  private readonly adapters = new Map<string, Promise<StorageAdapter>>();
  // The fs link router resolves stores synchronously, so filesystem adapters are also kept here.
  private readonly filesystem = new Map<string, FilesystemStorageAdapter>();
  private readonly storageOf = new Map<string, string>();

  constructor(private readonly ds: DataSource, private readonly options: StorageManagerOptions) {
    this.defaultNamespaceId = options.defaultNamespaceId;
  }

  /** The adapter of a namespace; NOT_FOUND when no such namespace is registered. */
  adapterFor(namespaceId: string): Promise<StorageAdapter> {
    let adapter = this.adapters.get(namespaceId);
    if (!adapter) {
      const pending = this.locate(namespaceId).then((location) => this.remember(location));
      // A failed lookup must not stick: the namespace may be registered a moment later.
      pending.catch(() => {
        if (this.adapters.get(namespaceId) === pending) this.adapters.delete(namespaceId);
      });
      this.adapters.set(namespaceId, pending);
      adapter = pending;
    }
    return adapter;
  }

  defaultAdapter(): Promise<StorageAdapter> {
    return this.adapterFor(this.defaultNamespaceId);
  }

  /** For the fs link router: the filesystem adapter whose store id (= namespace id) a link names. */
  filesystemAdapter(store: string): FilesystemStorageAdapter | undefined {
    return this.filesystem.get(store);
  }

  /**
   * Builds the adapter of every registered namespace up front, so links signed before a restart
   * still resolve in the (synchronous) fs link router. Call once at start-up.
   */
  async preload(): Promise<void> {
    const rows: Record<string, any>[] = await this.ds.query(LOCATION_SQL);
    for (const row of rows) {
      const location = toLocation(row);
      if (!this.adapters.has(location.namespaceId)) this.adapters.set(location.namespaceId, Promise.resolve(this.remember(location)));
    }
  }

  /** Readiness: the default namespace answers (bucket exists / directory is writable). */
  async ping(): Promise<void> {
    await (await this.defaultAdapter()).ping();
  }

  evictNamespace(namespaceId: string): void {
    this.adapters.delete(namespaceId);
    this.filesystem.delete(namespaceId);
    this.storageOf.delete(namespaceId);
  }

  /** After a storage's endpoint, keys or base path changed: its namespaces get fresh adapters. */
  evictStorage(storageId: string): void {
    for (const [namespaceId, owner] of [...this.storageOf]) if (owner === storageId) this.evictNamespace(namespaceId);
  }

  /** The adapter for a location, uncached (also used before a namespace row exists). */
  createAdapter(location: NamespaceLocation): StorageAdapter {
    return location.kind === "s3"
      ? createS3Adapter(location)
      : new FilesystemStorageAdapter({
          basePath: location.basePath,
          signer: this.options.signer,
          publicUrl: this.options.publicUrl,
          store: location.namespaceId,
        });
  }

  private async locate(namespaceId: string): Promise<NamespaceLocation> {
    const [row] = await this.ds.query(`${LOCATION_SQL} WHERE n.id = $1`, [namespaceId]);
    if (!row) throw ERRORS.notFound("StorageNamespace", namespaceId);
    return toLocation(row);
  }

  private remember(location: NamespaceLocation): StorageAdapter {
    const adapter = this.createAdapter(location);
    this.storageOf.set(location.namespaceId, location.storageId);
    if (adapter instanceof FilesystemStorageAdapter) this.filesystem.set(location.namespaceId, adapter);
    return adapter;
  }
}

export function createS3Adapter(location: { endpoint: string; accessKey: string; secretKey: string; region: string; bucket: string }): S3StorageAdapter {
  return new S3StorageAdapter({
    endPoint: location.endpoint,
    accessKey: location.accessKey,
    secretKey: location.secretKey,
    region: location.region,
    bucket: location.bucket,
  });
}

/**
 * Rejects when work has not settled within ms. The S3 client has no connect timeout, and an
 * endpoint that drops packets would otherwise hold a request (and its transaction) for minutes.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
