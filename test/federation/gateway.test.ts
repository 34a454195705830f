import { readFileSync } from "node:fs";
import path from "node:path";
import { print, parse, visit, type DocumentNode, type OperationDefinitionNode } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { buildSdl } from "../../src/schema/print";
import { composeSupergraph, SUBGRAPH_NAME } from "../../scripts/supergraph";
import {
  ArtifactImportProgressSubscriptionDocument,
  ArtifactStatusChangedSubscriptionDocument,
  ImportArtifactsMutationDocument,
  ReservoirArtifactDetailPageQueryDocument,
  ReservoirPageQueryDocument,
} from "../generated/graphql";
import { isPartway, scanModel, waitFor, waitForStatus } from "../import/support";
import { DEFAULT_GROUPS, startBackendAiSubgraph, type BackendAiSubgraph } from "../support/backend-ai-subgraph";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { startGateway, type RunningGateway } from "../support/gateway";
import { startRecordingProxy, type RecordingProxy } from "../support/recording-proxy";
import { Seed } from "../support/seed";
import { progressFence, statusFence, subscribeFenced } from "../support/subscriptions";
import { GraphQLClient, startTestKit, type RoleName, type TestKit } from "../support/testkit";

/*
 * The web UI as it runs in Backend.AI: through GraphQL Hive Gateway, composed of this subgraph
 * and Backend.AI's own (a small stand-in, test/support/backend-ai-subgraph.ts). Queries and
 * mutations reach this subgraph through a recording proxy, so a test can say what the gateway
 * sent; subscriptions go to it over graphql-ws.
 */

const MODEL = "gateway/llm";
const WEIGHTS = { size: 2 * 1024 * 1024, seed: 21 };

let hub: FakeHub;
let kit: TestKit;
let backendAi: BackendAiSubgraph;
let proxy: RecordingProxy;
let gateway: RunningGateway;
const sockets: Client[] = [];

beforeAll(async () => {
  hub = await startFakeHub([{ id: MODEL, files: [{ path: "README.md", content: "# LLM" }, { path: "model.safetensors", content: WEIGHTS, lfs: true }] }]);
  kit = await startTestKit({ HF_ENDPOINT: hub.url });
  backendAi = await startBackendAiSubgraph();
  proxy = await startRecordingProxy(kit.url);
  const { supergraphSdl } = composeSupergraph([
    { name: SUBGRAPH_NAME, url: `${proxy.url}/graphql`, sdl: await buildSdl() },
    { name: backendAi.name, url: backendAi.url, sdl: backendAi.typeDefs },
  ]);
  gateway = await startGateway(supergraphSdl, [
    { name: SUBGRAPH_NAME, url: `${proxy.url}/graphql`, wsUrl: `${kit.url.replace(/^http/, "ws")}/graphql` },
    { name: backendAi.name, url: backendAi.url },
  ]);
});
afterAll(async () => {
  await Promise.all(sockets.map((s) => s.dispose()));
  await gateway?.stop();
  await proxy?.stop();
  await backendAi?.stop();
  await kit?.close();
  await hub?.stop();
});

/** A client of the gateway, as the web UI is. */
const viaGateway = (role: RoleName | null) => new GraphQLClient(gateway.url, role ? kit.token(role) : null);

