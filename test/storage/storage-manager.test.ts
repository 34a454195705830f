import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import type { DataSource } from "typeorm";
import { FilesystemStorageAdapter } from "../../src/storage/fs.adapter";
import { LinkSigner } from "../../src/storage/link-signer";
import { S3StorageAdapter } from "../../src/storage/s3.adapter";
import { StorageManager } from "../../src/storage/storage-manager";
import { StorageService } from "../../src/storage/storage.service";
import { ensureDefaultStorage } from "../../src/storage/bootstrap";
import { createMigratedDataSource } from "../support/database";
import { startS3rver, type S3rverHandle } from "../support/s3rver";

let ds: DataSource;
let close: () => Promise<void>;
let dataDir: string;
let s3: S3rverHandle;
let manager: StorageManager;
let service: StorageService;

beforeAll(async () => {
  [{ ds, close }, s3] = await Promise.all([createMigratedDataSource(), startS3rver()]);
  dataDir = await mkdtemp(path.join(tmpdir(), "ar-storage-manager-"));
  const defaultNamespaceId = await ensureDefaultStorage(ds, { dataDir });
  manager = new StorageManager(ds, { signer: new LinkSigner("a-link-signing-secret-for-tests"), publicUrl: "http://files.example.com", defaultNamespaceId });
  service = new StorageService(ds, manager, { limits: { defaultPageSize: 100, maxPageSize: 500 } });
});
afterAll(async () => {
  await close?.();
  await s3?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

let seq = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;

async function vfsNamespace(namespace = "models") {
  const basePath = path.join(dataDir, unique("vfs"));
  const storage = await service.createVFSStorage({ name: unique("vfs"), host: "local", basePath });
  const id = await service.registerNamespace({ storageId: storage.id, namespace });
  return { storage, id, dir: path.join(basePath, namespace) };
}

describe("StorageManager", () => {
  it("serves a VFS namespace from the namespace's directory", async () => {
    const { id, dir } = await vfsNamespace();
    const adapter = await manager.adapterFor(id);
    expect(adapter).toBeInstanceOf(FilesystemStorageAdapter);
    await adapter.put("org/model/config.json", Readable.from([Buffer.from("{}")]));
    expect(await readFile(path.join(dir, "org/model/config.json"), "utf8")).toBe("{}");
    expect(await manager.adapterFor(id)).toBe(adapter);
    // The fs link router resolves stores synchronously by namespace id.
    expect(manager.filesystemAdapter(id)).toBe(adapter);
    expect(await adapter.presignGet("org/model/config.json", { expiresInSeconds: 60 })).toMatch(/^http:\/\/files\.example\.com\/storage\/fs\//);
  });

  it("serves an object-storage namespace from the bucket of that name", async () => {
    const storage = await service.createObjectStorage({ name: unique("s3"), host: "s3rver", accessKey: s3.accessKey, secretKey: s3.secretKey, endpoint: s3.endpoint, region: s3.region });
    const id = await service.registerNamespace({ storageId: storage.id, namespace: "manager-bucket" });
    const adapter = await manager.adapterFor(id);
    expect(adapter).toBeInstanceOf(S3StorageAdapter);
    expect((adapter as S3StorageAdapter).bucket).toBe("manager-bucket");
    await adapter.put("a.txt", Readable.from([Buffer.from("hello")]));
    expect((await adapter.stat("a.txt"))?.size).toBe(5);
    expect(manager.filesystemAdapter(id)).toBeUndefined();
  });

  it("answers NOT_FOUND for an unknown namespace", async () => {
    await expect(manager.adapterFor(randomUUID())).rejects.toMatchObject({ extensions: { code: "NOT_FOUND" } });
  });

  it("gives a storage's namespaces fresh adapters after the storage changed", async () => {
    const { storage, id } = await vfsNamespace();
    const before = await manager.adapterFor(id);
    const moved = path.join(dataDir, unique("moved"));
    await service.updateVFSStorage({ id: storage.id, basePath: moved });
    const after = await manager.adapterFor(id);
    expect(after).not.toBe(before);
    expect((after as FilesystemStorageAdapter).basePath).toBe(path.join(moved, "models"));
  });

  it("forgets an unregistered namespace", async () => {
    const { storage, id } = await vfsNamespace("temporary");
    await manager.adapterFor(id);
    await service.unregisterNamespace({ storageId: storage.id, namespace: "temporary" });
    expect(manager.filesystemAdapter(id)).toBeUndefined();
    await expect(manager.adapterFor(id)).rejects.toMatchObject({ extensions: { code: "NOT_FOUND" } });
  });

  it("preloads every namespace so that links signed before a restart still resolve", async () => {
    const { id } = await vfsNamespace();
    const restarted = new StorageManager(ds, { signer: new LinkSigner("a-link-signing-secret-for-tests"), publicUrl: "http://x", defaultNamespaceId: manager.defaultNamespaceId });
    expect(restarted.filesystemAdapter(id)).toBeUndefined();
    await restarted.preload();
    expect(restarted.filesystemAdapter(id)).toBeInstanceOf(FilesystemStorageAdapter);
    expect(restarted.filesystemAdapter(manager.defaultNamespaceId)).toBeInstanceOf(FilesystemStorageAdapter);
  });

  it("pings the default namespace for readiness", async () => {
    await expect(manager.ping()).resolves.toBeUndefined();
    const broken = new StorageManager(ds, { signer: new LinkSigner("a-link-signing-secret-for-tests"), publicUrl: "http://x", defaultNamespaceId: randomUUID() });
    // Its default namespace has no row: not found, rather than any error that happens to be thrown.
    await expect(broken.ping()).rejects.toMatchObject({ extensions: { code: "NOT_FOUND" } });
  });
});
