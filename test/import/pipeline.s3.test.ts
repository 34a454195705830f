import type { StorageAdapter } from "../../src/storage/storage.port";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { startS3rver, type S3rverHandle } from "../support/s3rver";
import { startTestKit, type TestKit } from "../support/testkit";
import { allowNotes, cancelImport, defaultAdapter, FAST_IMPORTS, keysUnder, objectBytes, refuseNoteOnce, revisionRow, scanModel, sha256, startImport, waitFor, waitForStatus } from "./support";

/*
 * The same import into S3 (s3rver). Into a folder that serves nothing of the revision, each file
 * goes straight to its final key, where it shows once every byte has matched (a large file of
 * known SHA-256 in one streamed PUT whose last bytes wait for the match); a forced re-import
 * stages a file of several parts as a multipart upload at its final key and completes it in
 * PULLED, and small files go through the staging folder.
 */

const REPO = "s3/tiny";
const CANCELLED = "s3/cancelled";
const NOTE_LOST = "s3/note-lost";
const CORRUPT = "s3/corrupt";
const MiB = 1024 * 1024;

let s3: S3rverHandle;
let hub: FakeHub;
let kit: TestKit;
let adapter: StorageAdapter;

beforeAll(async () => {
  s3 = await startS3rver();
  hub = await startFakeHub([{
    id: REPO,
    files: [
      { path: "config.json", content: '{"a": 1}' },
      { path: "model.safetensors", content: { size: 10 * MiB + 5, seed: 21 }, lfs: true },
      { path: "nested/dir/extra.txt", content: "extra" },
    ],
  }, {
    id: CANCELLED,
    files: [
      { path: "config.json", content: '{"b": 2}' },
      { path: "model.safetensors", content: { size: 20 * MiB, seed: 22 }, lfs: true },
    ],
  }, ...[NOTE_LOST, CORRUPT].map((id, i) => ({
    id,
    files: [
      { path: "config.json", content: `{"c": ${i}}` },
      { path: "model.safetensors", content: { size: 9 * MiB + i, seed: 23 + i }, lfs: true },
    ],
  }))]);
  kit = await startTestKit({
    HF_ENDPOINT: hub.url,
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_BUCKET: "imports",
    ...FAST_IMPORTS,
  });
  adapter = await defaultAdapter(kit);
});
afterEach(async () => {
  hub.clearFaults();
  await allowNotes(kit);
});
afterAll(async () => {
  await kit?.close();
  await hub?.stop();
  await s3?.stop();
});

