import { openSecret } from "../../src/common/secrets";
import { randomUUID } from "node:crypto";
import { decodeGlobalId, toGlobalId } from "../../src/common/relay";
import { startTestKit, type TestKit } from "../support/testkit";

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit();
});
afterAll(() => kit?.close());

let seq = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;
const uuidOf = (globalId: string) => decodeGlobalId(globalId)!.id;

const HF_FIELDS = `id url name token`;
const RSV_FIELDS = `id name endpoint accessKey secretKey apiVersion`;

const CREATE_HF = `mutation($i: CreateHuggingFaceRegistryInput!) { createHuggingfaceRegistry(input: $i) { huggingfaceRegistry { ${HF_FIELDS} } } }`;
const UPDATE_HF = `mutation($i: UpdateHuggingFaceRegistryInput!) { updateHuggingfaceRegistry(input: $i) { huggingfaceRegistry { ${HF_FIELDS} } } }`;
const DELETE_HF = `mutation($i: DeleteHuggingFaceRegistryInput!) { deleteHuggingfaceRegistry(input: $i) { id } }`;
const GET_HF = `query($id: ID!) { huggingfaceRegistry(id: $id) { ${HF_FIELDS} } }`;
const CREATE_RSV = `mutation($i: CreateReservoirRegistryInput!) { createReservoirRegistry(input: $i) { reservoir { ${RSV_FIELDS} } } }`;
const UPDATE_RSV = `mutation($i: UpdateReservoirRegistryInput!) { updateReservoirRegistry(input: $i) { reservoir { ${RSV_FIELDS} } } }`;
const DELETE_RSV = `mutation($i: DeleteReservoirRegistryInput!) { deleteReservoirRegistry(input: $i) { id } }`;
const GET_RSV = `query($id: ID!) { reservoirRegistry(id: $id) { ${RSV_FIELDS} } }`;

async function createHf(overrides: Record<string, unknown> = {}) {
  const data = await kit.as("superadmin").ok(CREATE_HF, { i: { name: unique("hf"), url: "https://hub.example.com", ...overrides } });
  return data.createHuggingfaceRegistry.huggingfaceRegistry;
}

async function createRsv(overrides: Record<string, unknown> = {}) {
  const data = await kit.as("superadmin").ok(CREATE_RSV, {
    i: { name: unique("rsv"), endpoint: "https://remote.example.com/graphql", accessKey: "AKREMOTE", secretKey: "remote-secret-0123456789", apiVersion: "v1", ...overrides },
  });
  return data.createReservoirRegistry.reservoir;
}

describe("Hugging Face registries", () => {
  it("are created, read, listed, updated and deleted, and their token is never shown", async () => {
    const token = "hf_secret_token_abcdefWXYZ";
    const created = await createHf({ token });
    expect(created.token).toBe("****WXYZ");
    expect(JSON.stringify(created)).not.toContain("hf_secret");
    expect(decodeGlobalId(created.id)?.type).toBe("HuggingFaceRegistry");

    for (const id of [created.id, uuidOf(created.id)]) {
      const { huggingfaceRegistry } = await kit.as("admin").ok(GET_HF, { id });
      expect(huggingfaceRegistry).toEqual(created);
    }
    const listed = await kit.as("admin").ok(`{ huggingfaceRegistries(limit: 500) { count edges { node { ${HF_FIELDS} } } } }`);
    expect(listed.huggingfaceRegistries.edges.map((e: any) => e.node)).toContainEqual(created);
    expect(listed.huggingfaceRegistries.count).toBe(listed.huggingfaceRegistries.edges.length);

    const renamed = unique("hf-renamed");
    const updated = (await kit.as("superadmin").ok(UPDATE_HF, { i: { id: created.id, name: renamed, url: "https://mirror.example.com" } }))
      .updateHuggingfaceRegistry.huggingfaceRegistry;
    expect(updated).toEqual({ id: created.id, name: renamed, url: "https://mirror.example.com", token: "****WXYZ" });
    const [base] = await kit.ds.query(`SELECT name, url FROM artifact_registries WHERE id = $1`, [uuidOf(created.id)]);
    expect(base).toEqual({ name: renamed, url: "https://mirror.example.com" });

    const deleted = await kit.as("superadmin").ok(DELETE_HF, { i: { id: created.id } });
    expect(deleted.deleteHuggingfaceRegistry.id).toBe(uuidOf(created.id));
    expect((await kit.as("user").ok(GET_HF, { id: created.id })).huggingfaceRegistry).toBeNull();
    expect(await kit.ds.query(`SELECT id FROM artifact_registries WHERE id = $1`, [uuidOf(created.id)])).toEqual([]);
  });

  it("keep the token when an update leaves it out or sends null, and drop it for an empty string", async () => {
    const created = await createHf({ token: "hf_keep_me_0123456789" });
    // Sealed in the row (see test/storage/secrets-at-rest.test.ts): opened to compare.
    const tokenInDb = async () => openSecret((await kit.ds.query(`SELECT token FROM huggingface_registries WHERE id = $1`, [uuidOf(created.id)]))[0].token, "huggingface_registries.token");

    await kit.as("superadmin").ok(UPDATE_HF, { i: { id: created.id, url: "https://a.example.com" } });
    expect(await tokenInDb()).toBe("hf_keep_me_0123456789");
    await kit.as("superadmin").ok(UPDATE_HF, { i: { id: created.id, token: null } });
    expect(await tokenInDb()).toBe("hf_keep_me_0123456789");

    const replaced = await kit.as("superadmin").ok(UPDATE_HF, { i: { id: created.id, token: "hf_new_token_9876543210" } });
    expect(replaced.updateHuggingfaceRegistry.huggingfaceRegistry.token).toBe("****3210");

    const cleared = await kit.as("superadmin").ok(UPDATE_HF, { i: { id: created.id, token: "" } });
    expect(cleared.updateHuggingfaceRegistry.huggingfaceRegistry.token).toBeNull();
    expect(await tokenInDb()).toBeNull();
  });

  it("may be created without a token", async () => {
    const created = await createHf();
    expect(created.token).toBeNull();
  });
});

