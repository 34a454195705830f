import { createServer, type Server } from "node:http";
import { startFakeHub, type FakeHub, type FakeModel } from "../support/fake-hub";
import { closeServer, listenOnLoopback } from "../support/loopback";
import { startTestKit, type TestKit } from "../support/testkit";
import { FAST_IMPORTS, scanModel, startImport, waitForStatus } from "../import/support";

/*
 * Server-side request forgery through registries: a registry URL, or a hub's redirect, that
 * names an internal address. Link-local and metadata addresses are refused always; loopback and
 * private networks when UPSTREAM_PRIVATE_NETWORKS denies them. What an internal service answers
 * never becomes a README or an error message a user can read.
 */

jest.setTimeout(60_000);

const SECRET = "internal-secret-b51c";
const MODELS: FakeModel[] = [
  {
    id: "acme/model",
    files: [
      { path: "README.md", content: "# A model\n" },
      { path: "config.json", content: "{}" },
      { path: "model.safetensors", content: { size: 20_000, seed: 1 }, lfs: true },
    ],
  },
];

const CREATE_HF = `mutation($i: CreateHuggingFaceRegistryInput!) { createHuggingfaceRegistry(input: $i) { huggingfaceRegistry { id url } } }`;
const UPDATE_HF = `mutation($i: UpdateHuggingFaceRegistryInput!) { updateHuggingfaceRegistry(input: $i) { huggingfaceRegistry { id url } } }`;
const CREATE_RSV = `mutation($i: CreateReservoirRegistryInput!) { createReservoirRegistry(input: $i) { reservoir { id endpoint } } }`;
const SCAN = `mutation($input: ScanArtifactsInput!) { scanArtifacts(input: $input) { artifacts { id } } }`;
const REVISION = `query($id: ID!) { artifactRevision(id: $id) { readme lastError status } }`;

/** An internal service that tells secrets: counts its connections, and refuses everything with them (a 403, so nothing retries). */
async function startTrap(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((_req, res) => {
    res.writeHead(403, { "content-type": "text/plain", "x-error-message": SECRET });
    res.end(`${SECRET}\nroot:x:0:0`);
  });
  server.on("connection", () => connections++);
  const url = await listenOnLoopback(server);
  return { url, connections: () => connections, close: () => closeServer(server) };
}

let seq = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;

describe("with private networks allowed (the default)", () => {
  let hub: FakeHub;
  let kit: TestKit;
  let trap: Awaited<ReturnType<typeof startTrap>>;

  beforeAll(async () => {
    hub = await startFakeHub(MODELS);
    trap = await startTrap();
    kit = await startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS, IMPORT_MAX_ATTEMPTS: "2" });
  });
  afterAll(async () => {
    await kit?.close();
    await hub?.stop();
    await trap?.close();
  });
  beforeEach(() => hub.clearFaults());

  it("refuses registry URLs that name a link-local or metadata address, in any spelling", async () => {
    for (const url of ["http://169.254.169.254/", "http://[fe80::1]/", "http://0xa9fea9fe/", "http://2852039166/", "http://[::ffff:169.254.169.254]/", "http://100.100.100.200/"]) {
      const error = await kit.as("superadmin").refuses(CREATE_HF, { i: { name: unique("hf"), url } }, "BAD_USER_INPUT");
      expect(error.message).toMatch(/url names an address upstream connections may not go to: refusing to connect to .*link-local or cloud metadata/);
    }
    const endpoint = await kit.as("superadmin").refuses(CREATE_RSV, {
      i: { name: unique("rsv"), endpoint: "http://169.254.169.254/graphql", accessKey: "AK", secretKey: "secret-0123456789", apiVersion: "v1" },
    }, "BAD_USER_INPUT");
    expect(endpoint.message).toMatch(/^endpoint names an address/);
  });

  it("refuses registry URLs that are not http(s)", async () => {
    for (const url of ["ftp://hub.example.com/", "file:///etc/passwd", "gopher://127.0.0.1:5432/"]) {
      await kit.as("superadmin").refuses(CREATE_HF, { i: { name: unique("hf"), url } }, "BAD_USER_INPUT");
    }
  });

  it("accepts a loopback mirror, however its address is spelled", async () => {
    for (const url of ["http://2130706433:8080/", "http://[::1]:8080/", "http://0x7f.1:8080/"]) {
      const data = await kit.as("superadmin").ok(CREATE_HF, { i: { name: unique("hf"), url } });
      expect(data.createHuggingfaceRegistry.huggingfaceRegistry.url).toBe(url);
    }
  });

  it("keeps a README the hub redirects elsewhere out of the revision, and says why", async () => {
    hub.inject({ match: "/acme/model/resolve/", redirect: "http://169.254.169.254/latest/meta-data/", times: Infinity, origin: "hub" });
    const revision = await scanModel(kit, "acme/model");

    const { artifactRevision } = await kit.as("user").ok(REVISION, { id: revision.globalId });
    expect(artifactRevision.readme).toBeNull();
    expect(artifactRevision.lastError).toMatch(/Could not read the README of acme\/model@.*: redirect to another origin \(http:\/\/169\.254\.169\.254\)/);
  });

  it("fails an import at once whose file the hub redirects to the metadata address", async () => {
    const revision = await scanModel(kit, "acme/model");
    hub.inject({ match: "/acme/model/resolve/", redirect: "http://169.254.169.254/latest/meta-data/iam/security-credentials/", times: Infinity, origin: "hub" });
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["FAILED", "AVAILABLE"]);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toMatch(/refusing to connect to 169\.254\.169\.254: it is a link-local or cloud metadata address/);
    // Refused, not retried: one attempt, and no "gave up after" retries.
    expect(row.last_error).not.toMatch(/gave up after/);
  });

  it("never repeats what an internal service answered a redirected download", async () => {
    const revision = await scanModel(kit, "acme/model");
    hub.inject({ match: "/acme/model/resolve/", redirect: `${trap.url}/file`, times: Infinity, origin: "hub" });
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["FAILED", "AVAILABLE"]);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toMatch(/server at http:\/\/127\.0\.0\.1:\d+ \(where the hub redirected\) answered 403$/);
    expect(row.last_error).not.toContain(SECRET);
    expect(row.last_error).not.toContain("root:x");
  });
});

