import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { Seed, uniqueName, type SeededArtifact, type SeededRevision } from "../support/seed";
import { startTestKit, type TestKit } from "../support/testkit";
import { applyTransition } from "../../src/revision/lifecycle";
import { keysUnder, objectBytes } from "./support";

/*
 * The import lifecycle as clients drive it, on revisions put into each state directly: what
 * importArtifacts, cancel, cleanup, approve, reject and the presigned URLs accept and refuse.
 * The transfers themselves are covered by the pipeline's tests.
 */

let kit: TestKit;
let seed: Seed;
let registryId: string;

beforeAll(async () => {
  kit = await startTestKit({ IMPORT_WORKER: "false" });
  seed = new Seed(kit.ds);
  registryId = (await seed.registry({ name: uniqueName("svc-hub") })).id;
});
afterAll(() => kit?.close());

const IMPORT = `mutation($input: ImportArtifactsInput!) { importArtifacts(input: $input) { tasks { taskId artifactRevision { id version status } } artifactRevisions { count edges { node { id status } } } } }`;
const CANCEL = `mutation($id: ID!) { cancelImportArtifact(input: { artifactRevisionId: $id }) { artifactRevision { id status digest } } }`;
const CLEANUP = `mutation($ids: [ID!]!) { cleanupArtifactRevisions(input: { artifactRevisionIds: $ids }) { artifactRevisions { count edges { node { id status digest } } } } }`;
const APPROVE = `mutation($id: ID!) { approveArtifactRevision(input: { artifactRevisionId: $id }) { artifactRevision { id status } } }`;
const REJECT = `mutation($id: ID!) { rejectArtifactRevision(input: { artifactRevisionId: $id }) { artifactRevision { id status } } }`;
const DOWNLOAD = `mutation($id: ID!, $key: String!, $exp: Int) { getPresignedDownloadUrl(input: { artifactRevisionId: $id, key: $key, expiration: $exp }) { presignedUrl } }`;
const UPLOAD = `mutation($id: ID!, $key: String!) { getPresignedUploadUrl(input: { artifactRevisionId: $id, key: $key }) { presignedUrl fields } }`;

async function revisionIn(status: string, opts: { readonly?: boolean; digest?: string | null; latest?: string } = {}): Promise<{ artifact: SeededArtifact; revision: SeededRevision }> {
  const artifact = await seed.artifact(registryId, { name: uniqueName("org/model"), readonly: opts.readonly ?? true });
  const latest = opts.latest ?? "c".repeat(40);
  const revision = await seed.revision(artifact.id, { version: "main", status, latestUpstreamDigest: latest, digest: opts.digest === undefined ? (status === "AVAILABLE" ? latest : null) : opts.digest });
  return { artifact, revision };
}

/** An AVAILABLE revision whose one file really is in the default storage, as an import leaves it. */
async function availableWithFile(content = "hello weights") {
  const { artifact, revision } = await revisionIn("AVAILABLE");
  const key = `${artifact.name}/main/weights.bin`;
  const storage = kit.booted.storage;
  const adapter = await storage.adapterFor(storage.defaultNamespaceId);
  await adapter.put(key, Readable.from([Buffer.from(content)]));
  await seed.files(revision.id, [{ path: "weights.bin", size: content.length, sha256: createHash("sha256").update(content).digest("hex") }]);
  await kit.ds.query(`UPDATE artifact_revision_files SET storage_key = $2 WHERE revision_id = $1`, [revision.id, key]);
  await kit.ds.query(`INSERT INTO artifact_revision_namespaces (revision_id, namespace_id) VALUES ($1, $2)`, [revision.id, storage.defaultNamespaceId]);
  return { artifact, revision, key, adapter, content };
}

const statusOf = async (id: string) => (await kit.ds.query(`SELECT status FROM artifact_revisions WHERE id = $1`, [id]))[0].status;

