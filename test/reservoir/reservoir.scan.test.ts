import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ReservoirRegistryRecord } from "../../src/registry/registry.records";
import type { ReservoirScanner } from "../../src/scan/reservoir.scanner";
import { startFakeHub } from "../support/fake-hub";
import { Seed, uniqueName, type SeededRegistry } from "../support/seed";
import { startTestKit, type TestKit } from "../support/testkit";
import { createReservoir, issueKeypair, revokeKeypair, scannerOn, type IssuedKeypair } from "./support";

/*
 * Two instances on one PostgreSQL server: A is the remote, seeded directly; B mirrors it through
 * a Reservoir registry that holds a key pair A issued.
 */

let a: TestKit;
let b: TestKit;
let hfOnA: SeededRegistry;
let keypair: IssuedKeypair;
let reservoir: ReservoirRegistryRecord;
let scanner: ReservoirScanner;

const sha = (n: number) => n.toString(16).padStart(64, "0");
const MODEL_SHA = "ab".repeat(32);
const HUB = "https://huggingface.co";

beforeAll(async () => {
  [a, b] = await Promise.all([startTestKit(), startTestKit()]);
  const seed = new Seed(a.ds);
  hfOnA = await seed.registry({ name: uniqueName("hf-on-a"), type: "HUGGINGFACE", url: HUB });

  const alpha = await seed.artifact(hfOnA.id, {
    name: "org/alpha", description: "The alpha model", sourceName: "huggingface", sourceUrl: HUB,
    extra: { pipelineTag: "text-generation", license: "mit", tags: ["llm", "en"] },
  });
  const [alphaMain] = await seed.revisions(alpha.id, [
    { version: "main", status: "AVAILABLE", digest: "c0ffee01", latestUpstreamDigest: "c0ffee02", readme: "# Alpha\n", size: 3007 },
  ]);
  await seed.files(alphaMain.id, [
    { path: "README.md", size: 7, sha256: null },
    { path: "weights/model.safetensors", size: 3000, sha256: MODEL_SHA },
  ]);
  await seed.revision(alpha.id, { version: "v1.0", status: "FAILED", latestUpstreamDigest: "bad00001", lastError: "import failed" });
  await seed.revision(alpha.id, { version: "dev", status: "SCANNED", latestUpstreamDigest: "dev00001" });

  const beta = await seed.artifact(hfOnA.id, { name: "org/beta", sourceName: "huggingface", sourceUrl: HUB });
  await seed.revision(beta.id, { version: "main", status: "REJECTED", latestUpstreamDigest: "beta0001" });
  await seed.revision(beta.id, { version: "next", status: "PULLING", latestUpstreamDigest: "beta0002" });

  const gone = await seed.artifact(hfOnA.id, { name: "org/gone", availability: "DELETED", sourceName: "huggingface", sourceUrl: HUB });
  await seed.revision(gone.id, { version: "main" });

  await seed.artifact(hfOnA.id, { name: "pkg/tool", type: "PACKAGE", sourceName: "pypi", sourceUrl: "https://pypi.org" });

  // More revisions and files than one page of each, to make the scan page.
  const many = await seed.artifact(hfOnA.id, { name: "org/many", sourceName: "huggingface", sourceUrl: HUB });
  const revisions = await seed.revisions(many.id, Array.from({ length: 105 }, (_, i) => ({ version: `r${String(i).padStart(3, "0")}`, latestUpstreamDigest: `m${i}` })));
  await seed.files(revisions[0].id, Array.from({ length: 520 }, (_, i) => ({ path: `shards/${String(i).padStart(4, "0")}.bin`, size: i + 1, sha256: sha(i) })));
  await a.ds.query(`UPDATE artifact_revisions SET size = (SELECT sum(size) FROM artifact_revision_files WHERE revision_id = $1) WHERE id = $1`, [revisions[0].id]);

  keypair = await issueKeypair(a, "SUPERADMIN");
  reservoir = await createReservoir(b, a.url, keypair, uniqueName("reservoir-a"));
  // Two artifacts per listing page: the seeded five take three pages.
  scanner = scannerOn(b, { artifactPageSize: 2 });
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

const ARTIFACTS_ON_B = `query($filter: ArtifactFilter) {
  artifacts(filter: $filter, first: 50, orderBy: [{ field: NAME, direction: ASC }]) {
    count
    edges { node {
      name type description extra availability
      source { name url }
      registry { name url }
      revisions(first: 10, orderBy: [{ field: VERSION, direction: ASC }]) {
        count edges { node { version status remoteStatus digest latestUpstreamDigest readme size } }
      }
    } }
  }
}`;

const FILES_ON_B = `query($id: ID!) { artifactRevision(id: $id) { size files(first: 500) { count edges { node { path size sha256 } } } } }`;

async function artifactsOnB() {
  const data = await b.as("admin").ok(ARTIFACTS_ON_B, { filter: { registry: { equals: reservoir.name } } });
  return data.artifacts.edges.map((e: any) => e.node);
}

async function revisionOnB(name: string, version: string): Promise<{ id: string; status: string; remote_status: string | null; readme: string | null; size: string | null; last_error: string | null }> {
  const [row] = await b.ds.query(
    `SELECT r.* FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE a.registry_id = $1 AND a.name = $2 AND r.version = $3`,
    [reservoir.id, name, version],
  );
  return row;
}

async function snapshotOfB() {
  const [counts] = await b.ds.query(
    `SELECT
       (SELECT count(*)::int FROM artifacts WHERE registry_id = $1) AS artifacts,
       (SELECT count(*)::int FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE a.registry_id = $1) AS revisions,
       (SELECT count(*)::int FROM artifact_revision_files f JOIN artifact_revisions r ON r.id = f.revision_id JOIN artifacts a ON a.id = r.artifact_id WHERE a.registry_id = $1) AS files,
       (SELECT count(*)::int FROM artifact_revision_status_history h JOIN artifact_revisions r ON r.id = h.revision_id JOIN artifacts a ON a.id = r.artifact_id WHERE a.registry_id = $1) AS history`,
    [reservoir.id],
  );
  const ids = await b.ds.query(
    `SELECT a.id AS artifact, r.id AS revision FROM artifacts a JOIN artifact_revisions r ON r.artifact_id = a.id WHERE a.registry_id = $1 ORDER BY r.id`,
    [reservoir.id],
  );
  return { counts, ids };
}

describe("scanning a Reservoir registry", () => {
  it("mirrors the remote's ALIVE artifacts with this registry as registry and the remote's source", async () => {
    const scanned = await scanner.scan(reservoir, { limit: 100 });
    expect(scanned.map((artifact) => artifact.name)).toEqual(["org/alpha", "org/beta", "org/many", "pkg/tool"]);
    expect(scanned.every((artifact) => artifact.registryId === reservoir.id)).toBe(true);

    const artifacts = await artifactsOnB();
    expect(artifacts.map((artifact: any) => artifact.name)).toEqual(["org/alpha", "org/beta", "org/many", "pkg/tool"]);
    for (const artifact of artifacts) expect(artifact.registry).toEqual({ name: reservoir.name, url: `${a.url}/graphql` });
    const alpha = artifacts.find((artifact: any) => artifact.name === "org/alpha");
    expect(alpha).toMatchObject({
      type: "MODEL",
      description: "The alpha model",
      availability: "ALIVE",
      source: { name: "huggingface", url: HUB },
      extra: { pipelineTag: "text-generation", license: "mit", tags: ["llm", "en"] },
    });
    expect(artifacts.find((artifact: any) => artifact.name === "pkg/tool")).toMatchObject({ type: "PACKAGE", source: { name: "pypi", url: "https://pypi.org" } });
  });

  it("creates revisions SCANNED, with remoteStatus and latestUpstreamDigest following the remote", async () => {
    const artifacts = await artifactsOnB();
    const revisions = (name: string) => artifacts.find((artifact: any) => artifact.name === name).revisions.edges.map((e: any) => e.node);
    expect(revisions("org/alpha")).toEqual([
      // The remote holds the files of c0ffee01; its newer upstream commit is its own business.
      { version: "dev", status: "SCANNED", remoteStatus: "SCANNED", digest: null, latestUpstreamDigest: "dev00001", readme: null, size: null },
      { version: "main", status: "SCANNED", remoteStatus: "AVAILABLE", digest: null, latestUpstreamDigest: "c0ffee01", readme: "# Alpha\n", size: "3007" },
      { version: "v1.0", status: "SCANNED", remoteStatus: "FAILED", digest: null, latestUpstreamDigest: "bad00001", readme: null, size: null },
    ]);
    expect(revisions("org/beta")).toEqual([
      expect.objectContaining({ version: "main", status: "SCANNED", remoteStatus: "FAILED", latestUpstreamDigest: "beta0001" }),
      expect.objectContaining({ version: "next", status: "SCANNED", remoteStatus: "SCANNED", latestUpstreamDigest: "beta0002" }),
    ]);
    const [history] = await b.ds.query(`SELECT actor, from_status, to_status, reason FROM artifact_revision_status_history WHERE revision_id = $1`, [(await revisionOnB("org/alpha", "main")).id]);
    expect(history).toEqual({ actor: "system", from_status: null, to_status: "SCANNED", reason: `discovered by a scan of ${reservoir.name}` });
  });

  it("copies each revision's README, size and file manifest with SHA-256", async () => {
    const main = await revisionOnB("org/alpha", "main");
    const { artifactRevision } = await b.as("user").ok(FILES_ON_B, { id: main.id });
    expect(artifactRevision.size).toBe("3007");
    expect(artifactRevision.files.edges.map((e: any) => e.node)).toEqual([
      { path: "README.md", size: "7", sha256: null },
      { path: "weights/model.safetensors", size: "3000", sha256: MODEL_SHA },
    ]);
    // A revision the remote has no details for yet has none here either, rather than an empty manifest of size 0.
    const dev = await revisionOnB("org/alpha", "dev");
    expect((await b.as("user").ok(FILES_ON_B, { id: dev.id })).artifactRevision).toEqual({ size: null, files: { count: 0, edges: [] } });
  });

  it("pages through more revisions and files than one page holds", async () => {
    const [{ n }] = await b.ds.query(`SELECT count(*)::int AS n FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE a.registry_id = $1 AND a.name = 'org/many'`, [reservoir.id]);
    expect(n).toBe(105);
    const first = await revisionOnB("org/many", "r000");
    const files = await b.ds.query(`SELECT path, size, sha256 FROM artifact_revision_files WHERE revision_id = $1 ORDER BY path`, [first.id]);
    expect(files).toHaveLength(520);
    expect(files[519]).toEqual({ path: "shards/0519.bin", size: "520", sha256: sha(519) });
    expect(first.size).toBe(String((520 * 521) / 2));
  });

  it("is idempotent: a rescan creates no duplicates and keeps every id", async () => {
    const before = await snapshotOfB();
    await scanner.scan(reservoir, { limit: 100 });
    expect(await snapshotOfB()).toEqual(before);
  });

  it("follows the remote's changes on a rescan but never overwrites a local status", async () => {
    const beta = await revisionOnB("org/beta", "main");
    await b.ds.query(`UPDATE artifact_revisions SET status = 'PULLING' WHERE id = $1`, [beta.id]);
    await a.ds.query(
      `UPDATE artifact_revisions r SET status = 'AVAILABLE', digest = 'beta0003', readme = 'now available'
       FROM artifacts a WHERE a.id = r.artifact_id AND a.registry_id = $1 AND a.name = 'org/beta' AND r.version = 'next'`,
      [hfOnA.id],
    );
    await scanner.scan(reservoir, { limit: 100 });
    expect(await revisionOnB("org/beta", "main")).toMatchObject({ status: "PULLING", remote_status: "FAILED" });
    expect(await revisionOnB("org/beta", "next")).toMatchObject({ status: "SCANNED", remote_status: "AVAILABLE", latest_upstream_digest: "beta0003", readme: "now available" });
  });

  it("scans at most `limit` artifacts, of the requested type, whose names contain `search`", async () => {
    expect((await scanner.scan(reservoir, { limit: 1 })).map((artifact) => artifact.name)).toEqual(["org/alpha"]);
    expect((await scanner.scan(reservoir, { limit: 10, artifactType: "PACKAGE" as never })).map((artifact) => artifact.name)).toEqual(["pkg/tool"]);
    expect((await scanner.scan(reservoir, { limit: 10, search: "ALPH" })).map((artifact) => artifact.name)).toEqual(["org/alpha"]);
    // The default page (20 artifacts with 100 revisions each) stays within the remote's query cost limit.
    expect((await scannerOn(b).scan(reservoir, { limit: 500 })).map((artifact) => artifact.name)).toEqual(["org/alpha", "org/beta", "org/many", "pkg/tool"]);
  });
});

describe("refused and unreachable remotes", () => {
  const expectUpstreamError = async (promise: Promise<unknown>, reason: string, message: RegExp) => {
    const error = await promise.then(() => null, (e: unknown) => e as { message: string; extensions: Record<string, unknown> });
    expect(error).not.toBeNull();
    expect(error!.extensions).toMatchObject({ code: "UPSTREAM_ERROR", reason });
    expect(error!.message).toMatch(message);
    return error!;
  };

  it("reports an unknown access key as the remote refusing the key pair", async () => {
    const registry = await createReservoir(b, a.url, { accessKey: "AKUNKNOWNUNKNOWNUNKN", secretKey: "s".repeat(40) });
    const error = await expectUpstreamError(scanner.scan(registry, { limit: 5 }), "refused", /refused the key pair/);
    expect(error.message).toContain(registry.name);
    expect(error.message).toMatch(/unknown or revoked access key/);
    expect(error.extensions.remoteCode).toBe("UNAUTHENTICATED");
  });

  it("reports a revoked key pair as refused", async () => {
    const revocable = await issueKeypair(a, "USER");
    const registry = await createReservoir(b, a.url, revocable);
    expect(await scanner.scan(registry, { limit: 1 })).toHaveLength(1);
    await revokeKeypair(a, revocable);
    await expectUpstreamError(scanner.scan(registry, { limit: 1 }), "refused", /refused the key pair.*unknown or revoked/);
  });

  it("reports a wrong secret key as refused", async () => {
    const registry = await createReservoir(b, a.url, { accessKey: keypair.accessKey, secretKey: "not-the-secret-key-of-this-key-pair-0000" });
    await expectUpstreamError(scanner.scan(registry, { limit: 1 }), "refused", /refused the key pair.*invalid signature/);
  });

  it("reports an endpoint nobody listens on, after bounded retries", async () => {
    // Port 9 (discard), which the other tests use as unreachable too: nothing here ever listens on it.
    const registry = await createReservoir(b, "http://127.0.0.1:9", keypair);
    await expectUpstreamError(scanner.scan(registry, { limit: 1 }), "network", /cannot reach the remote.*after 2 attempts/);
  });
});

describe("a remote that answers badly", () => {
  const page = (edges: unknown[]) => ({ pageInfo: { hasNextPage: false, endCursor: null }, edges: edges.map((node) => ({ node })) });
  const rev = (id: string, version: string) => ({ id, version, status: "AVAILABLE", remoteStatus: null, digest: `d-${id}`, latestUpstreamDigest: null, size: "3" });
  const answers: Record<string, (variables: any) => unknown> = {
    ReservoirArtifacts: () => ({
      artifacts: page([
        {
          id: "x1", name: "evil/model", type: "MODEL", description: "nul\u0000inside", availability: "ALIVE", extra: { ok: true },
          source: { name: "huggingface", url: HUB }, registry: { name: "hf", url: HUB },
          revisions: page([rev("ok", "main"), rev("gone", "v2"), rev("bad", "bad\u0007version")]),
        },
        { id: "x2", name: "evil/dataset", type: "DATASET", description: null, availability: "ALIVE", extra: null, source: { name: null, url: null }, registry: { name: "hf", url: HUB }, revisions: page([]) },
      ]),
    }),
    ReservoirRevisionDetails: (variables) => ({
      artifactRevision: variables.id === "gone" ? null : {
        readme: "hello",
        files: page([{ path: "model.bin", size: "3", sha256: null }, { path: "../../etc/passwd", size: "1", sha256: null }]),
      },
    }),
  };

  it("keeps what it can, records why the rest is missing, and stores nothing unsafe", async () => {
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const { query, variables } = JSON.parse(Buffer.concat(chunks).toString());
      const operation = /(?:query|mutation) (\w+)/.exec(query)![1];
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ data: answers[operation](variables) }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const registry = await createReservoir(b, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, keypair);
      const scanned = await scanner.scan(registry, { limit: 10 });
      expect(scanned.map((artifact) => [artifact.name, artifact.description])).toEqual([["evil/model", "nulinside"]]);
      const revisions = await b.ds.query(
        `SELECT r.version, r.readme, r.size, r.last_error, (SELECT array_agg(path) FROM artifact_revision_files WHERE revision_id = r.id) AS paths
         FROM artifact_revisions r WHERE r.artifact_id = $1 ORDER BY r.version`,
        [scanned[0].id],
      );
      expect(revisions).toEqual([
        { version: "main", readme: "hello", size: "3", paths: ["model.bin"], last_error: expect.stringContaining("../../etc/passwd") },
        { version: "v2", readme: null, size: null, paths: null, last_error: expect.stringMatching(/Could not read evil\/model@v2 .*no longer has revision gone/) },
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("delegating a scan to the remote", () => {
  it("has the remote scan its Hugging Face registry, then mirrors what that scan found", async () => {
    const hub = await startFakeHub([
      { id: "acme/delegated", pipeline_tag: "text-generation", files: [{ path: "README.md", content: "# Delegated\n" }, { path: "model.bin", content: { size: 4096, seed: 1 }, lfs: true }] },
      { id: "acme/other", files: [{ path: "config.json", content: "{}" }] },
    ]);
    try {
      const { createHuggingfaceRegistry } = await a.as("superadmin").ok(
        `mutation($i: CreateHuggingFaceRegistryInput!) { createHuggingfaceRegistry(input: $i) { huggingfaceRegistry { id } } }`,
        { i: { name: uniqueName("hub-on-a"), url: hub.url } },
      );
      const scanned = await scanner.delegateScan(reservoir, createHuggingfaceRegistry.huggingfaceRegistry.id, { limit: 5, search: "delegated" });
      expect(scanned.map((artifact) => artifact.name)).toEqual(["acme/delegated"]);
      expect(scanned[0]).toMatchObject({ registryId: reservoir.id, sourceName: "huggingface", sourceUrl: hub.url });
      expect(scanned[0].extra).toMatchObject({ pipelineTag: "text-generation" });
      expect(await revisionOnB("acme/delegated", "main")).toMatchObject({ status: "SCANNED", latest_upstream_digest: hub.resolveRevision("acme/delegated", "main") });

      // A fetches READMEs and manifests in the background; once it has them, a rescan brings them here.
      await a.booted.services.scans.idle();
      await scanner.scan(reservoir, { limit: 5, search: "delegated" });
      const main = await revisionOnB("acme/delegated", "main");
      expect(main.readme).toBe("# Delegated\n");
      const files = await b.ds.query(`SELECT path, size, sha256 FROM artifact_revision_files WHERE revision_id = $1 ORDER BY path`, [main.id]);
      const lfs = await hub.fileInfo("acme/delegated", "main", "model.bin");
      expect(files).toEqual([
        { path: "README.md", size: "12", sha256: null },
        { path: "model.bin", size: "4096", sha256: lfs.sha256 },
      ]);
    } finally {
      await hub.stop();
    }
  });

  it("surfaces the remote's refusal to scan a registry it does not have", async () => {
    const target = randomUUID();
    const error = await scanner.delegateScan(reservoir, target, { limit: 5 }).then(() => null, (e: any) => e);
    expect(error?.extensions).toMatchObject({ code: "UPSTREAM_ERROR", reason: "remote", remoteCode: "NOT_FOUND" });
    expect(error.message).toContain(`could not scan its registry ${target}`);
    expect(error.message).toContain(reservoir.name);
  });

  it("surfaces a key pair whose role may not scan on the remote", async () => {
    const registry = await createReservoir(b, a.url, await issueKeypair(a, "USER"));
    const error = await scanner.delegateScan(registry, hfOnA.id, { limit: 5 }).then(() => null, (e: any) => e);
    expect(error?.extensions).toMatchObject({ code: "UPSTREAM_ERROR", reason: "forbidden", remoteCode: "FORBIDDEN" });
    expect(error.message).toMatch(/key pair may not do this/);
  });
});

describe("the scan mutations on a Reservoir registry", () => {
  it("scanArtifacts with a Reservoir registry mirrors the remote through GraphQL", async () => {
    const data = await b.as("superadmin").ok(
      `mutation($i: ScanArtifactsInput!) { scanArtifacts(input: $i) { artifacts { name registry { name url } source { name url } } } }`,
      { i: { registryId: reservoir.id, limit: 10, search: "alpha" } },
    );
    expect(data.scanArtifacts.artifacts).toEqual([
      { name: "org/alpha", registry: { name: reservoir.name, url: reservoir.endpoint }, source: { name: "huggingface", url: HUB } },
    ]);
  });

  it("delegateScanArtifacts asks the remote to scan one of its registries, then mirrors the result", async () => {
    const hub = await startFakeHub([{ id: "acme/via-graphql", files: [{ path: "config.json", content: "{}" }] }]);
    try {
      const { createHuggingfaceRegistry } = await a.as("superadmin").ok(
        `mutation($i: CreateHuggingFaceRegistryInput!) { createHuggingfaceRegistry(input: $i) { huggingfaceRegistry { id } } }`,
        { i: { name: uniqueName("hub-gql"), url: hub.url } },
      );
      const data = await b.as("superadmin").ok(
        `mutation($i: DelegateScanArtifactsInput!) { delegateScanArtifacts(input: $i) { artifacts { name registry { name } } } }`,
        { i: { delegateeTarget: { delegateeReservoirId: reservoir.id, targetRegistryId: createHuggingfaceRegistry.huggingfaceRegistry.id }, limit: 5 } },
      );
      expect(data.delegateScanArtifacts.artifacts).toEqual([{ name: "acme/via-graphql", registry: { name: reservoir.name } }]);
    } finally {
      await hub.stop();
    }
  });

  it("refuses delegation without a delegatee, and an unknown delegatee", async () => {
    const op = `mutation($i: DelegateScanArtifactsInput!) { delegateScanArtifacts(input: $i) { artifacts { name } } }`;
    await b.as("superadmin").fails(op, { i: { limit: 5 } }, "BAD_USER_INPUT");
    await b.as("superadmin").fails(op, { i: { limit: 5, delegateeTarget: { delegateeReservoirId: randomUUID(), targetRegistryId: randomUUID() } } }, "NOT_FOUND");
  });
});