describe("with UPSTREAM_PRIVATE_NETWORKS denying all but the hub's own address", () => {
  let hub: FakeHub;
  let kit: TestKit;
  let trap: Awaited<ReturnType<typeof startTrap>>;

  beforeAll(async () => {
    // The hub on 127.0.0.2, allowed by name; everything else on loopback (the trap on 127.0.0.1) is refused.
    hub = await startFakeHub(MODELS, { host: "127.0.0.2" });
    trap = await startTrap();
    kit = await startTestKit({ HF_ENDPOINT: hub.url, UPSTREAM_PRIVATE_NETWORKS: "127.0.0.2/32", ...FAST_IMPORTS });
  });
  afterAll(async () => {
    await kit?.close();
    await hub?.stop();
    await trap?.close();
  });
  beforeEach(() => hub.clearFaults());

  it("refuses registry URLs on loopback and private networks, in any spelling", async () => {
    for (const url of ["http://127.0.0.1:5432/", "http://2130706433/", "http://0x7f.1/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://10.0.0.1/", "http://[fd00::1]/"]) {
      const error = await kit.as("superadmin").refuses(CREATE_HF, { i: { name: unique("hf"), url } }, "BAD_USER_INPUT");
      expect(error.message).toMatch(/UPSTREAM_PRIVATE_NETWORKS does not allow it/);
    }
    const created = await kit.as("superadmin").ok(CREATE_HF, { i: { name: unique("hf"), url: "https://hub.example.com" } });
    await kit.as("superadmin").refuses(UPDATE_HF, { i: { id: created.createHuggingfaceRegistry.huggingfaceRegistry.id, url: "http://127.0.0.1:5432/" } }, "BAD_USER_INPUT");
  });

  it("refuses a name that resolves to loopback when it scans, without connecting", async () => {
    const port = new URL(trap.url).port;
    const created = await kit.as("superadmin").ok(CREATE_HF, { i: { name: unique("hf"), url: `http://localhost:${port}` } });
    const registryId = created.createHuggingfaceRegistry.huggingfaceRegistry.id;

    const error = await kit.as("superadmin").fails(SCAN, { input: { registryId, limit: 1 } }, "UPSTREAM_ERROR");
    expect(error.message).toMatch(/refusing to connect to localhost \((127\.0\.0\.1|::1)\): it is loopback, and UPSTREAM_PRIVATE_NETWORKS does not allow it/);
    expect(trap.connections()).toBe(0);
  });

  it("scans and imports from the allowed hub, and refuses its redirect to another loopback port before connecting", async () => {
    const revision = await scanModel(kit, "acme/model");
    const sha = (await hub.fileInfo("acme/model", "main", "model.safetensors")).sha256;
    hub.inject({ match: (r) => r.url.includes("model.safetensors"), redirect: `${trap.url}/repos/${sha}`, times: Infinity, origin: "hub" });
    await startImport(kit, revision);

    const row = await waitForStatus(kit, revision.id, ["FAILED", "AVAILABLE"]);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toMatch(/refusing to connect to 127\.0\.0\.1: it is loopback, and UPSTREAM_PRIVATE_NETWORKS does not allow it/);
    expect(trap.connections()).toBe(0);

    // Without the redirect the same hub serves the import.
    hub.clearFaults();
    await startImport(kit, revision);
    expect((await waitForStatus(kit, revision.id, ["FAILED", "AVAILABLE"])).status).toBe("AVAILABLE");
  });
});
