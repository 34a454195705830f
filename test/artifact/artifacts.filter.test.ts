import { startTestKit, type TestKit } from "../support/testkit";
import { Seed, type SeededRegistry } from "../support/seed";

let kit: TestKit;
let seed: Seed;
let registry: SeededRegistry;

/** Names with LIKE wildcards and mixed case; source names with a NULL. */
const ARTIFACTS = [
  { name: "alpha", source: "huggingface" },
  { name: "Alpha-2", source: "HuggingFace" },
  { name: "beta_x", source: null },
  { name: "b%ta", source: "reservoir" },
  { name: "betaX", source: "reservoir-2" },
  { name: "gamma", source: null },
];

beforeAll(async () => {
  kit = await startTestKit();
  seed = new Seed(kit.ds);
  registry = await seed.registry();
  await seed.artifacts(registry.id, ARTIFACTS.map((a, i) => ({
    name: a.name, sourceName: a.source, type: i % 2 ? "PACKAGE" : "MODEL",
  })));
});
afterAll(() => kit?.close());

const NAMES = `query($filter: ArtifactFilter) { artifacts(filter: $filter, first: 100) { count edges { node { name } } } }`;

/** The names matching `filter` among this file's artifacts, in name order. */
async function names(filter: Record<string, unknown>, role: "admin" | "user" = "admin"): Promise<string[]> {
  const { artifacts } = await kit.as(role).ok(NAMES, { filter: { registry: { equals: registry.name }, AND: [filter] } });
  expect(artifacts.count).toBe(artifacts.edges.length);
  return artifacts.edges.map((e: any) => e.node.name).sort();
}

type Pred = (value: any) => (s: string | null) => boolean;
const lower = (s: string) => s.toLowerCase();
const positive: Record<string, Pred> = {
  contains: (v) => (s) => s !== null && s.includes(v),
  startsWith: (v) => (s) => s !== null && s.startsWith(v),
  endsWith: (v) => (s) => s !== null && s.endsWith(v),
  equals: (v) => (s) => s === v,
  iContains: (v) => (s) => s !== null && lower(s).includes(lower(v)),
  iStartsWith: (v) => (s) => s !== null && lower(s).startsWith(lower(v)),
  iEndsWith: (v) => (s) => s !== null && lower(s).endsWith(lower(v)),
  iEquals: (v) => (s) => s !== null && lower(s) === lower(v),
  in: (v: string[]) => (s) => s !== null && v.includes(s),
  iIn: (v: string[]) => (s) => s !== null && v.map(lower).includes(lower(s)),
};
const negated: Record<string, string> = {
  notContains: "contains", notStartsWith: "startsWith", notEndsWith: "endsWith", notEquals: "equals",
  iNotContains: "iContains", iNotStartsWith: "iStartsWith", iNotEndsWith: "iEndsWith", iNotEquals: "iEquals",
  notIn: "in", iNotIn: "iIn",
};
const predicate = (op: string): Pred => positive[op] ?? ((v) => (s) => !positive[negated[op]](v)(s));

const CASES: Array<[string, unknown]> = [
  ["contains", "eta"], ["contains", "%"], ["contains", "_"], ["startsWith", "b"], ["startsWith", "b%"], ["endsWith", "a"],
  ["equals", "alpha"], ["notContains", "eta"], ["notContains", "_"], ["notStartsWith", "b"], ["notEndsWith", "a"],
  ["notEquals", "alpha"], ["iContains", "ALP"], ["iStartsWith", "ALPHA"], ["iEndsWith", "X"], ["iEquals", "ALPHA"],
  ["iNotContains", "ALP"], ["iNotStartsWith", "B"], ["iNotEndsWith", "X"], ["iNotEquals", "ALPHA"],
  ["in", ["alpha", "gamma", "nope"]], ["in", []], ["notIn", ["alpha", "gamma"]], ["notIn", []],
  ["iIn", ["ALPHA", "GAMMA"]], ["iNotIn", ["ALPHA", "BETAX"]],
];

describe("artifact filters", () => {
  it.each(CASES)("StringFilter %s %j matches exactly what it says on the name", async (op, value) => {
    const expected = ARTIFACTS.map((a) => a.name).filter(predicate(op)(value)).sort();
    expect(await names({ name: { [op]: value } })).toEqual(expected);
  });

  it.each(CASES)("StringFilter %s %j on the nullable source treats NULL as matching no positive operator", async (op, value) => {
    const expected = ARTIFACTS.filter((a) => predicate(op)(value)(a.source)).map((a) => a.name).sort();
    expect(await names({ source: { [op]: value } })).toEqual(expected);
  });

  it("several operators of one StringFilter must all hold", async () => {
    expect(await names({ name: { startsWith: "b", notContains: "%", iEndsWith: "X" } })).toEqual(["betaX", "beta_x"].sort());
  });

  it("AND, OR and NOT combine, and NOT of a list negates the list's conjunction", async () => {
    expect(await names({ OR: [{ name: { equals: "alpha" } }, { name: { equals: "gamma" } }] })).toEqual(["alpha", "gamma"]);
    expect(await names({ AND: [{ name: { startsWith: "a" } }, { name: { endsWith: "a" } }] })).toEqual(["alpha"]);
    expect(await names({ NOT: [{ name: { startsWith: "b" } }] })).toEqual(["Alpha-2", "alpha", "gamma"].sort());
    expect(await names({ NOT: [{ name: { startsWith: "b" } }, { name: { endsWith: "x" } }] }))
      .toEqual(["Alpha-2", "alpha", "b%ta", "betaX", "gamma"].sort());
    expect(await names({
      OR: [{ AND: [{ type: ["MODEL"] }, { source: { iStartsWith: "hug" } }] }, { NOT: [{ OR: [{ name: { contains: "a" } }] }] }],
    })).toEqual(["alpha"]);
    expect(await names({ type: ["MODEL"], NOT: [{ source: { equals: "reservoir-2" } }] })).toEqual(["alpha", "beta_x"]);
  });

  it("an empty AND, OR or NOT list is ignored like an absent one", async () => {
    const all = ARTIFACTS.map((a) => a.name).sort();
    expect(await names({ AND: [] })).toEqual(all);
    expect(await names({ OR: [] })).toEqual(all);
    expect(await names({ NOT: [] })).toEqual(all);
  });

  it("filters by type and by registry name", async () => {
    expect(await names({ type: ["MODEL"] })).toEqual(["alpha", "betaX", "beta_x"].sort());
    expect(await names({ type: [] })).toEqual([]);
    expect(await names({ registry: { notEquals: registry.name } })).toEqual([]);
    expect(await names({ registry: { iEquals: registry.name.toUpperCase() }, name: { equals: "gamma" } })).toEqual(["gamma"]);
  });

  it("nesting AND/OR/NOT deeper than 5 levels is BAD_USER_INPUT", async () => {
    let filter: Record<string, unknown> = { name: { equals: "alpha" } };
    for (let i = 0; i < 4; i++) filter = { AND: [filter] };
    // names() wraps the filter once more: its innermost object is 5 levels below the top, the limit.
    expect(await names(filter)).toEqual(["alpha"]);
    const error = await kit.as("admin").fails(NAMES, { filter: { OR: [{ NOT: [filter] }] } }, "BAD_USER_INPUT");
    expect(error.message).toMatch(/nested/);
  });
});
