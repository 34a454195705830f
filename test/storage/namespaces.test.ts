import { randomUUID } from "node:crypto";
import { stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { decodeGlobalId, toGlobalId } from "../../src/common/relay";
import { createS3Adapter } from "../../src/storage/storage-manager";
import { startS3rver, type S3rverHandle } from "../support/s3rver";
import { startTestKit, type TestKit } from "../support/testkit";

let kit: TestKit;
let s3: S3rverHandle;
beforeAll(async () => {
  [kit, s3] = await Promise.all([startTestKit(), startS3rver()]);
});
afterAll(async () => {
  await kit?.close();
  await s3?.stop();
});

let seq = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;
const uuidOf = (globalId: string) => decodeGlobalId(globalId)!.id;

const REGISTER = `mutation($s: UUID!, $n: String!) { registerStorageNamespace(input: { storageId: $s, namespace: $n }) { id } }`;
const UNREGISTER = `mutation($s: UUID!, $n: String!) { unregisterStorageNamespace(input: { storageId: $s, namespace: $n }) { id } }`;

async function createVfs() {
  const basePath = path.join(kit.dataDir, unique("vfs"));
  const data = await kit.as("superadmin").ok(`mutation($i: CreateVFSStorageInput!) { createVFSStorage(input: $i) { vfsStorage { id } } }`,
    { i: { name: unique("vfs"), host: "local", basePath } });
  return { id: uuidOf(data.createVFSStorage.vfsStorage.id), basePath };
}

async function createObjectStorage(endpoint = s3.endpoint) {
  const data = await kit.as("superadmin").ok(`mutation($i: CreateObjectStorageInput!) { createObjectStorage(input: $i) { objectStorage { id } } }`, {
    i: { name: unique("s3"), host: "s3rver", accessKey: s3.accessKey, secretKey: s3.secretKey, endpoint, region: s3.region },
  });
  return uuidOf(data.createObjectStorage.objectStorage.id);
}

const namespaceRows = (storageId: string) =>
  kit.ds.query(`SELECT id, namespace FROM storage_namespaces WHERE object_storage_id = $1 OR vfs_storage_id = $1 ORDER BY namespace`, [storageId]);

async function linkRevision(namespaceId: string) {
  const [registry] = await kit.ds.query(`SELECT id FROM artifact_registries LIMIT 1`);
  const [artifact] = await kit.ds.query(`INSERT INTO artifacts (name, type, registry_id) VALUES ($1, 'MODEL', $2) RETURNING id`, [unique("org/m"), registry.id]);
  const [revision] = await kit.ds.query(`INSERT INTO artifact_revisions (artifact_id, version) VALUES ($1, 'main') RETURNING id`, [artifact.id]);
  await kit.ds.query(`INSERT INTO artifact_revision_namespaces (revision_id, namespace_id) VALUES ($1, $2)`, [revision.id, namespaceId]);
}

describe("registering a namespace of a VFS storage", () => {
  it("creates the directory under the base path and the row", async () => {
    const vfs = await createVfs();
    const { registerStorageNamespace } = await kit.as("superadmin").ok(REGISTER, { s: vfs.id, n: "models" });
    expect((await stat(path.join(vfs.basePath, "models"))).isDirectory()).toBe(true);
    expect(await namespaceRows(vfs.id)).toEqual([{ id: registerStorageNamespace.id, namespace: "models" }]);
  });

  it.each([["'..'", ".."], ["'.'", "."], ["a path", "a/b"], ["NUL", "a\u0000b"], ["an empty name", ""], ["a backslash", "a\\b"]])(
    "refuses %s with BAD_USER_INPUT and creates nothing",
    async (_what, namespace) => {
      const vfs = await createVfs();
      await kit.as("superadmin").refuses(REGISTER, { s: vfs.id, n: namespace }, "BAD_USER_INPUT");
      expect(await namespaceRows(vfs.id)).toEqual([]);
      await expect(stat(vfs.basePath)).rejects.toMatchObject({ code: "ENOENT" });
    },
  );

  it("refuses a duplicate with CONFLICT", async () => {
    const vfs = await createVfs();
    await kit.as("superadmin").ok(REGISTER, { s: vfs.id, n: "models" });
    await kit.as("superadmin").refuses(REGISTER, { s: vfs.id, n: "models" }, "CONFLICT");
    expect(await namespaceRows(vfs.id)).toHaveLength(1);
  });

  it("answers NOT_FOUND for an unknown storage", async () => {
    await kit.as("superadmin").refuses(REGISTER, { s: randomUUID(), n: "models" }, "NOT_FOUND");
  });
});

describe("registering a namespace of an object storage", () => {
  it("creates the bucket when it is missing, and accepts one that exists", async () => {
    const storageId = await createObjectStorage();
    const bucket = unique("models").toLowerCase();
    const { registerStorageNamespace } = await kit.as("superadmin").ok(REGISTER, { s: storageId, n: bucket });
    const adapter = createS3Adapter({ ...s3, bucket });
    await expect(adapter.ping()).resolves.toBeUndefined();

    const existing = unique("existing").toLowerCase();
    await createS3Adapter({ ...s3, bucket: existing }).ensureBucket();
    await kit.as("superadmin").ok(REGISTER, { s: storageId, n: existing });
    expect((await namespaceRows(storageId)).map((r: { id: string }) => r.id)).toContain(registerStorageNamespace.id);
  });

  it("lists its namespaces on ObjectStorage.namespaces, paged, with storageId the storage's UUID", async () => {
    const storageId = await createObjectStorage();
    for (const bucket of ["bucket-c", "bucket-a", "bucket-b"]) await kit.as("superadmin").ok(REGISTER, { s: storageId, n: `${bucket}-${storageId.slice(0, 8)}` });
    const other = await createObjectStorage();
    await kit.as("superadmin").ok(REGISTER, { s: other, n: `other-${other.slice(0, 8)}` });

    const query = `query($id: ID!, $first: Int, $after: String) {
      objectStorage(id: $id) { namespaces(first: $first, after: $after) { count pageInfo { hasNextPage endCursor } edges { node { id storageId namespace } } } }
    }`;
    const first = (await kit.as("user").ok(query, { id: toGlobalId("ObjectStorage", storageId), first: 2 })).objectStorage.namespaces;
    expect(first.count).toBe(3);
    expect(first.edges.map((e: any) => e.node.namespace)).toEqual([`bucket-a-${storageId.slice(0, 8)}`, `bucket-b-${storageId.slice(0, 8)}`]);
    expect(first.edges[0].node.storageId).toBe(storageId);
    expect(decodeGlobalId(first.edges[0].node.id)?.type).toBe("StorageNamespace");
    const rest = (await kit.as("user").ok(query, { id: storageId, first: 2, after: first.pageInfo.endCursor })).objectStorage.namespaces;
    expect(rest.edges.map((e: any) => e.node.namespace)).toEqual([`bucket-c-${storageId.slice(0, 8)}`]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });

  it("loads the namespaces of a whole page of storages in a constant number of statements", async () => {
    for (let i = 0; i < 3; i++) await createObjectStorage();
    const query = `{ objectStorages(limit: 500) { edges { node { id namespaces(first: 5) { count edges { node { namespace } } } } } } }`;
    const all = await kit.countQueries(() => kit.as("user").ok(query));
    const few = await kit.countQueries(() => kit.as("user").ok(query.replace("limit: 500", "limit: 1")));
    expect(all.count).toBe(few.count);
  });

  it.each([["upper case", "Models"], ["too short", "ab"], ["an IP address", "192.168.1.1"], ["'..'", "a..b"], ["an underscore", "my_bucket"]])(
    "refuses a bucket name with %s as BAD_USER_INPUT",
    async (_what, bucket) => {
      const storageId = await createObjectStorage();
      await kit.as("superadmin").refuses(REGISTER, { s: storageId, n: bucket }, "BAD_USER_INPUT", { folders: [s3.directory] });
      expect(await namespaceRows(storageId)).toEqual([]);
    },
  );

  it("answers UPSTREAM_ERROR when the endpoint cannot be reached, and writes nothing", async () => {
    const storageId = await createObjectStorage("http://127.0.0.1:9");
    await kit.as("superadmin").refuses(REGISTER, { s: storageId, n: "unreachable-bucket" }, "UPSTREAM_ERROR", { folders: [s3.directory] });
    expect(await namespaceRows(storageId)).toEqual([]);
  });
});

describe("Query.node", () => {
  it("resolves storages and namespaces by global ID", async () => {
    const vfs = await createVfs();
    const { registerStorageNamespace } = await kit.as("superadmin").ok(REGISTER, { s: vfs.id, n: "models" });
    const objectStorageId = await createObjectStorage();
    const query = `query($id: ID!) { node(id: $id) { __typename id
      ... on VFSStorage { basePath } ... on ObjectStorage { secretKey } ... on StorageNamespace { storageId namespace } } }`;
    const node = async (id: string) => (await kit.as("admin").ok(query, { id })).node;
    expect(await node(toGlobalId("VFSStorage", vfs.id))).toMatchObject({ __typename: "VFSStorage", basePath: vfs.basePath });
    expect(await node(toGlobalId("ObjectStorage", objectStorageId))).toMatchObject({ __typename: "ObjectStorage", secretKey: "****" });
    expect(await node(toGlobalId("StorageNamespace", registerStorageNamespace.id)))
      .toEqual({ __typename: "StorageNamespace", id: toGlobalId("StorageNamespace", registerStorageNamespace.id), storageId: vfs.id, namespace: "models" });
  });
});

describe("unregistering a namespace", () => {
  it("removes the row and returns its id, leaving the directory and its files alone", async () => {
    const vfs = await createVfs();
    const { registerStorageNamespace } = await kit.as("superadmin").ok(REGISTER, { s: vfs.id, n: "scratch" });
    const { unregisterStorageNamespace } = await kit.as("superadmin").ok(UNREGISTER, { s: vfs.id, n: "scratch" });
    expect(unregisterStorageNamespace.id).toBe(registerStorageNamespace.id);
    expect(await namespaceRows(vfs.id)).toEqual([]);
    expect((await stat(path.join(vfs.basePath, "scratch"))).isDirectory()).toBe(true);
  });

  it("is refused with CONFLICT while a revision's files live there, and changes nothing", async () => {
    const vfs = await createVfs();
    const { registerStorageNamespace } = await kit.as("superadmin").ok(REGISTER, { s: vfs.id, n: "in-use" });
    await linkRevision(registerStorageNamespace.id);
    await writeFile(path.join(vfs.basePath, "in-use", "weights.bin"), "still here");
    await kit.as("superadmin").refuses(UNREGISTER, { s: vfs.id, n: "in-use" }, "CONFLICT");
    expect(await namespaceRows(vfs.id)).toEqual([{ id: registerStorageNamespace.id, namespace: "in-use" }]);
  });

  it("is refused with CONFLICT for the server's default namespace", async () => {
    const [row] = await kit.ds.query(
      `SELECT n.vfs_storage_id AS storage_id, n.namespace FROM storage_namespaces n JOIN vfs_storages v ON v.id = n.vfs_storage_id WHERE v.name = 'default-fs'`);
    await kit.as("superadmin").refuses(UNREGISTER, { s: row.storage_id, n: row.namespace }, "CONFLICT");
  });

  it("answers NOT_FOUND for a namespace that is not registered", async () => {
    const vfs = await createVfs();
    await kit.as("superadmin").refuses(UNREGISTER, { s: vfs.id, n: "never-registered" }, "NOT_FOUND");
    await kit.as("superadmin").refuses(UNREGISTER, { s: randomUUID(), n: "x" }, "NOT_FOUND");
  });

  it("is a superadmin's job only", async () => {
    const vfs = await createVfs();
    await kit.as("admin").refuses(REGISTER, { s: vfs.id, n: "models" }, "FORBIDDEN");
    await kit.as("user").refuses(UNREGISTER, { s: vfs.id, n: "models" }, "FORBIDDEN");
  });
});
