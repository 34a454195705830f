import { toGlobalId } from "../../src/common/relay";
import { startFakeHub, type FakeHub, type FakeModel } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";

const TOKEN = "hf_accepted_token_0123456789";

const MODELS: FakeModel[] = [
  {
    id: "acme/llama-mini", author: "acme", downloads: 900, likes: 12, tags: ["text-generation", "license:apache-2.0"],
    pipeline_tag: "text-generation", library_name: "transformers",
    refs: {
      branches: {
        main: { files: [
          { path: "README.md", content: "# Llama mini\nA small model." },
          { path: "config.json", content: '{"hidden": 8}' },
          { path: "model.safetensors", content: { size: 300_000, seed: 1 }, lfs: true },
        ] },
      },
      tags: { "v1.0": "main" },
    },
  },
  { id: "acme/no-readme", downloads: 500, files: [{ path: "weights.bin", content: { size: 1000, seed: 2 }, lfs: true }] },
  {
    id: "acme/gated-model", downloads: 400, gated: "manual",
    files: [{ path: "README.md", content: "terms" }, { path: "model.safetensors", content: { size: 100, seed: 3 }, lfs: true }],
  },
  {
    id: "evil/traversal", downloads: 300,
    files: [
      { path: "ok.txt", content: "fine" },
      { path: "../escape.txt", content: "bad" },
      { path: "/etc/passwd", content: "bad" },
      { path: "a\u0000b", content: "bad" },
      { path: "README.md", content: "x".repeat(3 * 1024 * 1024) },
    ],
  },
  { id: "other/unrelated", downloads: 10, files: [{ path: "a.txt", content: "a" }] },
];

let hub: FakeHub;
let kit: TestKit;

beforeAll(async () => {
  hub = await startFakeHub(MODELS, { pageSize: 2, treePageSize: 2, strictGating: true, acceptedTokens: [TOKEN] });
  kit = await startTestKit({ HF_ENDPOINT: hub.url });
});
afterAll(async () => {
  await kit?.close();
  await hub?.stop();
});

const SCAN = `mutation($input: ScanArtifactsInput!) { scanArtifacts(input: $input) { artifacts { id name type source { name url } registry { name url } extra } } }`;
const REVISIONS = `query($id: ID!) { artifact(id: $id) { name revisions(first: 10, orderBy: [{ field: VERSION, direction: ASC }]) { count edges { node {
  id version status size readme digest latestUpstreamDigest lastError files(first: 20) { count edges { node { path size sha256 } } } } } } } }`;

async function scan(input: Record<string, unknown>) {
  const data = await kit.as("superadmin").ok(SCAN, { input });
  await kit.booted.services.scans.idle();
  return data.scanArtifacts.artifacts as any[];
}

async function revisionsOf(artifactId: string) {
  const data = await kit.as("admin").ok(REVISIONS, { id: artifactId });
  return data.artifact.revisions.edges.map((e: any) => e.node);
}

