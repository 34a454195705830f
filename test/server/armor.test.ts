import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { parse } from "graphql";
import type { PubSub } from "type-graphql";
import WebSocket from "ws";
import { loadConfig } from "../../src/config/config";
import { createEventBus } from "../../src/events/event-bus";
import { buildFederatedSchema } from "../../src/schema/build-schema";
import { costOf } from "../../src/server/limits";
import { Seed } from "../support/seed";
import { startTestKit, type GraphQLResponse, type TestKit } from "../support/testkit";

/*
 * The attacks of an adversarial review, kept as they were found: each must now end in a coded
 * refusal (never a 500, never a stalled event loop, never a response the size of the request
 * times a thousand), over HTTP and over graphql-ws.
 */

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit({ IMPORT_WORKER: "false" });
});
afterAll(() => kit?.close());

const SCHEMA_FILE = readFileSync(path.join(__dirname, "../../schema.graphql"), "utf8");

/** `levels` fragments, each spreading the next twice: 2^levels paths through a request of a kilobyte or so. */
function fragmentBomb(levels: number, leaf = "__typename"): string {
  const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
  return `query Bomb { ...F0 }\n${fragments.join("\n")}\nfragment F${levels} on Query { ${leaf} }`;
}

/** Fields three levels deep, then `levels` fragments each four levels deeper: 3 + 4·levels + 1 fields deep. */
function deepThroughFragments(levels: number): string {
  const fragments = Array.from({ length: levels }, (_, i) => `fragment D${i} on Artifact { revisions { edges { node { artifact { ${i + 1 < levels ? `...D${i + 1}` : "id"} } } } } }`);
  return `{ artifacts { edges { node { ...D0 } } } } ${fragments.join(" ")}`;
}

const aliases = (count: number, selection: string) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${selection}`).join(" ")} }`;

interface RawResponse { status: number; text: string; body: GraphQLResponse }

/** POSTs a request as it is and keeps the status, the size of the answer and its errors. */
async function post(body: unknown, headers: Record<string, string> = {}, url = kit.url): Promise<RawResponse> {
  const res = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: GraphQLResponse;
  try {
    parsed = JSON.parse(text) as GraphQLResponse;
  } catch {
    parsed = {};
  }
  return { status: res.status, text, body: parsed };
}

const bearer = (role: "user" | "admin" | "superadmin") => ({ authorization: `Bearer ${kit.token(role)}` });

/** Fails, printing the exchange, unless the answer is one error with this code and status, and no data. */
function expectRefusal(response: RawResponse, code: string, status: number, request: unknown): GraphQLResponse["errors"] & object {
  const shown = `Request: ${JSON.stringify(request).slice(0, 600)}\nStatus: ${response.status}\nResponse: ${response.text.slice(0, 2000)}`;
  const codes = response.body.errors?.map((e) => e.extensions?.code);
  if (response.status !== status || !codes?.length || codes.some((c) => c !== code) || response.body.data) {
    throw new Error(`Expected a ${status} refusal with ${code} only.\n${shown}`);
  }
  return response.body.errors!;
}

async function healthy(): Promise<boolean> {
  const res = await fetch(`${kit.url}/healthz`);
  return res.status === 200;
}

