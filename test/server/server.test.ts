import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { ArtifactStatus } from "../../src/common/enums";
import { toGlobalId } from "../../src/common/relay";
import { statusFence, subscribeFenced } from "../support/subscriptions";
import { startTestKit, type TestKit } from "../support/testkit";

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit();
});
afterAll(() => kit?.close());

async function seedRevision() {
  const [registry] = await kit.ds.query(`SELECT id FROM artifact_registries LIMIT 1`);
  const [artifact] = await kit.ds.query(
    `INSERT INTO artifacts (name, type, registry_id) VALUES ('org/ws-' || gen_random_uuid(), 'MODEL', $1) RETURNING id`, [registry.id]);
  const [revision] = await kit.ds.query(`INSERT INTO artifact_revisions (artifact_id, version) VALUES ($1, 'main') RETURNING id`, [artifact.id]);
  return { artifactId: artifact.id as string, revisionId: revision.id as string };
}

function wsClient(authorization?: string): Client {
  return createClient({
    url: `${kit.url.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { Authorization: authorization } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

/** The first answer of a subscription the server refuses: rejects with its errors (or resolves with what came instead). */
function refusal(client: Client, query: string, variables: Record<string, unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within 5 s to\n${query}\nVariables: ${JSON.stringify(variables)}`)), 5000);
    client.subscribe({ query, variables }, {
      next: (value) => (value.errors ? reject(new Error(JSON.stringify(value.errors))) : resolve(value)),
      error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
      complete: () => resolve("completed without an answer"),
    });
  }).finally(() => clearTimeout(timer));
}

describe("HTTP endpoints", () => {
  it("answers /healthz while the process is up", async () => {
    const res = await fetch(`${kit.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("answers /readyz when the database and default storage are reachable", async () => {
    const res = await fetch(`${kit.url}/readyz`);
    expect(await res.json()).toEqual({ status: "ready" });
  });
});

describe("errors", () => {
  it("masks an unexpected failure as INTERNAL_SERVER_ERROR without leaking SQL", async () => {
    await kit.ds.query(`ALTER TABLE artifacts RENAME TO artifacts_hidden`);
    try {
      const error = await kit.as("admin").fails(`{ artifacts { count } }`, {}, "INTERNAL_SERVER_ERROR");
      expect(error.message).toBe("Internal server error");
      expect(JSON.stringify(error.response.errors)).not.toMatch(/relation|SELECT|does not exist|stack/i);
    } finally {
      await kit.ds.query(`ALTER TABLE artifacts_hidden RENAME TO artifacts`);
    }
  });

  it("refuses a query nested deeper than the limit", async () => {
    let selection = "id";
    for (let i = 0; i < 8; i++) selection = `artifact { revisions(first: 1) { edges { node { ${selection} } } } }`;
    const error = await kit.as("admin").fails(`{ artifactRevisions(first: 1) { edges { node { ${selection} } } } }`, {}, "GRAPHQL_VALIDATION_FAILED");
    expect(error.message).toMatch(/depth/i);
  });

  it("refuses a query that could return millions of rows", async () => {
    const query = `{ artifacts(first: 500) { edges { node { revisions(first: 500) { edges { node { files(first: 500) { edges { node { path } } } } } } } } } }`;
    const error = await kit.as("admin").fails(query, {}, "BAD_USER_INPUT");
    expect(error.message).toMatch(/cost/i);
  });
});

describe("subscriptions over graphql-ws", () => {
  const STATUS = `subscription($input: ArtifactStatusChangedInput!) { artifactStatusChanged(input: $input) { artifactRevision { id status version } } }`;

  it("delivers each status change of the listed revisions, in order, to a client authenticated by connectionParams", async () => {
    const { artifactId, revisionId } = await seedRevision();
    const other = await seedRevision();
    const client = wsClient(`Bearer ${kit.token("user")}`);
    const fence = await statusFence(kit, kit);
    const subscription = subscribeFenced(client, { query: STATUS, variables: { input: { artifactRevisionIds: [toGlobalId("ArtifactRevision", revisionId), fence.revisionId] } } }, { fence });
    try {
      await subscription.live;
      const at = new Date().toISOString();
      kit.booted.events.publish("revision.status", { revisionId: other.revisionId, artifactId: other.artifactId, from: ArtifactStatus.SCANNED, to: ArtifactStatus.PULLING, at });
      kit.booted.events.publish("revision.status", { revisionId, artifactId, from: ArtifactStatus.SCANNED, to: ArtifactStatus.PULLING, at });
      kit.booted.events.publish("revision.status", { revisionId, artifactId, from: ArtifactStatus.PULLING, to: ArtifactStatus.PULLED, at });
      const events = await subscription.drain();
      const id = toGlobalId("ArtifactRevision", revisionId);
      expect(events).toEqual([
        { artifactStatusChanged: { artifactRevision: { id, status: "PULLING", version: "main" } } },
        { artifactStatusChanged: { artifactRevision: { id, status: "PULLED", version: "main" } } },
      ]);
    } finally {
      subscription.stop();
      await client.dispose();
    }
  });

  it("answers a subscription without a valid token with UNAUTHENTICATED", async () => {
    const client = wsClient("Bearer not-a-token");
    try {
      await expect(refusal(client, STATUS, { input: { artifactRevisionIds: [] } })).rejects.toThrow(/"code":"UNAUTHENTICATED"/);
    } finally {
      await client.dispose();
    }
  });

  it("answers NOT_FOUND when subscribing to a revision that does not exist", async () => {
    const client = wsClient(`Bearer ${kit.token("admin")}`);
    try {
      const missing = toGlobalId("ArtifactRevision", "00000000-0000-4000-8000-000000000000");
      await expect(refusal(client, STATUS, { input: { artifactRevisionIds: [missing] } })).rejects.toThrow(/"code":"NOT_FOUND"/);
    } finally {
      await client.dispose();
    }
  });
});
