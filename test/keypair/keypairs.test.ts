import { randomBytes, randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { decodeGlobalId, toGlobalId } from "../../src/common/relay";
import { SecretKeyring } from "../../src/common/secrets";
import { KeypairService } from "../../src/keypair/keypair.service";
import { startTestKit, type TestKit } from "../support/testkit";

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit();
});
afterAll(() => kit?.close());

const KEYPAIR_FIELDS = `id accessKey role description createdAt lastUsedAt revoked`;
const CREATE = `mutation($i: CreateApiKeypairInput!) { createApiKeypair(input: $i) { keypair { ${KEYPAIR_FIELDS} } secretKey } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKeypair(input: { id: $id }) { keypair { ${KEYPAIR_FIELDS} } } }`;
const LIST = `query($first: Int, $after: String) { apiKeypairs(first: $first, after: $after) { count pageInfo { hasNextPage endCursor } edges { node { ${KEYPAIR_FIELDS} } } } }`;

async function createKeypair(role = "ADMIN", description: string | null = "ci runner") {
  return (await kit.as("superadmin").ok(CREATE, { i: { role, description } })).createApiKeypair as {
    keypair: { id: string; accessKey: string; role: string; revoked: boolean; lastUsedAt: string | null };
    secretKey: string;
  };
}

const services = () => kit.booted.services;
const sign = (claims: Record<string, unknown>, secret: string, options: jwt.SignOptions = {}) =>
  jwt.sign(claims, secret, { algorithm: "HS256", ...options });

describe("API key pairs", () => {
  it("return the secret key once, at creation, and store it only encrypted", async () => {
    const { keypair, secretKey } = await createKeypair("ADMIN", "ci runner");
    expect(keypair).toMatchObject({ role: "ADMIN", description: "ci runner", revoked: false, lastUsedAt: null });
    expect(keypair.accessKey).toMatch(/^AK[A-Z2-7]{18}$/);
    expect(secretKey).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(decodeGlobalId(keypair.id)?.type).toBe("ApiKeypair");

    const [row] = await kit.ds.query(`SELECT * FROM api_keypairs WHERE id = $1`, [decodeGlobalId(keypair.id)!.id]);
    expect(row.secret_key_encrypted).not.toContain(secretKey);
    expect(JSON.stringify(row)).not.toContain(secretKey);
    expect(row.secret_key_encrypted).not.toContain(Buffer.from(secretKey).toString("base64"));

    const listed = await kit.as("superadmin").ok(LIST, { first: 500 });
    expect(listed.apiKeypairs.edges.map((e: any) => e.node)).toContainEqual(keypair);
    expect(JSON.stringify(listed)).not.toContain(secretKey);
  });

  it("get distinct access and secret keys every time", async () => {
    const [a, b] = await Promise.all([createKeypair(), createKeypair()]);
    expect(a.keypair.accessKey).not.toBe(b.keypair.accessKey);
    expect(a.secretKey).not.toBe(b.secretKey);
  });

  it("are listed in creation order with cursor paging and a count", async () => {
    for (let i = 0; i < 3; i++) await createKeypair("USER", `batch ${i}`);
    const all = (await kit.as("superadmin").ok(`{ apiKeypairs(limit: 500) { count edges { node { id } } } }`)).apiKeypairs;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await kit.as("superadmin").ok(LIST, { first: 2, after })).apiKeypairs;
      expect(page.count).toBe(all.count);
      seen.push(...page.edges.map((e: any) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.edges.map((e: any) => e.node.id));
  });

  it("can be revoked, twice without harm, keeping the first revocation time", async () => {
    const { keypair } = await createKeypair();
    const revoked = (await kit.as("superadmin").ok(REVOKE, { id: keypair.id })).revokeApiKeypair.keypair;
    expect(revoked).toMatchObject({ id: keypair.id, revoked: true });
    const [first] = await kit.ds.query(`SELECT revoked_at FROM api_keypairs WHERE id = $1`, [decodeGlobalId(keypair.id)!.id]);
    const again = (await kit.as("superadmin").ok(REVOKE, { id: decodeGlobalId(keypair.id)!.id })).revokeApiKeypair.keypair;
    expect(again.revoked).toBe(true);
    const [second] = await kit.ds.query(`SELECT revoked_at FROM api_keypairs WHERE id = $1`, [decodeGlobalId(keypair.id)!.id]);
    expect(second.revoked_at).toEqual(first.revoked_at);
  });

  it("answer NOT_FOUND when revoking an unknown key pair and BAD_USER_INPUT for another type's ID", async () => {
    await kit.as("superadmin").fails(REVOKE, { id: toGlobalId("ApiKeypair", randomUUID()) }, "NOT_FOUND");
    await kit.as("superadmin").fails(REVOKE, { id: toGlobalId("Artifact", randomUUID()) }, "BAD_USER_INPUT");
  });

  it("refuse an over-long description with BAD_USER_INPUT and an unknown role as a validation error", async () => {
    await kit.as("superadmin").fails(CREATE, { i: { role: "USER", description: "x".repeat(1025) } }, "BAD_USER_INPUT");
    const response = await kit.as("superadmin").execute(CREATE, { i: { role: "ROOT" } });
    expect(response.errors?.length).toBeGreaterThan(0);
    expect(response.data?.createApiKeypair ?? null).toBeNull();
  });

  it("are visible to and managed by a superadmin only", async () => {
    const { keypair } = await createKeypair();
    const node = `query($id: ID!) { node(id: $id) { __typename id ... on ApiKeypair { accessKey } } }`;
    expect((await kit.as("superadmin").ok(node, { id: keypair.id })).node).toEqual({ __typename: "ApiKeypair", id: keypair.id, accessKey: keypair.accessKey });
    expect((await kit.as("admin").ok(node, { id: keypair.id })).node).toBeNull();
    for (const role of ["admin", "user"] as const) {
      await kit.as(role).fails(`{ apiKeypairs { count } }`, {}, "FORBIDDEN");
      await kit.as(role).fails(CREATE, { i: { role: "USER" } }, "FORBIDDEN");
      await kit.as(role).fails(REVOKE, { id: keypair.id }, "FORBIDDEN");
    }
  });
});