describe("Query.node", () => {
  it("resolves both kinds of registry by global ID, secrets masked", async () => {
    const hf = await createHf({ token: "hf_node_token_0123456789" });
    const rsv = await createRsv();
    const query = `query($id: ID!) { node(id: $id) { __typename id ... on HuggingFaceRegistry { token } ... on ReservoirRegistry { secretKey } } }`;
    expect((await kit.as("admin").ok(query, { id: hf.id })).node).toEqual({ __typename: "HuggingFaceRegistry", id: hf.id, token: "****6789" });
    expect((await kit.as("admin").ok(query, { id: rsv.id })).node).toEqual({ __typename: "ReservoirRegistry", id: rsv.id, secretKey: "****6789" });
  });
});

describe("Reservoir registries", () => {
  it("are created, read, listed, updated and deleted; the access key is shown and the secret key masked", async () => {
    const created = await createRsv();
    expect(created).toMatchObject({ endpoint: "https://remote.example.com/graphql", accessKey: "AKREMOTE", secretKey: "****6789", apiVersion: "v1" });
    expect(JSON.stringify(created)).not.toContain("remote-secret");

    expect((await kit.as("admin").ok(GET_RSV, { id: uuidOf(created.id) })).reservoirRegistry).toEqual(created);
    const listed = await kit.as("admin").ok(`{ reservoirRegistries(first: 500) { count edges { node { ${RSV_FIELDS} } } } }`);
    expect(listed.reservoirRegistries.edges.map((e: any) => e.node)).toContainEqual(created);

    const updated = (await kit.as("superadmin").ok(UPDATE_RSV, {
      i: { id: created.id, endpoint: "https://other.example.com/graphql", secretKey: "rotated-secret-abcdefgh", apiVersion: "v2" },
    })).updateReservoirRegistry.reservoir;
    expect(updated).toEqual({ ...created, endpoint: "https://other.example.com/graphql", secretKey: "****efgh", apiVersion: "v2" });
    const [row] = await kit.ds.query(`SELECT secret_key, endpoint FROM reservoir_registries WHERE id = $1`, [uuidOf(created.id)]);
    expect({ ...row, secret_key: openSecret(row.secret_key, "reservoir_registries.secret_key") }).toEqual({ secret_key: "rotated-secret-abcdefgh", endpoint: "https://other.example.com/graphql" });
    const [base] = await kit.ds.query(`SELECT url, type FROM artifact_registries WHERE id = $1`, [uuidOf(created.id)]);
    expect(base).toEqual({ url: "https://other.example.com/graphql", type: "RESERVOIR" });

    const deleted = await kit.as("superadmin").ok(DELETE_RSV, { i: { id: created.id } });
    expect(deleted.deleteReservoirRegistry.id).toBe(uuidOf(created.id));
    expect((await kit.as("user").ok(GET_RSV, { id: created.id })).reservoirRegistry).toBeNull();
  });
});

