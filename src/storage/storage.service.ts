import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { DataSource, EntityManager, ObjectLiteral, EntityTarget } from "typeorm";
import type { ConnectionShape } from "../common/connection.type";
import { listTable } from "../common/paging.util";
import { isForeignKeyViolation, isUniqueViolation } from "../common/db-errors";
import { ERRORS } from "../common/errors";
import type { Logger } from "../common/logger";
import type { PagingArgs, PagingLimits } from "../common/paging";
import { parseId, type NodeTypeName } from "../common/relay";
import { hydrate } from "../common/sql";
import { checkName, checkText, given } from "../common/validation";
import { ObjectStorageEntity } from "./object-storage.entity";
import type {
  CreateObjectStorageInput, CreateVFSStorageInput, RegisterStorageNamespaceInput, UnregisterStorageNamespaceInput,
  UpdateObjectStorageInput, UpdateVFSStorageInput,
} from "./storage.inputs";
import { StorageNamespaceEntity } from "./storage-namespace.entity";
import { createS3Adapter, withTimeout, type StorageManager } from "./storage-manager";
import { toObjectStorage, toVFSStorage, type ObjectStorage, type VFSStorage } from "./storage.type";
import { checkBasePath, checkBucketName, checkDirectoryName, checkS3Endpoint } from "./storage.validation";
import { VFSStorageEntity } from "./vfs-storage.entity";

const HOST_MAX = 256;
const KEY_MAX = 256;
const SECRET_MAX = 4096;
const REGION_MAX = 64;
// The contract types storageId as UUID; global IDs of either storage kind are tolerated too.
const STORAGE_ID_TYPES: NodeTypeName[] = ["ObjectStorage", "VFSStorage"];

export interface StorageServiceOptions {
  limits: PagingLimits;
  /** How long registerStorageNamespace waits for an S3 endpoint. */
  s3TimeoutMs?: number;
  logger?: Logger;
}

/** Object storages, VFS storages and their namespaces (buckets / sub-directories). */
export class StorageService {
  private readonly s3TimeoutMs: number;

  constructor(private readonly ds: DataSource, private readonly storage: StorageManager, private readonly options: StorageServiceOptions) {
    this.s3TimeoutMs = options.s3TimeoutMs ?? 15_000;
  }

  listObjectStorages(args: PagingArgs): Promise<ConnectionShape<ObjectStorage>> {
    return this.list(args, "object_storages", (row) => toObjectStorage(hydrate(this.ds, ObjectStorageEntity, row)));
  }

  listVFSStorages(args: PagingArgs): Promise<ConnectionShape<VFSStorage>> {
    return this.list(args, "vfs_storages", (row) => toVFSStorage(hydrate(this.ds, VFSStorageEntity, row)));
  }

  findObjectStorage(id: string): Promise<ObjectStorageEntity | null> {
    return this.ds.getRepository(ObjectStorageEntity).findOneBy({ id });
  }

  findVFSStorage(id: string): Promise<VFSStorageEntity | null> {
    return this.ds.getRepository(VFSStorageEntity).findOneBy({ id });
  }

  async createObjectStorage(input: CreateObjectStorageInput): Promise<ObjectStorageEntity> {
    const values = {
      name: checkName(input.name),
      host: checkText(input.host, "host", HOST_MAX),
      accessKey: checkText(input.accessKey, "accessKey", KEY_MAX),
      secretKey: checkText(input.secretKey, "secretKey", SECRET_MAX),
      endpoint: checkS3Endpoint(input.endpoint),
      region: checkText(input.region, "region", REGION_MAX),
    };
    return this.write("object storage", values.name, async (em) => {
      const repo = em.getRepository(ObjectStorageEntity);
      if (await repo.existsBy({ name: values.name })) throw nameTaken("object storage", values.name);
      return repo.save(repo.create(values));
    });
  }

  async updateObjectStorage(input: UpdateObjectStorageInput): Promise<ObjectStorageEntity> {
    const id = parseId("ObjectStorage", input.id, "id");
    const changes = {
      name: given(input.name) ? checkName(input.name) : undefined,
      host: given(input.host) ? checkText(input.host, "host", HOST_MAX) : undefined,
      accessKey: given(input.accessKey) ? checkText(input.accessKey, "accessKey", KEY_MAX) : undefined,
      secretKey: given(input.secretKey) ? checkText(input.secretKey, "secretKey", SECRET_MAX) : undefined,
      endpoint: given(input.endpoint) ? checkS3Endpoint(input.endpoint) : undefined,
      region: given(input.region) ? checkText(input.region, "region", REGION_MAX) : undefined,
    };
    const updated = await this.write("object storage", changes.name, async (em) => {
      const repo = em.getRepository(ObjectStorageEntity);
      const current = await repo.findOne({ where: { id }, lock: { mode: "pessimistic_write" } });
      if (!current) throw ERRORS.notFound("ObjectStorage", input.id);
      if (changes.name && changes.name !== current.name && (await repo.existsBy({ name: changes.name }))) {
        throw nameTaken("object storage", changes.name);
      }
      return repo.save(Object.assign(current, defined(changes)));
    });
    this.storage.evictStorage(id);
    return updated;
  }

