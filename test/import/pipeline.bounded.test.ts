import { startFakeHub, type FakeHub, type FakeModel } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";
import { FAST_IMPORTS, scanModel, startImport, waitFor, waitForStatus } from "./support";

/*
 * A hostile or broken hub cannot hold the import slots: a body that drips a few bytes at a time
 * is dropped as a stall and asked for again, a file that keeps breaking after a little progress
 * gets a bounded number of reconnects, and the attempt then fails with a lastError that says so.
 * The windows are small here so the tests stay fast; the defaults are in docs/configuration.md.
 */

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
const model = (id: string, seed: number): FakeModel => ({
  id,
  files: [
    { path: "config.json", content: { size: 50_000, repeat: `{"model": "${id}"} ` } },
    // Large enough that a drip of a few bytes would take hours to finish it.
    { path: "model.safetensors", content: { size: MiB, seed }, lfs: true },
  ],
});

let hub: FakeHub;
let kit: TestKit;

const BOUNDS = {
  IMPORT_STALL_WINDOW_SECONDS: "0.5",
  IMPORT_STALL_MIN_BYTES: "20000",
  IMPORT_MAX_RECONNECTS_PER_FILE: "2",
  IMPORT_MAX_ATTEMPTS: "1",
  IMPORT_CONCURRENCY: "2",
};

beforeAll(async () => {
  hub = await startFakeHub([model("bounded/drip", 1), model("bounded/short", 2), model("bounded/drip-a", 3), model("bounded/drip-b", 4), model("bounded/genuine", 5)]);
  kit = await startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS, ...BOUNDS });
});
afterAll(async () => {
  await kit?.close();
  await hub?.stop();
});
afterEach(() => hub.clearFaults());

const weightsSha = (repo: string) => hub.fileInfo(repo, "main", "model.safetensors").then((i) => i.sha256);
const cdnRequestsFor = (sha: string) => hub.requests.filter((r) => r.origin === "cdn" && r.url.includes(sha));

/** Every body of the repo's weights drips 10 bytes every 20 ms: about 500 bytes a second, for ever. */
async function drip(repo: string): Promise<string> {
  const sha = await weightsSha(repo);
  hub.inject({ origin: "cdn", match: (r) => r.url.includes(sha), drip: { bytes: 10, everyMs: 20 }, times: Infinity });
  return sha;
}

describe("bounded imports", () => {
  it("drops a dripping transfer as a stall, asks again a bounded number of times, then fails naming the stall", async () => {
    const repo = "bounded/drip";
    const sha = await drip(repo);
    const revision = await scanModel(kit, repo);
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["FAILED", "AVAILABLE"]);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toMatch(/^Could not fetch model\.safetensors: gave up on model\.safetensors after 2 reconnect\(s\) \(IMPORT_MAX_RECONNECTS_PER_FILE=2\); the last break: the transfer stalled: \d+ byte\(s\) in 0\.5 s, fewer than 20000/);
    // The first request and two reconnects, each resuming where the drip had got to.
    const requests = cdnRequestsFor(sha);
    expect(requests).toHaveLength(3);
    expect(requests[0].headers.range).toBeUndefined();
    expect(requests.slice(1).every((r) => /^bytes=[1-9]\d*-$/.test(String(r.headers.range)))).toBe(true);
  });

  it("caps the reconnects of a file whose every response is short, though each one makes progress", async () => {
    const repo = "bounded/short";
    // A small (non-LFS) file: each answer is a clean response of 100 bytes whose Content-Length agrees with itself.
    hub.inject({ origin: "hub", match: `/${repo}/resolve/`, shortBody: 100, times: Infinity });
    const revision = await scanModel(kit, repo);
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["FAILED", "AVAILABLE"]);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toMatch(/^Could not fetch config\.json: gave up on config\.json after 2 reconnect\(s\) \(IMPORT_MAX_RECONNECTS_PER_FILE=2\); the last break: config\.json ended after 300 of 50000 bytes/);
    expect(hub.requests.filter((r) => r.url.startsWith(`/${repo}/resolve/main/config.json`) || r.url.includes("config.json") && r.url.includes(repo))).toHaveLength(3);
  });

  it("lets a genuine import through while two dripping ones hold both slots: the stalled ones give their slots up", async () => {
    const drips = await Promise.all(["bounded/drip-a", "bounded/drip-b"].map(async (repo) => ({ repo, sha: await drip(repo), revision: await scanModel(kit, repo) })));
    for (const { revision } of drips) await startImport(kit, revision);
    // Both slots taken: each dripping body is being read.
    await waitFor("both dripping transfers to be under way", async () => drips.every(({ sha }) => cdnRequestsFor(sha).length > 0));

    const genuine = await scanModel(kit, "bounded/genuine");
    await startImport(kit, genuine);

    expect((await waitForStatus(kit, genuine.id, ["FAILED", "AVAILABLE"])).status).toBe("AVAILABLE");
    for (const { revision } of drips) {
      const row = await waitForStatus(kit, revision.id, ["FAILED", "AVAILABLE"]);
      expect(row).toMatchObject({ status: "FAILED", last_error: expect.stringMatching(/the transfer stalled/) });
    }
  });
});