describe("registry validation", () => {
  const badHf: Array<[string, Record<string, unknown>]> = [
    ["an empty name", { name: "" }],
    ["a name of 257 characters", { name: "a".repeat(257) }],
    ["a name with a space", { name: "my registry" }],
    ["a name with a slash", { name: "a/b" }],
    ["a non-http URL", { url: "ftp://hub.example.com" }],
    ["a URL with credentials", { url: "https://user:pass@hub.example.com" }],
    ["a URL with a query", { url: "https://hub.example.com/?token=x" }],
    ["something that is not a URL", { url: "hub.example.com" }],
  ];
  it.each(badHf)("refuses a Hugging Face registry with %s as BAD_USER_INPUT", async (_what, overrides) => {
    await kit.as("superadmin").refuses(CREATE_HF, { i: { name: unique("hf"), url: "https://hub.example.com", ...overrides } }, "BAD_USER_INPUT");
  });

  const badRsv: Array<[string, Record<string, unknown>]> = [
    ["an empty apiVersion", { apiVersion: "" }],
    ["an empty accessKey", { accessKey: "" }],
    ["an empty secretKey", { secretKey: "" }],
    ["an endpoint that is not http(s)", { endpoint: "file:///etc/passwd" }],
  ];
  it.each(badRsv)("refuses a Reservoir registry with %s as BAD_USER_INPUT", async (_what, overrides) => {
    await kit.as("superadmin").refuses(CREATE_RSV, {
      i: { name: unique("rsv"), endpoint: "https://r.example.com/graphql", accessKey: "AK", secretKey: "sk-value", apiVersion: "v1", ...overrides },
    }, "BAD_USER_INPUT");
  });

  it("refuses an update that would blank the Reservoir secret key, and keeps the old one", async () => {
    const created = await createRsv();
    await kit.as("superadmin").refuses(UPDATE_RSV, { i: { id: created.id, secretKey: "" } }, "BAD_USER_INPUT");
    const [row] = await kit.ds.query(`SELECT secret_key FROM reservoir_registries WHERE id = $1`, [uuidOf(created.id)]);
    expect(openSecret(row.secret_key, "reservoir_registries.secret_key")).toBe("remote-secret-0123456789");
  });
});

describe("registry conflicts and unknown ids", () => {
  it("refuses a duplicate name with CONFLICT, across both kinds of registry", async () => {
    const hf = await createHf();
    await kit.as("superadmin").refuses(CREATE_HF, { i: { name: hf.name, url: "https://x.example.com" } }, "CONFLICT");
    await kit.as("superadmin").refuses(CREATE_RSV, {
      i: { name: hf.name, endpoint: "https://r.example.com/graphql", accessKey: "AK", secretKey: "sk", apiVersion: "v1" },
    }, "CONFLICT");
    const rsv = await createRsv();
    await kit.as("superadmin").refuses(UPDATE_RSV, { i: { id: rsv.id, name: hf.name } }, "CONFLICT");
    expect((await kit.as("admin").ok(GET_RSV, { id: rsv.id })).reservoirRegistry.name).toBe(rsv.name);
  });

  it("answers NOT_FOUND for unknown ids and BAD_USER_INPUT for a global ID of another type", async () => {
    const su = kit.as("superadmin");
    const missing = randomUUID();
    await su.refuses(UPDATE_HF, { i: { id: missing, url: "https://x.example.com" } }, "NOT_FOUND");
    await su.refuses(DELETE_HF, { i: { id: toGlobalId("HuggingFaceRegistry", missing) } }, "NOT_FOUND");
    await su.refuses(UPDATE_RSV, { i: { id: missing, apiVersion: "v3" } }, "NOT_FOUND");
    await su.refuses(DELETE_RSV, { i: { id: missing } }, "NOT_FOUND");

    const rsv = await createRsv();
    // The right UUID under the wrong kind is simply not there...
    await su.refuses(DELETE_HF, { i: { id: uuidOf(rsv.id) } }, "NOT_FOUND");
    expect((await kit.as("user").ok(GET_HF, { id: uuidOf(rsv.id) })).huggingfaceRegistry).toBeNull();
    // ...while a global ID that names another type is a client error.
    await su.refuses(DELETE_HF, { i: { id: rsv.id } }, "BAD_USER_INPUT");
    await kit.as("user").fails(GET_HF, { id: rsv.id }, "BAD_USER_INPUT");
    await kit.as("user").fails(GET_RSV, { id: toGlobalId("Artifact", randomUUID()) }, "BAD_USER_INPUT");
    await kit.as("user").fails(GET_RSV, { id: "not-an-id" }, "BAD_USER_INPUT");
    expect((await kit.as("admin").ok(GET_RSV, { id: rsv.id })).reservoirRegistry).not.toBeNull();
  });

  it("refuses to delete a registry that artifacts reference, and changes nothing", async () => {
    const hf = await createHf({ token: "hf_still_here_0123" });
    const rsv = await createRsv();
    for (const registry of [hf, rsv]) {
      await kit.ds.query(`INSERT INTO artifacts (name, type, registry_id) VALUES ($1, 'MODEL', $2)`, [unique("org/model"), uuidOf(registry.id)]);
    }
    await kit.as("superadmin").refuses(DELETE_HF, { i: { id: hf.id } }, "CONFLICT");
    await kit.as("superadmin").refuses(DELETE_RSV, { i: { id: rsv.id } }, "CONFLICT");
    expect((await kit.as("admin").ok(GET_HF, { id: hf.id })).huggingfaceRegistry).toEqual(hf);
    expect((await kit.as("admin").ok(GET_RSV, { id: rsv.id })).reservoirRegistry).toEqual(rsv);
  });

  it("lets only a superadmin change registries", async () => {
    const hf = await createHf();
    await kit.as("admin").refuses(CREATE_HF, { i: { name: unique("hf"), url: "https://x.example.com" } }, "FORBIDDEN");
    await kit.as("user").refuses(DELETE_HF, { i: { id: hf.id } }, "FORBIDDEN");
    await kit.as("admin").refuses(CREATE_RSV, {
      i: { name: unique("rsv"), endpoint: "https://r.example.com/graphql", accessKey: "AK", secretKey: "sk", apiVersion: "v1" },
    }, "FORBIDDEN");
  });
});

