import { startFakeHub, type FakeHub, type FakeModel } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";
import { FAST_IMPORTS, scanModel, startImport, waitForStatus } from "../import/support";

/*
 * A hub cannot keep a scan running, or fill the catalogue: every scan request has a deadline
 * (SCAN_REQUEST_TIMEOUT_SECONDS), so does listing a revision's files for an import, and a
 * revision's manifest is capped in files (SCAN_MAX_FILES) and pages (SCAN_MAX_TREE_PAGES).
 */

jest.setTimeout(60_000);

const files = (count: number) => Array.from({ length: count }, (_, i) => ({ path: `shard-${String(i).padStart(3, "0")}.txt`, content: `shard ${i}` }));
const MODELS: FakeModel[] = [
  { id: "acme/slow", files: [{ path: "config.json", content: "{}" }] },
  { id: "acme/quick", files: [{ path: "config.json", content: "{}" }] },
  { id: "acme/many-files", files: files(12) },
  { id: "acme/many-pages", files: [...files(8), { path: "dir/a.txt", content: "a" }, { path: "dir/b.txt", content: "b" }] },
  { id: "acme/slow-tree", files: [{ path: "config.json", content: "{}" }] },
  { id: "acme/slow-details", files: [{ path: "config.json", content: "{}" }] },
];

let hub: FakeHub;
let kit: TestKit;

beforeAll(async () => {
  // Tree pages of 2 entries: 10 files and a directory take 6 pages.
  hub = await startFakeHub(MODELS, { treePageSize: 2 });
  kit = await startTestKit({
    HF_ENDPOINT: hub.url,
    ...FAST_IMPORTS,
    SCAN_REQUEST_TIMEOUT_SECONDS: "1",
    SCAN_MAX_FILES: "10",
    SCAN_MAX_TREE_PAGES: "5",
    IMPORT_MAX_ATTEMPTS: "1",
  });
});
afterAll(async () => {
  await kit?.close();
  await hub?.stop();
});
afterEach(() => hub.clearFaults());

const SCAN_MODELS = `mutation($input: ScanArtifactModelsInput!) { scanArtifactModels(input: $input) { artifactRevision { edges { node { id version } } } } }`;
const SCAN = `mutation($input: ScanArtifactsInput!) { scanArtifacts(input: $input) { artifacts { id } } }`;
const REVISION = `query($id: ID!) { artifactRevision(id: $id) { lastError size files(first: 20) { count } } }`;

/** Drips the answers to requests starting with `prefix` a byte every 50 ms: never a timeout, never an end. */
const drip = (prefix: string) => hub.inject({ origin: "hub", match: prefix, drip: { bytes: 1, everyMs: 50 }, times: Infinity });

describe("bounded scans", () => {
  it("answers a targeted scan whose model info drips with an item error naming the deadline, and scans the others", async () => {
    drip("/api/models/acme/slow/revision/main");

    const response = await kit.as("superadmin").execute(SCAN_MODELS, { input: { models: [{ modelId: "acme/slow", revision: "main" }, { modelId: "acme/quick", revision: "main" }] } });

    expect(response.data?.scanArtifactModels.artifactRevision.edges).toHaveLength(1);
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]).toMatchObject({
      message: expect.stringMatching(/^The scan did not finish within 1 s \(SCAN_REQUEST_TIMEOUT_SECONDS\)$/),
      extensions: { code: "UPSTREAM_ERROR", modelId: "acme/slow", inputPath: ["input", "models", 0] },
    });
  });

  it("answers a scan whose model list drips with UPSTREAM_ERROR naming the deadline", async () => {
    drip("/api/models?");

    const error = await kit.as("superadmin").fails(SCAN, { input: { limit: 5 } }, "UPSTREAM_ERROR");

    expect(error.message).toMatch(/The scan did not finish within 1 s \(SCAN_REQUEST_TIMEOUT_SECONDS\)/);
  });

  it("stores no manifest for a revision with more files than SCAN_MAX_FILES, and says why", async () => {
    // Larger pages, so the files run out before the pages do.
    hub.setOptions({ treePageSize: 4 });
    const revision = await scanModel(kit, "acme/many-files").finally(() => hub.setOptions({ treePageSize: 2 }));

    const { artifactRevision } = await kit.as("admin").ok(REVISION, { id: revision.globalId });
    expect(artifactRevision.lastError).toMatch(/the tree of acme\/many-files@\w+ lists more than 10 files \(SCAN_MAX_FILES\)/);
    expect(artifactRevision.files.count).toBe(0);
  });

  it("stores no manifest for a tree that goes on past SCAN_MAX_TREE_PAGES, and says why", async () => {
    const revision = await scanModel(kit, "acme/many-pages");

    const { artifactRevision } = await kit.as("admin").ok(REVISION, { id: revision.globalId });
    expect(artifactRevision.lastError).toMatch(/the hub's listing goes on past 5 pages \(SCAN_MAX_TREE_PAGES\)/);
    expect(artifactRevision.files.count).toBe(0);
  });

  it("gives up an import whose file listing drips, within the deadline, naming it", async () => {
    const revision = await scanModel(kit, "acme/slow-tree");
    drip("/api/models/acme/slow-tree/tree/");
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["FAILED", "AVAILABLE"]);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toMatch(/Listing the files of acme\/slow-tree@\w+ did not finish within 1 s \(SCAN_REQUEST_TIMEOUT_SECONDS\)/);
  });

  it("keeps in lastError that a revision's details did not come within the deadline, written before the scans are idle", async () => {
    drip("/api/models/acme/slow-details/tree/");
    await kit.as("superadmin").ok(SCAN, { input: { limit: 5, search: "acme/slow-details" } });

    // The deadline frees the job's slot before its write: idle() (what shutdown waits for) still waits for the write.
    await kit.booted.services.scans.idle();
    const [row] = await kit.ds.query(`SELECT r.last_error FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE a.name = 'acme/slow-details'`);
    expect(row?.last_error).toMatch(/^Could not read acme\/slow-details@\w+: .*did not finish within 1 s \(SCAN_REQUEST_TIMEOUT_SECONDS\)/);
  });
});
