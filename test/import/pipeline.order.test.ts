import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";
import { FAST_IMPORTS, scanModel, startImport, waitForStatus } from "./support";

/*
 * The order an import fetches files in. With one slot, smallest first, so that the configs,
 * tokenizer and model card are in before the weights start; with more, half the slots take the
 * largest files (lanes.test.ts). One file at a time here, so the hub sees the order the import chose.
 */

const REPO = "acme/ordered";
const FILES = [
  { path: "a-weights.safetensors", content: { size: 3 * 1024 * 1024, seed: 1 }, lfs: true },
  { path: "b-tokenizer.json", content: { size: 40_000, seed: 2 } },
  { path: "c-config.json", content: '{"hidden": 8}' },
  { path: "d-adapter.safetensors", content: { size: 1024 * 1024, seed: 3 }, lfs: true },
  { path: "e-README.md", content: "# Ordered\n\nA model card of a few hundred bytes. ".repeat(5) },
];

let hub: FakeHub;
let kit: TestKit;

beforeAll(async () => {
  hub = await startFakeHub([{ id: REPO, files: FILES }]);
  kit = await startTestKit({ HF_ENDPOINT: hub.url, IMPORT_FILE_CONCURRENCY: "1", ...FAST_IMPORTS });
});
afterAll(async () => {
  await kit?.close();
  await hub?.stop();
});

it("fetches the files of a revision smallest first", async () => {
  const revision = await scanModel(kit, REPO);
  hub.clearRequests();
  await startImport(kit, revision);
  await waitForStatus(kit, revision.id, ["AVAILABLE"]);

  const fetched = hub.requests
    .filter((r) => r.origin === "hub" && r.url.includes("/resolve/"))
    .map((r) => decodeURIComponent(r.url.slice(r.url.lastIndexOf("/") + 1)));
  expect(fetched).toEqual(["c-config.json", "e-README.md", "b-tokenizer.json", "d-adapter.safetensors", "a-weights.safetensors"]);
});
