import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Seed } from "../support/seed";
import { describeChange, errorNulledItsField, startTestKit, type TestKit } from "../support/testkit";

/* The testkit's refusal checks must be able to fail, or every test built on them proves nothing. */

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit({ IMPORT_WORKER: "false" });
});
afterAll(() => kit?.close());

const CLEANUP = `mutation($ids: [ID!]!) { cleanupArtifactRevisions(input: { artifactRevisionIds: $ids }) { artifactRevisions { count } } }`;

async function revisions(...statuses: string[]) {
  const seed = new Seed(kit.ds);
  const artifact = await seed.artifact((await seed.registry()).id);
  return Promise.all(statuses.map((status, i) => seed.revision(artifact.id, { version: `v${i}`, status })));
}

describe("refuses()", () => {
  it("passes when the refused operation changed nothing", async () => {
    const [scanned] = await revisions("SCANNED");
    await kit.as("admin").refuses(CLEANUP, { ids: [scanned.globalId] }, "CONFLICT");
  });

  it("fails, naming the changed rows, when an operation answers the error but changed something", async () => {
    // One item of the batch is refused, the other is cleaned up: the error alone would pass fails().
    const [scanned, available] = await revisions("SCANNED", "AVAILABLE");
    const refusal = kit.as("admin").refuses(CLEANUP, { ids: [scanned.globalId, available.globalId] }, "CONFLICT");
    await expect(refusal).rejects.toThrow(/change nothing[\s\S]*table artifact_revisions:\n {2}- .*"AVAILABLE"[\s\S]*\n {2}\+ .*"SCANNED"/);
  });

  it("fails when a file under the data directory changed", async () => {
    const [scanned] = await revisions("SCANNED");
    const before = await kit.snapshot();
    await writeFile(path.join(kit.dataDir, "appeared.bin"), "x");
    expect(describeChange(before, await kit.snapshot())).toMatch(/^folder .*:\n {2}\+ appeared\.bin 1 /);
    await kit.as("admin").refuses(CLEANUP, { ids: [scanned.globalId] }, "CONFLICT");
  });
});

describe("fails()", () => {
  it.each<[string, unknown, Parameters<typeof errorNulledItsField>[1], boolean]>([
    ["no data, no path", undefined, {}, true],
    ["data, no path", { a: 1 }, {}, false],
    ["the root field null", { a: null }, { path: ["a"] }, true],
    ["the root field with data", { a: { id: 1 } }, { path: ["a"] }, false],
    ["an ancestor null", { a: null }, { path: ["a", "b", 0] }, true],
    ["the nested field with data", { a: { b: [{ id: 1 }] } }, { path: ["a", "b", 0] }, false],
    ["a batch item's error beside the others' data", { a: { count: 1 } }, { path: ["a"], extensions: { inputPath: ["input", "ids", 0] } }, true],
  ])("with %s, the failed field counts as null: %s", (_what, data, error, nulled) => {
    expect(errorNulledItsField(data, error)).toBe(nulled);
  });
});
