import { startTestKit, type TestKit } from "../support/testkit";
import { toGlobalId } from "../../src/common/relay";

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit();
});
afterAll(() => kit?.close());

const ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Artifact { id name }
    ... on ArtifactRevision { id version artifact { id } }
    ... on HuggingFaceRegistry { id url token }
    ... on ReservoirRegistry { id name endpoint secretKey }
  }
}`;

async function seed() {
  const su = kit.as("superadmin");
  const hf = (await su.ok(`mutation { createHuggingfaceRegistry(input: { name: "hub-e", url: "https://hub.example.com", token: "hf_0123456789abcdef" }) { huggingfaceRegistry { id } } }`))
    .createHuggingfaceRegistry.huggingfaceRegistry.id as string;
  const rsv = (await su.ok(`mutation { createReservoirRegistry(input: { name: "remote-e", endpoint: "https://remote.example.com/graphql", accessKey: "AKREMOTE", secretKey: "remote-secret-0123456789", apiVersion: "v1" }) { reservoir { id } } }`))
    .createReservoirRegistry.reservoir.id as string;
  const hfUuid = Buffer.from(hf, "base64").toString().split(":")[1];
  const [artifact] = await kit.ds.query(`INSERT INTO artifacts (name, type, registry_id) VALUES ('org/entity-model', 'MODEL', $1) RETURNING id`, [hfUuid]);
  const [revision] = await kit.ds.query(`INSERT INTO artifact_revisions (artifact_id, version) VALUES ($1, 'v1') RETURNING id`, [artifact.id]);
  return { hf, rsv, artifact: toGlobalId("Artifact", artifact.id), revision: toGlobalId("ArtifactRevision", revision.id) };
}

describe("federation entities", () => {
  it("resolves a representation of each entity type, in order, with secrets masked", async () => {
    const ids = await seed();
    const data = await kit.as("admin").ok(ENTITIES, {
      representations: [
        { __typename: "Artifact", id: ids.artifact },
        { __typename: "ArtifactRevision", id: ids.revision },
        { __typename: "HuggingFaceRegistry", id: ids.hf },
        { __typename: "ReservoirRegistry", id: ids.rsv },
      ],
    });
    expect(data._entities).toEqual([
      { __typename: "Artifact", id: ids.artifact, name: "org/entity-model" },
      { __typename: "ArtifactRevision", id: ids.revision, version: "v1", artifact: { id: ids.artifact } },
      { __typename: "HuggingFaceRegistry", id: ids.hf, url: "https://hub.example.com", token: "****cdef" },
      { __typename: "ReservoirRegistry", id: ids.rsv, name: "remote-e", endpoint: "https://remote.example.com/graphql", secretKey: "****6789" },
    ]);
  });

  it("answers null for an entity that does not exist", async () => {
    const data = await kit.as("admin").ok(ENTITIES, {
      representations: [{ __typename: "Artifact", id: toGlobalId("Artifact", "00000000-0000-4000-8000-000000000000") }],
    });
    expect(data._entities).toEqual([null]);
  });

  it("requires a token for _entities", async () => {
    await kit.as(null).fails(ENTITIES, { representations: [] }, "UNAUTHENTICATED");
  });

  it("loads 100 revisions in one batch: the SQL statement count does not grow with the batch", async () => {
    const hfUuid = (await kit.ds.query(`SELECT id FROM artifact_registries ORDER BY created_at LIMIT 1`))[0].id;
    const [artifact] = await kit.ds.query(`INSERT INTO artifacts (name, type, registry_id) VALUES ('org/batch', 'MODEL', $1) RETURNING id`, [hfUuid]);
    const revisions: { id: string }[] = await kit.ds.query(
      `INSERT INTO artifact_revisions (artifact_id, version) SELECT $1, 'v' || g FROM generate_series(1, 100) g RETURNING id`, [artifact.id]);
    const reps = (n: number) => revisions.slice(0, n).map((r) => ({ __typename: "ArtifactRevision", id: toGlobalId("ArtifactRevision", r.id) }));
    const run = (n: number) => kit.countQueries(() => kit.as("admin").ok(ENTITIES, { representations: reps(n) }));
    const few = await run(2);
    const many = await run(100);
    expect(many.count).toBe(few.count);
  });
});