describe("a request without a token", () => {
  it("is refused UNAUTHENTICATED after parsing, whatever it asks: a 30-level fragment bomb returns at once and /healthz answers", async () => {
    const request = { query: fragmentBomb(30) };
    expect(request.query.length).toBeLessThan(2000);
    const [refused, health] = await Promise.all([post(request), healthy()]);
    expectRefusal(refused, "UNAUTHENTICATED", 401, request);
    expect(health).toBe(true);
  });

  it("gets a small refusal, not 100 MB, for 4,900 aliases of _service { sdl }", async () => {
    const request = { query: aliases(4900, "_service { sdl }") };
    const refused = await post(request);
    expectRefusal(refused, "UNAUTHENTICATED", 401, request);
    expect(refused.text.length).toBeLessThan(1000);
  });

  it.each([
    ["a fragment cycle", "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"],
    ["two aliases of _service", "{ a: _service { sdl } b: _service { sdl } }"],
    ["an aliased _service", "{ s: _service { sdl } }"],
    ["_service beside another field", "{ _service { sdl } artifacts { count } }"],
    ["_service through a fragment", "{ ...S } fragment S on Query { _service { sdl } }"],
    ["_entities", '{ _entities(representations: [{ __typename: "Artifact", id: "x" }]) { __typename } }'],
    ["a misspelt field, which would draw a suggestion", "{ artifactz { count } }"],
    ["something that does not parse", "{ artifacts { "],
  ])("is refused UNAUTHENTICATED for %s", async (_what, query) => {
    const refused = await post({ query });
    const [error] = expectRefusal(refused, "UNAUTHENTICATED", 401, { query });
    expect(error.message).not.toMatch(/did you mean/i);
  });

  it("may read the SDL the way a gateway does, and it is schema.graphql byte for byte", async () => {
    for (const query of ["{ _service { sdl } }", "query __ApolloGetServiceDefinition__ { _service { sdl } }", "{ __typename _service { sdl __typename } }"]) {
      const response = await post({ query });
      expect({ query, status: response.status, errors: response.body.errors }).toEqual({ query, status: 200, errors: undefined });
      expect(`${(response.body.data as { _service: { sdl: string } })._service.sdl.trim()}\n`).toBe(SCHEMA_FILE);
    }
  });

  it("with a token that does not verify is refused UNAUTHENTICATED even for the SDL", async () => {
    const request = { query: "{ _service { sdl } }" };
    expectRefusal(await post(request, { authorization: "Bearer not-a-token" }), "UNAUTHENTICATED", 401, request);
  });
});

describe("a request with a token", () => {
  it("is refused a 30-level fragment bomb with a coded 400 while /healthz answers", async () => {
    const request = { query: fragmentBomb(30) };
    const [refused, health] = await Promise.all([post(request, bearer("user")), healthy()]);
    const [error] = expectRefusal(refused, "BAD_USER_INPUT", 400, request);
    expect(error.message).toMatch(/maximum allowed number of nodes/);
    expect(health).toBe(true);
  });

  it("is refused a fragment cycle as a validation error, not a stack overflow", async () => {
    const request = { query: "{ ...A } fragment A on Query { artifacts { count } ...B } fragment B on Query { ...A }" };
    const [error] = expectRefusal(await post(request, bearer("user")), "GRAPHQL_VALIDATION_FAILED", 400, request);
    expect(error.message).toMatch(/Cannot spread fragment "A" within itself/);
  });

  it("is refused a selection of more than 10,000 nodes once its fragments are spread out", async () => {
    const request = { query: fragmentBomb(14, "artifacts { count }") };
    const [error] = expectRefusal(await post(request, bearer("user")), "BAD_USER_INPUT", 400, request);
    expect(error.message).toMatch(/maximum allowed number of nodes/);
  });

  it("is refused 4,900 aliases of artifacts { count } by the token limit, while parsing", async () => {
    const request = { query: aliases(4900, "artifacts { count }") };
    const [error] = expectRefusal(await post(request, bearer("user")), "GRAPHQL_PARSE_FAILED", 400, request);
    expect(error.message).toMatch(/Document contains more th.. 5000 tokens/);
  });

  it("is refused 4,900 aliases of _service { sdl } without a response of 100 MB", async () => {
    const request = { query: aliases(4900, "_service { sdl }") };
    const refused = await post(request, bearer("superadmin"));
    expectRefusal(refused, "GRAPHQL_PARSE_FAILED", 400, request);
    expect(refused.text.length).toBeLessThan(1000);
  });

  it.each([
    ["more aliases than the limit (30)", aliases(31, "artifacts { count }"), /Aliases limit of 30 exceeded, found 31/],
    ["more directives than the limit (50)", `{ artifacts { count ${Array.from({ length: 51 }, () => "@include(if: true)").join(" ")} } }`, /Directives limit of 50 exceeded, found 51/],
    ["_service twice, under two aliases", "{ a: _service { sdl } b: _service { sdl } }", /_service may be selected once per operation, found 2/],
    ["_entities twice, once through a fragment", '{ a: _entities(representations: []) { __typename } ...E } fragment E on Query { b: _entities(representations: []) { __typename } }', /_entities may be selected once per operation/],
    ["a query deeper than the limit (12) through fragments", deepThroughFragments(3), /Query depth limit of 12 exceeded, found 16/],
  ])("is refused %s as a validation error", async (_what, query, message) => {
    const [error] = expectRefusal(await post({ query }, bearer("admin")), "GRAPHQL_VALIDATION_FAILED", 400, { query });
    expect(error.message).toMatch(message);
  });

  it("gets validation errors without suggestions of what the schema has", async () => {
    const request = { query: "{ artifactz { count } }" };
    const [error] = expectRefusal(await post(request, bearer("user")), "GRAPHQL_VALIDATION_FAILED", 400, request);
    expect(error.message).toBe('Cannot query field "artifactz" on type "Query".');
  });
});