describe("registry lists", () => {
  it("page by cursor and by offset in name order, with a count independent of paging", async () => {
    for (let i = 0; i < 3; i++) await createHf();
    const all = (await kit.as("user").ok(`{ huggingfaceRegistries(limit: 500) { count edges { node { name } } } }`)).huggingfaceRegistries;
    const names: string[] = all.edges.map((e: any) => e.node.name);
    // Name order as the database collates it (hyphens sort differently in C and en_US).
    const ordered = await kit.ds.query(`SELECT r.name FROM artifact_registries r JOIN huggingface_registries h ON h.id = r.id ORDER BY r.name, r.id`);
    expect(names).toEqual(ordered.map((r: { name: string }) => r.name));
    expect(all.count).toBe(names.length);

    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await kit.as("user").ok(
        `query($after: String) { huggingfaceRegistries(first: 2, after: $after) { count pageInfo { hasNextPage endCursor } edges { node { name } } } }`,
        { after },
      )).huggingfaceRegistries;
      expect(page.count).toBe(names.length);
      seen.push(...page.edges.map((e: any) => e.node.name));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(names);

    const window = (await kit.as("user").ok(`{ huggingfaceRegistries(offset: 1, limit: 2) { edges { node { name } } pageInfo { hasPreviousPage } } }`))
      .huggingfaceRegistries;
    expect(window.edges.map((e: any) => e.node.name)).toEqual(names.slice(1, 3));
    expect(window.pageInfo.hasPreviousPage).toBe(true);
  });

  it("refuse mixed paging styles and pages over 500 rows", async () => {
    await kit.as("user").fails(`{ huggingfaceRegistries(first: 1, offset: 1) { count } }`, {}, "BAD_USER_INPUT");
    await kit.as("user").fails(`{ reservoirRegistries(limit: 501) { count } }`, {}, "BAD_USER_INPUT");
  });
});

describe("defaultArtifactRegistry", () => {
  const DEFAULT = `query($t: ArtifactType!) { defaultArtifactRegistry(artifactType: $t) { id registryId name type } }`;

  it("is the Hugging Face registry named huggingface for models, else the oldest one, and null for other types", async () => {
    const [bootstrapped] = await kit.ds.query(`SELECT id FROM artifact_registries WHERE name = 'huggingface'`);
    const chosen = (await kit.as("user").ok(DEFAULT, { t: "MODEL" })).defaultArtifactRegistry;
    expect(chosen).toEqual({ id: toGlobalId("ArtifactRegistry", bootstrapped.id), registryId: bootstrapped.id, name: "huggingface", type: "HUGGINGFACE" });
    // registryId is usable wherever a registry UUID is expected.
    expect((await kit.as("user").ok(GET_HF, { id: chosen.registryId })).huggingfaceRegistry.name).toBe("huggingface");

    expect((await kit.as("user").ok(DEFAULT, { t: "PACKAGE" })).defaultArtifactRegistry).toBeNull();
    expect((await kit.as("user").ok(DEFAULT, { t: "IMAGE" })).defaultArtifactRegistry).toBeNull();

    await kit.as("superadmin").ok(UPDATE_HF, { i: { id: bootstrapped.id, name: "renamed-hub" } });
    try {
      const [oldest] = await kit.ds.query(
        `SELECT r.id, r.name FROM artifact_registries r JOIN huggingface_registries h ON h.id = r.id ORDER BY r.created_at, r.id LIMIT 1`);
      const fallback = (await kit.as("user").ok(DEFAULT, { t: "MODEL" })).defaultArtifactRegistry;
      expect(fallback).toMatchObject({ registryId: oldest.id, name: oldest.name, type: "HUGGINGFACE" });
    } finally {
      await kit.as("superadmin").ok(UPDATE_HF, { i: { id: bootstrapped.id, name: "huggingface" } });
    }
  });
});
