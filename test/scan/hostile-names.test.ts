import { existsSync } from "node:fs";
import path from "node:path";
import { toGlobalId } from "../../src/common/relay";
import type { FilesystemStorageAdapter } from "../../src/storage/fs.adapter";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { Seed } from "../support/seed";
import { describeChange } from "../support/snapshot";
import { startTestKit, type TestKit } from "../support/testkit";
import { defaultAdapter, FAST_IMPORTS, startImport, waitForStatus } from "../import/support";
import { createReservoir, issueKeypair } from "../reservoir/support";

/*
 * Names from upstream become the folders of every storage key, `{name}/{version}/`. A scan
 * refuses what could not be one (a model `../../../../tmp/x`, a version `../..`): an item error
 * for scanArtifactModels, skipped for a listing, from a hub and from a Reservoir peer alike. A
 * revision stored with such a name before these checks fails its import at once, never retried.
 */

jest.setTimeout(60_000);

const files = [{ path: "config.json", content: "{}" }];
const HOSTILE_ID = "../../../../tmp/x";

let hub: FakeHub;
let kit: TestKit;
let remote: TestKit;

beforeAll(async () => {
  hub = await startFakeHub([
    { id: "ok/model", refs: { branches: { main: { files }, "../..": { files }, "feature/x": { files } }, tags: { v1: "main", "%2e%2e": "main" } } },
    { id: HOSTILE_ID, files },
    { id: "evil/default-branch", refs: { branches: { "..": { files } } }, defaultBranch: ".." },
    { id: "org/evil--twin", files, renamedFrom: ["org/twin"] },
  ]);
  [kit, remote] = await Promise.all([startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS }), startTestKit()]);
});
afterAll(async () => {
  await Promise.all([kit?.close(), remote?.close()]);
  await hub?.stop();
});

const SCAN = `mutation($input: ScanArtifactsInput!) { scanArtifacts(input: $input) { artifacts { name } } }`;
const SCAN_MODELS = `mutation($input: ScanArtifactModelsInput!) { scanArtifactModels(input: $input) { artifactRevision { edges { node { version artifact { name } } } } } }`;

async function storedNames(registryName?: string): Promise<string[]> {
  const rows: Array<{ name: string; version: string | null }> = await kit.ds.query(
    `SELECT a.name, r.version FROM artifacts a JOIN artifact_registries g ON g.id = a.registry_id LEFT JOIN artifact_revisions r ON r.artifact_id = a.id
      WHERE $1::text IS NULL OR g.name = $1 ORDER BY 1, 2`,
    [registryName ?? null],
  );
  return rows.map((r) => `${r.name}@${r.version ?? "(none)"}`);
}

describe("a Hugging Face scan", () => {
  it("lists only models and versions that can be storage folders, and skips the rest", async () => {
    const data = await kit.as("superadmin").ok(SCAN, { input: { limit: 50 } });
    expect(data.scanArtifacts.artifacts.map((a: { name: string }) => a.name).sort()).toEqual(["evil/default-branch", "ok/model"]);
    await kit.booted.services.scans.idle();
    // The default branch `..` of the one model was its only ref: the model is kept, without a revision.
    expect(await storedNames()).toEqual(["evil/default-branch@(none)", "ok/model@main", "ok/model@v1"]);
  });

  it.each([
    ["a model id out of the store", { modelId: HOSTILE_ID }, "BAD_USER_INPUT"],
    ["a version '../..'", { modelId: "ok/model", revision: "../.." }, "BAD_USER_INPUT"],
    ["a branch with a '/'", { modelId: "ok/model", revision: "feature/x" }, "BAD_USER_INPUT"],
    ["an encoded '..' tag", { modelId: "ok/model", revision: "%2e%2e" }, "BAD_USER_INPUT"],
    ["a default branch '..' the hub answers", { modelId: "evil/default-branch" }, "UPSTREAM_ERROR"],
    ["a renamed repo's new id the hub answers", { modelId: "org/twin" }, "UPSTREAM_ERROR"],
  ])("refuses %s as an error for its item, storing nothing", async (_what, model, code) => {
    const error = await kit.as("superadmin").refuses(SCAN_MODELS, { input: { models: [model] } }, code);
    expect(error.extensions).toMatchObject({ inputPath: ["input", "models", 0], modelId: model.modelId });
  });

  it("scans the other items of the same request", async () => {
    const { data, errors } = await kit.as("superadmin").execute(SCAN_MODELS, { input: { models: [{ modelId: HOSTILE_ID }, { modelId: "ok/model", revision: "v1" }] } });
    expect(errors?.map((e) => [e.extensions?.code, e.extensions?.inputPath])).toEqual([["BAD_USER_INPUT", ["input", "models", 0]]]);
    expect(data.scanArtifactModels.artifactRevision.edges).toEqual([{ node: { version: "v1", artifact: { name: "ok/model" } } }]);
  });
});

describe("an import of a revision stored with such a name before these checks", () => {
  it.each([
    ["an artifact name", HOSTILE_ID, "main"],
    ["a version", "ok/stored-before", "../.."],
  ])("fails for good on its first attempt when %s cannot be a storage folder, writing nothing", async (_what, name, version) => {
    const seed = new Seed(kit.ds);
    const [{ id: registryId }] = await kit.ds.query(`SELECT id FROM artifact_registries WHERE type = 'HUGGINGFACE' ORDER BY created_at LIMIT 1`);
    const artifact = await seed.artifact(registryId, { name });
    const revision = await seed.revision(artifact.id, { version, status: "SCANNED", latestUpstreamDigest: "a".repeat(40) });
    const base = ((await defaultAdapter(kit)) as FilesystemStorageAdapter).basePath;
    const before = await kit.snapshot({ tables: [] });
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["FAILED", "AVAILABLE"]);
    expect(row.last_error).toMatch(/cannot be stored: its name or version is not a safe storage folder \(invalid storage key .*'\.\.' segment\); it is never retried/);
    const history = await kit.ds.query(`SELECT from_status, to_status FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [revision.id]);
    expect(history).toEqual([{ from_status: "SCANNED", to_status: "PULLING" }, { from_status: "PULLING", to_status: "FAILED" }]);
    // Nothing in the data directory, and nothing where the name would lead out of it.
    expect(describeChange(before, await kit.snapshot({ tables: [] }))).toBeNull();
    expect(existsSync(path.resolve(base, HOSTILE_ID))).toBe(false);
    expect(hub.requests.filter((r) => r.url.includes("stored-before") || r.url.includes("tmp"))).toEqual([]);
  });
});

describe("a Reservoir scan", () => {
  it("mirrors only the remote's names and versions that can be storage folders", async () => {
    const seed = new Seed(remote.ds);
    const registry = await seed.registry({ name: "hf-on-remote" });
    const fine = await seed.artifact(registry.id, { name: "org/fine" });
    await seed.revisions(fine.id, [{ version: "main" }, { version: "../.." }, { version: "refs/pr/1" }, { version: ".." }]);
    const hostile = await seed.artifact(registry.id, { name: HOSTILE_ID });
    await seed.revision(hostile.id, { version: "main" });

    const reservoir = await createReservoir(kit, remote.url, await issueKeypair(remote), "remote-peer");
    const data = await kit.as("superadmin").ok(SCAN, { input: { limit: 50, registryId: toGlobalId("ReservoirRegistry", reservoir.id) } });
    expect(data.scanArtifacts.artifacts).toEqual([{ name: "org/fine" }]);
    expect(await storedNames("remote-peer")).toEqual(["org/fine@main"]);
  });
});
