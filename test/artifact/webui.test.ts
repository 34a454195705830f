import { readFileSync } from "node:fs";
import path from "node:path";
import { Kind, parse, print, visit, type DefinitionNode, type DocumentNode } from "graphql";
import { Seed } from "../support/seed";
import { startTestKit, type TestKit } from "../support/testkit";

// The web UI's own operations, as the contract ships them: this test needs the whole server.
const OPERATIONS = parse(readFileSync(path.join(__dirname, "../../../shared/contract/webui-operations.graphql"), "utf8"));

/** One operation of the file with the fragments it uses, transitively. */
function operation(name: string): DocumentNode {
  const fragments = new Map(OPERATIONS.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  const op = OPERATIONS.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === name);
  if (!op) throw new Error(`no operation ${name} in webui-operations.graphql`);
  const used = new Map<string, DefinitionNode>();
  const collect = (node: DefinitionNode) => visit(node, {
    FragmentSpread(spread) {
      const fragment = fragments.get(spread.name.value);
      if (fragment && !used.has(spread.name.value)) {
        used.set(spread.name.value, fragment);
        collect(fragment);
      }
    },
  });
  collect(op);
  return { kind: Kind.DOCUMENT, definitions: [op, ...used.values()] };
}

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
    const asAdmin = await kit.as("admin").ok(print(operation("ReservoirPageQuery")), variables);
    expect(asAdmin.total.count).toBe(3);
    const data = await kit.as("user").ok(print(operation("ReservoirPageQuery")), variables);
    expect(data.total.count).toBe(2);
    expect(data.artifacts).toEqual(asAdmin.artifacts);
    expect(data.artifacts.count).toBe(2);
    const [first, second] = data.artifacts.edges.map((e: any) => e.node);
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
    const data = await kit.as("user").ok(print(operation("ReservoirArtifactDetailPageQuery")), {
      id: artifact.globalId, offset: 0, limit: 2, filter: { status: { in: ["AVAILABLE", "PULLING"] } },
    });
    expect(data.artifact).toMatchObject({
      id: artifact.globalId, name: "org/detail", type: "MODEL", description: "details",
      registry: { name: "webui-detail" }, source: { name: "hf", url: "https://hf.example" },
      pullingArtifactRevisions: { count: 2, pageInfo: { hasNextPage: false, hasPreviousPage: false } },
      latestVersion: { edges: [{ node: { version: "c", size: "3", status: "PULLING" } }] },
      revisions: { count: 3 },
    });
    expect(data.artifact.pullingArtifactRevisions.edges.map((e: any) => [e.node.version, e.node.__typename])).toEqual([["c", "ArtifactRevision"], ["a", "ArtifactRevision"]]);
    expect(data.artifact.revisions.edges.map((e: any) => e.node.version)).toEqual(["c", "b"]);
  });
});
