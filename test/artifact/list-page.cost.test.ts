import { ReservoirPageQueryDocument } from "../generated/graphql";
import { Seed } from "../support/seed";
import { startTestKit, type TestKit } from "../support/testkit";

// The web UI's list page is its most frequent request: its SQL statement count is part of the API.

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit();
  const seed = new Seed(kit.ds);
  const registry = await seed.registry({ name: "cost-hub" });
  const artifacts = await seed.artifacts(registry.id, Array.from({ length: 30 }, (_, i) => ({ name: `cost/model-${String(i).padStart(2, "0")}` })));
  await seed.artifact(registry.id, { name: "cost/gone", availability: "DELETED" });
  for (const artifact of artifacts) await seed.revisions(artifact.id, [{ version: "main", status: "AVAILABLE", size: 10 }, { version: "v1", status: "SCANNED" }]);
});
afterAll(() => kit?.close());

const variables = (offset: number) => ({ order: [{ field: "NAME", direction: "ASC" }], limit: 20, offset, filter: { registry: { equals: "cost-hub" } } });

describe("the web UI's list page", () => {
  it("costs at most 4 SQL statements, for an admin and for a user", async () => {
    for (const role of ["admin", "user"] as const) {
      let data: any;
      const { count, statements } = await kit.countQueries(async () => { data = await kit.as(role).ok(ReservoirPageQueryDocument, variables(0)); });
      expect(data.artifacts.edges).toHaveLength(20);
      expect(data.artifacts.count).toBe(30);
      expect(data.total.count).toBe(role === "admin" ? 31 : 30);
      expect(data.artifacts.edges[0].node).toMatchObject({ name: "cost/model-00", registry: { name: "cost-hub" }, latestVersion: { edges: [{ node: { version: "v1" } }] } });
      // On failure, the statements show what the page ran.
      expect({ role, statements, withinBudget: count <= 4 }).toEqual({ role, statements, withinBudget: true });
    }
  });

  it("answers both counts on a page past the end, which has no rows", async () => {
    const data = await kit.as("admin").ok(ReservoirPageQueryDocument, variables(40));
    expect(data.artifacts).toMatchObject({ count: 30, edges: [] });
    expect(data.total?.count).toBe(31);
  });

  it("keeps a bad cursor's error to its own field: the count beside it is answered", async () => {
    const badCursor = Buffer.from(JSON.stringify(["cost/model-01", "not-a-uuid"])).toString("base64url");
    const response = await kit.as("admin").execute(`query($after: String) { total: artifacts { count } artifacts(first: 2, after: $after) { edges { cursor } } }`, { after: badCursor });
    expect(response.data).toEqual({ total: { count: expect.any(Number) }, artifacts: null });
    expect(response.errors?.map((e: any) => [e.path, e.extensions?.code])).toEqual([[["artifacts"], "BAD_USER_INPUT"]]);
  });

  it("runs no page query for a client that selects only the count", async () => {
    let data: any;
    const { statements } = await kit.countQueries(async () => { data = await kit.as("admin").ok(`{ artifacts { count } }`); });
    expect(data.artifacts.count).toBeGreaterThanOrEqual(30);
    expect(statements).toEqual([expect.stringMatching(/^SELECT \(SELECT count\(\*\)/)]);
  });
});
