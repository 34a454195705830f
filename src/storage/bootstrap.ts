import { openSecret, S3_SECRET_PURPOSE, sealSecret } from "../common/secrets";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { DataSource, EntityManager } from "typeorm";
import type { Config } from "../config/config";
import { createS3Adapter, withTimeout } from "./storage-manager";

export const DEFAULT_S3_STORAGE_NAME = "default-s3";
export const DEFAULT_FS_STORAGE_NAME = "default-fs";
export const DEFAULT_FS_NAMESPACE = "default";

/**
 * Runs at every start and returns the default storage namespace id. With S3 configured, the
 * object storage "default-s3" follows the configuration (endpoint, keys and region are
 * rewritten when they changed, so rotating keys is a restart) and holds a namespace for
 * S3_BUCKET, whose bucket is created if missing. Otherwise the VFS storage "default-fs" at
 * DATA_DIR/objects holds a namespace "default".
 */
export async function ensureDefaultStorage(
  ds: DataSource,
  config: Pick<Config, "s3" | "dataDir">,
  options: { s3TimeoutMs?: number } = {},
): Promise<string> {
  const s3 = config.s3;
  if (s3) {
    // Before the transaction: an unreachable endpoint fails the start without holding locks.
    await withTimeout(createS3Adapter(s3).ensureBucket(), options.s3TimeoutMs ?? 30_000, `S3 endpoint ${s3.endpoint}`).catch((error) => {
      throw new Error(`Cannot reach the default S3 storage at ${s3.endpoint} (bucket ${s3.bucket}): ${(error as Error).message}`);
    });
    return locked(ds, async (em) => {
      const values = { host: new URL(s3.endpoint).host, endpoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region };
      const [existing] = await em.query(`SELECT id, host, endpoint, access_key, secret_key, region FROM object_storages WHERE name = $1`, [DEFAULT_S3_STORAGE_NAME]);
      const sealed = sealSecret(values.secretKey, S3_SECRET_PURPOSE);
      let storageId: string;
      if (existing) {
        storageId = existing.id;
        // A sealed value differs on every seal: compare the secret in clear.
        const same = existing.host === values.host && existing.endpoint === values.endpoint && existing.access_key === values.accessKey
          && existing.region === values.region && openSecret(existing.secret_key, S3_SECRET_PURPOSE) === values.secretKey;
        if (!same) {
          await em.query(
            `UPDATE object_storages SET host = $2, endpoint = $3, access_key = $4, secret_key = $5, region = $6, updated_at = now() WHERE id = $1`,
            [storageId, values.host, values.endpoint, values.accessKey, sealed, values.region],
          );
        }
      } else {
        [{ id: storageId }] = await em.query(
          `INSERT INTO object_storages (name, host, endpoint, access_key, secret_key, region) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
          [DEFAULT_S3_STORAGE_NAME, values.host, values.endpoint, values.accessKey, sealed, values.region],
        );
      }
      return ensureNamespace(em, "object_storage_id", storageId, s3.bucket);
    });
  }

  const basePath = path.join(config.dataDir, "objects");
  return locked(ds, async (em) => {
    const [existing] = await em.query(`SELECT id FROM vfs_storages WHERE name = $1`, [DEFAULT_FS_STORAGE_NAME]);
    let storageId: string;
    if (existing) {
      storageId = existing.id;
      // DATA_DIR may have moved (a new volume); the default storage follows it.
      await em.query(`UPDATE vfs_storages SET base_path = $2, updated_at = now() WHERE id = $1 AND base_path <> $2`, [storageId, basePath]);
    } else {
      [{ id: storageId }] = await em.query(
        `INSERT INTO vfs_storages (name, host, base_path) VALUES ($1, 'local', $2) RETURNING id`,
        [DEFAULT_FS_STORAGE_NAME, basePath],
      );
    }
    await mkdir(path.join(basePath, DEFAULT_FS_NAMESPACE), { recursive: true });
    return ensureNamespace(em, "vfs_storage_id", storageId, DEFAULT_FS_NAMESPACE);
  });
}

async function ensureNamespace(em: EntityManager, column: "object_storage_id" | "vfs_storage_id", storageId: string, namespace: string): Promise<string> {
  const [found] = await em.query(`SELECT id FROM storage_namespaces WHERE ${column} = $1 AND namespace = $2`, [storageId, namespace]);
  if (found) return found.id;
  const [{ id }] = await em.query(`INSERT INTO storage_namespaces (${column}, namespace) VALUES ($1, $2) RETURNING id`, [storageId, namespace]);
  return id;
}

/** Two replicas starting together must not both insert the defaults. */
function locked<T>(ds: DataSource, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  return ds.transaction(async (em) => {
    await em.query(`SELECT pg_advisory_xact_lock(hashtext('artifact-registry:bootstrap:storage'))`);
    return fn(em);
  });
}