describe("the cost of a query, in nodes as GitHub counts them", () => {
  let schema: Awaited<ReturnType<typeof buildFederatedSchema>>;
  const limits = loadConfig({}).limits;
  beforeAll(async () => {
    schema = await buildFederatedSchema(createEventBus() as unknown as PubSub);
  });

  it("counts artifacts(first: 2) { revisions(first: 20) { files(first: 100) } } as 4,042 nodes, which the default allows", () => {
    const query = "{ artifacts(first: 2) { edges { node { id name revisions(first: 20) { edges { node { id version files(first: 100) { edges { node { path size } } } } } } } } } }";
    expect(costOf(schema, parse(query), {}, limits)).toBe(2 + 2 * 20 + 2 * 20 * 100);
    expect(2 + 2 * 20 + 2 * 20 * 100).toBeLessThanOrEqual(limits.maxCost);
  });

  it("counts four nested pages of 500 as 500 + 500² + 500³ + 500⁴ nodes, far above the default", () => {
    const query = `{ artifacts(first: 500) { edges { node { revisions(first: 500) { edges { node { artifact { revisions(first: 500) { edges { node { files(first: 500) { edges { node { path } } } } } } } } } } } } } }`;
    expect(costOf(schema, parse(query), {}, limits)).toBe(500 + 500 ** 2 + 500 ** 3 + 500 ** 4);
  });

  it("counts _entities as a list of its representations", () => {
    const query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Artifact { revisions(first: 10) { count } } } }";
    const representations = Array.from({ length: 30 }, () => ({ __typename: "Artifact", id: "x" }));
    expect(costOf(schema, parse(query), { r: representations }, limits)).toBe(30 * (1 + 10));
  });

  it("lets the 4,042-node query run over HTTP", async () => {
    const seed = new Seed(kit.ds);
    const artifact = await seed.artifact((await seed.registry()).id);
    await seed.revision(artifact.id, { version: "v1", status: "SCANNED" });
    const data = await kit.as("user").ok("{ artifacts(first: 2) { edges { node { id revisions(first: 20) { edges { node { id files(first: 100) { edges { node { path } } } } } } } } } }");
    expect(data.artifacts.edges.length).toBeGreaterThan(0);
  });

  it("refuses over HTTP a query whose node count is above the limit, as BAD_USER_INPUT naming the cost", async () => {
    const request = { query: "{ artifacts(first: 500) { edges { node { revisions(first: 500) { edges { node { id } } } } } } }" };
    const [error] = expectRefusal(await post(request, bearer("user")), "BAD_USER_INPUT", 400, request);
    expect(error.message).toBe("Query cost 250500 exceeds the limit of 50000 nodes; ask for fewer rows");
  });

  it("costs a repeated document by its variables each time: allowed with small pages, refused with large ones, twice over", async () => {
    const query = "query($n: Int) { artifacts(first: $n) { edges { node { revisions(first: $n) { edges { node { id } } } } } } }";
    for (let round = 0; round < 2; round++) {
      await kit.as("user").ok(query, { n: 5 });
      const request = { query, variables: { n: 500 } };
      const [error] = expectRefusal(await post(request, bearer("user")), "BAD_USER_INPUT", 400, request);
      expect(error.message).toBe("Query cost 250500 exceeds the limit of 50000 nodes; ask for fewer rows");
    }
  });

  it("refuses a repeated document with a NUL character each time", async () => {
    const request = { query: '{ artifacts(filter: { name: { contains: "a\\u0000b" } }) { count } }' };
    for (let round = 0; round < 2; round++) {
      const [error] = expectRefusal(await post(request, bearer("admin")), "BAD_USER_INPUT", 400, request);
      expect(error.message).toMatch(/NUL character/);
    }
  });
});

