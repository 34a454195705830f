import type { Client } from "graphql-ws";
import type { StorageAdapter } from "../../src/storage/storage.port";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { progressFence, statusFence, subscribeFenced } from "../support/subscriptions";
import { startTestKit, type TestKit } from "../support/testkit";
import {
  defaultAdapter, FAST_IMPORTS, keysUnder, objectBytes, revisionRow, scanModel, sha256, startImport, waitFor, waitForStatus, wsClient,
} from "./support";

/*
 * An import from the fake hub into filesystem storage, as a client drives it: scan, import,
 * watch the subscriptions, then look at what landed where.
 */

const REPO = "acme/tiny-lm";
const FILES = [
  { path: "README.md", content: "# Tiny LM\n" },
  { path: "config.json", content: '{"hidden": 8}' },
  { path: "model.safetensors", content: { size: 2 * 1024 * 1024 + 123, seed: 11 }, lfs: true },
  { path: "tokenizer/vocab.txt", content: "a\nb\nc\n" },
];

const STATUS = `subscription($input: ArtifactStatusChangedInput!) { artifactStatusChanged(input: $input) { artifactRevision { id status } } }`;
const PROGRESS = `subscription($id: ID!) { artifactImportProgressUpdated(artifactRevisionId: $id) { artifactId status progress importProgress { totalFiles completedFiles totalBytes downloadedBytes } } }`;
const REVISION = `query($id: ID!) { artifactRevision(id: $id) { status digest importProgress { totalFiles completedFiles totalBytes downloadedBytes bytesPerSecond startedAt updatedAt } } }`;

let hub: FakeHub;
let kit: TestKit;
let adapter: StorageAdapter;
let client: Client;

beforeAll(async () => {
  hub = await startFakeHub([{ id: REPO, files: FILES }]);
  kit = await startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS });
  adapter = await defaultAdapter(kit);
  client = wsClient(kit);
});
afterAll(async () => {
  await client?.dispose();
  await kit?.close();
  await hub?.stop();
});

