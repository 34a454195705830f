import { compareRevisionKeys } from "../../src/revision/lifecycle";
import { RevisionDetailsWriter } from "../../src/scan/catalog";
import { startFakeHub, type FakeHub, type FakeModel } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";

/*
 * A scan stores its models in one transaction of multi-row statements, and writes the details
 * of many revisions per transaction. Each model and each revision still fares on its own: one
 * the hub refuses, or one whose README the database refuses, does not take the others along.
 */

jest.setTimeout(60_000);

const files = (readme: string) => [{ path: "README.md", content: readme }, { path: "config.json", content: "{}" }];
const MODELS: FakeModel[] = [
  ...Array.from({ length: 12 }, (_, i) => ({ id: `batch/model-${String(i).padStart(2, "0")}`, downloads: 100 - i, files: files(`# model ${i}`) })),
  { id: "batch/refused", downloads: 50, files: files("# refused") },
  { id: "batch/nul-readme", downloads: 40, files: files("before\u0000after") },
  {
    id: "batch/twin-refs", downloads: 30,
    refs: { branches: { main: { files: files("# main") }, v1: { files: files("# branch v1") } }, tags: { v1: "main" } },
  },
];

let hub: FakeHub;
let kit: TestKit;

beforeAll(async () => {
  hub = await startFakeHub(MODELS, { pageSize: 5, treePageSize: 10 });
  kit = await startTestKit({ HF_ENDPOINT: hub.url, SCAN_DETAIL_CONCURRENCY: "8" });
});
afterAll(async () => {
  await kit?.close();
  await hub?.stop();
});
afterEach(() => hub.clearFaults());

const SCAN = `mutation($input: ScanArtifactsInput!) { scanArtifacts(input: $input) { artifacts { name } } }`;

async function scan(search: string, limit = 50): Promise<string[]> {
  const data = await kit.as("superadmin").ok(SCAN, { input: { limit, search } });
  await kit.booted.services.scans.idle();
  return data.scanArtifacts.artifacts.map((a: { name: string }) => a.name);
}

async function revisions(name: string) {
  return kit.ds.query(
    `SELECT r.version, r.readme, r.size::text AS size, r.last_error, r.latest_upstream_digest, (SELECT count(*)::int FROM artifact_revision_files f WHERE f.revision_id = r.id) AS files
       FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE a.name = $1 ORDER BY r.version`,
    [name],
  );
}

