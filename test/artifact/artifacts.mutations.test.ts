import { toGlobalId } from "../../src/common/relay";
import { startTestKit, type TestKit } from "../support/testkit";
import { Seed, type SeededRegistry } from "../support/seed";

let kit: TestKit;
let seed: Seed;
let registry: SeededRegistry;
beforeAll(async () => {
  kit = await startTestKit();
  seed = new Seed(kit.ds);
  registry = await seed.registry();
});
afterAll(() => kit?.close());

const UPDATE = `mutation($input: UpdateArtifactInput!) { updateArtifact(input: $input) { artifact { id readonly description updatedAt } } }`;
const DELETE = `mutation($ids: [ID!]!) { deleteArtifacts(input: { artifactIds: $ids }) { artifacts { id availability } } }`;
const RESTORE = `mutation($ids: [ID!]!) { restoreArtifacts(input: { artifactIds: $ids }) { artifacts { id availability } } }`;
const UNKNOWN = "0badc0de-0000-4000-8000-000000000000";

async function availability(ids: string[]): Promise<Record<string, { availability: string; deleted: boolean }>> {
  const rows: { id: string; availability: string; deleted_at: Date | null }[] =
    await kit.ds.query(`SELECT id, availability, deleted_at FROM artifacts WHERE id = ANY($1::uuid[])`, [ids]);
  return Object.fromEntries(rows.map((r) => [r.id, { availability: r.availability, deleted: r.deleted_at !== null }]));
}

