import { ArtifactRevisionSelectPaginatedQueryDocument, ReservoirArtifactDetailPageQueryDocument, ReservoirPageQueryDocument } from "../generated/graphql";
import { Seed } from "../support/seed";
import { startTestKit, type TestKit } from "../support/testkit";

// The web UI's own operations, typed by codegen from the contract's webui-operations.graphql.

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit();
});
afterAll(() => kit?.close());

describe("the web UI's Reservoir pages", () => {
  it("ReservoirPageQuery runs without errors and lists the seeded artifacts with their latest version", async () => {
    const seed = new Seed(kit.ds);
    const registry = await seed.registry({ name: "webui-hub", url: "https://hub.example.com" });
    const [llama, mistral] = await seed.artifacts(registry.id, [
      { name: "org/llama", description: "A llama", sourceName: "huggingface", sourceUrl: "https://huggingface.co" },
      { name: "org/mistral", sourceName: "huggingface", sourceUrl: "https://huggingface.co" },
    ]);
    await seed.artifact(registry.id, { name: "org/gone", availability: "DELETED" });
    await seed.revisions(llama.id, [
      { version: "1.0", size: 100, status: "AVAILABLE" },
      { version: "2.0", size: 200, status: "SCANNED" },
    ]);
    const variables = {
      order: [{ field: "NAME", direction: "ASC" }],
      limit: 10,
      offset: 0,
      filter: { registry: { equals: "webui-hub" } },
    };
    // `total` asks for DELETED ones too: an admin gets them, a user never does.
    const asAdmin = await kit.as("admin").ok(ReservoirPageQueryDocument, variables);
    expect(asAdmin.total?.count).toBe(3);
    const data = await kit.as("user").ok(ReservoirPageQueryDocument, variables);
    expect(data.total?.count).toBe(2);
    expect(data.artifacts).toEqual(asAdmin.artifacts);
    expect(data.artifacts?.count).toBe(2);
    const [first, second] = data.artifacts!.edges.map((e: any) => e.node);
    expect(first).toMatchObject({
      id: llama.globalId, name: "org/llama", description: "A llama", availability: "ALIVE", type: "MODEL",
      registry: { name: "webui-hub", url: "https://hub.example.com" },
      source: { name: "huggingface", url: "https://huggingface.co" },
      latestVersion: { edges: [{ node: { version: "2.0", size: "200", status: "SCANNED" } }] },
      revisions: { edges: [{ node: { version: "2.0", size: "200", status: "SCANNED" } }] },
    });
    expect(second).toMatchObject({ id: mistral.globalId, latestVersion: { edges: [] }, revisions: { edges: [] } });
  });

  it("ReservoirArtifactDetailPageQuery runs without errors and returns the artifact with its revisions", async () => {
    const seed = new Seed(kit.ds);
    const registry = await seed.registry({ name: "webui-detail" });
    const artifact = await seed.artifact(registry.id, { name: "org/detail", description: "details", sourceName: "hf", sourceUrl: "https://hf.example" });
    await seed.revisions(artifact.id, [
      { version: "a", status: "PULLING", size: 1 },
      { version: "b", status: "AVAILABLE", size: 2 },
      { version: "c", status: "PULLING", size: 3 },
    ]);
    const data = await kit.as("user").ok(ReservoirArtifactDetailPageQueryDocument, {
      id: artifact.globalId, offset: 0, limit: 2, filter: { status: { in: ["AVAILABLE", "PULLING"] } },
    });
    expect(data.artifact).toMatchObject({
      id: artifact.globalId, name: "org/detail", type: "MODEL", description: "details",
      registry: { name: "webui-detail" }, source: { name: "hf", url: "https://hf.example" },
      pullingArtifactRevisions: { count: 2, pageInfo: { hasNextPage: false, hasPreviousPage: false } },
      latestVersion: { edges: [{ node: { version: "c", size: "3", status: "PULLING" } }] },
      revisions: { count: 3 },
    });
    expect(data.artifact!.pullingArtifactRevisions!.edges.map((e: any) => [e.node.version, e.node.__typename])).toEqual([["c", "ArtifactRevision"], ["a", "ArtifactRevision"]]);
    expect(data.artifact!.revisions!.edges.map((e: any) => e.node.version)).toEqual(["c", "b"]);
  });

  it("ArtifactRevisionSelectPaginatedQuery runs without errors and pages a filtered revision list by offset", async () => {
    const seed = new Seed(kit.ds);
    const registry = await seed.registry({ name: "webui-select" });
    const artifact = await seed.artifact(registry.id, { name: "org/select" });
    await seed.revisions(artifact.id, [{ version: "x1" }, { version: "x2" }, { version: "x3" }]);
    const data = await kit.as("user").ok(ArtifactRevisionSelectPaginatedQueryDocument, {
      offset: 1, limit: 1, filter: { artifactId: { equals: artifact.id }, version: { startsWith: "x" } },
    });
    expect(data.artifactRevisions?.count).toBe(3);
    expect(data.artifactRevisions?.edges).toHaveLength(1);
    expect(data.artifactRevisions?.edges[0].node.status).toBe("SCANNED");
  });
});