describe("inputs a caller gets wrong", () => {
  const REVISIONS = "query($filter: ArtifactRevisionFilter, $first: Int) { artifactRevisions(first: $first, filter: $filter) { count } }";
  const ARTIFACTS = "query($filter: ArtifactFilter) { artifacts(filter: $filter) { count } }";

  it.each<[string, string, Record<string, unknown>, RegExp]>([
    ["a global ID in a UUID variable", REVISIONS, { filter: { artifactId: { equals: "QXJ0aWZhY3Q6MQ==" } } }, /got invalid value/],
    ['"abc" for an Int', REVISIONS, { first: "abc" }, /Int cannot represent non-integer value: "abc"/],
    ["a value outside an enum", REVISIONS, { filter: { status: { equals: "PULLNG" } } }, /does not exist in "ArtifactStatus" enum\.$|does not exist in "ArtifactStatus" enum\./],
    ["an unknown input field", ARTIFACTS, { filter: { nmae: { contains: "x" } } }, /Field "nmae" is not defined by type "ArtifactFilter"\.$/],
    ["a NUL character in a string variable", ARTIFACTS, { filter: { name: { contains: "a\u0000b" } } }, /NUL character/],
  ])("answers BAD_USER_INPUT with a 400 for %s, without suggestions", async (_what, query, variables, message) => {
    const request = { query, variables };
    const [error] = expectRefusal(await post(request, bearer("admin")), "BAD_USER_INPUT", 400, request);
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/did you mean/i);
  });

  it("answers BAD_USER_INPUT with a 400 for a filter nested 10,000 deep in a variable", async () => {
    // Written out by hand: JSON.stringify itself overflows the stack at this depth.
    const depth = 10_000;
    const filter = `${'{"AND":['.repeat(depth)}{"name":{"contains":"x"}}${"]}".repeat(depth)}`;
    const request = `{"query":${JSON.stringify(ARTIFACTS)},"variables":{"filter":${filter}}}`;
    const [error] = expectRefusal(await post(request, bearer("admin")), "BAD_USER_INPUT", 400, `(${ARTIFACTS} with a filter ${depth} deep)`);
    expect(error.message).toMatch(/at most 32 levels deep/);
  });

  it("answers BAD_USER_INPUT for a NUL character written into the query itself", async () => {
    const request = { query: '{ artifacts(filter: { name: { contains: "a\\u0000b" } }) { count } }' };
    const [error] = expectRefusal(await post(request, bearer("admin")), "BAD_USER_INPUT", 400, request);
    expect(error.message).toMatch(/NUL character/);
  });

  it("answers BAD_USER_INPUT for a filter written into the query nested deeper than the limit", async () => {
    let filter = '{ name: { contains: "x" } }';
    for (let i = 0; i < 20; i++) filter = `{ AND: [${filter}] }`;
    const request = { query: `{ artifacts(filter: ${filter}) { count } }` };
    const [error] = expectRefusal(await post(request, bearer("admin")), "BAD_USER_INPUT", 400, request);
    expect(error.message).toMatch(/at most 32 levels deep/);
  });

  it("lets a filter nested as deep as AND/OR/NOT may be through", async () => {
    const data = await kit.as("admin").ok(ARTIFACTS, { filter: nestedFilter(5) });
    expect(data.artifacts.count).toEqual(expect.any(Number));
  });

  it("answers BAD_USER_INPUT for _entities with null as a representation", async () => {
    const request = { query: "query($r: [_Any!]!) { _entities(representations: $r) { ... on Artifact { id } } }", variables: { r: [null] } };
    const [error] = expectRefusal(await post(request, bearer("admin")), "BAD_USER_INPUT", 400, request);
    expect(error.message).toMatch(/Expected non-nullable type "_Any!" not to be null/);
  });

  it.each<[string, unknown[]]>([
    ["a string", ["Artifact"]],
    ["an object without __typename", [{ id: "x" }]],
    ["a type that is not an entity", [{ __typename: "ObjectStorage", id: "x" }]],
    ["a type that does not exist", [{ __typename: "Nope", id: "x" }]],
    ["an entity without its id", [{ __typename: "Artifact" }]],
    ["an id that is not a string", [{ __typename: "Artifact", id: 5 }]],
  ])("answers BAD_USER_INPUT for _entities with %s as a representation", async (_what, representations) => {
    const request = { query: "query($r: [_Any!]!) { _entities(representations: $r) { ... on Artifact { id } } }", variables: { r: representations } };
    const [error] = expectRefusal(await post(request, bearer("admin")), "BAD_USER_INPUT", 400, request);
    expect(error.message).toMatch(/representations\[0\] must be an object with the __typename of an entity/);
  });
});

