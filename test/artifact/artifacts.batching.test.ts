import { startTestKit, type TestKit } from "../support/testkit";
import { Seed } from "../support/seed";

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit();
  const seed = new Seed(kit.ds);
  // This file's database holds exactly these 100 artifacts, so the query below needs no filter.
  const registries = await Promise.all([seed.registry(), seed.registry()]);
  const artifacts = await seed.artifacts(registries[0].id, Array.from({ length: 100 }, (_, i) => ({ name: `batch-${String(i).padStart(3, "0")}` })));
  for (const artifact of artifacts) {
    await seed.revisions(artifact.id, Array.from({ length: 11 }, (_, v) => ({ version: `v${String(v).padStart(2, "0")}`, size: v * 100 })));
  }
  // Half of them in a second registry, so the registry loader really batches two keys.
  await kit.ds.query(`UPDATE artifacts SET registry_id = $1 WHERE (substring(name from 7)::int % 2) = 1`, [registries[1].id]);
});
afterAll(() => kit?.close());

const QUERY = `query($first: Int) {
  artifacts(first: $first) {
    edges { node { id name registry { name } revisions(first: 10) { count edges { node { id artifact { id name } } } } } }
  }
}`;

describe("artifact query batching", () => {
  it("runs the same small number of SQL statements for 10 and for 100 artifacts with 10 revisions each", async () => {
    const client = kit.as("admin");
    let small: any;
    let large: any;
    const few = await kit.countQueries(async () => { small = await client.ok(QUERY, { first: 10 }); });
    const many = await kit.countQueries(async () => { large = await client.ok(QUERY, { first: 100 }); });

    expect(small.artifacts.edges).toHaveLength(10);
    expect(large.artifacts.edges).toHaveLength(100);
    for (const { node } of large.artifacts.edges) {
      expect(node.revisions.count).toBe(11);
      expect(node.revisions.edges).toHaveLength(10);
      for (const edge of node.revisions.edges) expect(edge.node.artifact).toEqual({ id: node.id, name: node.name });
    }
    expect(new Set(large.artifacts.edges.map((e: any) => e.node.registry.name)).size).toBe(2);
    expect(many.count).toBe(few.count);
    // page + registries + revision pages + revision counts
    expect(many.count).toBeLessThanOrEqual(6);
  });

  it("batches different argument sets separately and identical ones together", async () => {
    const query = `{ artifacts(first: 20) { edges { node {
      a: revisions(first: 2) { count edges { node { version } } }
      b: revisions(first: 2) { count }
      c: revisions(limit: 1, orderBy: [{ field: VERSION, direction: DESC }]) { edges { node { version } } }
    } } } }`;
    let data: any;
    const { count } = await kit.countQueries(async () => { data = await kit.as("admin").ok(query); });
    for (const { node } of data.artifacts.edges) {
      expect(node.a.edges).toHaveLength(2);
      expect(node.c.edges).toEqual([{ node: { version: "v10" } }]);
      expect(node.b.count).toBe(11);
    }
    // page + (a,b share a page query) + c page + one count batch
    expect(count).toBeLessThanOrEqual(4);
  });

  it("answers each request of one query text with its own variables, for every artifact of the page", async () => {
    const query = `query($n: Int, $m: Int) { artifacts(first: 5) { edges { node {
      revisions(first: $n) { edges { node { version } } }
      other: revisions(first: $m) { edges { node { version } } }
    } } } }`;
    const client = kit.as("admin");
    for (const [n, m] of [[1, 3], [4, 2], [1, 3]]) {
      const data: any = await client.ok(query, { n, m });
      for (const { node } of data.artifacts.edges) {
        expect(node.revisions.edges).toHaveLength(n);
        expect(node.other.edges).toHaveLength(m);
      }
    }
  });
});
