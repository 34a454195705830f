import { startTestKit, type TestKit } from "../support/testkit";
import { Seed, type SeededRegistry } from "../support/seed";

let kit: TestKit;
let seed: Seed;
beforeAll(async () => {
  kit = await startTestKit();
  seed = new Seed(kit.ds);
});
afterAll(() => kit?.close());

const PAGE = `query($filter: ArtifactFilter, $orderBy: [ArtifactOrderBy!], $first: Int, $after: String, $last: Int, $before: String, $limit: Int, $offset: Int) {
  artifacts(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before, limit: $limit, offset: $offset) {
    count
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name type scannedAt } }
  }
}`;

interface Row { id: string; type: string; scanned_at: Date }

/** 23 artifacts over 3 types and 2 scan times: most of them tie on (type, scannedAt). */
async function seedTies(): Promise<{ registry: SeededRegistry; expected: string[] }> {
  const registry = await seed.registry();
  const types = ["MODEL", "PACKAGE", "IMAGE"] as const;
  const times = ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"];
  const created = await seed.artifacts(registry.id, Array.from({ length: 23 }, (_, i) => ({
    name: `tie-${String(i).padStart(2, "0")}`, type: types[i % 3], scannedAt: times[i % 2],
  })));
  const rows: Row[] = await kit.ds.query(`SELECT id, type, scanned_at FROM artifacts WHERE registry_id = $1`, [registry.id]);
  expect(rows).toHaveLength(created.length);
  // TYPE ASC, SCANNED_AT DESC, then the id (uuid order is the order of its hex text).
  rows.sort((a, b) => a.type.localeCompare(b.type) || b.scanned_at.getTime() - a.scanned_at.getTime() || (a.id < b.id ? -1 : 1));
  const byId = new Map(created.map((c) => [c.id, c.globalId]));
  return { registry, expected: rows.map((r) => byId.get(r.id)!) };
}

const ORDER = [{ field: "TYPE", direction: "ASC" }, { field: "SCANNED_AT", direction: "DESC" }];

