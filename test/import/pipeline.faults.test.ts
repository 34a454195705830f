import { Readable } from "node:stream";
import { FilesystemStorageAdapter } from "../../src/storage/fs.adapter";
import type { StorageAdapter } from "../../src/storage/storage.port";
import { startFakeHub, type FakeHub, type FakeModel } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";
import {
  allowNotes, cancelImport, defaultAdapter, FAST_IMPORTS, keysUnder, objectBytes, refuseNoteOnce, revisionRow, scanModel, sha256, startImport, waitFor, waitForStatus,
} from "./support";

/*
 * What upstream does wrong, and what the import does about it: corrupted bytes and gated models
 * fail at once with a clear lastError; dropped connections and 429 storms are ridden out; a
 * cancel stops the transfer itself.
 */

const weights = (seed: number, size = 600_000) => ({ path: "model.safetensors", content: { size, seed }, lfs: true });
const model = (id: string, extra: Partial<FakeModel> = {}, seed = 1): FakeModel => ({
  id,
  files: [{ path: "config.json", content: `{"model": "${id}"}` }, weights(seed)],
  ...extra,
});

const MODELS = [
  model("faults/corrupt-lfs", {}, 1),
  model("faults/corrupt-small", {}, 2),
  model("faults/dropped", {}, 3),
  model("faults/storm", {}, 4),
  model("faults/gated", { gated: "manual" }, 5),
  model("faults/cancelled", {}, 6),
  model("faults/placed-then-stopped", {}, 7),
  model("faults/staging-lost", {}, 8),
  model("faults/note-lost", {}, 9),
  model("faults/folder-at-once", {}, 10),
  model("faults/folder-then-stopped", {}, 11),
  model("faults/stale-staging", {}, 12),
];

let hub: FakeHub;
let kit: TestKit;
let adapter: StorageAdapter;

beforeAll(async () => {
  hub = await startFakeHub(MODELS);
  kit = await startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS });
  adapter = await defaultAdapter(kit);
});
afterAll(async () => {
  await kit?.close();
  await hub?.stop();
});

const weightsSha = (repo: string) => hub.fileInfo(repo, "main", "model.safetensors").then((i) => i.sha256);
const cdnRequestsFor = (sha: string) => hub.requests.filter((r) => r.origin === "cdn" && r.url.includes(sha));

async function expectNothingStored(repo: string, revisionId: string) {
  expect(await keysUnder(adapter, `${repo}/`)).toEqual([]);
  expect(await keysUnder(adapter, `.staging/${revisionId}/`)).toEqual([]);
  expect(await kit.ds.query(`SELECT 1 FROM artifact_import_files WHERE revision_id = $1`, [revisionId])).toEqual([]);
}