describe("importArtifacts", () => {
  it("moves SCANNED and FAILED revisions to PULLING and returns a real, queryable task for each", async () => {
    const a = await revisionIn("SCANNED");
    const b = await revisionIn("FAILED");
    const data = await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [a.revision.globalId, b.revision.id] } });
    expect(data.importArtifacts.tasks.map((t: any) => t.artifactRevision.status)).toEqual(["PULLING", "PULLING"]);
    for (const task of data.importArtifacts.tasks) expect(task.taskId).toMatch(/^[0-9a-f-]{36}$/);
    const [job] = await kit.ds.query(`SELECT id FROM pgboss.job WHERE id = $1`, [data.importArtifacts.tasks[0].taskId]);
    expect(job).toBeDefined();
    const history = await kit.ds.query(`SELECT from_status, to_status, actor FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [a.revision.id]);
    expect(history).toEqual([{ from_status: "SCANNED", to_status: "PULLING", actor: "test-admin" }]);
  });

  it("returns the existing task for a revision that is already PULLING", async () => {
    const a = await revisionIn("SCANNED");
    const first = await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [a.revision.globalId] } });
    const second = await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [a.revision.globalId] } });
    expect(second.importArtifacts.tasks[0].taskId).toBe(first.importArtifacts.tasks[0].taskId);
  });

  it("does not download an AVAILABLE revision again when its upstream commit has not moved, unless forced", async () => {
    const a = await revisionIn("AVAILABLE");
    const plain = await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [a.revision.globalId] } });
    expect(plain.importArtifacts.tasks[0]).toMatchObject({ taskId: null, artifactRevision: { status: "AVAILABLE" } });
    const forced = await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [a.revision.globalId], options: { force: true } } });
    expect(forced.importArtifacts.tasks[0].artifactRevision.status).toBe("PULLING");
  });

  it("refuses the whole request with CONFLICT when one revision may not be imported, and changes nothing", async () => {
    const ok = await revisionIn("SCANNED");
    const waiting = await revisionIn("NEEDS_APPROVAL");
    const error = await kit.as("admin").fails(IMPORT, { input: { artifactRevisionIds: [ok.revision.globalId, waiting.revision.globalId] } }, "CONFLICT");
    expect(error.extensions?.currentStatus).toBe("NEEDS_APPROVAL");
    expect(await statusOf(ok.revision.id)).toBe("SCANNED");
  });

  it("starts nothing when a job cannot be written: the answer is an error and every revision is as it was", async () => {
    const a = await revisionIn("SCANNED");
    const b = await revisionIn("SCANNED");
    const queue = kit.booted.imports.queue;
    const enqueue = queue.enqueue.bind(queue);
    const spy = jest.spyOn(queue, "enqueue").mockImplementation(async (id, tx) => {
      if (id === b.revision.id) throw new Error("the queue's table is unavailable");
      return enqueue(id, tx);
    });
    try {
      const response = await kit.as("admin").execute(IMPORT, { input: { artifactRevisionIds: [a.revision.globalId, b.revision.globalId] } });
      expect(response.errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    } finally {
      spy.mockRestore();
    }
    expect([await statusOf(a.revision.id), await statusOf(b.revision.id)]).toEqual(["SCANNED", "SCANNED"]);
    expect(await kit.ds.query(`SELECT id FROM pgboss.job WHERE singleton_key = ANY($1)`, [[a.revision.id, b.revision.id]])).toEqual([]);
  });

  it("names every unknown revision in one NOT_FOUND", async () => {
    const ok = await revisionIn("SCANNED");
    const missing = "00000000-0000-4000-8000-00000000abcd";
    const error = await kit.as("admin").fails(IMPORT, { input: { artifactRevisionIds: [ok.revision.globalId, missing] } }, "NOT_FOUND");
    expect(error.message).toContain(Buffer.from(`ArtifactRevision:${missing}`).toString("base64"));
    expect(await statusOf(ok.revision.id)).toBe("SCANNED");
  });

  it("refuses an empty list and a global ID of another type", async () => {
    await kit.as("admin").fails(IMPORT, { input: { artifactRevisionIds: [] } }, "BAD_USER_INPUT");
    const { artifact } = await revisionIn("SCANNED");
    await kit.as("admin").fails(IMPORT, { input: { artifactRevisionIds: [artifact.globalId] } }, "BAD_USER_INPUT");
  });
});

describe("cancel, approve and reject", () => {
  it("cancels an import back to SCANNED, and is a CONFLICT from any state that is not importing", async () => {
    const a = await revisionIn("SCANNED");
    await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [a.revision.globalId] } });
    const data = await kit.as("admin").ok(CANCEL, { id: a.revision.globalId });
    expect(data.cancelImportArtifact.artifactRevision.status).toBe("SCANNED");
    await kit.as("admin").fails(CANCEL, { id: a.revision.globalId }, "CONFLICT");
    expect((await kit.ds.query(`SELECT import_task_id FROM artifact_revisions WHERE id = $1`, [a.revision.id]))[0].import_task_id).toBeNull();
  });

  it("cancels a forced re-import back to AVAILABLE with its old digest", async () => {
    const a = await revisionIn("AVAILABLE", { digest: "a".repeat(40), latest: "b".repeat(40) });
    // The upstream commit moved: re-importing an AVAILABLE revision still needs force.
    await kit.as("admin").fails(IMPORT, { input: { artifactRevisionIds: [a.revision.globalId] } }, "CONFLICT");
    await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [a.revision.globalId], options: { force: true } } });
    const data = await kit.as("admin").ok(CANCEL, { id: a.revision.globalId });
    expect(data.cancelImportArtifact.artifactRevision).toMatchObject({ status: "AVAILABLE", digest: "a".repeat(40) });
  });

  it("cancels a forced re-import still PULLING back to AVAILABLE with its old files untouched", async () => {
    const { revision, key, adapter, content } = await availableWithFile("old weights");
    await kit.ds.query(`UPDATE artifact_revisions SET latest_upstream_digest = $2 WHERE id = $1`, [revision.id, "d".repeat(40)]);
    await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [revision.globalId], options: { force: true } } });
    const data = await kit.as("admin").ok(CANCEL, { id: revision.globalId });
    expect(data.cancelImportArtifact.artifactRevision).toMatchObject({ status: "AVAILABLE", digest: "c".repeat(40) });
    expect((await objectBytes(adapter, key)).toString()).toBe(content);
  });

  it.each(["PULLED", "VERIFYING"] as const)("cancels a forced re-import once %s to SCANNED and removes its files, which are no longer the old ones", async (phase) => {
    const { artifact, revision, key, adapter } = await availableWithFile("old weights");
    await kit.ds.query(`UPDATE artifact_revisions SET latest_upstream_digest = $2 WHERE id = $1`, [revision.id, "d".repeat(40)]);
    await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [revision.globalId], options: { force: true } } });
    // What a worker does next: the new files replace the old ones in place, then the verifiers run.
    await applyTransition(kit.ds, revision.id, "pulled", { actor: "import-worker" }, kit.booted.events);
    await adapter.put(key, Readable.from([Buffer.from("new weights, not verified")]));
    if (phase === "VERIFYING") await applyTransition(kit.ds, revision.id, "verify", { actor: "import-worker" }, kit.booted.events);

    const data = await kit.as("admin").ok(CANCEL, { id: revision.globalId });
    expect(data.cancelImportArtifact.artifactRevision).toMatchObject({ status: "SCANNED", digest: null });
    expect(await keysUnder(adapter, `${artifact.name}/`)).toEqual([]);
    expect(await kit.ds.query(`SELECT storage_key FROM artifact_revision_files WHERE revision_id = $1`, [revision.id])).toEqual([{ storage_key: null }]);
    expect(await kit.ds.query(`SELECT 1 FROM artifact_revision_namespaces WHERE revision_id = $1`, [revision.id])).toEqual([]);
  });

  it("approves NEEDS_APPROVAL to AVAILABLE and rejects to REJECTED; anything else is a CONFLICT", async () => {
    const a = await revisionIn("NEEDS_APPROVAL");
    const b = await revisionIn("NEEDS_APPROVAL");
    expect((await kit.as("admin").ok(APPROVE, { id: a.revision.globalId })).approveArtifactRevision.artifactRevision.status).toBe("AVAILABLE");
    expect((await kit.as("admin").ok(REJECT, { id: b.revision.globalId })).rejectArtifactRevision.artifactRevision.status).toBe("REJECTED");
    await kit.as("admin").fails(APPROVE, { id: a.revision.globalId }, "CONFLICT");
    await kit.as("admin").fails(REJECT, { id: b.revision.globalId }, "CONFLICT");
  });
});

describe("a folder two registries' revisions share", () => {
  /** The same model name from another registry, as when a Reservoir peer mirrors a Hugging Face model. */
  async function sameNameElsewhere(name: string, status: string, commit: string) {
    const registry = await seed.registry({ name: uniqueName("svc-peer") });
    const artifact = await seed.artifact(registry.id, { name });
    return seed.revision(artifact.id, { version: "main", status, latestUpstreamDigest: commit, digest: status === "AVAILABLE" ? commit : null });
  }

  it("refuses an import that would put another commit where a revision of the same name keeps its files, and allows the same commit", async () => {
    const { artifact, revision: stored } = await availableWithFile();
    const other = await sameNameElsewhere(artifact.name, "SCANNED", "d".repeat(40));

    const refused = await kit.as("admin").fails(IMPORT, { input: { artifactRevisionIds: [other.globalId] } }, "CONFLICT");
    expect(refused.extensions?.conflictingArtifactRevisionId).toBe(stored.globalId);
    expect(await statusOf(other.id)).toBe("SCANNED");

    await kit.ds.query(`UPDATE artifact_revisions SET latest_upstream_digest = $2 WHERE id = $1`, [other.id, "c".repeat(40)]);
    const data = await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [other.globalId] } });
    expect(data.importArtifacts.tasks[0].artifactRevision.status).toBe("PULLING");
  });

  it("refuses a second import into the folder while one is running", async () => {
    const { artifact, revision: first } = await revisionIn("SCANNED");
    const second = await sameNameElsewhere(artifact.name, "SCANNED", "c".repeat(40));
    const refused = await kit.as("admin").fails(IMPORT, { input: { artifactRevisionIds: [first.globalId, second.globalId] } }, "CONFLICT");
    expect(refused.extensions?.conflictingArtifactRevisionId).toBe(first.globalId);
    // All or nothing: the first one did not start either.
    expect([await statusOf(first.id), await statusOf(second.id)]).toEqual(["SCANNED", "SCANNED"]);

    await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [first.globalId] } });
    await kit.as("admin").fails(IMPORT, { input: { artifactRevisionIds: [second.globalId] } }, "CONFLICT");
  });

  it("cleanup of one revision keeps the files the other still serves; cleanup of the last removes them", async () => {
    const { artifact, revision: first, key, adapter } = await availableWithFile("shared bytes");
    const second = await sameNameElsewhere(artifact.name, "AVAILABLE", "c".repeat(40));
    await seed.files(second.id, [{ path: "weights.bin", size: 12, sha256: createHash("sha256").update("shared bytes").digest("hex") }]);
    await kit.ds.query(`UPDATE artifact_revision_files SET storage_key = $2 WHERE revision_id = $1`, [second.id, key]);
    await kit.ds.query(`INSERT INTO artifact_revision_namespaces (revision_id, namespace_id) VALUES ($1, $2)`, [second.id, kit.booted.storage.defaultNamespaceId]);

    await kit.as("admin").ok(CLEANUP, { ids: [first.globalId] });
    expect((await objectBytes(adapter, key)).toString()).toBe("shared bytes");
    const url = await kit.as("user").ok(DOWNLOAD, { id: second.globalId, key: "weights.bin" });
    expect(await (await fetch(url.getPresignedDownloadUrl.presignedUrl)).text()).toBe("shared bytes");

    await kit.as("admin").ok(CLEANUP, { ids: [second.globalId] });
    expect(await adapter.stat(key)).toBeNull();
  });
});

describe("cleanup", () => {
  it("deletes the files of an AVAILABLE revision, keeps its metadata, and returns it to SCANNED", async () => {
    const { revision, key, adapter } = await availableWithFile();
    const data = await kit.as("admin").ok(CLEANUP, { ids: [revision.globalId] });
    expect(data.cleanupArtifactRevisions.artifactRevisions.edges[0].node).toMatchObject({ status: "SCANNED", digest: null });
    expect(await adapter.stat(key)).toBeNull();
    const [file] = await kit.ds.query(`SELECT path, size, sha256, storage_key FROM artifact_revision_files WHERE revision_id = $1`, [revision.id]);
    expect(file).toMatchObject({ path: "weights.bin", storage_key: null });
    expect(file.sha256).toHaveLength(64);
  });

  it("cleans what it may and reports the others as errors for their item", async () => {
    const done = await revisionIn("FAILED");
    const busy = await revisionIn("SCANNED");
    const response = await kit.as("admin").execute(CLEANUP, { ids: [busy.revision.globalId, done.revision.globalId] });
    expect(response.data?.cleanupArtifactRevisions.artifactRevisions.edges.map((e: any) => e.node.id)).toEqual([done.revision.globalId]);
    expect(response.errors?.map((e) => [e.extensions?.code, e.extensions?.inputPath])).toEqual([["CONFLICT", ["input", "artifactRevisionIds", 0]]]);
  });
  it("names the item where a repeated revision was first listed", async () => {
    const done = await revisionIn("FAILED");
    const busy = await revisionIn("SCANNED");
    const ids = [done.revision.globalId, done.revision.id, busy.revision.globalId];
    const response = await kit.as("admin").execute(CLEANUP, { ids });
    expect(response.errors?.map((e) => [e.extensions?.inputPath, e.extensions?.artifactRevisionId])).toEqual([[["input", "artifactRevisionIds", 2], busy.revision.globalId]]);
  });
});

describe("presigned URLs", () => {
  it("serves a file of an AVAILABLE revision through a presigned URL, also as ArtifactFile.downloadUrl", async () => {
    const { revision, content } = await availableWithFile("the bytes");
    const data = await kit.as("user").ok(DOWNLOAD, { id: revision.globalId, key: "weights.bin" });
    const res = await fetch(data.getPresignedDownloadUrl.presignedUrl);
    expect(await res.text()).toBe(content);
    const files = await kit.as("user").ok(`query($id: ID!) { artifactRevision(id: $id) { files { edges { node { path downloadUrl(expiration: 60) } } } } }`, { id: revision.globalId });
    const url = files.artifactRevision.files.edges[0].node.downloadUrl;
    expect(await (await fetch(url)).text()).toBe(content);
  });

  it("lists the download URLs of many files with as many SQL statements as of one", async () => {
    const { revision, key } = await availableWithFile();
    const names = Array.from({ length: 20 }, (_, i) => `shard-${String(i).padStart(2, "0")}.bin`);
    await seed.files(revision.id, names.map((path) => ({ path, size: 1, sha256: "b".repeat(64) })));
    await kit.ds.query(`UPDATE artifact_revision_files SET storage_key = $2 || path WHERE revision_id = $1 AND storage_key IS NULL`, [revision.id, key.replace(/weights\.bin$/, "")]);
    const FILES = `query($id: ID!, $first: Int) { artifactRevision(id: $id) { files(first: $first) { edges { node { path downloadUrl(expiration: 60) } } } } }`;

    const urlsOf = (data: any): string[] => data.artifactRevision.files.edges.map((e: any) => e.node.downloadUrl);
    let one: any, all: any;
    const forOne = await kit.countQueries(async () => (one = await kit.as("user").ok(FILES, { id: revision.globalId, first: 1 })));
    const forAll = await kit.countQueries(async () => (all = await kit.as("user").ok(FILES, { id: revision.globalId, first: 21 })));
    expect(urlsOf(one)).toHaveLength(1);
    expect(urlsOf(all)).toHaveLength(21);
    for (const url of urlsOf(all)) expect(url).toMatch(/^http/);
    // Only the page's size differs in the SQL; one statement serves every file's URL.
    expect(forAll.count).toBe(forOne.count);
    expect(forAll.statements.filter((sql) => sql.includes("artifact_revision_namespaces"))).toHaveLength(1);
  });

  it("refuses an expiration that is not a positive number of seconds, in the mutation and on ArtifactFile.downloadUrl", async () => {
    const { revision } = await availableWithFile();
    await kit.as("user").fails(DOWNLOAD, { id: revision.globalId, key: "weights.bin", exp: 0 }, "BAD_USER_INPUT");
    await kit.as("user").fails(`query($id: ID!) { artifactRevision(id: $id) { files { edges { node { downloadUrl(expiration: -5) } } } } }`, { id: revision.globalId }, "BAD_USER_INPUT");
  });

  it("clamps the expiry to the configured maximum", async () => {
    const { revision } = await availableWithFile();
    const data = await kit.as("admin").ok(DOWNLOAD, { id: revision.globalId, key: "weights.bin", exp: 10 * 365 * 86400 });
    const exp = Number(new URL(data.getPresignedDownloadUrl.presignedUrl).searchParams.get("exp"));
    expect(exp - Date.now() / 1000).toBeLessThanOrEqual(kit.config.presignedUrlMaxExpiry + 5);
  });

  it("answers NOT_FOUND for a key that is not a file of the revision, and CONFLICT before it is AVAILABLE", async () => {
    const { revision } = await availableWithFile();
    await kit.as("admin").fails(DOWNLOAD, { id: revision.globalId, key: "../secrets" }, "NOT_FOUND");
    const scanned = await revisionIn("SCANNED");
    await kit.as("admin").fails(DOWNLOAD, { id: scanned.revision.globalId, key: "weights.bin" }, "CONFLICT");
    const files = await kit.as("admin").ok(`query($id: ID!) { artifactRevision(id: $id) { files { count } } }`, { id: scanned.revision.globalId });
    expect(files.artifactRevision.files.count).toBe(0);
  });

  it("gives an upload URL for a writable artifact only", async () => {
    const writable = await revisionIn("SCANNED", { readonly: false });
    const data = await kit.as("admin").ok(UPLOAD, { id: writable.revision.globalId, key: "extra/notes.txt" });
    const put = await fetch(data.getPresignedUploadUrl.presignedUrl, { method: "PUT", body: "notes" });
    expect(put.status).toBeLessThan(300);
    expect(JSON.parse(data.getPresignedUploadUrl.fields)).toEqual({});
    const readonly = await revisionIn("SCANNED", { readonly: true });
    await kit.as("admin").fails(UPLOAD, { id: readonly.revision.globalId, key: "a.txt" }, "CONFLICT");
    await kit.as("admin").fails(UPLOAD, { id: writable.revision.globalId, key: "../escape" }, "BAD_USER_INPUT");
  });
});
