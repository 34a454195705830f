import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { ArtifactStatus } from "../../src/common/enums";
import { toGlobalId } from "../../src/common/relay";
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

/** Collects the next `count` results of a subscription, or fails after a deadline. */
function take<T>(client: Client, query: string, variables: Record<string, unknown>, count: number, onReady: () => void): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const results: T[] = [];
    const timer = setTimeout(() => reject(new Error(`got ${results.length} of ${count} events within 5 s: ${JSON.stringify(results)}`)), 5000);
    const dispose = client.subscribe<T>({ query, variables }, {
      next: (value) => {
        if (value.errors) {
          clearTimeout(timer);
          reject(new Error(JSON.stringify(value.errors)));
          return;
        }
        results.push(value.data as T);
        if (results.length === count) {
          clearTimeout(timer);
          dispose();
          resolve(results);
        }
      },
      error: (error) => {
        clearTimeout(timer);
        reject(error);
      },
      complete: () => undefined,
    });
    // graphql-ws acknowledges the subscription before events flow; give the server a moment to subscribe.
    setTimeout(onReady, 300);
  });
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
    try {
      const events = await take<any>(client, STATUS, { input: { artifactRevisionIds: [toGlobalId("ArtifactRevision", revisionId)] } }, 2, () => {
        const at = new Date().toISOString();
        kit.booted.events.publish("revision.status", { revisionId: other.revisionId, artifactId: other.artifactId, from: ArtifactStatus.SCANNED, to: ArtifactStatus.PULLING, at });
        kit.booted.events.publish("revision.status", { revisionId, artifactId, from: ArtifactStatus.SCANNED, to: ArtifactStatus.PULLING, at });
        kit.booted.events.publish("revision.status", { revisionId, artifactId, from: ArtifactStatus.PULLING, to: ArtifactStatus.PULLED, at });
      });
      const id = toGlobalId("ArtifactRevision", revisionId);
      expect(events).toEqual([
        { artifactStatusChanged: { artifactRevision: { id, status: "PULLING", version: "main" } } },
        { artifactStatusChanged: { artifactRevision: { id, status: "PULLED", version: "main" } } },
      ]);
    } finally {
      await client.dispose();
    }
  });

  it("answers a subscription without a valid token with UNAUTHENTICATED", async () => {
    const client = wsClient("Bearer not-a-token");
    try {
      await expect(take(client, STATUS, { input: { artifactRevisionIds: [] } }, 1, () => undefined)).rejects.toThrow(/"code":"UNAUTHENTICATED"/);
    } finally {
      await client.dispose();
    }
  });

  it("answers NOT_FOUND when subscribing to a revision that does not exist", async () => {
    const client = wsClient(`Bearer ${kit.token("admin")}`);
    try {
      const missing = toGlobalId("ArtifactRevision", "00000000-0000-4000-8000-000000000000");
      await expect(take(client, STATUS, { input: { artifactRevisionIds: [missing] } }, 1, () => undefined)).rejects.toThrow(/"code":"NOT_FOUND"/);
    } finally {
      await client.dispose();
    }
  });
});
