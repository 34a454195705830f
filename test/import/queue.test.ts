import { createLogger } from "../../src/common/logger";
import { isImportLockHeld, RevisionLocks } from "../../src/import/job/locks";
import { applyTransition } from "../../src/revision/lifecycle";
import { startFakeHub, type FakeHub, type FakeModel } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";
import { cancelImport, defaultAdapter, FAST_IMPORTS, keysUnder, revisionRow, scanModel, startImport, waitFor, waitForStatus } from "./support";

/*
 * The queue and its workers across processes on one database: one job per revision, a
 * revision left mid-import without a job gets one, two workers never run the same revision,
 * and a cancel in one process stops the transfer in another.
 */

const model = (id: string, seed: number): FakeModel => ({
  id,
  files: [{ path: "config.json", content: `{"id": "${id}"}` }, { path: "model.safetensors", content: { size: 300_000, seed }, lfs: true }],
});

let hub: FakeHub;
let api: TestKit;
const workers: TestKit[] = [];

beforeAll(async () => {
  hub = await startFakeHub([model("queue/stranded", 1), model("queue/one", 2), model("queue/two", 3), model("queue/cancelled", 4), model("queue/idempotent", 5)]);
  // An API-only replica: it enqueues, never runs imports.
  api = await startTestKit({ HF_ENDPOINT: hub.url, IMPORT_WORKER: "false", ...FAST_IMPORTS });
});
afterAll(async () => {
  for (const kit of workers) await kit.close();
  await api?.close();
  await hub?.stop();
});

/** Another server process on the same database and data directory, running imports. */
async function startWorkerProcess(): Promise<TestKit> {
  const kit = await startTestKit({ HF_ENDPOINT: hub.url, DATA_DIR: api.dataDir, ...FAST_IMPORTS }, { database: api.db });
  workers.push(kit);
  return kit;
}

const runningIn = (kit: TestKit) => kit.booted.imports.worker?.running() ?? [];

describe("the import queue", () => {
  it("keeps one job per revision: enqueue returns the live job, however many ask at once", async () => {
    const revision = await scanModel(api, "queue/idempotent");
    const taskId = await startImport(api, revision);
    const ids = await Promise.all(Array.from({ length: 5 }, () => api.booted.imports.queue.enqueue(revision.id)));
    expect(new Set(ids)).toEqual(new Set([taskId]));
    const jobs = await api.ds.query(`SELECT id FROM pgboss.job WHERE singleton_key = $1`, [revision.id]);
    expect(jobs).toEqual([{ id: taskId }]);
    expect(await api.booted.imports.queue.activeJobId(revision.id)).toBe(taskId);
    await cancelImport(api, revision);
    expect(await api.booted.imports.queue.activeJobId(revision.id)).toBeNull();
  });

  it("gives a revision left PULLING without a job a new one when a worker starts, and imports it", async () => {
    const revision = await scanModel(api, "queue/stranded");
    // As if the process crashed between the transition and the enqueue.
    await applyTransition(api.ds, revision.id, "startImport", {
      actor: "test",
      patch: { importCommit: revision.commit, importNamespaceId: api.booted.storage.defaultNamespaceId },
    }, api.booted.events);
    expect(await api.booted.imports.queue.activeJobId(revision.id)).toBeNull();

    await startWorkerProcess();
    const row = await waitForStatus(api, revision.id, ["AVAILABLE", "FAILED"]);
    expect(row.status).toBe("AVAILABLE");
    const [job] = await api.ds.query(`SELECT id FROM pgboss.job WHERE singleton_key = $1`, [revision.id]);
    expect(job).toBeDefined();
  });

  it("runs each revision in exactly one of two worker processes", async () => {
    const second = await startWorkerProcess();
    const [first] = workers;
    const shas = await Promise.all(["queue/one", "queue/two"].map((repo) => hub.fileInfo(repo, "main", "model.safetensors").then((i) => i.sha256)));
    // Both held until both run at once, however slow a loaded machine is to hand out the second job.
    const holds = shas.map((sha) => hub.hold({ origin: "cdn", match: (r) => r.url.includes(sha), afterBytes: 10_000 }));
    const revisions = [await scanModel(api, "queue/one"), await scanModel(api, "queue/two")];
    for (const revision of revisions) await startImport(api, revision);

    await Promise.all(holds.map((held) => held.reached));
    const running = [...runningIn(first), ...runningIn(second)].sort();
    expect(running).toEqual(revisions.map((r) => r.id).sort());
    // A run is listed just before it takes its revision's lock; the holds keep both running meanwhile.
    for (const revision of revisions) await waitFor(`the lock of revision ${revision.id} to be held`, () => isImportLockHeld(api.ds, revision.id), 3_000);
    for (const held of holds) held.release();

    for (const revision of revisions) expect((await waitForStatus(api, revision.id, ["AVAILABLE", "FAILED"])).status).toBe("AVAILABLE");
    // Each file was fetched once: nobody else ran the same import.
    for (const sha of shas) expect(hub.requests.filter((r) => r.origin === "cdn" && r.url.includes(sha))).toHaveLength(1);
  });

  it("refuses a revision's lock to a second holder until the first lets go", async () => {
    const logger = createLogger("silent");
    const a = new RevisionLocks(api.db.url, logger, () => undefined);
    const b = new RevisionLocks(api.db.url, logger, () => undefined);
    const id = "00000000-0000-4000-8000-000000000042";
    try {
      expect(await a.acquire(id, { timeoutMs: 0 })).toBe(true);
      expect(await b.acquire(id, { timeoutMs: 300 })).toBe(false);
      expect(await isImportLockHeld(api.ds, id)).toBe(true);
      await a.release(id);
      expect(await b.acquire(id, { timeoutMs: 0 })).toBe(true);
      await b.close();
      // A closed session holds nothing: this is how a killed process lets go.
      expect(await isImportLockHeld(api.ds, id)).toBe(false);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("stops a transfer running in another process when the import is cancelled", async () => {
    const repo = "queue/cancelled";
    const sha = (await hub.fileInfo(repo, "main", "model.safetensors")).sha256;
    const held = hub.hold({ origin: "cdn", match: (r) => r.url.includes(sha), afterBytes: 10_000 });
    const revision = await scanModel(api, repo);
    await startImport(api, revision);
    const transfer = await held.reached;

    expect((await cancelImport(api, revision)).status).toBe("SCANNED");
    // The hold is never released: only the cancel can close the download.
    await waitFor("the held download to be closed", async () => transfer.status !== undefined, 10_000);
    await waitFor("no worker to run it", async () => workers.every((w) => !runningIn(w).includes(revision.id)));
    expect(await keysUnder(await defaultAdapter(api), `.staging/${revision.id}/`)).toEqual([]);
    expect((await revisionRow(api, revision.id)).status).toBe("SCANNED");
  });
});
