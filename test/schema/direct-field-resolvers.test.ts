import { ArtifactResolver } from "../../src/artifact/artifact.resolver";
import { PagingArgsType } from "../../src/common/paging.args";
import { ArtifactRevisionOrderBy } from "../../src/revision/revision.inputs";
import { Seed } from "../support/seed";
import { startTestKit, type TestKit } from "../support/testkit";

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit();
  const seed = new Seed(kit.ds);
  const registry = await seed.registry();
  const artifacts = await seed.artifacts(registry.id, Array.from({ length: 3 }, (_, i) => ({ name: `direct-${i}` })));
  for (const artifact of artifacts) await seed.revisions(artifact.id, [{ version: "v1" }, { version: "v2" }]);
});
afterAll(() => kit?.close());

describe("field resolvers called without type-graphql's per-call wrapper", () => {
  it("get their arguments as type-graphql's input classes, with defaults, on every row", async () => {
    const revisions = jest.spyOn(ArtifactResolver.prototype, "revisions");
    try {
      const data: any = await kit.as("admin").ok(`query($first: Int) { artifacts { edges { node {
        revisions(first: $first, orderBy: [{ field: VERSION }]) { edges { node { version } } }
      } } } }`, { first: 1 });
      expect(data.artifacts.edges).toHaveLength(3);
      for (const { node } of data.artifacts.edges) expect(node.revisions.edges).toEqual([{ node: { version: "v1" } }]);
      expect(revisions).toHaveBeenCalledTimes(3);
      for (const [, filter, orderBy, args] of revisions.mock.calls) {
        expect(filter).toBeUndefined();
        expect(orderBy).toEqual([{ field: "VERSION", direction: "ASC" }]);
        expect(orderBy![0]).toBeInstanceOf(ArtifactRevisionOrderBy);
        expect(args).toBeInstanceOf(PagingArgsType);
        expect(args.first).toBe(1);
      }
    } finally {
      revisions.mockRestore();
    }
  });

  it("answer a resolver's error as its field's error, on every row", async () => {
    const response = await kit.as("admin").execute(`{ artifacts { edges { node { name revisions(first: -1) { count } } } } }`);
    expect(response.data.artifacts.edges.map((e: any) => e.node)).toEqual([
      { name: "direct-0", revisions: null }, { name: "direct-1", revisions: null }, { name: "direct-2", revisions: null },
    ]);
    expect(response.errors).toHaveLength(3);
    for (const error of response.errors!) expect(error.extensions?.code).toBe("BAD_USER_INPUT");
  });
});