describe("a scan of many models", () => {
  it("returns them in the hub's order and fills every README and manifest", async () => {
    const names = await scan("batch/model-");
    expect(names).toEqual(MODELS.slice(0, 12).map((m) => m.id));
    for (const [i, name] of names.entries()) {
      expect(await revisions(name)).toEqual([{ version: "main", readme: `# model ${i}`, size: String(`# model ${i}`.length + 2), last_error: null, latest_upstream_digest: hub.resolveRevision(name, "main"), files: 2 }]);
    }
    const history = await kit.ds.query(
      `SELECT count(*)::int AS n FROM artifact_revision_status_history h JOIN artifact_revisions r ON r.id = h.revision_id JOIN artifacts a ON a.id = r.artifact_id
        WHERE a.name LIKE 'batch/model-%' AND h.from_status IS NULL AND h.to_status = 'SCANNED'`,
    );
    expect(history).toEqual([{ n: 12 }]);
  });

  it("keeps a model whose refs the hub refuses, with the refusal in lastError, and stores the others", async () => {
    hub.inject({ match: "/api/models/batch/refused/refs", status: 403, times: Infinity });
    const names = await scan("batch/");
    expect(names).toContain("batch/refused");
    expect(names).toContain("batch/model-00");
    const [main] = await revisions("batch/refused");
    expect(main).toMatchObject({ version: "main", readme: null, size: null, files: 0, latest_upstream_digest: hub.resolveRevision("batch/refused", "main") });
    expect(main.last_error).toMatch(/403/);
  });

  it("fails only the revision whose README the database refuses, and writes the others of its batch", async () => {
    await scan("batch/");
    expect(await revisions("batch/nul-readme")).toEqual([expect.objectContaining({ readme: null, size: null, files: 0 })]);
    expect(await revisions("batch/model-11")).toEqual([expect.objectContaining({ readme: "# model 11", files: 2 })]);

    // The first write commits alone; the two sent while it runs share the next transaction.
    const ids = async (name: string) => (await kit.ds.query(`SELECT r.id FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE a.name = $1`, [name]))[0].id as string;
    const [first, bad, good] = await Promise.all(["batch/model-00", "batch/nul-readme", "batch/model-01"].map(ids));
    const writer = new RevisionDetailsWriter(kit.ds);
    const details = (readme: string) => ({ commit: null, readme, files: [{ path: "README.md", size: "1", sha256: null, upstreamOid: null }], lastError: null });
    const results = await Promise.allSettled([writer.write(first, details("# first")), writer.write(bad, details("a\u0000b")), writer.write(good, details("# good"))]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((await revisions("batch/model-01"))[0]).toMatchObject({ readme: "# good", files: 1 });
    expect((await revisions("batch/nul-readme"))[0]).toMatchObject({ readme: null, files: 0 });
  });

  it("stores a branch and a tag of the same name once, at the tag's commit, as one-by-one upserts did", async () => {
    await scan("batch/twin-refs");
    const rows = await revisions("batch/twin-refs");
    expect(rows.map((r: { version: string; latest_upstream_digest: string }) => [r.version, r.latest_upstream_digest])).toEqual([
      ["main", hub.resolveRevision("batch/twin-refs", "main")],
      ["v1", hub.resolveRevision("batch/twin-refs", "refs/tags/v1")],
    ]);
  });

  it("records a rescan's new commit and writes the details again", async () => {
    await scan("batch/model-03");
    const moved = hub.setFiles("batch/model-03", "main", files("# moved"));
    await scan("batch/model-03");
    expect(await revisions("batch/model-03")).toEqual([expect.objectContaining({ readme: "# moved", latest_upstream_digest: moved, files: 2 })]);
  });

  it("converges when two scans of the same models run at once", async () => {
    const [a, b] = await Promise.all([
      kit.as("superadmin").ok(SCAN, { input: { limit: 50, search: "batch/model-" } }),
      kit.as("superadmin").ok(SCAN, { input: { limit: 50, search: "batch/model-" } }),
    ]);
    await kit.booted.services.scans.idle();
    expect(a.scanArtifacts.artifacts).toEqual(b.scanArtifacts.artifacts);
    const [{ artifacts, revisions: count }] = await kit.ds.query(
      `SELECT count(DISTINCT a.id)::int AS artifacts, count(r.id)::int AS revisions FROM artifacts a JOIN artifact_revisions r ON r.artifact_id = a.id WHERE a.name LIKE 'batch/model-%'`,
    );
    expect({ artifacts, count }).toEqual({ artifacts: 12, count: 12 });
  });

  it("locks revisions in the order PostgreSQL sorts them, so a rescan and a batch of details cannot deadlock", async () => {
    const ids = ["0f000000-0000-4000-8000-000000000000", "a0000000-0000-4000-8000-000000000000"];
    const versions = ["main", "Main", "v1.0", "v1.0-\u00e9", "v1.0-z", "\u00fc", "z", "\u65e5\u672c", "\u{1F600}", "\uE000"];
    const keys = ids.flatMap((artifactId) => versions.map((version) => ({ artifactId, version })));
    const sorted: Array<{ a: string; v: string }> = await kit.ds.query(
      `SELECT a, v FROM unnest($1::uuid[], $2::text[]) AS k(a, v) ORDER BY a, v COLLATE "C"`,
      [keys.map((k) => k.artifactId), keys.map((k) => k.version)],
    );
    expect([...keys].reverse().sort(compareRevisionKeys)).toEqual(sorted.map((row) => ({ artifactId: row.a, version: row.v })));
  });
});