/** ArtifactFilter nested `depth` times through AND. */
function nestedFilter(depth: number): Record<string, unknown> {
  let filter: Record<string, unknown> = { name: { contains: "x" } };
  for (let i = 0; i < depth; i++) filter = { AND: [filter] };
  return filter;
}

describe("the HTTP transport", () => {
  it("refuses a body over MAX_REQUEST_BYTES (1 MiB) with a coded 413", async () => {
    const request = JSON.stringify({ query: "{ __typename }", variables: { pad: "x".repeat(1024 * 1024) } });
    const refused = await post(request, bearer("user"));
    expectRefusal(refused, "BAD_REQUEST", 413, "(a body of 1 MiB)");
    expect(refused.body.errors![0].message).toBe("The request body is larger than the limit of 1048576 bytes");
  });

  it("refuses a body that is not JSON with a coded 400", async () => {
    expectRefusal(await post("{ not json", bearer("user")), "BAD_REQUEST", 400, "{ not json");
  });

  it("tells caches not to keep an answer (Cache-Control: no-store)", async () => {
    const res = await fetch(`${kit.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer("user") },
      body: JSON.stringify({ query: "{ artifacts { count } }" }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("sends no inline trace (ftv1) to a caller that asks for one, unless APOLLO_FEDERATION_TRACES is on", async () => {
    const response = await post({ query: "{ artifacts { count } }" }, { ...bearer("admin"), "apollo-federation-include-trace": "ftv1" });
    expect(response.status).toBe(200);
    expect(response.body).not.toHaveProperty("extensions.ftv1");
  });

  it("serves the SDL of schema.graphql byte for byte to a caller with a token too", async () => {
    const data = await kit.as("user").ok("{ _service { sdl } }");
    expect(`${data._service.sdl.trim()}\n`).toBe(SCHEMA_FILE);
  });
});

describe("graphql-ws", () => {
  const wsUrl = () => `${kit.url.replace("http", "ws")}/graphql`;

  interface Socket { socket: WebSocket; messages: any[]; closed: Promise<{ code: number; reason: string }> }

  async function open(): Promise<Socket> {
    const socket = new WebSocket(wsUrl(), "graphql-transport-ws");
    const messages: any[] = [];
    socket.on("message", (data) => messages.push(JSON.parse(String(data))));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
    socket.on("error", () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    return { socket, messages, closed };
  }

  async function next(s: Socket, type: string, id?: string): Promise<any> {
    for (let i = 0; i < 250; i++) {
      const found = s.messages.find((m) => m.type === type && (id === undefined || m.id === id));
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no ${type} message${id ? ` for ${id}` : ""}; got ${JSON.stringify(s.messages).slice(0, 2000)}`);
  }

  async function connected(token?: string): Promise<Socket> {
    const s = await open();
    s.socket.send(JSON.stringify({ type: "connection_init", payload: token ? { authorization: `Bearer ${token}` } : {} }));
    await next(s, "connection_ack");
    return s;
  }

  /** The error codes the server answers one operation with. */
  async function codesOf(s: Socket, id: string, payload: Record<string, unknown>): Promise<{ codes: string[]; messages: string[] }> {
    s.socket.send(JSON.stringify({ id, type: "subscribe", payload }));
    const answer = await next(s, "error", id);
    return { codes: answer.payload.map((e: any) => e.extensions?.code), messages: answer.payload.map((e: any) => e.message) };
  }

  it("refuses a fragment bomb from an anonymous socket UNAUTHENTICATED, at once", async () => {
    const s = await connected();
    try {
      // A result with the error (not an error message), which a gateway relays to its subscriber.
      s.socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: fragmentBomb(30) } }));
      expect((await next(s, "next", "1")).payload).toEqual({ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: "UNAUTHENTICATED" }) })] });
      expect(await healthy()).toBe(true);
    } finally {
      s.socket.terminate();
    }
  });

  it("applies the same limits as HTTP to an authenticated socket, each a coded refusal", async () => {
    const s = await connected(kit.token("admin"));
    try {
      expect((await codesOf(s, "bomb", { query: fragmentBomb(30) })).codes).toEqual(["BAD_USER_INPUT"]);
      expect((await codesOf(s, "tokens", { query: aliases(4900, "_service { sdl }") })).codes).toEqual(["GRAPHQL_PARSE_FAILED"]);
      expect((await codesOf(s, "aliases", { query: aliases(31, "artifacts { count }") })).codes).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
      expect((await codesOf(s, "cycle", { query: "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }" })).codes).toContain("GRAPHQL_VALIDATION_FAILED");
      expect((await codesOf(s, "int", { query: "query($n: Int) { artifacts(first: $n) { count } }", variables: { n: "abc" } })).codes).toEqual(["BAD_USER_INPUT"]);
      expect((await codesOf(s, "cost", { query: "{ artifacts(first: 500) { edges { node { revisions(first: 500) { edges { node { id } } } } } } }" })).codes).toEqual(["BAD_USER_INPUT"]);
      const suggestion = await codesOf(s, "typo", { query: "{ artifactz { count } }" });
      expect(suggestion.messages.join()).not.toMatch(/did you mean/i);
      // The socket outlived every refusal and still answers.
      s.socket.send(JSON.stringify({ id: "ok", type: "subscribe", payload: { query: "{ artifacts { count } }" } }));
      expect((await next(s, "next", "ok")).payload.data.artifacts.count).toEqual(expect.any(Number));
    } finally {
      s.socket.terminate();
    }
  });

  it("closes with 1009 a socket that sends a large frame before connection_init, without reading it", async () => {
    const s = await open();
    s.socket.send(JSON.stringify({ type: "connection_init", payload: { pad: "x".repeat(512 * 1024) } }));
    expect((await s.closed).code).toBe(1009);
    expect(await healthy()).toBe(true);
  });

  it("closes with 1009 an anonymous socket that sends a large frame after its acknowledgement", async () => {
    const s = await connected();
    s.socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "{ __typename }", variables: { pad: "x".repeat(100 * 1024) } } }));
    expect((await s.closed).code).toBe(1009);
  });

  it("lets an authenticated socket send frames up to MAX_REQUEST_BYTES and closes it with 1009 beyond", async () => {
    const s = await connected(kit.token("user"));
    s.socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "{ __typename }", variables: { pad: "x".repeat(200 * 1024) } } }));
    expect((await next(s, "next", "1")).payload.data).toEqual({ __typename: "Query" });
    s.socket.send(JSON.stringify({ id: "2", type: "subscribe", payload: { query: "{ __typename }", variables: { pad: "x".repeat(1024 * 1024) } } }));
    expect((await s.closed).code).toBe(1009);
  });
});