describe("artifact mutations", () => {
  it("updateArtifact sets readonly and description, clears description with null and leaves absent fields alone", async () => {
    const a = await seed.artifact(registry.id, { description: "old", readonly: true, updatedAt: "2026-01-01T00:00:00Z" });
    const su = kit.as("superadmin");
    const first = await su.ok(UPDATE, { input: { artifactId: a.globalId, readonly: false, description: "new words" } });
    expect(first.updateArtifact.artifact).toMatchObject({ id: a.globalId, readonly: false, description: "new words" });
    expect(new Date(first.updateArtifact.artifact.updatedAt).getTime()).toBeGreaterThan(Date.parse("2026-01-01T00:00:00Z"));
    const second = await su.ok(UPDATE, { input: { artifactId: a.id, description: null } });
    expect(second.updateArtifact.artifact).toMatchObject({ readonly: false, description: null });
    const third = await su.ok(UPDATE, { input: { artifactId: a.id, readonly: true } });
    expect(third.updateArtifact.artifact).toMatchObject({ readonly: true, description: null });
  });

  it("updateArtifact refuses a description over 10,000 characters and an unknown artifact", async () => {
    const a = await seed.artifact(registry.id, { description: "kept" });
    const su = kit.as("superadmin");
    await su.ok(UPDATE, { input: { artifactId: a.id, description: "x".repeat(10_000) } });
    await su.fails(UPDATE, { input: { artifactId: a.id, description: "x".repeat(10_001) } }, "BAD_USER_INPUT");
    await su.fails(UPDATE, { input: { artifactId: UNKNOWN, description: "d" } }, "NOT_FOUND");
  });

  it("only a superadmin may update, delete or restore", async () => {
    const a = await seed.artifact(registry.id);
    for (const role of ["admin", "user"] as const) {
      await kit.as(role).fails(UPDATE, { input: { artifactId: a.id, description: "d" } }, "FORBIDDEN");
      await kit.as(role).fails(DELETE, { ids: [a.id] }, "FORBIDDEN");
      await kit.as(role).fails(RESTORE, { ids: [a.id] }, "FORBIDDEN");
    }
    expect((await availability([a.id]))[a.id].availability).toBe("ALIVE");
  });

  it("deleteArtifacts soft-deletes, accepts global IDs, bare UUIDs and duplicates, and restoreArtifacts brings them back", async () => {
    const [a, b] = await seed.artifacts(registry.id, [{}, {}]);
    const su = kit.as("superadmin");
    const deleted = await su.ok(DELETE, { ids: [a.globalId, b.id, a.id.toUpperCase()] });
    expect(deleted.deleteArtifacts.artifacts).toEqual([
      { id: a.globalId, availability: "DELETED" }, { id: b.globalId, availability: "DELETED" },
    ]);
    expect(await availability([a.id, b.id])).toEqual({
      [a.id]: { availability: "DELETED", deleted: true }, [b.id]: { availability: "DELETED", deleted: true },
    });
    const restored = await su.ok(RESTORE, { ids: [a.globalId, b.globalId] });
    expect(restored.restoreArtifacts.artifacts.map((x: any) => x.availability)).toEqual(["ALIVE", "ALIVE"]);
    expect(await availability([a.id, b.id])).toEqual({
      [a.id]: { availability: "ALIVE", deleted: false }, [b.id]: { availability: "ALIVE", deleted: false },
    });
  });

  it("deleting an already deleted artifact is a no-op that still returns it", async () => {
    const a = await seed.artifact(registry.id, { availability: "DELETED" });
    const [before] = await kit.ds.query(`SELECT deleted_at, updated_at FROM artifacts WHERE id = $1`, [a.id]);
    const result = await kit.as("superadmin").ok(DELETE, { ids: [a.globalId] });
    expect(result.deleteArtifacts.artifacts).toEqual([{ id: a.globalId, availability: "DELETED" }]);
    const [after] = await kit.ds.query(`SELECT deleted_at, updated_at FROM artifacts WHERE id = $1`, [a.id]);
    expect(after).toEqual(before);
  });

  it("deleteArtifacts with an unknown ID is NOT_FOUND naming each unknown ID, and changes nothing", async () => {
    const [a, b] = await seed.artifacts(registry.id, [{}, {}]);
    const other = toGlobalId("Artifact", "0badc0de-0000-4000-8000-000000000001");
    const error = await kit.as("superadmin").fails(DELETE, { ids: [a.globalId, UNKNOWN, b.id, other, UNKNOWN] }, "NOT_FOUND");
    expect(error.message).toContain(UNKNOWN);
    expect(error.message).toContain(other);
    expect(error.message).not.toContain(a.globalId);
    expect(error.extensions?.ids).toEqual([UNKNOWN, other]);
    expect(await availability([a.id, b.id])).toEqual({
      [a.id]: { availability: "ALIVE", deleted: false }, [b.id]: { availability: "ALIVE", deleted: false },
    });
  });

  it("restoreArtifacts with an unknown ID is NOT_FOUND and restores nothing", async () => {
    const a = await seed.artifact(registry.id, { availability: "DELETED" });
    const error = await kit.as("superadmin").fails(RESTORE, { ids: [a.id, UNKNOWN] }, "NOT_FOUND");
    expect(error.extensions?.ids).toEqual([UNKNOWN]);
    expect((await availability([a.id]))[a.id].availability).toBe("DELETED");
  });

  it("refuses more than 500 IDs, malformed IDs and IDs of another type as BAD_USER_INPUT", async () => {
    const a = await seed.artifact(registry.id);
    const su = kit.as("superadmin");
    await su.fails(DELETE, { ids: Array.from({ length: 501 }, () => a.id) }, "BAD_USER_INPUT");
    await su.ok(DELETE, { ids: Array.from({ length: 500 }, () => a.id) });
    await su.fails(RESTORE, { ids: [a.id, "nonsense"] }, "BAD_USER_INPUT");
    await su.fails(RESTORE, { ids: [toGlobalId("ArtifactRevision", a.id)] }, "BAD_USER_INPUT");
    expect((await availability([a.id]))[a.id].availability).toBe("DELETED");
    expect((await su.ok(RESTORE, { ids: [] })).restoreArtifacts.artifacts).toEqual([]);
  });
});