describe("upstream faults", () => {
  it("fails on corrupted LFS bytes with the file, expected and actual SHA-256 in lastError, and stores nothing", async () => {
    const repo = "faults/corrupt-lfs";
    const sha = await weightsSha(repo);
    hub.inject({ origin: "cdn", match: (r) => r.url.includes(sha), corrupt: 1234 });
    const revision = await scanModel(kit, repo);
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["FAILED", "AVAILABLE"]);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toContain("Checksum mismatch for model.safetensors");
    expect(row.last_error).toContain(`expected SHA-256 ${sha}, got `);
    expect(row.digest).toBeNull();
    // A mismatch is permanent: no second attempt.
    expect(cdnRequestsFor(sha)).toHaveLength(1);
    await expectNothingStored(repo, revision.id);
  });

  it("checks small files against their git blob SHA-1", async () => {
    const repo = "faults/corrupt-small";
    hub.inject({ origin: "hub", match: (r) => r.url.includes(`/${repo}/resolve/`) && r.url.endsWith("/config.json"), corrupt: 3 });
    const revision = await scanModel(kit, repo);
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["FAILED", "AVAILABLE"]);
    expect(row.status).toBe("FAILED");
    const info = await hub.fileInfo(repo, "main", "config.json");
    expect(row.last_error).toContain(`Checksum mismatch for config.json: expected git blob SHA-1 ${info.oid}, got `);
    await expectNothingStored(repo, revision.id);
  });

  it("resumes a connection dropped mid-file with a Range request and ends AVAILABLE with the right bytes", async () => {
    const repo = "faults/dropped";
    const sha = await weightsSha(repo);
    hub.inject({ origin: "cdn", match: (r) => r.url.includes(sha) && !r.headers.range, dropAfterBytes: 250_000 });
    const revision = await scanModel(kit, repo);
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"]);
    expect(row).toMatchObject({ status: "AVAILABLE", last_error: null });
    const [first, resumed] = cdnRequestsFor(sha);
    expect(first.faulted).toBe(true);
    const start = Number(/^bytes=(\d+)-$/.exec(String(resumed.headers.range))?.[1]);
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(250_000);
    expect(cdnRequestsFor(sha)).toHaveLength(2);
    expect(sha256(await objectBytes(adapter, `${repo}/main/model.safetensors`))).toBe(sha);
  });

  it("rides out a 429 storm longer than one request's retries, then imports", async () => {
    const repo = "faults/storm";
    const storm = hub.inject({ origin: "hub", match: (r) => r.url.includes(`/${repo}/resolve/`), status: 429, times: 8, headers: { "Retry-After": "0" } });
    const revision = await scanModel(kit, repo);
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"], 30_000);
    expect(row).toMatchObject({ status: "AVAILABLE", last_error: null });
    expect(storm.hits).toBe(8);
    expect(sha256(await objectBytes(adapter, `${repo}/main/model.safetensors`))).toBe(await weightsSha(repo));
  });

  it("fails a gated model without a token at once, with GatedRepo in lastError", async () => {
    const repo = "faults/gated";
    const revision = await scanModel(kit, repo);
    const taskId = await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["FAILED", "AVAILABLE"]);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toContain("GatedRepo");
    expect(row.last_error).toMatch(/model\.safetensors|config\.json/);
    const job = await waitFor("the job to end", async () => {
      const [j] = await kit.ds.query(`SELECT state, retry_count FROM pgboss.job WHERE id = $1`, [taskId]);
      return j?.state === "completed" ? j : undefined;
    });
    expect(job.retry_count).toBe(0);
    await expectNothingStored(repo, revision.id);
  });

  it("cancels mid-transfer: the download and the upload are aborted, staging is removed, the revision is SCANNED", async () => {
    const repo = "faults/cancelled";
    const sha = await weightsSha(repo);
    // Never released: only the cancel can close the download.
    const held = hub.hold({ origin: "cdn", match: (r) => r.url.includes(sha), afterBytes: 100_000 });
    const revision = await scanModel(kit, repo);
    const taskId = await startImport(kit, revision);
    const transfer = await held.reached;
    await waitFor("the held weights' bytes to be counted", async () => (await revisionRow(kit, revision.id)).import_progress?.downloadedBytes > 0);
    expect(transfer.status).toBeUndefined();
    // The weights go through a partial file beside the staging folder: it is there now, so the check below is not vacuous.
    const partial = `.staging/${revision.id}.partial/`;
    expect(await keysUnder(adapter, partial)).toEqual([`${partial}model.safetensors`]);

    const cancelled = await cancelImport(kit, revision);
    expect(cancelled.status).toBe("SCANNED");
    // The fake hub records the status when the connection closes; the hold never ends by itself.
    await waitFor("the held download to be closed", async () => transfer.status !== undefined, 5_000);
    expect(kit.booted.imports.worker?.running()).toEqual([]);
    await expectNothingStored(repo, revision.id);
    expect(await keysUnder(adapter, partial)).toEqual([]);
    const [job] = await kit.ds.query(`SELECT state FROM pgboss.job WHERE id = $1`, [taskId]);
    expect(job.state).toBe("cancelled");
    const history = await kit.ds.query(`SELECT to_status FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [revision.id]);
    expect(history.map((h: any) => h.to_status)).toEqual(["SCANNED", "PULLING", "SCANNED"]);
  });
});

/**
 * Makes the storage's next move of `file` out of staging misbehave once, then fail as a broken
 * connection would: the attempt ends there and the job runs again, in PULLED.
 */
function breakNextPublish(file: string, misbehave: (source: string, dest: string, move: StorageAdapter["move"]) => Promise<void>) {
  // A new folder would be published in one rename: this is about files published one by one.
  jest.spyOn(filesystem(), "renameFolder").mockResolvedValue(false);
  const move = adapter.move.bind(adapter);
  const spy = jest.spyOn(adapter, "move").mockImplementation(async (source, dest) => {
    if (!source.endsWith(`/${file}`)) return move(source, dest);
    spy.mockRestore();
    await misbehave(source, dest, move);
    throw Object.assign(new Error("connection reset while publishing"), { code: "ECONNRESET" });
  });
  return spy;
}

/** The test kit's storage: the filesystem, as on embedded defaults. */
function filesystem(): FilesystemStorageAdapter {
  expect(adapter).toBeInstanceOf(FilesystemStorageAdapter);
  return adapter as FilesystemStorageAdapter;
}

describe("storage faults while files are put in place", () => {
  afterEach(() => jest.restoreAllMocks());

  it("publishes a new folder with one rename, and a forced re-import into it file by file", async () => {
    const repo = "faults/folder-at-once";
    const renameFolder = jest.spyOn(filesystem(), "renameFolder");
    const move = jest.spyOn(adapter, "move");
    const revision = await scanModel(kit, repo);
    await startImport(kit, revision);

    expect(await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"])).toMatchObject({ status: "AVAILABLE", last_error: null });
    expect(renameFolder).toHaveBeenCalledTimes(1);
    await expect(renameFolder.mock.results[0].value).resolves.toBe(true);
    expect(move).not.toHaveBeenCalled();
    expect(await keysUnder(adapter, `${repo}/`)).toEqual([`${repo}/main/config.json`, `${repo}/main/model.safetensors`]);
    expect(sha256(await objectBytes(adapter, `${repo}/main/model.safetensors`))).toBe(await weightsSha(repo));
    expect(await keysUnder(adapter, `.staging/${revision.id}/`)).toEqual([]);

    await startImport(kit, revision, { force: true });
    expect(await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"])).toMatchObject({ status: "AVAILABLE", last_error: null });
    await expect(renameFolder.mock.results[1].value).resolves.toBe(false);
    expect(move.mock.calls.map(([, dest]) => dest).sort()).toEqual([`${repo}/main/config.json`, `${repo}/main/model.safetensors`]);
    expect(sha256(await objectBytes(adapter, `${repo}/main/model.safetensors`))).toBe(await weightsSha(repo));
  });

  it("publishes file by file, and never a stale file, when the staging folder holds more than this import staged", async () => {
    const repo = "faults/stale-staging";
    const revision = await scanModel(kit, repo);
    // Left by an earlier attempt at another commit, say.
    await adapter.put(`.staging/${revision.id}/stale.bin`, Readable.from([Buffer.from("stale")]));
    const renameFolder = jest.spyOn(filesystem(), "renameFolder");
    await startImport(kit, revision);

    expect(await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"])).toMatchObject({ status: "AVAILABLE", last_error: null });
    await expect(renameFolder.mock.results[0].value).resolves.toBe(false);
    expect(await keysUnder(adapter, `${repo}/`)).toEqual([`${repo}/main/config.json`, `${repo}/main/model.safetensors`]);
    expect(await keysUnder(adapter, `.staging/${revision.id}/`)).toEqual([]);
  });

  it("resumes after an attempt that published the whole folder and stopped before noting it, and checks the files' bytes", async () => {
    const repo = "faults/folder-then-stopped";
    const sha = await weightsSha(repo);
    const fs = filesystem();
    const renameFolder = fs.renameFolder.bind(fs);
    // What the real rename answered, asserted below: an expect in here would be caught by the worker.
    const renamed: boolean[] = [];
    const spy = jest.spyOn(fs, "renameFolder").mockImplementation(async (...args) => {
      spy.mockRestore();
      renamed.push(await renameFolder(...args));
      throw Object.assign(new Error("connection reset after the rename"), { code: "ECONNRESET" });
    });
    const get = jest.spyOn(adapter, "get");
    const revision = await scanModel(kit, repo);
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"]);
    expect(row).toMatchObject({ status: "AVAILABLE", last_error: null });
    expect(renamed).toEqual([true]);
    // The second attempt read the placed weights back to check them, and fetched nothing again.
    expect(get.mock.calls.map(([key]) => key)).toContain(`${repo}/main/model.safetensors`);
    expect(cdnRequestsFor(sha)).toHaveLength(1);
    expect(sha256(await objectBytes(adapter, `${repo}/main/model.safetensors`))).toBe(sha);
    const history = await kit.ds.query(`SELECT to_status FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [revision.id]);
    expect(history.map((h: any) => h.to_status)).toEqual(["SCANNED", "PULLING", "PULLED", "VERIFYING", "AVAILABLE"]);
    expect(await keysUnder(adapter, `.staging/${revision.id}/`)).toEqual([]);
  });

  it("resumes after an attempt that published a file and stopped before noting it, and checks that file's bytes", async () => {
    const repo = "faults/placed-then-stopped";
    breakNextPublish("model.safetensors", (source, dest, move) => move(source, dest));
    const revision = await scanModel(kit, repo);
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"]);
    expect(row).toMatchObject({ status: "AVAILABLE", last_error: null });
    expect(sha256(await objectBytes(adapter, `${repo}/main/model.safetensors`))).toBe(await weightsSha(repo));
    const history = await kit.ds.query(`SELECT to_status FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [revision.id]);
    expect(history.map((h: any) => h.to_status)).toEqual(["SCANNED", "PULLING", "PULLED", "VERIFYING", "AVAILABLE"]);
    expect(await keysUnder(adapter, `.staging/${revision.id}/`)).toEqual([]);
  });

  it("fails instead of serving other bytes of the same size when a file's staged copy is lost before it was published", async () => {
    const repo = "faults/staging-lost";
    const expected = await weightsSha(repo);
    // An older file of the same size at the final key, as a forced re-import of a moved branch finds it.
    const older = Buffer.alloc(600_000, 7);
    await adapter.put(`${repo}/main/model.safetensors`, Readable.from([older]));
    breakNextPublish("model.safetensors", (source) => adapter.delete(source));
    const revision = await scanModel(kit, repo);
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"]);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toContain("model.safetensors is neither in staging nor in its final place");
    expect(sha256(await objectBytes(adapter, `${repo}/main/model.safetensors`))).not.toBe(expected);
  });
});

describe("database faults while verified files are noted", () => {
  afterEach(() => allowNotes(kit));

  it("stops the other transfers when a note cannot be written, says why, and imports on the next attempt", async () => {
    const repo = "faults/note-lost";
    const sha = await weightsSha(repo);
    // The weights are held and never released: only the stop can close their download.
    const held = hub.hold({ origin: "cdn", match: (r) => r.url.includes(sha), afterBytes: 10_000 });
    const revision = await scanModel(kit, repo);
    // The database refuses the first note of this revision (config.json, fetched first), once.
    await refuseNoteOnce(kit, revision.id, "NEW.staged_sha256 IS NOT NULL");

    await startImport(kit, revision);
    const stalled = await held.reached;
    await waitFor("the held download to be closed", async () => stalled.status !== undefined, 10_000);
    const retrying = await waitFor("the attempt to fail", async () => {
      const row = await revisionRow(kit, revision.id);
      return row.last_error?.includes("injected") ? row : undefined;
    });
    expect(retrying.last_error).toMatch(/^Attempt 1 of \d+ failed, retrying: .*injected: the note of config\.json was refused/);
    expect(retrying.last_error).not.toContain("Could not fetch");

    const row = await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"]);
    expect(row).toMatchObject({ status: "AVAILABLE", last_error: null });
    expect(sha256(await objectBytes(adapter, `${repo}/main/model.safetensors`))).toBe(sha);
    expect(cdnRequestsFor(sha)).toHaveLength(2);
  });
});
