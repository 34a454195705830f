import { startTestKit, type TestKit } from "../support/testkit";
import { Seed, type SeededArtifact, type SeededRegistry, type SeededRevision } from "../support/seed";

let kit: TestKit;
let registry: SeededRegistry;
let alive: SeededArtifact;
let deleted: SeededArtifact;
let aliveRevision: SeededRevision;
let deletedRevision: SeededRevision;

beforeAll(async () => {
  kit = await startTestKit();
  const seed = new Seed(kit.ds);
  registry = await seed.registry();
  alive = await seed.artifact(registry.id, { name: "alive-model" });
  deleted = await seed.artifact(registry.id, { name: "deleted-model", availability: "DELETED" });
  aliveRevision = await seed.revision(alive.id, { version: "main" });
  deletedRevision = await seed.revision(deleted.id, { version: "main" });
});
afterAll(() => kit?.close());

const LIST = `query($filter: ArtifactFilter) { artifacts(filter: $filter) { count edges { node { name availability } } } }`;
const ONE = `query($id: ID!) { artifact(id: $id) { id name availability } }`;
const REVISION = `query($id: ID!) { artifactRevision(id: $id) { id version artifact { id } } }`;
const REVISIONS = `query($filter: ArtifactRevisionFilter) { artifactRevisions(filter: $filter) { count edges { node { id } } } }`;

const inRegistry = (extra: Record<string, unknown> = {}) => ({ registry: { equals: registry.name }, ...extra });
const names = (data: any) => data.artifacts.edges.map((e: any) => e.node.name).sort();

describe("artifact availability and roles", () => {
  it("lists only ALIVE artifacts when no filter object sets availability", async () => {
    expect(names(await kit.as("admin").ok(LIST, { filter: inRegistry() }))).toEqual(["alive-model"]);
    const all = await kit.as("admin").ok(`{ artifacts { edges { node { availability } } } }`);
    expect(all.artifacts.edges.every((e: any) => e.node.availability === "ALIVE")).toBe(true);
  });

  it("lists DELETED artifacts for an admin who asks for them, also from inside OR", async () => {
    const admin = kit.as("admin");
    expect(names(await admin.ok(LIST, { filter: inRegistry({ availability: ["DELETED"] }) }))).toEqual(["deleted-model"]);
    expect(names(await admin.ok(LIST, { filter: inRegistry({ availability: ["ALIVE", "DELETED"] }) }))).toEqual(["alive-model", "deleted-model"]);
    expect(names(await admin.ok(LIST, { filter: inRegistry({ OR: [{ availability: ["DELETED"] }, { name: { equals: "alive-model" } }] }) })))
      .toEqual(["alive-model", "deleted-model"]);
    expect((await kit.as("superadmin").ok(ONE, { id: deleted.globalId })).artifact).toMatchObject({ availability: "DELETED" });
  });

  it("a user cannot see DELETED artifacts, by filter or by ID", async () => {
    const user = kit.as("user");
    expect(names(await user.ok(LIST, { filter: inRegistry({ availability: ["DELETED"] }) }))).toEqual([]);
    expect(names(await user.ok(LIST, { filter: inRegistry({ availability: ["ALIVE", "DELETED"] }) }))).toEqual(["alive-model"]);
    expect((await user.ok(ONE, { id: deleted.globalId })).artifact).toBeNull();
    expect((await user.ok(ONE, { id: deleted.id })).artifact).toBeNull();
    expect((await user.ok(ONE, { id: alive.globalId })).artifact).toMatchObject({ name: "alive-model" });
  });

  it("a user cannot see the revisions of a DELETED artifact", async () => {
    const user = kit.as("user");
    expect((await user.ok(REVISION, { id: deletedRevision.globalId })).artifactRevision).toBeNull();
    expect((await user.ok(REVISION, { id: aliveRevision.globalId })).artifactRevision).toEqual({
      id: aliveRevision.globalId, version: "main", artifact: { id: alive.globalId },
    });
    const mine = await user.ok(REVISIONS, { filter: { artifactId: { in: [alive.id, deleted.id] } } });
    expect(mine.artifactRevisions).toEqual({ count: 1, edges: [{ node: { id: aliveRevision.globalId } }] });
    const admin = await kit.as("admin").ok(REVISIONS, { filter: { artifactId: { in: [alive.id, deleted.id] } } });
    expect(admin.artifactRevisions.count).toBe(2);
    expect((await kit.as("admin").ok(REVISION, { id: deletedRevision.globalId })).artifactRevision).toMatchObject({ artifact: { id: deleted.globalId } });
  });

  it("answers null for an unknown ID and BAD_USER_INPUT for an ID of another type or no ID at all", async () => {
    expect((await kit.as("admin").ok(ONE, { id: "00000000-0000-4000-8000-000000000000" })).artifact).toBeNull();
    await kit.as("admin").fails(ONE, { id: aliveRevision.globalId }, "BAD_USER_INPUT");
    await kit.as("admin").fails(ONE, { id: "nonsense" }, "BAD_USER_INPUT");
    await kit.as("admin").fails(REVISION, { id: alive.globalId }, "BAD_USER_INPUT");
  });
});