describe("an import into S3 storage", () => {
  it("ends AVAILABLE with every file in the bucket at {name}/{version}/{path}, even after a dropped connection", async () => {
    expect(adapter.kind).toBe("s3");
    const sha = (await hub.fileInfo(REPO, "main", "model.safetensors")).sha256;
    hub.inject({ origin: "cdn", match: (r) => r.url.includes(sha) && !r.headers.range, dropAfterBytes: 400_000 });
    const revision = await scanModel(kit, REPO);
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"]);
    expect(row).toMatchObject({ status: "AVAILABLE", digest: revision.commit });
    expect(await keysUnder(adapter, `${REPO}/`)).toEqual(["config.json", "model.safetensors", "nested/dir/extra.txt"].map((p) => `${REPO}/main/${p}`));
    for (const path of ["config.json", "model.safetensors", "nested/dir/extra.txt"]) {
      expect(sha256(await objectBytes(adapter, `${REPO}/main/${path}`))).toBe((await hub.fileInfo(REPO, "main", path)).sha256);
    }
    expect(hub.requests.some((r) => r.origin === "cdn" && r.url.includes(sha) && /^bytes=\d+-$/.test(String(r.headers.range)))).toBe(true);
    expect(await keysUnder(adapter, ".staging/")).toEqual([]);
    expect(await s3.pendingUploads("imports")).toEqual([]);
  });

  it("cancelled mid-transfer, cuts its upload short and leaves nothing in the bucket", async () => {
    const sha = (await hub.fileInfo(CANCELLED, "main", "model.safetensors")).sha256;
    hub.hold({ origin: "cdn", match: (r) => r.url.includes(sha), afterBytes: 12 * MiB, times: Infinity });
    try {
      const revision = await scanModel(kit, CANCELLED);
      await startImport(kit, revision);
      await waitFor("the model's upload to be under way", async () => s3.receiving("imports").includes(`${CANCELLED}/main/model.safetensors`));
      await waitFor("config.json to be in its final place", async () => (await keysUnder(adapter, `${CANCELLED}/`)).includes(`${CANCELLED}/main/config.json`));

      await cancelImport(kit, revision);
      expect((await revisionRow(kit, revision.id)).status).toBe("SCANNED");
      await waitFor("the worker to let go of the cancelled import", async () => !(await kit.ds.query(`SELECT 1 FROM artifact_import_files WHERE revision_id = $1`, [revision.id])).length);
      await waitFor("s3rver to drop the PUT cut short", async () => s3.receiving("imports").length === 0);
      expect(await s3.pendingUploads("imports")).toEqual([]);
      expect(await keysUnder(adapter, `${CANCELLED}/`)).toEqual([]);
      expect(await keysUnder(adapter, ".staging/")).toEqual([]);
    } finally {
      hub.clearFaults();
    }
  });

  it("leaves a forced re-import's old files in place until PULLED: the new ones wait in staging", async () => {
    const sha = (await hub.fileInfo(REPO, "main", "model.safetensors")).sha256;
    const held = hub.hold({ origin: "cdn", match: (r) => r.url.includes(sha), afterBytes: 9 * MiB });
    const revision = await scanModel(kit, REPO);
    expect((await revisionRow(kit, revision.id)).status).toBe("AVAILABLE");
    await startImport(kit, revision, { force: true });
    await held.reached;
    const notes = async () => kit.ds.query(`SELECT path, staged_receipt, placed FROM artifact_import_files WHERE revision_id = $1 AND staged_receipt IS NOT NULL ORDER BY path`, [revision.id]);
    await waitFor("the small files to be verified", async () => (await notes()).length >= 2);

    // The old files are still the revision's: the new small files wait in staging, the model as a pending upload.
    expect(await notes()).toEqual(["config.json", "nested/dir/extra.txt"].map((path) => ({ path, staged_receipt: "scratch", placed: false })));
    expect(await keysUnder(adapter, `.staging/${revision.id}/`)).toEqual(["config.json", "nested/dir/extra.txt"].map((path) => `.staging/${revision.id}/${path}`));
    // The hub has sent 9 MiB, but the server starts the upload only once its first 8 MiB part has arrived.
    await waitFor("the model's first part to be uploaded", async () => (await s3.pendingUploads("imports")).length > 0);
    expect(await s3.pendingUploads("imports")).toEqual([`${REPO}/main/model.safetensors`]);
    held.release();

    expect(await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"])).toMatchObject({ status: "AVAILABLE", last_error: null });
    expect(sha256(await objectBytes(adapter, `${REPO}/main/model.safetensors`))).toBe(sha);
    expect(await s3.pendingUploads("imports")).toEqual([]);
  });

  it("fetches again a file stored at its final key whose note was lost, and ends AVAILABLE with the right bytes", async () => {
    const sha = (await hub.fileInfo(NOTE_LOST, "main", "model.safetensors")).sha256;
    const revision = await scanModel(kit, NOTE_LOST);
    // The database refuses the model's note once, after the model is in place: as a crash between the two would leave it.
    await refuseNoteOnce(kit, revision.id, "NEW.path = 'model.safetensors' AND NEW.placed");
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"]);
    expect(row).toMatchObject({ status: "AVAILABLE", last_error: null });
    // The first attempt stored the model and could not note it; the second fetched it again.
    expect(hub.requests.filter((r) => r.origin === "cdn" && r.url.includes(sha) && !r.headers.range)).toHaveLength(2);
    expect(sha256(await objectBytes(adapter, `${NOTE_LOST}/main/model.safetensors`))).toBe(sha);
    const history = await kit.ds.query(`SELECT to_status FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [revision.id]);
    expect(history.map((h: any) => h.to_status)).toEqual(["SCANNED", "PULLING", "PULLED", "VERIFYING", "AVAILABLE"]);
    expect(await s3.pendingUploads("imports")).toEqual([]);
  });

  it("fails on corrupted bytes and removes the files it had already stored at their final keys", async () => {
    const sha = (await hub.fileInfo(CORRUPT, "main", "model.safetensors")).sha256;
    const held = hub.hold({ origin: "cdn", match: (r) => r.url.includes(sha), afterBytes: 1 * MiB, corrupt: 1234 });
    const revision = await scanModel(kit, CORRUPT);
    await startImport(kit, revision);
    await held.reached;
    await waitFor("config.json to be in its final place", async () => (await keysUnder(adapter, `${CORRUPT}/`)).includes(`${CORRUPT}/main/config.json`));
    held.release();

    const row = await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"]);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toContain("Checksum mismatch for model.safetensors");
    expect(await keysUnder(adapter, `${CORRUPT}/`)).toEqual([]);
    expect(await keysUnder(adapter, `.staging/${revision.id}/`)).toEqual([]);
    expect(await s3.pendingUploads("imports")).toEqual([]);
  });
});