describe("verifyClientToken", () => {
  const now = () => Math.floor(Date.now() / 1000);

  it("accepts a token signed with the secret key, names the access key and role, and records the use", async () => {
    const { keypair, secretKey } = await createKeypair("ADMIN");
    const token = sign({ iss: keypair.accessKey }, secretKey, { expiresIn: "5m" });
    expect((await services().keypairs.verifyClientToken(token)).viewer).toEqual({ sub: keypair.accessKey, role: "admin" });
    const listed = (await kit.as("superadmin").ok(LIST, { first: 500 })).apiKeypairs.edges.map((e: any) => e.node);
    expect(listed.find((k: any) => k.id === keypair.id).lastUsedAt).toEqual(expect.any(String));
  });

  it("accepts a token that lives exactly ten minutes", async () => {
    const { keypair, secretKey } = await createKeypair("SUPERADMIN");
    const token = sign({ iss: keypair.accessKey, exp: now() + 600 }, secretKey);
    expect((await services().keypairs.verifyClientToken(token)).viewer).toEqual({ sub: keypair.accessKey, role: "superadmin" });
  });

  const refusals: Array<[string, (k: { accessKey: string; secret: string }) => string | Promise<string>]> = [
    ["an unknown access key", (k) => sign({ iss: "AKUNKNOWNUNKNOWNUNKN" }, k.secret, { expiresIn: "5m" })],
    ["a token without iss", (k) => sign({}, k.secret, { expiresIn: "5m" })],
    ["a token signed with another secret", (k) => sign({ iss: k.accessKey }, "not-the-secret-key-of-this-pair-at-all", { expiresIn: "5m" })],
    ["an expired token", (k) => sign({ iss: k.accessKey, exp: now() - 10 }, k.secret)],
    ["a token that lives an hour", (k) => sign({ iss: k.accessKey }, k.secret, { expiresIn: "1h" })],
    ["a token that lives eleven minutes", (k) => sign({ iss: k.accessKey, exp: now() + 660 }, k.secret)],
    ["a token without exp", (k) => sign({ iss: k.accessKey }, k.secret)],
    ["an unsigned token", (k) => jwt.sign({ iss: k.accessKey, exp: now() + 60 }, "", { algorithm: "none" })],
    ["a token that is not a JWT", () => "not.a.jwt"],
    ["a token signed with HS512", (k) => jwt.sign({ iss: k.accessKey }, k.secret, { algorithm: "HS512", expiresIn: "5m" })],
  ];
  it.each(refusals)("refuses %s as UNAUTHENTICATED", async (_what, makeToken) => {
    const { keypair, secretKey } = await createKeypair("USER");
    const token = await makeToken({ accessKey: keypair.accessKey, secret: secretKey });
    await expect(services().keypairs.verifyClientToken(token)).rejects.toMatchObject({ extensions: { code: "UNAUTHENTICATED" } });
  });

  it("refuses the tokens of a revoked key pair", async () => {
    const { keypair, secretKey } = await createKeypair("ADMIN");
    const token = sign({ iss: keypair.accessKey }, secretKey, { expiresIn: "5m" });
    await services().keypairs.verifyClientToken(token);
    await kit.as("superadmin").ok(REVOKE, { id: keypair.id });
    await expect(services().keypairs.verifyClientToken(token)).rejects.toMatchObject({ extensions: { code: "UNAUTHENTICATED" } });
  });

  it("cannot use key pairs without the key that sealed their secrets", async () => {
    const { keypair, secretKey } = await createKeypair("ADMIN");
    const other = new KeypairService(kit.ds, { keyring: new SecretKeyring([{ id: "auth", key: randomBytes(32) }]), limits: kit.config.limits });
    const token = sign({ iss: keypair.accessKey }, secretKey, { expiresIn: "5m" });
    await expect(other.verifyClientToken(token)).rejects.toMatchObject({ extensions: { code: "UNAUTHENTICATED" } });
  });
});
