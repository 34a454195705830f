import { createServer, type Server } from "node:http";
import { EgressPolicy } from "../../src/upstream/egress";
import { createHubClient } from "../../src/upstream/huggingface/hub.client";
import { HubError } from "../../src/upstream/huggingface/hub.port";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { closeServer, listenOnLoopback } from "../support/loopback";

/*
 * A hostile hub points the client at internal addresses (redirects, error bodies, READMEs): the
 * client never connects where the egress policy refuses, follows API and README requests only
 * within the hub's origin, and never repeats what a server other than the hub said.
 */

const SECRET = "internal-secret-7f3a";
let hub: FakeHub;
let trap: Server;
let trapUrl: string;
let trapConnections = 0;

beforeAll(async () => {
  hub = await startFakeHub([
    {
      id: "acme/model",
      files: [
        { path: "README.md", content: "# A model\n" },
        { path: "config.json", content: "{}" },
        { path: "model.safetensors", content: { size: 10_000, seed: 1 }, lfs: true },
      ],
    },
  ]);
  // An internal service: what it says must never reach a user.
  trap = createServer((_req, res) => {
    res.writeHead(500, { "content-type": "application/json", "x-error-message": SECRET });
    res.end(JSON.stringify({ error: `${SECRET}\n\u001b[31mstack trace` }));
  });
  trap.on("connection", () => trapConnections++);
  trapUrl = await listenOnLoopback(trap);
});
afterAll(async () => {
  await hub?.stop();
  await closeServer(trap);
});
beforeEach(() => {
  hub.clearFaults();
  hub.clearRequests();
  trapConnections = 0;
});

const client = (egress?: EgressPolicy) => createHubClient({ endpoint: hub.url, timeoutMs: 2_000, retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 50 }, egress });

async function hubError(promise: Promise<unknown>): Promise<HubError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  if (!(error instanceof HubError)) throw new Error(`expected a HubError, got ${String(error)}`);
  return error;
}

describe("the hub client under the egress policy", () => {
  it("refuses a download redirected to the cloud metadata address, once, without trying again", async () => {
    hub.inject({ match: "/acme/model/resolve/main/config.json", redirect: "http://169.254.169.254/latest/meta-data/iam/", times: Infinity });

    const outcomes: string[] = [];
    const observed = createHubClient({ endpoint: hub.url, timeoutMs: 2_000, retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 50 }, observe: (o) => outcomes.push(o) });
    const error = await hubError(observed.download("acme/model", "main", "config.json"));

    expect(outcomes).toEqual(["refused"]);
    expect(error.message).toMatch(/refusing to connect to 169\.254\.169\.254: it is a link-local or cloud metadata address/);
    expect(error.retryable).toBe(false);
    expect(hub.requests.filter((r) => r.url.includes("config.json"))).toHaveLength(1);
  });

  it("does not follow a README off the hub's origin, to the metadata address or to one the policy allows", async () => {
    for (const target of ["http://169.254.169.254/latest/meta-data/", `${trapUrl}/readme`]) {
      hub.inject({ match: "/acme/model/resolve/main/README.md", redirect: target });

      const error = await hubError(client().readText("acme/model", "main", "README.md", 10_000));

      expect(error.message).toMatch(/redirect to another origin/);
      expect(error.retryable).toBe(false);
    }
    expect(trapConnections).toBe(0);
  });

  it("takes a README only when the hub answers it as text", async () => {
    hub.inject({ match: "/acme/model/resolve/main/README.md", status: 200, headers: { "Content-Type": "text/html" } });

    const error = await hubError(client().readText("acme/model", "main", "README.md", 10_000));

    expect(error.message).toMatch(/answered README\.md as text\/html, not as text/);
  });

  it("follows API calls only within the hub's origin", async () => {
    hub.inject({ match: "/api/models/acme/model/tree/", redirect: `${trapUrl}/tree`, times: Infinity });

    const error = await hubError((async () => {
      for await (const entry of client().tree("acme/model", "main")) void entry;
    })());

    expect(error.message).toMatch(/redirect to another origin/);
    expect(trapConnections).toBe(0);
  });

  it("reports a download redirected to an internal service by its status alone, never by what the service said", async () => {
    hub.inject({ match: "/acme/model/resolve/main/config.json", redirect: `${trapUrl}/config.json`, times: Infinity });

    const error = await hubError(client().download("acme/model", "main", "config.json"));

    expect(error.status).toBe(500);
    expect(error.message).toMatch(new RegExp(`server at ${trapUrl} \\(where the hub redirected\\) answered 500$`));
    expect(error.message).not.toContain(SECRET);
  });

  it("keeps the hub's own error message to one clean, bounded line, and drops a code that is no code", async () => {
    const noisy = createServer((_req, res) => {
      res.writeHead(400, { "content-type": "application/json", "x-error-code": "Not A Code" });
      res.end(JSON.stringify({ error: `bad\r\n\u001b[2J\u202e${"x".repeat(1_000)}` }));
    });
    const url = await listenOnLoopback(noisy);
    try {
      const error = await hubError(createHubClient({ endpoint: url, retry: { attempts: 1 } }).refs("acme/model"));

      expect(error.errorCode).toBeNull();
      expect(error.message).toMatch(/^hub answered 400: bad \[2J x+…$/);
      expect(error.message.length).toBeLessThan(250);
    } finally {
      await closeServer(noisy);
    }
  });

  it("refuses the hub itself on loopback when private networks are denied, before connecting", async () => {
    const deny = new EgressPolicy({ privateNetworks: "deny" });
    try {
      const error = await hubError(client(deny).modelInfo("acme/model"));

      expect(error.message).toMatch(/refusing to connect to 127\.0\.0\.1: it is loopback, and UPSTREAM_PRIVATE_NETWORKS does not allow it/);
      expect(hub.requests).toHaveLength(0);
    } finally {
      await deny.close();
    }
  });
});