describe("artifacts paging", () => {
  it("cursor paging forward and backward over a multi-field order gives every row exactly once with ties broken stably", async () => {
    const { registry, expected } = await seedTies();
    const filter = { registry: { equals: registry.name } };
    const client = kit.as("admin");

    const forward: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 10; guard++) {
      const { artifacts }: any = await client.ok(PAGE, { filter, orderBy: ORDER, first: 5, after });
      forward.push(...artifacts.edges.map((e: any) => e.node.id));
      expect(artifacts.count).toBe(23);
      expect(artifacts.pageInfo.hasPreviousPage).toBe(after !== null);
      if (!artifacts.pageInfo.hasNextPage) break;
      after = artifacts.pageInfo.endCursor;
    }
    expect(forward).toEqual(expected);

    const backward: string[][] = [];
    let before: string | null = null;
    for (let guard = 0; guard < 10; guard++) {
      const { artifacts }: any = await client.ok(PAGE, { filter, orderBy: ORDER, last: 5, before });
      backward.unshift(artifacts.edges.map((e: any) => e.node.id));
      expect(artifacts.pageInfo.hasNextPage).toBe(before !== null);
      if (!artifacts.pageInfo.hasPreviousPage) break;
      before = artifacts.pageInfo.startCursor;
    }
    expect(backward.flat()).toEqual(expected);
    expect(backward[0]).toHaveLength(3);

    // The same order asked twice gives the same page: ties never reshuffle.
    const again = await client.ok(PAGE, { filter, orderBy: ORDER, first: 23 });
    expect(again.artifacts.edges.map((e: any) => e.node.id)).toEqual(expected);
  });

  it("offset paging returns consecutive slices and the total count on every page", async () => {
    const { registry, expected } = await seedTies();
    const filter = { registry: { equals: registry.name } };
    const seen: string[] = [];
    for (let offset = 0; offset < 23; offset += 10) {
      const { artifacts } = await kit.as("admin").ok(PAGE, { filter, orderBy: ORDER, limit: 10, offset });
      expect(artifacts.count).toBe(23);
      expect(artifacts.pageInfo.hasPreviousPage).toBe(offset > 0);
      expect(artifacts.pageInfo.hasNextPage).toBe(offset + 10 < 23);
      seen.push(...artifacts.edges.map((e: any) => e.node.id));
    }
    expect(seen).toEqual(expected);
    const beyond = await kit.as("admin").ok(PAGE, { filter, limit: 10, offset: 100 });
    expect(beyond.artifacts).toMatchObject({ count: 23, edges: [] });
  });

  it("lists by name A to Z when no orderBy is given", async () => {
    const registry = await seed.registry();
    await seed.artifacts(registry.id, [{ name: "c-model" }, { name: "a-model" }, { name: "b-model" }]);
    const { artifacts } = await kit.as("admin").ok(PAGE, { filter: { registry: { equals: registry.name } } });
    expect(artifacts.edges.map((e: any) => e.node.name)).toEqual(["a-model", "b-model", "c-model"]);
  });

  it("orders by SIZE using each artifact's largest revision, artifacts without sizes first", async () => {
    const registry = await seed.registry();
    const [small, none, big] = await seed.artifacts(registry.id, [{ name: "small" }, { name: "none" }, { name: "big" }]);
    await seed.revisions(small.id, [{ version: "1", size: 10 }, { version: "2", size: 20 }]);
    await seed.revisions(big.id, [{ version: "1", size: "5000000000" }, { version: "2", size: null }]);
    await seed.revision(none.id, { version: "1", size: null });
    const filter = { registry: { equals: registry.name } };
    const asc = await kit.as("admin").ok(PAGE, { filter, orderBy: [{ field: "SIZE" }] });
    expect(asc.artifacts.edges.map((e: any) => e.node.name)).toEqual(["none", "small", "big"]);
    const desc = await kit.as("admin").ok(PAGE, { filter, orderBy: [{ field: "SIZE", direction: "DESC" }], first: 1 });
    expect(desc.artifacts.edges.map((e: any) => e.node.name)).toEqual(["big"]);
    const next = await kit.as("admin").ok(PAGE, { filter, orderBy: [{ field: "SIZE", direction: "DESC" }], first: 5, after: desc.artifacts.pageInfo.endCursor });
    expect(next.artifacts.edges.map((e: any) => e.node.name)).toEqual(["small", "none"]);
  });

  it("mixing cursor and offset paging is BAD_USER_INPUT", async () => {
    await kit.as("admin").fails(PAGE, { first: 5, offset: 10 }, "BAD_USER_INPUT");
    await kit.as("admin").fails(PAGE, { limit: 5, after: "abc" }, "BAD_USER_INPUT");
  });

  it("asking for more than 500 rows is BAD_USER_INPUT", async () => {
    for (const args of [{ first: 501 }, { last: 501 }, { limit: 501 }]) {
      const error = await kit.as("admin").fails(PAGE, args, "BAD_USER_INPUT");
      expect(error.message).toMatch(/500/);
    }
    await kit.as("admin").ok(PAGE, { first: 500 });
  });

  it("a cursor that is not one of this list is BAD_USER_INPUT", async () => {
    await kit.as("admin").fails(PAGE, { first: 5, after: "not-a-cursor" }, "BAD_USER_INPUT");
    // A cursor of another ordering: right length, values that do not cast back.
    const byName = await kit.as("admin").ok(PAGE, { first: 1, orderBy: [{ field: "NAME" }] });
    await kit.as("admin").fails(PAGE, { first: 5, orderBy: [{ field: "UPDATED_AT" }], after: byName.artifacts.pageInfo.endCursor }, "BAD_USER_INPUT");
  });
});
