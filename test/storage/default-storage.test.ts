import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DataSource } from "typeorm";
import { openSecret, S3_SECRET_PURPOSE, sealSecret } from "../../src/common/secrets";
import { ensureDefaultStorage } from "../../src/storage/bootstrap";
import { createS3Adapter } from "../../src/storage/storage-manager";
import { createMigratedDataSource } from "../support/database";
import { startS3rver, type S3rverHandle } from "../support/s3rver";

let ds: DataSource;
let close: () => Promise<void>;
let dataDir: string;
beforeEach(async () => {
  ({ ds, close } = await createMigratedDataSource());
  dataDir = await mkdtemp(path.join(tmpdir(), "ar-default-storage-"));
});
afterEach(async () => {
  await close();
  await rm(dataDir, { recursive: true, force: true });
});

const namespaces = () => ds.query(`SELECT id, object_storage_id, vfs_storage_id, namespace FROM storage_namespaces ORDER BY created_at`);

describe("the default storage without S3", () => {
  it("is a VFS storage named default-fs at DATA_DIR/objects with a namespace 'default' whose directory exists", async () => {
    const id = await ensureDefaultStorage(ds, { dataDir });
    const [vfs] = await ds.query(`SELECT id, name, base_path FROM vfs_storages`);
    expect(vfs).toMatchObject({ name: "default-fs", base_path: path.join(dataDir, "objects") });
    expect(await namespaces()).toEqual([{ id, object_storage_id: null, vfs_storage_id: vfs.id, namespace: "default" }]);
    expect((await stat(path.join(dataDir, "objects", "default"))).isDirectory()).toBe(true);
  });

  it("is the same namespace on every start", async () => {
    const first = await ensureDefaultStorage(ds, { dataDir });
    const again = await Promise.all([ensureDefaultStorage(ds, { dataDir }), ensureDefaultStorage(ds, { dataDir })]);
    expect(again).toEqual([first, first]);
    expect(await namespaces()).toHaveLength(1);
    expect(await ds.query(`SELECT name FROM vfs_storages`)).toEqual([{ name: "default-fs" }]);
  });

  it("follows DATA_DIR when it moves", async () => {
    const first = await ensureDefaultStorage(ds, { dataDir });
    const moved = path.join(dataDir, "moved");
    expect(await ensureDefaultStorage(ds, { dataDir: moved })).toBe(first);
    expect(await ds.query(`SELECT base_path FROM vfs_storages`)).toEqual([{ base_path: path.join(moved, "objects") }]);
    expect((await stat(path.join(moved, "objects", "default"))).isDirectory()).toBe(true);
  });
});

describe("the default storage with S3", () => {
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(() => s3?.stop());

  const s3Config = (overrides: Partial<{ bucket: string; accessKey: string; secretKey: string; region: string; endpoint: string }> = {}) => ({
    endpoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region, bucket: "artifacts", ...overrides,
  });

  it("is an object storage named default-s3 with a namespace for the bucket, which is created", async () => {
    const id = await ensureDefaultStorage(ds, { dataDir, s3: s3Config({ bucket: "fresh-bucket" }) });
    const [storage] = await ds.query(`SELECT id, name, endpoint, access_key, secret_key, region, host FROM object_storages`);
    expect({ ...storage, secret_key: openSecret(storage.secret_key, S3_SECRET_PURPOSE) }).toMatchObject({
      name: "default-s3", endpoint: s3.endpoint, access_key: s3.accessKey, secret_key: s3.secretKey, region: s3.region, host: new URL(s3.endpoint).host,
    });
    expect(await namespaces()).toEqual([{ id, object_storage_id: storage.id, vfs_storage_id: null, namespace: "fresh-bucket" }]);
    await expect(createS3Adapter({ ...s3, bucket: "fresh-bucket" }).ping()).resolves.toBeUndefined();
    expect(await ds.query(`SELECT id FROM vfs_storages`)).toEqual([]);
  });

  it("is idempotent, and takes new keys and region from the configuration", async () => {
    const first = await ensureDefaultStorage(ds, { dataDir, s3: s3Config() });
    expect(await ensureDefaultStorage(ds, { dataDir, s3: s3Config() })).toBe(first);
    // s3rver accepts only its own keys, so the row is made stale instead of the configuration changed.
    await ds.query(`UPDATE object_storages SET access_key = 'stale', secret_key = $1, region = 'eu-west-1'`, [sealSecret("stale", S3_SECRET_PURPOSE)]);
    expect(await ensureDefaultStorage(ds, { dataDir, s3: s3Config() })).toBe(first);
    const rows = await ds.query(`SELECT access_key, secret_key, region FROM object_storages`);
    expect(rows.map((r: { secret_key: string }) => ({ ...r, secret_key: openSecret(r.secret_key, S3_SECRET_PURPOSE) }))).toEqual([
      { access_key: s3.accessKey, secret_key: s3.secretKey, region: s3.region },
    ]);
    expect(await namespaces()).toHaveLength(1);
  });

  it("adds a namespace when the configured bucket changes", async () => {
    const first = await ensureDefaultStorage(ds, { dataDir, s3: s3Config({ bucket: "bucket-one" }) });
    const second = await ensureDefaultStorage(ds, { dataDir, s3: s3Config({ bucket: "bucket-two" }) });
    expect(second).not.toBe(first);
    expect((await namespaces()).map((n: { namespace: string }) => n.namespace)).toEqual(["bucket-one", "bucket-two"]);
  });

  it("fails the start, writing nothing, when the endpoint cannot be reached", async () => {
    await expect(ensureDefaultStorage(ds, { dataDir, s3: s3Config({ endpoint: "http://127.0.0.1:9" }) })).rejects.toThrow(/Cannot reach the default S3 storage/);
    expect(await ds.query(`SELECT id FROM object_storages`)).toEqual([]);
  });
});
