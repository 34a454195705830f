import { createClient, type Client } from "graphql-ws";
import jwt from "jsonwebtoken";
import WebSocket from "ws";
import { ArtifactStatus, Role } from "../../src/common/enums";
import { ReservoirClient } from "../../src/upstream/reservoir/reservoir.client";
import type { ReservoirError } from "../../src/upstream/reservoir/reservoir.errors";
import type { RemoteRevisionState } from "../../src/upstream/reservoir/reservoir.documents";
import { ManualClock } from "../support/clock";
import { Seed } from "../support/seed";
import { repeatUntil, statusFence, subscribeFenced } from "../support/subscriptions";
import { GraphQLClient, startTestKit, type TestKit } from "../support/testkit";
import { issueKeypair, revokeKeypair } from "../reservoir/support";

/*
 * A graphql-ws socket lives no longer than its credential: it closes (4401, with the reason)
 * when the token expires or is revoked in any process, and every operation checks the token
 * again. Two server processes on one database (A and B) share a clock the test moves.
 */

jest.setTimeout(60_000);

const clock = new ManualClock();
let a: TestKit;
let b: TestKit;
beforeAll(async () => {
  const env = { IMPORT_WORKER: "false", AUTH_MAX_TOKEN_TTL: "2h" };
  a = await startTestKit(env, { clock });
  b = await startTestKit({ ...env, AUTH_JWT_SECRET: a.config.jwtSecret!, DATA_DIR: a.config.dataDir }, { database: a.db, clock });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const STATUS = `subscription($input: ArtifactStatusChangedInput!) { artifactStatusChanged(input: $input) { artifactRevision { id status } } }`;
const CREATE_KEYPAIR = `mutation { createApiKeypair(input: { role: USER }) { keypair { id } } }`;
const REVOKE_TOKENS = `mutation($subject: String!) { revokeTokens(input: { subject: $subject }) { subject notBefore } }`;

interface Closed { code: number; reason: string }

/** A graphql-ws client that connects at once and tells how the server closed it. */
function connect(kit: TestKit, token: string): { client: Client; closed: Promise<Closed> } {
  let resolve!: (closed: Closed) => void;
  const closed = new Promise<Closed>((r) => (resolve = r));
  const client = createClient({
    url: `${kit.url.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
    // The close is what the tests wait for (closed), not an error to print.
    onNonLazyError: () => undefined,
    on: { closed: (event) => resolve({ code: (event as Closed).code, reason: (event as Closed).reason }) },
  });
  return { client, closed };
}

/** Runs one operation on the socket: its result, or what the error sink got. */
function run(client: Client, query: string): Promise<{ data?: unknown; errors?: unknown }> {
  return new Promise((resolve) => {
    let result: { data?: unknown; errors?: unknown } = {};
    client.subscribe({ query }, {
      next: (value) => (result = value as typeof result),
      error: (error) => resolve({ errors: Array.isArray(error) ? error.map((e) => ({ message: e.message, extensions: e.extensions })) : [String(error)] }),
      complete: () => resolve(result),
    });
  });
}

async function liveSubscription(kit: TestKit, client: Client) {
  const fence = await statusFence(a, kit);
  const subscription = subscribeFenced(client, { query: STATUS, variables: { input: { artifactRevisionIds: [fence.revisionId] } } }, { fence });
  await subscription.live;
  return subscription;
}

/** A user token dated by the servers' clock. */
function tokenFor(sub: string, role: Role, lifetimeSeconds: number): string {
  const iat = Math.floor(clock.now() / 1000);
  return jwt.sign({ role, iat, exp: iat + lifetimeSeconds }, a.booted.authSecret, { algorithm: "HS256", subject: sub });
}

const keypairCount = async () => Number((await a.ds.query(`SELECT count(*)::int AS n FROM api_keypairs`))[0].n);

describe("graphql-ws sockets and their credential", () => {
  it("ends a live subscription and closes the socket with 4401 when the token expires", async () => {
    const { client, closed } = connect(b, tokenFor("expiring", Role.USER, 60));
    const subscription = await liveSubscription(b, client);

    clock.advance(61_000);

    expect(await closed).toEqual({ code: 4401, reason: "Token expired" });
    await expect(subscription.drain()).rejects.toThrow(/Subscription failed/);
    await client.dispose();
  });

  it("refuses an operation sent after the token expired, even before the socket's timer fired, and closes the socket", async () => {
    const { client, closed } = connect(b, tokenFor("late", Role.SUPERADMIN, 60));
    expect(await run(client, `{ apiKeypairs { count } }`)).toMatchObject({ data: { apiKeypairs: { count: expect.any(Number) } } });
    const before = await keypairCount();

    clock.advance(61_000, { runTimers: false });

    expect(await run(client, CREATE_KEYPAIR)).toEqual({ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: "UNAUTHENTICATED" }) })] });
    expect(await closed).toEqual({ code: 4401, reason: "Token expired" });
    expect(await keypairCount()).toBe(before);
    await client.dispose();
  });

  it("closes, on server B, the sockets of a subject a superadmin revoked on server A, and B refuses the old token from then on", async () => {
    const old = tokenFor("alice", Role.USER, 3600);
    const { client, closed } = connect(b, old);
    const subscription = await liveSubscription(b, client);

    const { revokeTokens } = await a.as("superadmin").ok(REVOKE_TOKENS, { subject: "alice" });

    expect(await closed).toEqual({ code: 4401, reason: "Token revoked" });
    await expect(subscription.drain()).rejects.toThrow(/Subscription failed/);
    await client.dispose();
    // B heard of it (it closed the socket): its HTTP refuses the token too, as does A's.
    for (const kit of [a, b]) await new GraphQLClient(kit.url, old).fails(`{ __typename }`, {}, "UNAUTHENTICATED");
    // A token issued after the revocation is good.
    const iat = Math.ceil(Date.parse(revokeTokens.notBefore) / 1000);
    const fresh = jwt.sign({ role: "user", iat, exp: iat + 3600 }, a.booted.authSecret, { algorithm: "HS256", subject: "alice" });
    await new GraphQLClient(b.url, fresh).ok(`{ __typename }`);
  });

  it("lets only a superadmin revoke tokens", async () => {
    await a.as("admin").refuses(REVOKE_TOKENS, { subject: "bob" }, "FORBIDDEN");
    await a.as("superadmin").fails(REVOKE_TOKENS, { subject: " " }, "BAD_USER_INPUT");
  });

  it("closes, on server B, a socket authenticated with a key pair revoked on server A", async () => {
    const keypair = await issueKeypair(a, "USER");
    const token = jwt.sign({}, keypair.secretKey, { algorithm: "HS256", issuer: keypair.accessKey, subject: keypair.accessKey, expiresIn: 300 });
    const { client, closed } = connect(b, token);
    const subscription = await liveSubscription(b, client);

    await revokeKeypair(a, keypair);

    expect(await closed).toEqual({ code: 4401, reason: "Key pair revoked" });
    await expect(subscription.drain()).rejects.toThrow(/Subscription failed/);
    await client.dispose();
  });
});

describe("token lifetimes", () => {
  const sign = (claims: object) => jwt.sign({ role: "superadmin", ...claims }, a.booted.authSecret, { algorithm: "HS256", subject: "lifetimes" });
  const now = () => Math.floor(clock.now() / 1000);

  it("refuses a token without exp", async () => {
    const error = await new GraphQLClient(a.url, sign({})).fails(`{ __typename }`, {}, "UNAUTHENTICATED");
    expect(error.message).toMatch(/exp is required/);
  });

  it("refuses a token that lives longer than AUTH_MAX_TOKEN_TTL, over HTTP and graphql-ws, and accepts one within it", async () => {
    const long = sign({ iat: now(), exp: now() + 3 * 3600 });
    const error = await new GraphQLClient(a.url, long).fails(`{ __typename }`, {}, "UNAUTHENTICATED");
    expect(error.message).toMatch(/AUTH_MAX_TOKEN_TTL/);
    const { client } = connect(a, long);
    expect(await run(client, `{ apiKeypairs { count } }`)).toEqual({ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: "UNAUTHENTICATED" }) })] });
    await client.dispose();
    await new GraphQLClient(a.url, sign({ iat: now(), exp: now() + 2 * 3600 })).ok(`{ __typename }`);
  });
});

describe("the Reservoir client's status watch", () => {
  it("goes on with a fresh token when the remote closes the socket as its token expires, and fails clearly when the key pair is revoked", async () => {
    const keypair = await issueKeypair(a, "USER");
    const seed = new Seed(a.ds);
    const artifact = await seed.artifact((await seed.registry()).id);
    const revision = await seed.revision(artifact.id, { status: ArtifactStatus.SCANNED });
    const client = new ReservoirClient({ endpoint: `${a.url}/graphql`, accessKey: keypair.accessKey, secretKey: keypair.secretKey, timeoutMs: 5000, clock });

    const seen: RemoteRevisionState[] = [];
    let arrived!: () => void;
    let failed!: (error: ReservoirError) => void;
    const failure = new Promise<ReservoirError>((resolve) => (failed = resolve));
    const stop = client.watchStatuses([revision.globalId], { next: (state) => { seen.push(state); arrived(); }, error: (error) => failed(error) });
    const publish = () => a.booted.events.publish("revision.status", {
      revisionId: revision.id, artifactId: artifact.id, from: null, to: ArtifactStatus.SCANNED, at: new Date().toISOString(),
    });
    const nextEvent = () => repeatUntil("a status event through the watch", publish, new Promise<void>((resolve) => (arrived = resolve)));
    try {
      await nextEvent();
      // Past the client token's 5 minutes: the remote closes the socket (4401 "Token expired").
      clock.advance(301_000);
      await nextEvent();

      await revokeKeypair(a, keypair);
      const error = await failure;
      expect({ kind: error.kind, message: error.message }).toEqual({
        kind: "refused",
        message: "the remote refused the key pair on its WebSocket (close code 4401: Key pair revoked)",
      });
    } finally {
      stop();
    }
  });
});