describe("an import from the Hugging Face Hub", () => {
  let revision: Awaited<ReturnType<typeof scanModel>>;

  it("goes SCANNED → PULLING → PULLED → VERIFYING → AVAILABLE, each transition seen in order by a subscriber", async () => {
    revision = await scanModel(kit, REPO);
    const fence = await statusFence(kit, kit);
    const statuses = subscribeFenced(client, { query: STATUS, variables: { input: { artifactRevisionIds: [revision.globalId, fence.revisionId] } } },
      { fence, until: (v: any) => v.artifactStatusChanged.artifactRevision.status === "AVAILABLE", timeoutMs: 20_000 });
    const progress = subscribeFenced(client, { query: PROGRESS, variables: { id: revision.globalId } },
      { fence: progressFence(revision.id, kit), until: (v: any) => v.artifactImportProgressUpdated.importProgress.completedFiles === FILES.length, timeoutMs: 20_000 });
    await Promise.all([statuses.live, progress.live]);

    const taskId = await startImport(kit, revision);
    expect(taskId).toMatch(/^[0-9a-f-]{36}$/);

    const seen = (await statuses.done).map((v: any) => v.artifactStatusChanged.artifactRevision.status);
    expect(seen).toEqual(["PULLING", "PULLED", "VERIFYING", "AVAILABLE"]);
    const events = (await progress.done).map((v: any) => v.artifactImportProgressUpdated);
    expect(events.at(-1)).toMatchObject({ progress: 1, importProgress: { totalFiles: 4, completedFiles: 4 } });
    expect(events.at(-1).importProgress.downloadedBytes).toBe(events.at(-1).importProgress.totalBytes);

    const history = await kit.ds.query(`SELECT from_status, to_status, actor FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [revision.id]);
    expect(history.map((h: any) => `${h.from_status}→${h.to_status}`)).toEqual(["null→SCANNED", "SCANNED→PULLING", "PULLING→PULLED", "PULLED→VERIFYING", "VERIFYING→AVAILABLE"]);
    expect(history.slice(2).every((h: any) => h.actor === "import-worker")).toBe(true);
    await waitFor("the job to complete", async () => (await kit.ds.query(`SELECT state FROM pgboss.job WHERE id = $1`, [taskId]))[0]?.state === "completed");
  });

  it("stores every file at {name}/{version}/{path} with the bytes the hub has, and records each SHA-256", async () => {
    const row = await revisionRow(kit, revision.id);
    expect(row).toMatchObject({ status: "AVAILABLE", digest: revision.commit, import_task_id: null, last_error: null });
    expect(Number(row.size)).toBe(FILES.reduce((sum, f) => sum + (typeof f.content === "string" ? Buffer.byteLength(f.content) : f.content.size), 0));

    const files = await kit.ds.query(`SELECT path, size, sha256, staged_sha256, storage_key FROM artifact_revision_files WHERE revision_id = $1 ORDER BY path`, [revision.id]);
    expect(files.map((f: any) => f.path)).toEqual(FILES.map((f) => f.path).sort());
    for (const file of files) {
      const info = await hub.fileInfo(REPO, revision.commit, file.path);
      expect(file.storage_key).toBe(`${REPO}/main/${file.path}`);
      expect(sha256(await objectBytes(adapter, file.storage_key))).toBe(info.sha256);
      expect(file).toMatchObject({ sha256: info.sha256, staged_sha256: info.sha256 });
    }
    expect(await keysUnder(adapter, ".staging/")).toEqual([]);
    expect(await kit.ds.query(`SELECT 1 FROM artifact_import_files WHERE revision_id = $1`, [revision.id])).toEqual([]);
    const [association] = await kit.ds.query(`SELECT namespace_id FROM artifact_revision_namespaces WHERE revision_id = $1`, [revision.id]);
    expect(association.namespace_id).toBe(kit.booted.storage.defaultNamespaceId);
  });

  it("fetched every file at the pinned commit, never the branch, and keeps the progress on the revision", async () => {
    const downloads = hub.requests.filter((r) => r.origin === "hub" && r.url.includes("/resolve/"));
    expect(downloads.length).toBeGreaterThanOrEqual(FILES.length);
    for (const request of downloads) expect(request.url).toContain(`/resolve/${revision.commit}/`);

    const data = await kit.as("admin").ok(REVISION, { id: revision.globalId });
    const progress = data.artifactRevision.importProgress;
    expect(progress).toMatchObject({ totalFiles: 4, completedFiles: 4 });
    expect(progress.downloadedBytes).toBe(progress.totalBytes);
    expect(Date.parse(progress.updatedAt)).toBeGreaterThanOrEqual(Date.parse(progress.startedAt));
  });

  it("re-imports a moved branch when forced: old files stay in place until the new ones are verified, then are replaced", async () => {
    const oldConfig = await objectBytes(adapter, `${REPO}/main/config.json`);
    const newWeights = { size: 1024 * 1024 + 7, seed: 12 };
    const moved = hub.setFiles(REPO, "main", [
      { path: "README.md", content: "# Tiny LM v2\n" },
      { path: "config.json", content: '{"hidden": 16}' },
      { path: "model.safetensors", content: newWeights, lfs: true },
      { path: "generation_config.json", content: "{}" },
    ]);
    const newWeightsSha = (await hub.fileInfo(REPO, moved, "model.safetensors")).sha256;
    // Hold the new weights mid-transfer so we can look at the revision while it is PULLING.
    const held = hub.hold({ origin: "cdn", match: (r) => r.url.includes(newWeightsSha), afterBytes: 1000 });

    const rescanned = await scanModel(kit, REPO);
    expect(rescanned.commit).toBe(moved);
    await startImport(kit, rescanned, { force: true });
    await held.reached;
    expect((await revisionRow(kit, revision.id)).status).toBe("PULLING");
    expect(await objectBytes(adapter, `${REPO}/main/config.json`)).toEqual(oldConfig);
    expect((await revisionRow(kit, revision.id)).digest).toBe(revision.commit);
    held.release();

    const row = await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"]);
    expect(row).toMatchObject({ status: "AVAILABLE", digest: moved });
    expect((await objectBytes(adapter, `${REPO}/main/config.json`)).toString()).toBe('{"hidden": 16}');
    expect(sha256(await objectBytes(adapter, `${REPO}/main/model.safetensors`))).toBe(newWeightsSha);
    expect(await keysUnder(adapter, `${REPO}/main/`)).toEqual(
      ["README.md", "config.json", "generation_config.json", "model.safetensors"].map((p) => `${REPO}/main/${p}`),
    );
    const paths = await kit.ds.query(`SELECT path FROM artifact_revision_files WHERE revision_id = $1 ORDER BY path`, [revision.id]);
    expect(paths.map((p: any) => p.path)).toEqual(["README.md", "config.json", "generation_config.json", "model.safetensors"]);
    expect(await keysUnder(adapter, ".staging/")).toEqual([]);
  });
});