describe("configured limits and timeouts", () => {
  let configured: TestKit;
  beforeAll(async () => {
    configured = await startTestKit({
      IMPORT_WORKER: "false",
      APOLLO_FEDERATION_TRACES: "true",
      HTTP_HEADERS_TIMEOUT_MS: "300",
      HTTP_REQUEST_TIMEOUT_MS: "600",
      MAX_REQUEST_BYTES: "4096",
      MAX_QUERY_TOKENS: "200",
    });
  });
  afterAll(() => configured?.close());

  it("sends an inline trace to a gateway that asks, with APOLLO_FEDERATION_TRACES=true", async () => {
    const response = await post({ query: "{ artifacts { count } }" }, { authorization: `Bearer ${configured.token("admin")}`, "apollo-federation-include-trace": "ftv1" }, configured.url);
    expect(response.body).toHaveProperty("extensions.ftv1", expect.any(String));
  });

  it("refuses a body over MAX_REQUEST_BYTES and a query over MAX_QUERY_TOKENS", async () => {
    const headers = { authorization: `Bearer ${configured.token("admin")}` };
    expectRefusal(await post({ query: "{ __typename }", variables: { pad: "x".repeat(5000) } }, headers, configured.url), "BAD_REQUEST", 413, "(5 KB)");
    const request = { query: aliases(80, "__typename") };
    expectRefusal(await post(request, headers, configured.url), "GRAPHQL_PARSE_FAILED", 400, request);
  });

  /** Writes the start of a request and stalls: everything the server answered before it closed the connection. */
  async function stall(start: string): Promise<string> {
    const socket = net.connect(Number(new URL(configured.url).port), "127.0.0.1");
    let received = "";
    socket.on("data", (chunk) => (received += chunk));
    socket.write(start);
    await new Promise((resolve) => socket.on("close", resolve));
    return received;
  }

  it("answers 408 and closes a connection whose headers stall (HTTP_HEADERS_TIMEOUT_MS)", async () => {
    expect(await stall("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("answers 408 and closes a connection whose body stalls (HTTP_REQUEST_TIMEOUT_MS)", async () => {
    expect(await stall("POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")).toMatch(/^HTTP\/1\.1 408 /);
  });
});