  async deleteObjectStorage(rawId: string): Promise<string> {
    const id = parseId("ObjectStorage", rawId, "id");
    await this.deleteStorage(ObjectStorageEntity, "ObjectStorage", "object_storage_id", id, rawId);
    return id;
  }

  async createVFSStorage(input: CreateVFSStorageInput): Promise<VFSStorageEntity> {
    const values = {
      name: checkName(input.name),
      host: checkText(input.host, "host", HOST_MAX),
      basePath: checkBasePath(input.basePath),
    };
    return this.write("VFS storage", values.name, async (em) => {
      const repo = em.getRepository(VFSStorageEntity);
      if (await repo.existsBy({ name: values.name })) throw nameTaken("VFS storage", values.name);
      return repo.save(repo.create(values));
    });
  }

  async updateVFSStorage(input: UpdateVFSStorageInput): Promise<VFSStorageEntity> {
    const id = parseId("VFSStorage", input.id, "id");
    const changes = {
      name: given(input.name) ? checkName(input.name) : undefined,
      host: given(input.host) ? checkText(input.host, "host", HOST_MAX) : undefined,
      basePath: given(input.basePath) ? checkBasePath(input.basePath) : undefined,
    };
    const updated = await this.write("VFS storage", changes.name, async (em) => {
      const repo = em.getRepository(VFSStorageEntity);
      const current = await repo.findOne({ where: { id }, lock: { mode: "pessimistic_write" } });
      if (!current) throw ERRORS.notFound("VFSStorage", input.id);
      if (changes.name && changes.name !== current.name && (await repo.existsBy({ name: changes.name }))) {
        throw nameTaken("VFS storage", changes.name);
      }
      return repo.save(Object.assign(current, defined(changes)));
    });
    this.storage.evictStorage(id);
    return updated;
  }

  async deleteVFSStorage(rawId: string): Promise<string> {
    const id = parseId("VFSStorage", rawId, "id");
    await this.deleteStorage(VFSStorageEntity, "VFSStorage", "vfs_storage_id", id, rawId);
    return id;
  }

