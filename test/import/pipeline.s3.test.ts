import type { StorageAdapter } from "../../src/storage/storage.port";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { startS3rver, type S3rverHandle } from "../support/s3rver";
import { startTestKit, type TestKit } from "../support/testkit";
import { cancelImport, defaultAdapter, FAST_IMPORTS, keysUnder, objectBytes, revisionRow, scanModel, sha256, startImport, waitFor, waitForStatus } from "./support";

/*
 * The same import into S3 (s3rver): a file of several parts is staged as a multipart upload at
 * its final key and completed in PULLED; small files go through the staging folder.
 */

const REPO = "s3/tiny";
const CANCELLED = "s3/cancelled";
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
  }]);
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

  it("cancelled mid-transfer, aborts its pending uploads and leaves nothing in the bucket", async () => {
    const sha = (await hub.fileInfo(CANCELLED, "main", "model.safetensors")).sha256;
    hub.hold({ origin: "cdn", match: (r) => r.url.includes(sha), afterBytes: 12 * MiB, times: Infinity });
    try {
      const revision = await scanModel(kit, CANCELLED);
      await startImport(kit, revision);
      await waitFor("the model's first part to be uploaded", async () => (await s3.pendingUploads("imports")).length > 0);

      await cancelImport(kit, revision);
      expect((await revisionRow(kit, revision.id)).status).toBe("SCANNED");
      await waitFor("the worker to let go of the cancelled import", async () => !(await kit.ds.query(`SELECT 1 FROM artifact_import_files WHERE revision_id = $1`, [revision.id])).length);
      expect(await s3.pendingUploads("imports")).toEqual([]);
      expect(await keysUnder(adapter, `${CANCELLED}/`)).toEqual([]);
      expect(await keysUnder(adapter, ".staging/")).toEqual([]);
    } finally {
      hub.clearFaults();
    }
  });
});
