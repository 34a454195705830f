import { startTestKit, type TestKit } from "../support/testkit";
import { Seed, type SeededArtifact, type SeededRegistry } from "../support/seed";

let kit: TestKit;
let seed: Seed;
let registry: SeededRegistry;
beforeAll(async () => {
  kit = await startTestKit();
  seed = new Seed(kit.ds);
  registry = await seed.registry();
});
afterAll(() => kit?.close());

const REVISION = `query($id: ID!) {
  artifactRevision(id: $id) {
    id status remoteStatus version readme size createdAt updatedAt digest latestUpstreamDigest lastError
    verificationResult { verifiers { name result { success infectedCount scannedAt scanTime scannedCount metadata { entries { key value } } error } } }
    importProgress { totalFiles completedFiles totalBytes downloadedBytes bytesPerSecond startedAt updatedAt }
    artifact { id name }
  }
}`;

const LIST = `query($filter: ArtifactRevisionFilter, $orderBy: [ArtifactRevisionOrderBy!], $first: Int, $after: String, $last: Int, $before: String, $limit: Int, $offset: Int) {
  artifactRevisions(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before, limit: $limit, offset: $offset) {
    count
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { id version status size } }
  }
}`;

/** An artifact with five revisions that differ in every filterable and orderable column. */
async function fixture(): Promise<{ artifact: SeededArtifact; byVersion: Record<string, string> }> {
  const artifact = await seed.artifact(registry.id);
  const revisions = await seed.revisions(artifact.id, [
    { version: "1.0", status: "AVAILABLE", remoteStatus: "AVAILABLE", size: 100, createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-03-01T00:00:00Z" },
    { version: "1.1", status: "PULLING", remoteStatus: "SCANNED", size: 300, createdAt: "2026-01-02T00:00:00Z", updatedAt: "2026-03-01T00:00:00Z" },
    { version: "2.0", status: "FAILED", remoteStatus: null, size: null, createdAt: "2026-01-03T00:00:00Z", updatedAt: "2026-02-01T00:00:00Z" },
    { version: "main", status: "SCANNED", remoteStatus: "FAILED", size: "6000000000", createdAt: "2026-01-04T00:00:00Z", updatedAt: "2026-02-01T00:00:00Z" },
    { version: "dev", status: "PULLING", remoteStatus: "SCANNED", size: 200, createdAt: "2026-01-05T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z" },
  ]);
  return { artifact, byVersion: Object.fromEntries(revisions.map((r) => [r.version, r.globalId])) };
}

async function versions(artifact: SeededArtifact, args: Record<string, unknown>): Promise<string[]> {
  const filter = { artifactId: { equals: artifact.id }, AND: args.filter ? [args.filter] : [] };
  const { artifactRevisions } = await kit.as("admin").ok(LIST, { ...args, filter });
  expect(artifactRevisions.count).toBeGreaterThanOrEqual(artifactRevisions.edges.length);
  return artifactRevisions.edges.map((e: any) => e.node.version);
}

describe("artifact revisions", () => {
  it("returns every field of a revision, with sizes as decimal strings and import progress only once set", async () => {
    const artifact = await seed.artifact(registry.id, { name: "org/full" });
    const bare = await seed.revision(artifact.id, { version: "bare" });
    const full = await seed.revision(artifact.id, {
      version: "full", status: "VERIFYING", remoteStatus: "AVAILABLE", size: "4294967296", readme: "# Hi", digest: "abc123",
      latestUpstreamDigest: "def456", lastError: "timeout",
      verificationResult: { verifiers: [{ name: "clamav", result: {
        success: true, infectedCount: 0, scannedAt: "2026-01-01T00:00:00.000Z", scanTime: 1.5, scannedCount: 3,
        metadata: { entries: [{ key: "engine", value: "1.0" }] }, error: null,
      } }] },
      importProgress: { totalFiles: 3, completedFiles: 1, totalBytes: "4294967296", downloadedBytes: "1024", bytesPerSecond: 512.5,
        startedAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-01T00:01:00.000Z" },
    });
    const got = (await kit.as("user").ok(REVISION, { id: full.globalId })).artifactRevision;
    expect(got).toMatchObject({
      id: full.globalId, status: "VERIFYING", remoteStatus: "AVAILABLE", version: "full", readme: "# Hi", size: "4294967296",
      digest: "abc123", latestUpstreamDigest: "def456", lastError: "timeout", artifact: { id: artifact.globalId, name: "org/full" },
      verificationResult: { verifiers: [{ name: "clamav", result: {
        success: true, infectedCount: 0, scannedAt: "2026-01-01T00:00:00.000Z", scanTime: 1.5, scannedCount: 3,
        metadata: { entries: [{ key: "engine", value: "1.0" }] }, error: null,
      } }] },
      importProgress: { totalFiles: 3, completedFiles: 1, totalBytes: "4294967296", downloadedBytes: "1024", bytesPerSecond: 512.5,
        startedAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-01T00:01:00.000Z" },
    });
    expect(typeof got.createdAt).toBe("string");
    const empty = (await kit.as("user").ok(REVISION, { id: bare.id })).artifactRevision;
    expect(empty).toMatchObject({ status: "SCANNED", remoteStatus: null, size: null, importProgress: null, verificationResult: null });
  });

  it("filters by status, remote status, version, artifact and size", async () => {
    const { artifact } = await fixture();
    const sorted = async (filter: Record<string, unknown>) => (await versions(artifact, { filter })).sort();
    expect(await sorted({ status: { equals: "PULLING" } })).toEqual(["1.1", "dev"]);
    expect(await sorted({ status: { in: ["AVAILABLE", "FAILED"] } })).toEqual(["1.0", "2.0"]);
    expect(await sorted({ status: { in: ["PULLING", "FAILED"], equals: "FAILED" } })).toEqual(["2.0"]);
    expect(await sorted({ remoteStatus: { equals: "SCANNED" } })).toEqual(["1.1", "dev"]);
    expect(await sorted({ remoteStatus: { in: ["AVAILABLE", "FAILED"] } })).toEqual(["1.0", "main"]);
    expect(await sorted({ NOT: [{ remoteStatus: { in: ["SCANNED"] } }] })).toEqual(["1.0", "2.0", "main"]);
    expect(await sorted({ version: { startsWith: "1." } })).toEqual(["1.0", "1.1"]);
    expect(await sorted({ version: { iIn: ["MAIN", "DEV"] } })).toEqual(["dev", "main"]);
    expect(await sorted({ size: { greaterThan: 100, lessThanOrEqual: 300 } })).toEqual(["1.1", "dev"]);
    expect(await sorted({ size: { greaterThanOrEqual: 2_000_000_000 } })).toEqual(["main"]);
    expect(await sorted({ size: { notEquals: 100 } })).toEqual(["1.1", "2.0", "dev", "main"]);
    expect(await sorted({ size: { lessThan: 150 } })).toEqual(["1.0"]);
    expect(await sorted({ OR: [{ size: { equals: 200 } }, { version: { equals: "2.0" } }] })).toEqual(["2.0", "dev"]);
    expect(await sorted({ artifactId: { notIn: [artifact.id] } })).toEqual([]);
    expect(await sorted({ artifactId: { notEquals: artifact.id } })).toEqual([]);
  });

  it("orders by each field, newest first by default, and pages both ways", async () => {
    const { artifact } = await fixture();
    expect(await versions(artifact, {})).toEqual(["dev", "main", "2.0", "1.1", "1.0"]);
    expect(await versions(artifact, { orderBy: [{ field: "VERSION" }] })).toEqual(["1.0", "1.1", "2.0", "dev", "main"]);
    expect(await versions(artifact, { orderBy: [{ field: "SIZE", direction: "DESC" }] })).toEqual(["main", "1.1", "dev", "1.0", "2.0"]);
    expect(await versions(artifact, { orderBy: [{ field: "STATUS" }, { field: "VERSION", direction: "DESC" }] }))
      .toEqual(["1.0", "2.0", "dev", "1.1", "main"]);
    const byUpdated = [{ field: "UPDATED_AT", direction: "DESC" }, { field: "CREATED_AT", direction: "ASC" }];
    expect(await versions(artifact, { orderBy: byUpdated })).toEqual(["1.0", "1.1", "2.0", "main", "dev"]);
    const page1 = await kit.as("admin").ok(LIST, { filter: { artifactId: { equals: artifact.id } }, orderBy: byUpdated, first: 2 });
    const page2 = await kit.as("admin").ok(LIST, { filter: { artifactId: { equals: artifact.id } }, orderBy: byUpdated, first: 2, after: page1.artifactRevisions.pageInfo.endCursor });
    expect(page2.artifactRevisions.edges.map((e: any) => e.node.version)).toEqual(["2.0", "main"]);
    const back = await kit.as("admin").ok(LIST, { filter: { artifactId: { equals: artifact.id } }, orderBy: byUpdated, last: 2, before: page2.artifactRevisions.pageInfo.startCursor });
    expect(back.artifactRevisions.edges.map((e: any) => e.node.version)).toEqual(["1.0", "1.1"]);
    expect(back.artifactRevisions.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    expect(await versions(artifact, { orderBy: byUpdated, limit: 2, offset: 3 })).toEqual(["main", "dev"]);
  });

  it("Artifact.revisions filters, orders, pages and counts within its artifact", async () => {
    const { artifact } = await fixture();
    const query = `query($id: ID!) { artifact(id: $id) {
      pulling: revisions(filter: { status: { equals: PULLING } }, orderBy: [{ field: VERSION, direction: DESC }]) { count edges { node { version } } }
      latest: revisions(limit: 1, orderBy: [{ field: VERSION, direction: DESC }, { field: UPDATED_AT, direction: DESC }]) { count edges { node { version } } }
      page: revisions(offset: 1, limit: 2, orderBy: [{ field: VERSION }]) { count pageInfo { hasNextPage hasPreviousPage } edges { node { version } } }
    } }`;
    const { artifact: got } = await kit.as("user").ok(query, { id: artifact.globalId });
    expect(got.pulling).toEqual({ count: 2, edges: [{ node: { version: "dev" } }, { node: { version: "1.1" } }] });
    expect(got.latest).toEqual({ count: 5, edges: [{ node: { version: "main" } }] });
    expect(got.page).toEqual({ count: 5, pageInfo: { hasNextPage: true, hasPreviousPage: true }, edges: [{ node: { version: "1.1" } }, { node: { version: "2.0" } }] });
    await kit.as("user").fails(`query($id: ID!) { artifact(id: $id) { revisions(first: 1, limit: 1) { count } } }`, { id: artifact.id }, "BAD_USER_INPUT");
  });

  it("lists a revision's files by path with cursor paging, a count, and no download URL yet", async () => {
    const artifact = await seed.artifact(registry.id);
    const [withFiles, without] = await seed.revisions(artifact.id, [{ version: "files" }, { version: "empty" }]);
    const paths = ["config.json", "README.md", "model-00001.safetensors", "model-00002.safetensors", "tokenizer/vocab.txt", "a/b/c.bin", "z.txt"];
    await seed.files(withFiles.id, paths.map((path, i) => ({ path, size: i === 2 ? "9007199254740993" : i * 10, sha256: i === 0 ? "a".repeat(64) : null })));
    const query = `query($id: ID!, $after: String) { artifactRevision(id: $id) {
      files(first: 3, after: $after) { count pageInfo { hasNextPage endCursor } edges { node { path size sha256 downloadUrl(expiration: 60) } } }
    } }`;
    const seen: any[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 5; guard++) {
      const { artifactRevision }: any = await kit.as("user").ok(query, { id: withFiles.globalId, after });
      expect(artifactRevision.files.count).toBe(7);
      seen.push(...artifactRevision.files.edges.map((e: any) => e.node));
      if (!artifactRevision.files.pageInfo.hasNextPage) break;
      after = artifactRevision.files.pageInfo.endCursor;
    }
    const [{ sorted }] = await kit.ds.query(`SELECT array_agg(path ORDER BY path) AS sorted FROM artifact_revision_files WHERE revision_id = $1`, [withFiles.id]);
    expect(seen.map((f) => f.path)).toEqual(sorted);
    expect(seen.find((f) => f.path === "model-00001.safetensors").size).toBe("9007199254740993");
    expect(seen.find((f) => f.path === "config.json")).toEqual({ path: "config.json", size: "0", sha256: "a".repeat(64), downloadUrl: null });
    const { artifactRevision } = await kit.as("user").ok(query, { id: without.globalId });
    expect(artifactRevision.files).toEqual({ count: 0, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
  });

  it("loads the files of many revisions in one batch", async () => {
    const artifact = await seed.artifact(registry.id, { name: "org/many-files" });
    const revisions = await seed.revisions(artifact.id, Array.from({ length: 30 }, (_, i) => ({ version: `r${i}` })));
    for (const r of revisions) await seed.files(r.id, [{ path: "a", size: 1 }, { path: "b", size: 2 }]);
    const query = (n: number) => `query($id: ID!) { artifact(id: $id) { revisions(first: ${n}) { edges { node { files(first: 1) { count edges { node { path } } } } } } } }`;
    const few = await kit.countQueries(() => kit.as("admin").ok(query(2), { id: artifact.id }));
    let data: any;
    const many = await kit.countQueries(async () => { data = await kit.as("admin").ok(query(30), { id: artifact.id }); });
    expect(many.count).toBe(few.count);
    expect(data.artifact.revisions.edges.every((e: any) => e.node.files.count === 2 && e.node.files.edges[0].node.path === "a")).toBe(true);
  });
});