  /**
   * Creates the bucket (object storage) or directory (VFS storage) if missing, then the row, in
   * one transaction: when the storage cannot be reached nothing is written.
   */
  async registerNamespace(input: RegisterStorageNamespaceInput): Promise<string> {
    const storageId = parseId(STORAGE_ID_TYPES, input.storageId, "storageId");
    checkText(input.namespace, "namespace", 256);
    try {
      return await this.ds.transaction(async (em) => {
        // FOR SHARE: the storage can be neither deleted nor re-pointed while we work on it.
        const object = await em.getRepository(ObjectStorageEntity).findOne({ where: { id: storageId }, lock: { mode: "pessimistic_read" } });
        const vfs = object ? null : await em.getRepository(VFSStorageEntity).findOne({ where: { id: storageId }, lock: { mode: "pessimistic_read" } });
        if (!object && !vfs) throw ERRORS.notFound("Storage", input.storageId);
        const namespace = object ? checkBucketName(input.namespace) : checkDirectoryName(input.namespace);
        const repo = em.getRepository(StorageNamespaceEntity);
        const exists = await repo.existsBy(object ? { objectStorageId: storageId, namespace } : { vfsStorageId: storageId, namespace });
        if (exists) throw namespaceTaken(namespace);
        if (object) await this.ensureBucket(object, namespace);
        else await this.ensureDirectory(vfs!, namespace);
        const row = await repo.save(repo.create({ objectStorageId: object ? storageId : null, vfsStorageId: vfs ? storageId : null, namespace }));
        return row.id;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw namespaceTaken(input.namespace);
      throw error;
    }
  }

  /** Removes the row only: the bucket or directory and its objects stay where they are. */
  async unregisterNamespace(input: UnregisterStorageNamespaceInput): Promise<string> {
    const storageId = parseId(STORAGE_ID_TYPES, input.storageId, "storageId");
    let id: string;
    try {
      id = await this.ds.transaction(async (em) => {
        // FOR UPDATE also waits for (then blocks) revisions being linked to the namespace.
        const [row] = await em.query(
          `SELECT id FROM storage_namespaces WHERE (object_storage_id = $1 OR vfs_storage_id = $1) AND namespace = $2 FOR UPDATE`,
          [storageId, input.namespace],
        );
        if (!row) throw ERRORS.notFound("StorageNamespace", `${input.storageId}/${input.namespace}`);
        if (row.id === this.storage.defaultNamespaceId) {
          throw ERRORS.conflict("This is the server's default storage namespace; it cannot be unregistered");
        }
        const [{ n }] = await em.query(`SELECT count(*)::int AS n FROM artifact_revision_namespaces WHERE namespace_id = $1`, [row.id]);
        if (n > 0) throw namespaceInUse(n);
        await em.query(`DELETE FROM storage_namespaces WHERE id = $1`, [row.id]);
        return row.id as string;
      });
    } catch (error) {
      if (isForeignKeyViolation(error)) throw namespaceInUse(null);
      throw error;
    }
    this.storage.evictNamespace(id);
    return id;
  }

  private async ensureBucket(storage: ObjectStorageEntity, bucket: string): Promise<void> {
    const adapter = createS3Adapter({ ...storage, bucket });
    try {
      await withTimeout(adapter.ensureBucket(), this.s3TimeoutMs, `S3 endpoint ${storage.endpoint}`);
    } catch (error) {
      this.options.logger?.warn(`could not create bucket ${bucket} at ${storage.endpoint}`, error);
      throw ERRORS.upstream(`Could not create or find bucket ${JSON.stringify(bucket)} at ${storage.endpoint}: ${describe(error)}`);
    }
  }

  private async ensureDirectory(storage: VFSStorageEntity, namespace: string): Promise<void> {
    const dir = path.join(storage.basePath, namespace);
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      this.options.logger?.warn(`could not create directory ${dir}`, error);
      throw ERRORS.upstream(`Could not create directory ${JSON.stringify(namespace)} under the storage's base path: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
    }
  }

  private list<T>(args: PagingArgs, table: string, map: (row: Record<string, unknown>) => T): Promise<ConnectionShape<T>> {
    return listTable({
      ds: this.ds, limits: this.options.limits, select: "s.*", from: `${table} s`, idExpr: "s.id",
      order: { expr: "s.name", cast: "text", direction: "ASC" },
    }, args, map);
  }

  private async write<T>(what: string, name: string | undefined, fn: (em: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.ds.transaction(fn);
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(what, name ?? "");
      throw error;
    }
  }

  private async deleteStorage<E extends ObjectLiteral>(
    entity: EntityTarget<E>, what: string, column: "object_storage_id" | "vfs_storage_id", id: string, rawId: string,
  ): Promise<void> {
    try {
      await this.ds.transaction(async (em) => {
        const table = em.getRepository(entity).metadata.tableName;
        const [row] = await em.query(`SELECT id FROM ${table} WHERE id = $1 FOR UPDATE`, [id]);
        if (!row) throw ERRORS.notFound(what, rawId);
        const [{ n }] = await em.query(`SELECT count(*)::int AS n FROM storage_namespaces WHERE ${column} = $1`, [id]);
        if (n > 0) throw storageInUse(what, n);
        await em.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
      });
    } catch (error) {
      if (isForeignKeyViolation(error)) throw storageInUse(what, null);
      throw error;
    }
    this.storage.evictStorage(id);
  }
}

function defined<T extends Record<string, unknown>>(changes: T): Partial<T> {
  return Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function describe(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  return typeof e?.code === "string" ? e.code : typeof e?.message === "string" ? e.message.slice(0, 200) : "unreachable";
}

const nameTaken = (what: string, name: string) =>
  ERRORS.conflict(`The name ${JSON.stringify(name)} is already taken by another ${what}`, { field: "name" });
const namespaceTaken = (namespace: string) =>
  ERRORS.conflict(`The storage already has a namespace ${JSON.stringify(namespace)}`, { field: "namespace" });
const namespaceInUse = (n: number | null) =>
  ERRORS.conflict(`The namespace holds files of ${n ?? "some"} artifact revision(s); clean them up before unregistering it`);
const storageInUse = (what: string, n: number | null) =>
  ERRORS.conflict(`The ${what} still has ${n ?? "some"} namespace(s); unregister them before deleting it`);
