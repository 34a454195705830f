import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import jwt from "jsonwebtoken";
import { ReservoirClient, type ReservoirClientOptions } from "../../src/upstream/reservoir/reservoir.client";
import { ReservoirError } from "../../src/upstream/reservoir/reservoir.errors";

/*
 * The client against a scripted HTTP server: each request takes the next answer of the script
 * (the last one repeats), so a test states exactly what the "remote" does.
 */

type Answer = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

interface Scripted {
  url: string;
  requests: Array<{ authorization: string | undefined; body: any }>;
  script(...answers: Answer[]): void;
  close(): Promise<void>;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Answer => (_req, res) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};
const EMPTY_PAGE = { data: { artifacts: { pageInfo: { hasNextPage: false, endCursor: null }, edges: [] } } };

async function scripted(): Promise<Scripted> {
  let answers: Answer[] = [json(200, EMPTY_PAGE)];
  const requests: Scripted["requests"] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    requests.push({ authorization: req.headers.authorization, body: chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : null });
    const answer = answers.length > 1 ? answers.shift()! : answers[0];
    await answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    requests,
    script: (...next) => {
      answers = next;
      requests.length = 0;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

let remote: Scripted;
beforeAll(async () => {
  remote = await scripted();
});
afterAll(() => remote?.close());

const SECRET = "the-secret-key-of-the-remote-key-pair-00";
const client = (options: Partial<ReservoirClientOptions> = {}) => new ReservoirClient({
  endpoint: remote.url, accessKey: "AKTESTTESTTESTTESTTE", secretKey: SECRET, timeoutMs: 2000,
  retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
  ...options,
});
const failure = (promise: Promise<unknown>) => promise.then(() => null, (e: unknown) => e as ReservoirError);
const listOnce = (c: ReservoirClient) => c.artifactPage({}, { first: 10 });

describe("ReservoirClient", () => {
  it("signs every request with a fresh five-minute HS256 token issued by the access key", async () => {
    remote.script(json(200, EMPTY_PAGE));
    await listOnce(client());
    await listOnce(client());
    const [first, second] = remote.requests.map((r) => r.authorization!.replace(/^Bearer /, ""));
    const claims = jwt.verify(first, SECRET, { algorithms: ["HS256"] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ iss: "AKTESTTESTTESTTESTTE", sub: "AKTESTTESTTESTTESTTE" });
    expect(claims.exp! - claims.iat!).toBe(300);
    expect(jwt.decode(second)).toMatchObject({ iss: "AKTESTTESTTESTTESTTE" });
  });

  it("retries a 503 and answers once the remote recovers", async () => {
    remote.script(json(503, { error: "restarting" }), json(200, EMPTY_PAGE));
    await expect(listOnce(client())).resolves.toEqual({ pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
    expect(remote.requests).toHaveLength(2);
  });

  it("gives up on a lasting 5xx after the bounded attempts, naming the status", async () => {
    remote.script(json(502, { error: "bad gateway" }));
    const error = await failure(listOnce(client()));
    expect(error).toMatchObject({ kind: "http", status: 502 });
    expect(error!.message).toMatch(/HTTP 502 \(after 3 attempts\)/);
    expect(remote.requests).toHaveLength(3);
  });

  it("tells its observer how each attempt went: a 429, a 503, then an answer", async () => {
    remote.script(json(429, {}, { "retry-after": "0" }), json(503, {}), json(200, EMPTY_PAGE));
    const outcomes: string[] = [];
    await listOnce(client({ observe: (outcome) => outcomes.push(outcome) }));
    expect(outcomes).toEqual(["rate_limited", "server_error", "ok"]);
  });

  it("tells its observer of a remote that does not answer in time, once per attempt", async () => {
    remote.script(() => undefined);
    const outcomes: string[] = [];
    await failure(listOnce(client({ timeoutMs: 200, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 }, observe: (outcome) => outcomes.push(outcome) })));
    expect(outcomes).toEqual(["timeout", "timeout"]);
  });

  it("waits as long as a 429's Retry-After asks", async () => {
    remote.script(json(429, {}, { "retry-after": "1" }), json(200, EMPTY_PAGE));
    const started = Date.now();
    await listOnce(client({ retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 2000 } }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(remote.requests).toHaveLength(2);
  });

  it("fails at once when a 429 asks for a wait far beyond the bound", async () => {
    remote.script(json(429, {}, { "retry-after": "3600" }));
    const error = await failure(listOnce(client()));
    expect(error!.message).toMatch(/HTTP 429 \(rate limited, asked to retry after 3600 s\)/);
    expect(remote.requests).toHaveLength(1);
  });

  it("does not follow a redirect, so the token never reaches another host", async () => {
    remote.script(json(302, {}, { location: "http://127.0.0.1:9/elsewhere" }));
    const error = await failure(listOnce(client()));
    expect(error).toMatchObject({ kind: "http", status: 302 });
    // The origin only: the rest of the Location is the remote's to choose, and is not echoed.
    expect(error!.message).toMatch(/redirect to http:\/\/127\.0\.0\.1:9;/);
    expect(remote.requests).toHaveLength(1);
  });

  it("times out a silent remote, retrying reads but not the scan mutation (the remote may still be scanning)", async () => {
    const silent: Answer = (_req, res) => void setTimeout(() => json(200, EMPTY_PAGE)(_req, res), 1000);
    remote.script(silent);
    const read = await failure(listOnce(client({ timeoutMs: 200 })));
    expect(read).toMatchObject({ kind: "timeout" });
    expect(read!.message).toMatch(/no answer within 200 ms \(after 3 attempts\)/);
    expect(remote.requests).toHaveLength(3);

    remote.script(silent);
    const scan = await failure(client({ timeoutMs: 200, scanTimeoutMs: 200 }).scanArtifacts({ registryId: "r", limit: 1 }));
    expect(scan).toMatchObject({ kind: "timeout" });
    expect(remote.requests).toHaveLength(1);
  });

  it("reports the remote's UNAUTHENTICATED as a refused key pair, with the remote's message", async () => {
    remote.script(json(401, { errors: [{ message: "Invalid token: unknown or revoked access key", extensions: { code: "UNAUTHENTICATED" } }] }));
    const error = await failure(listOnce(client()));
    expect(error).toMatchObject({ kind: "refused", status: 401, remoteCode: "UNAUTHENTICATED", remoteMessage: "Invalid token: unknown or revoked access key" });
    expect(error!.message).toBe("the remote refused the key pair: Invalid token: unknown or revoked access key");
  });

  it("reports any other GraphQL error with the remote's code and message", async () => {
    remote.script(json(200, { errors: [{ message: "Registry x not found", extensions: { code: "NOT_FOUND" } }], data: { scanArtifacts: null } }));
    const error = await failure(client().scanArtifacts({ registryId: "x", limit: 1 }));
    expect(error).toMatchObject({ kind: "remote", remoteCode: "NOT_FOUND" });
    expect(error!.message).toBe("the remote reported NOT_FOUND: Registry x not found");
  });

  it("refuses an answer of the wrong shape or size instead of trusting it", async () => {
    remote.script(json(200, { data: { artifacts: { edges: [{ node: { id: 1 } }] } } }));
    expect(await failure(listOnce(client()))).toMatchObject({ kind: "protocol" });
    remote.script(json(200, { data: { artifacts: { pageInfo: { hasNextPage: false, endCursor: null }, edges: [] } }, padding: "x".repeat(4096) }));
    expect(await failure(listOnce(client({ maxResponseBytes: 1024 })))).toMatchObject({ kind: "protocol", message: expect.stringMatching(/larger than 1024 bytes/) });
    remote.script((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>a proxy's login page</html>");
    });
    expect(await failure(listOnce(client()))).toMatchObject({ kind: "protocol" });
  });

  it("pages through artifacts and their revisions up to the limit", async () => {
    const revision = (id: string) => ({ id, version: id, status: "SCANNED", remoteStatus: null, digest: null, latestUpstreamDigest: null, size: null });
    const artifact = (id: string, hasMoreRevisions: boolean) => ({
      id, name: id, type: "MODEL", description: null, availability: "ALIVE", extra: null,
      source: { name: null, url: null }, registry: { name: "r", url: "u" },
      revisions: { pageInfo: { hasNextPage: hasMoreRevisions, endCursor: hasMoreRevisions ? "rc1" : null }, edges: [{ node: revision(`${id}-1`) }] },
    });
    remote.script(
      json(200, { data: { artifacts: { pageInfo: { hasNextPage: true, endCursor: "c1" }, edges: [{ node: artifact("a1", true) }] } } }),
      json(200, { data: { artifact: { revisions: { pageInfo: { hasNextPage: false, endCursor: null }, edges: [{ node: revision("a1-2") }] } } } }),
      json(200, { data: { artifacts: { pageInfo: { hasNextPage: true, endCursor: "c2" }, edges: [{ node: artifact("a2", false) }, { node: artifact("a3", false) }] } } }),
    );
    const seen = [];
    for await (const item of client({ artifactPageSize: 2 }).artifacts({ availability: ["ALIVE" as never] }, 2)) seen.push([item.artifact.id, item.revisions.map((r) => r.id)]);
    expect(seen).toEqual([["a1", ["a1-1", "a1-2"]], ["a2", ["a2-1"]]]);
    expect(remote.requests.map((r) => r.body.variables)).toEqual([
      { first: 2, after: null, filter: { availability: ["ALIVE"] }, revisionsFirst: 100 },
      { id: "a1", first: 100, after: "rc1" },
      { first: 1, after: "c1", filter: { availability: ["ALIVE"] }, revisionsFirst: 100 },
    ]);
  });
});