function gatewaySocket(role: RoleName | null): Client {
  const client = createClient({
    url: `${gateway.url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: role ? { authorization: `Bearer ${kit.token(role)}` } : {},
    retryAttempts: 0,
  });
  sockets.push(client);
  return client;
}

/**
 * The web UI's detail page also asks Backend.AI for the model-store projects an import may land
 * in. The contract's copy of the query leaves that field out (it is not ours); this puts it back
 * exactly as the UI sends it.
 */
const UI_GROUPS_FIELD = (parse(`{ groups(is_active: true, type: ["MODEL_STORE"]) { id name } }`).definitions[0] as OperationDefinitionNode).selectionSet.selections;
function withGroups<T, V>(document: TypedDocumentNode<T, V>): TypedDocumentNode<T & { groups: Array<{ id: string; name: string } | null> | null }, V> {
  return visit(document, {
    OperationDefinition: (node) => ({ ...node, selectionSet: { ...node.selectionSet, selections: [...node.selectionSet.selections, ...UI_GROUPS_FIELD] } }),
  }) as DocumentNode;
}

const entityRequests = () => proxy.requests.filter((r) => r.body?.query?.includes("_entities"));

describe("the web UI through Hive Gateway", () => {
  it("answers the detail page with its groups in one request: the artifact from this subgraph, the model-store projects from Backend.AI", async () => {
    const seed = new Seed(kit.ds);
    const registry = await seed.registry({ name: "gw-detail", url: "https://hub.example.com" });
    const artifact = await seed.artifact(registry.id, { name: "org/gateway-detail", description: "served through the gateway" });
    await seed.revisions(artifact.id, [{ version: "1.0", status: "AVAILABLE", size: 10 }, { version: "2.0", status: "PULLING", size: 20 }]);
    const variables = { id: artifact.globalId, offset: 0, limit: 10, filter: {} };

    proxy.clear();
    backendAi.authorizations.length = 0;
    const data = await viaGateway("user").ok(withGroups(ReservoirArtifactDetailPageQueryDocument), variables);
    expect(proxy.requests).toHaveLength(1);
    expect(backendAi.authorizations).toHaveLength(1);

    const direct = await kit.as("user").ok(ReservoirArtifactDetailPageQueryDocument, variables);
    expect(data.artifact).toEqual(direct.artifact);
    expect(data.artifact).toMatchObject({ name: "org/gateway-detail", pullingArtifactRevisions: { count: 1 }, revisions: { count: 2 } });
    const activeModelStores = DEFAULT_GROUPS.filter((g) => g.is_active && g.type === "MODEL_STORE").map(({ id, name }) => ({ id, name }));
    expect(data.groups).toEqual(activeModelStores);
    expect(activeModelStores).toHaveLength(1);
  });

  it("answers the list page exactly as the subgraph does", async () => {
    const seed = new Seed(kit.ds);
    const registry = await seed.registry({ name: "gw-list" });
    const [first] = await seed.artifacts(registry.id, [{ name: "org/gw-a" }, { name: "org/gw-b" }]);
    await seed.revisions(first.id, [{ version: "1.0", status: "SCANNED", size: 1 }]);
    const variables = { order: [{ field: "NAME", direction: "ASC" }], limit: 10, offset: 0, filter: { registry: { equals: "gw-list" } } };

    const data = await viaGateway("admin").ok(ReservoirPageQueryDocument, variables);

    expect(data).toEqual(await kit.as("admin").ok(ReservoirPageQueryDocument, variables));
    expect(data.artifacts?.edges.map((e) => e.node.name)).toEqual(["org/gw-a", "org/gw-b"]);
  });

  it("resolves the ArtifactRevisions of 100 Backend.AI model deployments in one _entities request, with as many SQL statements as for 10", async () => {
    const seed = new Seed(kit.ds);
    const registry = await seed.registry({ name: "gw-entities" });
    const artifact = await seed.artifact(registry.id, { name: "org/gw-deployed" });
    const revisions = await seed.revisions(artifact.id, Array.from({ length: 100 }, (_, i) => ({ version: `v${i}`, status: "AVAILABLE" })));
    backendAi.deployments = revisions.map((r, i) => ({ id: `deployment-${i}`, name: `serve ${r.version}`, revisionId: r.globalId }));
    const DEPLOYMENTS = `query Deployments($limit: Int) { modelDeployments(limit: $limit) { id name revision { id version status artifact { name } } } }`;

    const run = async (limit: number) => {
      proxy.clear();
      let data: any;
      const { count, statements } = await kit.countQueries(async () => {
        data = await viaGateway("admin").ok(DEPLOYMENTS, { limit });
      });
      return { data, count, statements, entityRequests: entityRequests() };
    };
    const few = await run(10);
    const many = await run(100);

    expect(many.data.modelDeployments).toHaveLength(100);
    expect(many.data.modelDeployments[99]).toEqual({
      id: "deployment-99", name: "serve v99",
      revision: { id: revisions[99].globalId, version: "v99", status: "AVAILABLE", artifact: { name: "org/gw-deployed" } },
    });
    expect(many.entityRequests).toHaveLength(1);
    expect(many.entityRequests[0].body?.variables?.representations).toHaveLength(100);
    expect(few.entityRequests).toHaveLength(1);
    // The revisions in one statement, then their artifacts in one: the same two for 10 or 100.
    expect(many.statements).toEqual(few.statements);
    expect(many.count).toBeLessThanOrEqual(3);
  });

  it("imports with the UI's mutation while its progress and status subscriptions stream through the gateway over graphql-ws, until AVAILABLE", async () => {
    const revision = await scanModel(kit, MODEL);
    // Hold the weights mid-transfer until a progress between 0 and 1 came through both hops.
    const held = hub.hold({ origin: "cdn", match: () => true, afterBytes: 256 * 1024 });
    const socket = gatewaySocket("admin");
    // Markers published on the subgraph's bus come back through both hops once both are set up.
    const progress = subscribeFenced<any>(socket, { query: ArtifactImportProgressSubscriptionDocument, variables: { id: revision.globalId } },
      { fence: progressFence(revision.id, kit), until: (v) => v.artifactImportProgressUpdated.progress === 1 });
    const fence = await statusFence(kit, kit);
    const statuses = subscribeFenced<any>(socket, { query: ArtifactStatusChangedSubscriptionDocument, variables: { input: { artifactRevisionIds: [revision.globalId, fence.revisionId] } } },
      { fence, until: (v) => v.artifactStatusChanged.artifactRevision.status === "AVAILABLE" });
    await Promise.all([progress.live, statuses.live]);

    const imported = await viaGateway("admin").ok(ImportArtifactsMutationDocument, { input: { artifactRevisionIds: [revision.globalId] } });
    expect(imported.importArtifacts?.tasks[0]).toMatchObject({ taskId: expect.any(String), artifactRevision: { id: revision.globalId, version: "main" } });
    expect(imported.importArtifacts?.artifactRevisions.edges[0].node).toEqual({ id: revision.globalId, status: "PULLING" });
    await held.reached;
    await waitFor("a progress between 0 and 1 through the gateway", async () => progress.results.some(isPartway));
    held.release();

    const seen = (await statuses.done).map((v) => v.artifactStatusChanged.artifactRevision);
    expect(seen.map((r) => r.status)).toEqual(["PULLING", "PULLED", "VERIFYING", "AVAILABLE"]);
    expect(seen.at(-1)).toEqual({ id: revision.globalId, status: "AVAILABLE", version: "main", digest: revision.commit });
    const events = (await progress.done).map((v) => v.artifactImportProgressUpdated);
    expect(events.at(-1)).toMatchObject({ progress: 1, status: "PULLING" });
    expect((await waitForStatus(kit, revision.id, ["AVAILABLE"])).status).toBe("AVAILABLE");
  });
});

describe("auth through Hive Gateway", () => {
  it("forwards the caller's Authorization header to both subgraphs", async () => {
    proxy.clear();
    backendAi.authorizations.length = 0;
    const token = kit.token("user");
    await new GraphQLClient(gateway.url, token).ok(`{ artifacts(first: 1) { count } groups { id } }`);
    expect(proxy.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${token}`]);
    expect(backendAi.authorizations).toEqual([`Bearer ${token}`]);
  });

  it("fails a request without Authorization with UNAUTHENTICATED, as the subgraph does", async () => {
    const error = await viaGateway(null).fails(ReservoirPageQueryDocument, { limit: 1, offset: 0 }, "UNAUTHENTICATED");
    expect(error.response.data?.artifacts ?? null).toBeNull();
  });

  it("still enforces roles: a user may not import", async () => {
    const seed = new Seed(kit.ds);
    const artifact = await seed.artifact((await seed.registry()).id);
    const revision = await seed.revision(artifact.id);
    await viaGateway("user").fails(ImportArtifactsMutationDocument, { input: { artifactRevisionIds: [revision.globalId] } }, "FORBIDDEN");
  });

  it("answers a subscription without a token with UNAUTHENTICATED over graphql-ws, as the subgraph does", async () => {
    const seed = new Seed(kit.ds);
    const revision = await seed.revision((await seed.artifact((await seed.registry()).id)).id);
    const firstAnswer = (client: Client) => new Promise<unknown>((resolve) => {
      client.subscribe({ query: print(ArtifactImportProgressSubscriptionDocument), variables: { id: revision.globalId } }, {
        next: (result) => resolve({ result }), error: (error) => resolve({ error }), complete: () => resolve("completed without an answer"),
      });
    });
    const direct = createClient({ url: `${kit.url.replace(/^http/, "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    sockets.push(direct);
    const unauthenticated = { result: { errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: "UNAUTHENTICATED" }) })] } };
    expect(await firstAnswer(gatewaySocket(null))).toMatchObject(unauthenticated);
    expect(await firstAnswer(direct)).toMatchObject(unauthenticated);
  });
});

describe("the committed supergraph.graphql", () => {
  it("is served by Hive Gateway as it is, with only the subgraph's address changed", async () => {
    const supergraphSdl = readFileSync(path.join(__dirname, "../../supergraph.graphql"), "utf8");
    const own = await startGateway(supergraphSdl, [{ name: SUBGRAPH_NAME, url: `${proxy.url}/graphql` }]);
    try {
      proxy.clear();
      const data = await new GraphQLClient(own.url, kit.token("admin")).ok(`{ defaultArtifactRegistry(artifactType: MODEL) { name type } }`);
      expect(data.defaultArtifactRegistry).toEqual({ name: "huggingface", type: "HUGGINGFACE" });
      expect(proxy.requests).toHaveLength(1);
    } finally {
      await own.stop();
    }
  });
});
