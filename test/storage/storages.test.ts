import { openSecret } from "../../src/common/secrets";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { decodeGlobalId, toGlobalId } from "../../src/common/relay";
import { startTestKit, type TestKit } from "../support/testkit";

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit();
});
afterAll(() => kit?.close());

let seq = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;
const uuidOf = (globalId: string) => decodeGlobalId(globalId)!.id;

const OS_FIELDS = `id name host accessKey secretKey endpoint region`;
const VFS_FIELDS = `id name host basePath`;
const CREATE_OS = `mutation($i: CreateObjectStorageInput!) { createObjectStorage(input: $i) { objectStorage { ${OS_FIELDS} } } }`;
const UPDATE_OS = `mutation($i: UpdateObjectStorageInput!) { updateObjectStorage(input: $i) { objectStorage { ${OS_FIELDS} } } }`;
const DELETE_OS = `mutation($i: DeleteObjectStorageInput!) { deleteObjectStorage(input: $i) { id } }`;
const GET_OS = `query($id: ID!) { objectStorage(id: $id) { ${OS_FIELDS} } }`;
const CREATE_VFS = `mutation($i: CreateVFSStorageInput!) { createVFSStorage(input: $i) { vfsStorage { ${VFS_FIELDS} } } }`;
const UPDATE_VFS = `mutation($i: UpdateVFSStorageInput!) { updateVFSStorage(input: $i) { vfsStorage { ${VFS_FIELDS} } } }`;
const DELETE_VFS = `mutation($i: DeleteVFSStorageInput!) { deleteVFSStorage(input: $i) { id } }`;
const GET_VFS = `query($id: ID!) { vfsStorage(id: $id) { ${VFS_FIELDS} } }`;
const REGISTER = `mutation($s: UUID!, $n: String!) { registerStorageNamespace(input: { storageId: $s, namespace: $n }) { id } }`;

const osInput = (overrides: Record<string, unknown> = {}) => ({
  name: unique("s3"), host: "minio", accessKey: "minio-access", secretKey: "minio-secret-key-0123", endpoint: "http://127.0.0.1:9", region: "us-east-1", ...overrides,
});

async function createOs(overrides: Record<string, unknown> = {}) {
  return (await kit.as("superadmin").ok(CREATE_OS, { i: osInput(overrides) })).createObjectStorage.objectStorage;
}

async function createVfs(overrides: Record<string, unknown> = {}) {
  const input = { name: unique("vfs"), host: "local", basePath: path.join(kit.dataDir, unique("vfs")), ...overrides };
  return (await kit.as("superadmin").ok(CREATE_VFS, { i: input })).createVFSStorage.vfsStorage;
}

describe("object storages", () => {
  it("are created, read, listed, updated and deleted, and their secret key is never shown", async () => {
    const created = await createOs();
    expect(created).toMatchObject({ host: "minio", accessKey: "minio-access", secretKey: "****0123", endpoint: "http://127.0.0.1:9", region: "us-east-1" });
    expect(JSON.stringify(created)).not.toContain("minio-secret");
    expect((await kit.as("admin").ok(GET_OS, { id: uuidOf(created.id) })).objectStorage).toEqual(created);

    const listed = await kit.as("admin").ok(`{ objectStorages(limit: 500) { count edges { node { ${OS_FIELDS} } } } }`);
    expect(listed.objectStorages.edges.map((e: any) => e.node)).toContainEqual(created);
    expect(listed.objectStorages.count).toBe(listed.objectStorages.edges.length);

    const updated = (await kit.as("superadmin").ok(UPDATE_OS, { i: { id: created.id, region: "eu-west-1", host: "minio-2" } })).updateObjectStorage.objectStorage;
    expect(updated).toEqual({ ...created, region: "eu-west-1", host: "minio-2" });
    const [row] = await kit.ds.query(`SELECT secret_key FROM object_storages WHERE id = $1`, [uuidOf(created.id)]);
    expect(openSecret(row.secret_key, "object_storages.secret_key")).toBe("minio-secret-key-0123");

    const rotated = (await kit.as("superadmin").ok(UPDATE_OS, { i: { id: created.id, secretKey: "rotated-secret-key-WXYZ" } })).updateObjectStorage.objectStorage;
    expect(rotated.secretKey).toBe("****WXYZ");

    expect((await kit.as("superadmin").ok(DELETE_OS, { i: { id: created.id } })).deleteObjectStorage.id).toBe(uuidOf(created.id));
    expect((await kit.as("admin").ok(GET_OS, { id: created.id })).objectStorage).toBeNull();
  });

  const bad: Array<[string, Record<string, unknown>]> = [
    ["an empty name", { name: "" }],
    ["a name with a slash", { name: "a/b" }],
    ["an empty host", { host: "" }],
    ["an empty access key", { accessKey: "" }],
    ["an empty secret key", { secretKey: "" }],
    ["an empty region", { region: "" }],
    ["an endpoint that is not a URL", { endpoint: "minio:9000" }],
    ["an endpoint with credentials", { endpoint: "http://a:b@minio:9000" }],
    ["an endpoint with a path", { endpoint: "http://minio:9000/bucket" }],
  ];
  it.each(bad)("refuse %s with BAD_USER_INPUT", async (_what, overrides) => {
    await kit.as("superadmin").refuses(CREATE_OS, { i: osInput(overrides) }, "BAD_USER_INPUT");
  });

  it("refuse a duplicate name with CONFLICT", async () => {
    const created = await createOs();
    await kit.as("superadmin").refuses(CREATE_OS, { i: osInput({ name: created.name }) }, "CONFLICT");
    const other = await createOs();
    await kit.as("superadmin").refuses(UPDATE_OS, { i: { id: other.id, name: created.name } }, "CONFLICT");
  });

  it("answer NOT_FOUND for unknown ids and BAD_USER_INPUT for a global ID of another type", async () => {
    const vfs = await createVfs();
    await kit.as("superadmin").refuses(UPDATE_OS, { i: { id: randomUUID(), region: "x" } }, "NOT_FOUND");
    await kit.as("superadmin").refuses(DELETE_OS, { i: { id: toGlobalId("ObjectStorage", randomUUID()) } }, "NOT_FOUND");
    await kit.as("superadmin").refuses(DELETE_OS, { i: { id: vfs.id } }, "BAD_USER_INPUT");
    await kit.as("user").fails(GET_OS, { id: vfs.id }, "BAD_USER_INPUT");
    expect((await kit.as("admin").ok(GET_OS, { id: uuidOf(vfs.id) })).objectStorage).toBeNull();
  });

  it("are changed by a superadmin only, and a refusal changes nothing", async () => {
    await kit.as("admin").refuses(CREATE_OS, { i: osInput() }, "FORBIDDEN");
    const created = await createOs();
    await kit.as("user").refuses(DELETE_OS, { i: { id: created.id } }, "FORBIDDEN");
    await kit.as("admin").refuses(UPDATE_OS, { i: { id: created.id, region: "eu-west-1" } }, "FORBIDDEN");
    expect((await kit.as("admin").ok(GET_OS, { id: created.id })).objectStorage).toEqual(created);
  });
});