describe("scanning a Hugging Face hub", () => {
  it("creates an artifact per model with its metadata, and a revision per branch and tag with the ref's commit", async () => {
    const artifacts = await scan({ limit: 1, search: "llama" });
    expect(artifacts).toHaveLength(1);
    const [llama] = artifacts;
    expect(llama).toMatchObject({
      name: "acme/llama-mini", type: "MODEL",
      source: { name: "huggingface", url: hub.url }, registry: { name: "huggingface", url: hub.url },
      extra: expect.objectContaining({ downloads: 900, likes: 12, pipelineTag: "text-generation", libraryName: "transformers", license: "apache-2.0", gated: false, private: false }),
    });
    const revisions = await revisionsOf(llama.id);
    const main = hub.resolveRevision("acme/llama-mini", "main");
    expect(revisions.map((r: any) => [r.version, r.status, r.latestUpstreamDigest, r.digest])).toEqual([
      ["main", "SCANNED", main, null],
      ["v1.0", "SCANNED", main, null],
    ]);
  });

  it("fetches README, manifest with sizes and LFS SHA-256, and total size in the background", async () => {
    const [llama] = await scan({ limit: 1, search: "llama" });
    const [main] = await revisionsOf(llama.id);
    const weights = await hub.fileInfo("acme/llama-mini", "main", "model.safetensors");
    expect(main.readme).toBe("# Llama mini\nA small model.");
    expect(main.files.count).toBe(3);
    expect(main.files.edges.map((e: any) => e.node)).toEqual([
      { path: "README.md", size: String("# Llama mini\nA small model.".length), sha256: null },
      { path: "config.json", size: "13", sha256: null },
      { path: "model.safetensors", size: "300000", sha256: weights.sha256 },
    ]);
    expect(main.size).toBe(String(300_000 + 13 + "# Llama mini\nA small model.".length));
    expect(main.lastError).toBeNull();
  });

  it("follows the hub's Link paging and stops at the limit", async () => {
    hub.clearRequests();
    const artifacts = await scan({ limit: 3 });
    expect(artifacts.map((a) => a.name)).toEqual(["acme/llama-mini", "acme/no-readme", "acme/gated-model"]);
    const listCalls = hub.requests.filter((r) => r.url.startsWith("/api/models?"));
    expect(listCalls.length).toBe(2);
  });

  it("gives a revision without a README its size and manifest", async () => {
    const [model] = await scan({ limit: 1, search: "no-readme" });
    const [main] = await revisionsOf(model.id);
    expect(main).toMatchObject({ readme: null, size: "1000", lastError: null, files: { count: 1 } });
  });

  it("is idempotent: a rescan adds no artifacts, revisions or files", async () => {
    await scan({ limit: 5 });
    const count = async () => (await kit.ds.query(`SELECT (SELECT count(*) FROM artifacts)::int a, (SELECT count(*) FROM artifact_revisions)::int r, (SELECT count(*) FROM artifact_revision_files)::int f`))[0];
    const before = await count();
    await scan({ limit: 5 });
    expect(await count()).toEqual(before);
  });

  it("keeps an AVAILABLE revision's files and digest when the upstream commit moves, and shows the new commit", async () => {
    const [llama] = await scan({ limit: 1, search: "llama" });
    const [main] = await revisionsOf(llama.id);
    const oldCommit = main.latestUpstreamDigest;
    const uuid = Buffer.from(main.id, "base64").toString().split(":")[1];
    await kit.ds.query(`UPDATE artifact_revisions SET status = 'AVAILABLE', digest = latest_upstream_digest WHERE id = $1`, [uuid]);
    const newCommit = hub.setFiles("acme/llama-mini", "main", [{ path: "README.md", content: "# v2" }, { path: "new.bin", content: "new" }]);
    try {
      await scan({ limit: 1, search: "llama" });
      const [after] = await revisionsOf(llama.id);
      expect(after).toMatchObject({ status: "AVAILABLE", digest: oldCommit, latestUpstreamDigest: newCommit, files: { count: 3 } });
      expect(after.files.edges.map((e: any) => e.node.path)).toContain("model.safetensors");
    } finally {
      await kit.ds.query(`UPDATE artifact_revisions SET status = 'SCANNED', digest = NULL WHERE id = $1`, [uuid]);
      hub.moveBranch("acme/llama-mini", "main", oldCommit);
      await scan({ limit: 1, search: "llama" });
    }
  });

  it("records a gated model with what is visible and keeps the refusal in lastError, never in the README", async () => {
    const [gated] = await scan({ limit: 1, search: "gated" });
    expect(gated.extra.gated).toBe("manual");
    const [main] = await revisionsOf(gated.id);
    expect(main.readme).toBeNull();
    expect(main.lastError).toMatch(/GatedRepo/);
    expect(main.files.count).toBe(0);
  });

  it("skips hostile paths, cuts a giant README, and stores nothing outside the manifest", async () => {
    const [evil] = await scan({ limit: 1, search: "traversal" });
    const [main] = await revisionsOf(evil.id);
    expect(main.files.edges.map((e: any) => e.node.path).sort()).toEqual(["README.md", "ok.txt"]);
    expect(main.lastError).toMatch(/Skipped 3 file\(s\) with unsafe paths/);
    expect(main.readme.length).toBe(1024 * 1024);
  });

  it("retries a 429 with Retry-After and succeeds", async () => {
    const fault = hub.inject({ match: "/api/models?", status: 429, headers: { "Retry-After": "1" }, times: 1 });
    const artifacts = await scan({ limit: 1, search: "llama" });
    expect(fault.hits).toBe(1);
    expect(artifacts.map((a) => a.name)).toEqual(["acme/llama-mini"]);
  });

  it("fails with UPSTREAM_ERROR naming the model when the hub keeps failing", async () => {
    hub.inject({ match: "/api/models/acme/llama-mini/refs", status: 503, times: Infinity });
    try {
      const error = await kit.as("superadmin").fails(SCAN, { input: { limit: 1, search: "llama" } }, "UPSTREAM_ERROR");
      expect(error.message).toContain("acme/llama-mini");
    } finally {
      hub.clearFaults();
    }
  });

  it("refuses a limit over 500, a type other than MODEL, and an unknown registry", async () => {
    await kit.as("superadmin").fails(SCAN, { input: { limit: 501 } }, "BAD_USER_INPUT");
    const { defaultArtifactRegistry } = await kit.as("superadmin").ok(`{ defaultArtifactRegistry(artifactType: MODEL) { registryId } }`);
    await kit.as("superadmin").fails(SCAN, { input: { limit: 1, artifactType: "IMAGE", registryId: defaultArtifactRegistry.registryId } }, "BAD_USER_INPUT");
    await kit.as("superadmin").fails(SCAN, { input: { limit: 1, artifactType: "IMAGE" } }, "NOT_FOUND");
    await kit.as("superadmin").fails(SCAN, { input: { limit: 1, registryId: toGlobalId("HuggingFaceRegistry", "00000000-0000-4000-8000-000000000000") } }, "NOT_FOUND");
  });

  it("never sends the token to the CDN", async () => {
    const su = kit.as("superadmin");
    const data = await su.ok(`{ defaultArtifactRegistry(artifactType: MODEL) { registryId } }`);
    const registryId = data.defaultArtifactRegistry.registryId;
    await su.ok(`mutation($i: UpdateHuggingFaceRegistryInput!) { updateHuggingfaceRegistry(input: $i) { huggingfaceRegistry { id } } }`, { i: { id: registryId, token: TOKEN } });
    try {
      hub.clearRequests();
      await scan({ limit: 1, search: "gated" });
      const hubCalls = hub.requests.filter((r) => r.origin === "hub");
      expect(hubCalls.length).toBeGreaterThan(0);
      expect(hubCalls.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
      expect(hub.requests.filter((r) => r.origin === "cdn").every((r) => r.headers.authorization === undefined)).toBe(true);
      const [gated] = await scan({ limit: 1, search: "gated" });
      const [main] = await revisionsOf(gated.id);
      expect(main).toMatchObject({ readme: "terms", lastError: null, files: { count: 2 } });
    } finally {
      await su.ok(`mutation($i: UpdateHuggingFaceRegistryInput!) { updateHuggingfaceRegistry(input: $i) { huggingfaceRegistry { id } } }`, { i: { id: registryId, token: "" } });
    }
  });
});

describe("scanArtifactModels, the web UI's targeted scan", () => {
  const WEBUI = `mutation ScanArtifactModelsFromHuggingFaceMutation($input: ScanArtifactModelsInput!) {
    scanArtifactModels(input: $input) { artifactRevision { count edges { node { id artifact { id } } } } } }`;

  it("runs unchanged and returns the revisions with their details already fetched", async () => {
    const data = await kit.as("superadmin").ok(WEBUI, { input: { models: [{ modelId: "acme/llama-mini" }, { modelId: "acme/llama-mini", revision: "v1.0" }] } });
    expect(data.scanArtifactModels.artifactRevision.count).toBe(2);
    const ids = data.scanArtifactModels.artifactRevision.edges.map((e: any) => e.node.id);
    const detail = await kit.as("admin").ok(`query($a: ID!, $b: ID!) { a: artifactRevision(id: $a) { version size } b: artifactRevision(id: $b) { version size } }`, { a: ids[0], b: ids[1] });
    expect(detail).toEqual({ a: { version: "main", size: "300040" }, b: { version: "v1.0", size: "300040" } });
  });

  it("reports an unknown model or revision as an error for that item while the others succeed", async () => {
    const response = await kit.as("superadmin").execute(WEBUI, { input: { models: [
      { modelId: "acme/llama-mini" }, { modelId: "acme/does-not-exist" }, { modelId: "acme/llama-mini", revision: "no-such-branch" },
    ] } });
    expect(response.data?.scanArtifactModels.artifactRevision.count).toBe(1);
    expect(response.errors?.map((e) => [e.extensions?.code, e.extensions?.inputPath, e.path])).toEqual([
      ["NOT_FOUND", ["input", "models", 1], ["scanArtifactModels"]],
      ["NOT_FOUND", ["input", "models", 2], ["scanArtifactModels"]],
    ]);
    expect(response.errors?.[0].message).toContain("acme/does-not-exist");
  });
});

