import { createClient } from "graphql-ws";
import jwt from "jsonwebtoken";
import WebSocket from "ws";
import { GraphQLClient, startTestKit, type TestKit } from "../support/testkit";
import { issueKeypair, revokeKeypair, type IssuedKeypair } from "./support";

/*
 * What a remote instance accepts from a machine client: a JWT signed with a key pair's secret
 * key, issued by its access key, living at most ten minutes; the key pair's role is the viewer's.
 */

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit();
});
afterAll(() => kit?.close());

const now = () => Math.floor(Date.now() / 1000);
const sign = (claims: Record<string, unknown>, secret: string) => jwt.sign(claims, secret, { algorithm: "HS256" });
const clientToken = (k: IssuedKeypair, lifetime = 300) => sign({ iss: k.accessKey, sub: k.accessKey, exp: now() + lifetime }, k.secretKey);
const as = (token: string) => new GraphQLClient(kit.url, token);

const READ = `{ artifacts(first: 1) { count } }`;
const SUPERADMIN_ONLY = `{ apiKeypairs(first: 1) { count } }`;

describe("key pair tokens over HTTP", () => {
  it("let a machine client in with its key pair's role", async () => {
    const superadmin = await issueKeypair(kit, "SUPERADMIN");
    const admin = await issueKeypair(kit, "ADMIN");
    const user = await issueKeypair(kit, "USER");
    await as(clientToken(superadmin)).ok(SUPERADMIN_ONLY);
    await as(clientToken(admin)).ok(READ);
    await as(clientToken(admin)).fails(SUPERADMIN_ONLY, {}, "FORBIDDEN");
    const refused = await as(clientToken(user)).fails(`mutation { deleteArtifacts(input: { artifactIds: [] }) { artifacts { id } } }`, {}, "FORBIDDEN");
    expect(refused.message).toMatch(/user role/);
  });

  it("accept a token that lives exactly ten minutes", async () => {
    await as(clientToken(await issueKeypair(kit, "USER"), 600)).ok(READ);
  });

  const refusals: Array<[string, (k: IssuedKeypair) => string]> = [
    ["signed with the wrong secret", (k) => sign({ iss: k.accessKey, exp: now() + 300 }, "not-the-secret-key-of-this-key-pair-0000")],
    ["living an hour", (k) => sign({ iss: k.accessKey, exp: now() + 3600 }, k.secretKey)],
    ["living eleven minutes", (k) => sign({ iss: k.accessKey, exp: now() + 660 }, k.secretKey)],
    ["without exp", (k) => sign({ iss: k.accessKey }, k.secretKey)],
    ["expired", (k) => sign({ iss: k.accessKey, exp: now() - 5 }, k.secretKey)],
    ["of an unknown access key", (k) => sign({ iss: "AKUNKNOWNUNKNOWNUNKN", exp: now() + 300 }, k.secretKey)],
    // The server's own secret does not make an issued token a user token: the issuer decides the path.
    ["signed with the server secret but naming an issuer", (k) => sign({ iss: k.accessKey, sub: "x", role: "superadmin", exp: now() + 300 }, kit.booted.authSecret)],
  ];
  it.each(refusals)("refuse a token %s with HTTP 401 UNAUTHENTICATED", async (_what, makeToken) => {
    const token = makeToken(await issueKeypair(kit, "SUPERADMIN"));
    const response = await as(token).execute(READ);
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(response.data ?? null).toBeNull();
  });

  it("refuse the tokens of a key pair once it is revoked", async () => {
    const keypair = await issueKeypair(kit, "ADMIN");
    const token = clientToken(keypair);
    await as(token).ok(READ);
    await revokeKeypair(kit, keypair);
    const response = await as(token).execute(READ);
    expect(response.status).toBe(401);
    expect(response.errors?.[0]).toMatchObject({ message: expect.stringMatching(/unknown or revoked access key/), extensions: { code: "UNAUTHENTICATED" } });
  });

  it("leave user tokens working as before", async () => {
    await kit.as("superadmin").ok(SUPERADMIN_ONLY);
    await kit.as("user").ok(READ);
  });
});

describe("key pair tokens over graphql-ws", () => {
  const run = (token: string) => {
    const client = createClient({
      url: `${kit.url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: true,
    });
    return new Promise<unknown>((resolve, reject) => {
      let result: unknown;
      client.subscribe({ query: READ }, {
        next: (value) => (result = value),
        error: reject,
        complete: () => resolve(result),
      });
    }).finally(() => client.dispose());
  };

  it("accept a key pair's token in connectionParams", async () => {
    expect(await run(clientToken(await issueKeypair(kit, "USER")))).toEqual({ data: { artifacts: { count: expect.any(Number) } } });
  });

  it("answer UNAUTHENTICATED for a revoked key pair's token", async () => {
    const keypair = await issueKeypair(kit, "USER");
    const token = clientToken(keypair);
    await revokeKeypair(kit, keypair);
    expect(await run(token)).toEqual({
      errors: [expect.objectContaining({ message: expect.stringMatching(/unknown or revoked access key/), extensions: expect.objectContaining({ code: "UNAUTHENTICATED" }) })],
    });
  });
});