describe("VFS storages", () => {
  it("are created, read, listed, updated and deleted", async () => {
    const basePath = path.join(kit.dataDir, unique("vfs"));
    const created = await createVfs({ basePath });
    expect(created).toMatchObject({ host: "local", basePath });
    expect((await kit.as("admin").ok(GET_VFS, { id: created.id })).vfsStorage).toEqual(created);
    const listed = await kit.as("admin").ok(`{ vfsStorages(first: 500) { count edges { node { ${VFS_FIELDS} } } } }`);
    expect(listed.vfsStorages.edges.map((e: any) => e.node)).toContainEqual(created);

    const moved = path.join(kit.dataDir, unique("moved"));
    const updated = (await kit.as("superadmin").ok(UPDATE_VFS, { i: { id: created.id, basePath: moved } })).updateVFSStorage.vfsStorage;
    expect(updated).toEqual({ ...created, basePath: moved });

    expect((await kit.as("superadmin").ok(DELETE_VFS, { i: { id: created.id } })).deleteVFSStorage.id).toBe(uuidOf(created.id));
    expect((await kit.as("admin").ok(GET_VFS, { id: created.id })).vfsStorage).toBeNull();
  });

  it.each([
    ["a relative base path", "data/objects"],
    ["a base path with '..'", "/srv/../etc"],
    ["a base path with NUL", "/srv/a\u0000b"],
    ["an empty base path", ""],
  ])("refuse %s with BAD_USER_INPUT", async (_what, basePath) => {
    await kit.as("superadmin").refuses(CREATE_VFS, { i: { name: unique("vfs"), host: "local", basePath } }, "BAD_USER_INPUT");
  });

  it("refuse a duplicate name with CONFLICT and unknown ids with NOT_FOUND", async () => {
    const created = await createVfs();
    await kit.as("superadmin").refuses(CREATE_VFS, { i: { name: created.name, host: "local", basePath: "/srv/x" } }, "CONFLICT");
    await kit.as("superadmin").refuses(UPDATE_VFS, { i: { id: randomUUID(), host: "x" } }, "NOT_FOUND");
    await kit.as("superadmin").refuses(DELETE_VFS, { i: { id: randomUUID() } }, "NOT_FOUND");
  });
});

describe("deleting a storage", () => {
  it("is refused with CONFLICT while it has namespaces, and changes nothing", async () => {
    const vfs = await createVfs();
    await kit.as("superadmin").ok(REGISTER, { s: uuidOf(vfs.id), n: "models" });
    await kit.as("superadmin").refuses(DELETE_VFS, { i: { id: vfs.id } }, "CONFLICT");
    expect((await kit.as("admin").ok(GET_VFS, { id: vfs.id })).vfsStorage).toEqual(vfs);
    expect(await kit.ds.query(`SELECT namespace FROM storage_namespaces WHERE vfs_storage_id = $1`, [uuidOf(vfs.id)])).toEqual([{ namespace: "models" }]);

    await kit.as("superadmin").ok(`mutation($s: UUID!) { unregisterStorageNamespace(input: { storageId: $s, namespace: "models" }) { id } }`, { s: uuidOf(vfs.id) });
    await kit.as("superadmin").ok(DELETE_VFS, { i: { id: vfs.id } });
  });

  it("of an object storage with namespaces is refused with CONFLICT too", async () => {
    const os = await createOs();
    // The endpoint is unreachable, so the namespace row is made directly.
    await kit.ds.query(`INSERT INTO storage_namespaces (object_storage_id, namespace) VALUES ($1, 'bucket-a')`, [uuidOf(os.id)]);
    await kit.as("superadmin").refuses(DELETE_OS, { i: { id: os.id } }, "CONFLICT");
    expect((await kit.as("admin").ok(GET_OS, { id: os.id })).objectStorage).toEqual(os);
  });
});
