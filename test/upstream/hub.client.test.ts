import { createHubClient, type HubClientOptions } from "../../src/upstream/huggingface/hub.client";
import { HubError, type HubClient, type HubTreeEntry } from "../../src/upstream/huggingface/hub.port";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { ACCEPTED_TOKEN, CONFIG, OLD_COMMIT, README, gitBlobSha1, hubModels, readAll, sha256 } from "./hub-fixtures";

let hub: FakeHub;

beforeAll(async () => {
  hub = await startFakeHub(hubModels(), { pageSize: 2, treePageSize: 3, acceptedTokens: [ACCEPTED_TOKEN] });
});

afterAll(async () => {
  await hub.stop();
});

beforeEach(() => {
  hub.clearFaults();
  hub.clearRequests();
  hub.setOptions({ linkBase: undefined, gzipJson: false });
});

/** Short backoff so retry tests run fast; Retry-After still decides when the hub sends one. */
function client(options: Partial<HubClientOptions> = {}): HubClient {
  return createHubClient({ endpoint: hub.url, timeoutMs: 2_000, retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 2_000 }, ...options });
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

async function hubError(promise: Promise<unknown>): Promise<HubError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof HubError)) throw new Error(`expected a HubError, got ${String(error)}`);
  return error;
}

const hubRequests = (prefix: string) => hub.requests.filter((r) => r.origin === "hub" && r.url.startsWith(prefix));

describe("listing models", () => {
  it("follows Link pages in download order and stops at the limit", async () => {
    const models = await collect(client().listModels({ limit: 3 }));

    expect(models.map((m) => m.id)).toEqual(["acme/alpha", "acme/beta", "acme/gamma"]);
    expect(hubRequests("/api/models?")).toHaveLength(2);
    expect(models[0]).toMatchObject({
      author: "acme",
      sha: hub.resolveRevision("acme/alpha", "main"),
      gated: false,
      private: false,
      downloads: 500,
      likes: 7,
      pipeline_tag: "text-generation",
      library_name: "transformers",
    });
  });

  it("reads every page when the limit is larger than the catalogue, without private models", async () => {
    const models = await collect(client().listModels({ limit: 500 }));

    expect(models.map((m) => m.id)).toEqual([
      "acme/alpha",
      "acme/beta",
      "acme/gamma",
      "other/delta",
      "other/epsilon",
      "acme/gated",
      "acme/giant-readme",
      "acme/no-readme",
      "evil/hostile",
    ]);
    expect(hubRequests("/api/models?")).toHaveLength(5);
  });

  it("shows private models to an accepted token", async () => {
    const models = await collect(client({ token: ACCEPTED_TOKEN }).listModels({ limit: 1 }));
    expect(models.map((m) => m.id)).toEqual(["acme/secret"]);
  });

  it("filters by search, author and tag", async () => {
    const ids = async (opts: { search?: string; author?: string; filter?: string }) =>
      (await collect(client().listModels({ ...opts, limit: 50 }))).map((m) => m.id);

    expect(await ids({ search: "GAMMA" })).toEqual(["acme/gamma"]);
    expect(await ids({ author: "other" })).toEqual(["other/delta", "other/epsilon"]);
    expect(await ids({ filter: "vision" })).toEqual(["other/delta"]);
    expect(await ids({ search: "nothing-matches" })).toEqual([]);
  });

  it("reads pages the hub sends gzip-compressed, and asks for file bytes as they are", async () => {
    hub.setOptions({ gzipJson: true });
    const models = await collect(client().listModels({ limit: 3 }));
    const tree = await collect(client().tree("acme/alpha", "main"));
    const download = await client().download("acme/alpha", "main", "config.json");
    await readAll(download.body);

    expect(models.map((m) => m.id)).toEqual(["acme/alpha", "acme/beta", "acme/gamma"]);
    expect(tree.map((entry) => entry.path)).toContain("config.json");
    expect(hubRequests("/api/").every((r) => r.headers["accept-encoding"]?.includes("gzip"))).toBe(true);
    expect(hubRequests("/acme/alpha/resolve/")[0].headers["accept-encoding"]).toBeUndefined();
  });

  it("refuses a token no header can carry, without sending a request", async () => {
    const error = await client({ token: "hf_bad\r\nX-Injected: 1" }).modelInfo("acme/alpha").catch((e: unknown) => e);

    expect(String(error)).toMatch(/header/i);
    expect((error as { retryable?: boolean }).retryable).not.toBe(true);
    expect(hubRequests("/")).toHaveLength(0);
  });

  it("makes no request for a limit of zero", async () => {
    expect(await collect(client().listModels({ limit: 0 }))).toEqual([]);
    expect(hub.requests).toHaveLength(0);
  });

  it("refuses a next page on another origin", async () => {
    hub.setOptions({ linkBase: hub.cdnUrl });
    const error = await hubError(collect(client().listModels({ limit: 10 })));
    expect(error.message).toMatch(/another origin/);
    expect(hub.requests.filter((r) => r.origin === "cdn")).toHaveLength(0);
  });
});

describe("model info and refs", () => {
  it("reads the default branch with card data", async () => {
    const info = await client().modelInfo("acme/alpha");
    expect(info).toMatchObject({ id: "acme/alpha", sha: hub.resolveRevision("acme/alpha", "main"), cardData: { license: "mit" }, gated: false });
    expect(info.lastModified).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it("reads a revision given as a branch, a tag, a full sha and an encoded refs/pr/1", async () => {
    const c = client();
    expect((await c.modelInfo("acme/alpha", "main")).sha).toBe(hub.resolveRevision("acme/alpha", "main"));
    expect((await c.modelInfo("acme/alpha", "v1")).sha).toBe(OLD_COMMIT);
    expect((await c.modelInfo("acme/alpha", OLD_COMMIT)).sha).toBe(OLD_COMMIT);

    const pr = await c.modelInfo("acme/alpha", "refs/pr/1");
    expect(pr.sha).toBe(hub.resolveRevision("acme/alpha", "refs/pr/1"));
    expect(hub.requests.map((r) => r.url)).toContain("/api/models/acme/alpha/revision/refs%2Fpr%2F1");
  });

  it("lists branches and tags with their target commits", async () => {
    const refs = await client().refs("acme/alpha");
    expect(refs).toEqual({
      branches: [{ name: "main", ref: "refs/heads/main", targetCommit: hub.resolveRevision("acme/alpha", "main") }],
      tags: [{ name: "v1", ref: "refs/tags/v1", targetCommit: OLD_COMMIT }],
    });
  });

  it("sees a branch move to a new commit", async () => {
    hub.addModel({ id: "acme/moving", files: [{ path: "README.md", content: "one" }] });
    const first = (await client().refs("acme/moving")).branches[0].targetCommit;
    const moved = hub.setFiles("acme/moving", "main", [{ path: "README.md", content: "two" }]);

    expect(moved).not.toBe(first);
    expect((await client().modelInfo("acme/moving")).sha).toBe(moved);
    expect(await client().readText("acme/moving", "main", "README.md", 100)).toBe("two");
    expect(await client().readText("acme/moving", first, "README.md", 100)).toBe("one");
  });

  it("follows a renamed repo's same-origin redirect and keeps the token on it", async () => {
    const info = await client({ token: ACCEPTED_TOKEN }).modelInfo("acme/alpha-old");

    expect(info.id).toBe("acme/alpha");
    const [redirect, target] = hub.requests;
    expect(redirect).toMatchObject({ url: "/api/models/acme/alpha-old", status: 307 });
    expect(target).toMatchObject({ url: "/api/models/acme/alpha", status: 200 });
    expect(target.headers.authorization).toBe(`Bearer ${ACCEPTED_TOKEN}`);
  });
});

describe("trees", () => {
  it("lists every entry across Link pages, with oids that match the downloaded bytes", async () => {
    const c = client();
    const entries = await collect(c.tree("acme/alpha", "main"));

    expect(entries.map((e) => `${e.type}:${e.path}`)).toEqual([
      "file:README.md",
      "file:config.json",
      "file:model.safetensors",
      "directory:nested",
      "directory:nested/deeper",
      "file:nested/deeper/notes.txt",
      "file:nested/tokenizer.json",
    ]);
    expect(hubRequests("/api/models/acme/alpha/tree/main")).toHaveLength(3);

    for (const entry of entries.filter((e): e is HubTreeEntry & { type: "file" } => e.type === "file")) {
      const bytes = await readAll((await c.download("acme/alpha", "main", entry.path)).body);
      expect(entry.size).toBe(bytes.length);
      if (entry.lfs) {
        expect(entry.lfs).toEqual({ oid: sha256(bytes), size: bytes.length });
        // The git blob of an LFS file is its pointer, not the content.
        const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(bytes)}\nsize ${bytes.length}\n`;
        expect(entry.oid).toBe(gitBlobSha1(Buffer.from(pointer)));
      } else {
        expect(entry.oid).toBe(gitBlobSha1(bytes));
      }
    }
    expect(entries.find((e) => e.path === "model.safetensors")?.lfs).toBeDefined();
  });

  it("lists hostile paths verbatim for the caller to judge", async () => {
    const paths = (await collect(client().tree("evil/hostile", "main"))).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["ok.txt", "../evil", "/abs", "a\u0000b"]));
  });

  it("reports an unknown revision as RevisionNotFound", async () => {
    const error = await hubError(collect(client().tree("acme/alpha", "no-such-branch")));
    expect(error).toMatchObject({ status: 404, errorCode: "RevisionNotFound", notFound: true, retryable: false });
  });
});

describe("downloads", () => {
  it("serves a small file with 200, its commit, ETag and size", async () => {
    const download = await client().download("acme/alpha", "main", "config.json");

    expect(download).toMatchObject({
      status: 200,
      commit: hub.resolveRevision("acme/alpha", "main"),
      etag: gitBlobSha1(Buffer.from(CONFIG)),
      size: Buffer.byteLength(CONFIG),
      contentLength: Buffer.byteLength(CONFIG),
      contentRange: null,
    });
    expect((await readAll(download.body)).toString()).toBe(CONFIG);
  });

  it("follows an LFS file to the CDN, sending the token to the hub but never to the CDN", async () => {
    const info = await hub.fileInfo("acme/alpha", "main", "model.safetensors");
    const download = await client({ token: ACCEPTED_TOKEN }).download("acme/alpha", "main", "model.safetensors");
    const bytes = await readAll(download.body);

    expect(download).toMatchObject({ status: 200, commit: hub.resolveRevision("acme/alpha", "main"), etag: info.sha256, size: 300_000, contentLength: 300_000 });
    expect(sha256(bytes)).toBe(info.sha256);

    const [resolve, cdn] = hub.requests;
    expect(resolve).toMatchObject({ origin: "hub", status: 302 });
    expect(resolve.headers.authorization).toBe(`Bearer ${ACCEPTED_TOKEN}`);
    expect(cdn).toMatchObject({ origin: "cdn", status: 200 });
    expect(cdn.headers.authorization).toBeUndefined();
  });

  it("serves ranges as 206 from the hub and from the CDN", async () => {
    const c = client();
    const small = await c.download("acme/alpha", "main", "README.md", { range: { start: 2, end: 6 } });
    expect(small).toMatchObject({ status: 206, contentLength: 5, size: Buffer.byteLength(README), contentRange: { start: 2, end: 6, total: Buffer.byteLength(README) } });
    expect((await readAll(small.body)).toString()).toBe(README.slice(2, 7));

    const whole = await readAll((await c.download("acme/alpha", "main", "model.safetensors")).body);
    const tail = await c.download("acme/alpha", "main", "model.safetensors", { range: { start: 299_990 } });
    expect(tail).toMatchObject({ status: 206, size: 300_000, contentRange: { start: 299_990, end: 299_999, total: 300_000 } });
    expect(await readAll(tail.body)).toEqual(whole.subarray(299_990));
  });

  it("refuses a gated file without access and serves it with an accepted token", async () => {
    const anonymous = await hubError(client().download("acme/gated", "main", "weights.bin"));
    expect(anonymous).toMatchObject({ status: 401, errorCode: "GatedRepo", denied: true, retryable: false });

    const stranger = await hubError(client({ token: "hf_stranger" }).download("acme/gated", "main", "weights.bin"));
    expect(stranger).toMatchObject({ status: 403, errorCode: "GatedRepo", denied: true });
    expect(stranger.message).toMatch(/not in the authorized list/);

    const granted = await client({ token: ACCEPTED_TOKEN }).download("acme/gated", "main", "weights.bin");
    expect((await readAll(granted.body)).length).toBe(50_000);
  });

  it("keeps a gated repo's info, tree and README public, like the hub", async () => {
    const c = client();
    expect((await c.modelInfo("acme/gated")).gated).toBe("manual");
    expect((await collect(c.tree("acme/gated", "main"))).map((e) => e.path)).toContain("weights.bin");
    expect(await c.readText("acme/gated", "main", "README.md", 1000)).toBe("# Gated\n");
  });

  it("reports unknown repos, revisions and files as notFound with the hub's error code", async () => {
    const c = client();
    expect(await hubError(c.modelInfo("acme/nope"))).toMatchObject({ status: 401, errorCode: "RepoNotFound", notFound: true });
    expect(await hubError(client({ token: "hf_stranger" }).modelInfo("acme/nope"))).toMatchObject({ status: 404, errorCode: "RepoNotFound" });
    expect(await hubError(c.modelInfo("acme/alpha", "nope"))).toMatchObject({ status: 404, errorCode: "RevisionNotFound", notFound: true });
    expect(await hubError(c.download("acme/alpha", "main", "nope.txt"))).toMatchObject({ status: 404, errorCode: "EntryNotFound", notFound: true });
    expect(await hubError(c.refs("acme/secret"))).toMatchObject({ errorCode: "RepoNotFound", notFound: true });
    expect((await client({ token: ACCEPTED_TOKEN }).refs("acme/secret")).branches).toHaveLength(1);
  });

  it("refuses file paths that the URL parser would rewrite, without a request", async () => {
    const c = client();
    for (const path of ["../evil", "a/./b", "/abs", "a//b", "a/%2e%2e/b"]) {
      await expect(c.download("evil/hostile", "main", path)).rejects.toBeInstanceOf(HubError);
    }
    expect(hub.requests).toHaveLength(0);
  });
});

describe("readText", () => {
  it("cuts a giant README at maxBytes without a broken character", async () => {
    const text = await client().readText("acme/giant-readme", "main", "README.md", 100_000);

    expect(text).not.toBeNull();
    const size = Buffer.byteLength(text as string);
    expect(size).toBeLessThanOrEqual(100_000);
    expect(size).toBeGreaterThan(99_990);
    expect(text?.startsWith("# Giant ü\n# Giant ü\n")).toBe(true);
    expect(text).not.toContain("\uFFFD");
  });

  it("returns null for a missing README but throws for a missing repo", async () => {
    expect(await client().readText("acme/no-readme", "main", "README.md", 1000)).toBeNull();
    expect(await hubError(client().readText("acme/nope", "main", "README.md", 1000))).toMatchObject({ errorCode: "RepoNotFound" });
  });
});

describe("retries, timeouts and broken connections", () => {
  it("waits out a 429 with Retry-After: 1 and then succeeds", async () => {
    const fault = hub.inject({ match: "/api/models/acme/alpha", status: 429, headers: { "Retry-After": "1", RateLimit: '"api";r=0;t=1' } });
    const started = Date.now();

    expect((await client().modelInfo("acme/alpha")).id).toBe("acme/alpha");
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fault.hits).toBe(1);
    expect(hubRequests("/api/models/acme/alpha")).toHaveLength(2);
  });

  it("fails with a retryable HubError when 429s outlast the attempts", async () => {
    hub.inject({ match: "/api/models/acme/alpha", status: 429, times: Infinity });

    const error = await hubError(client({ retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 50 } }).modelInfo("acme/alpha"));
    expect(error).toMatchObject({ status: 429, retryable: true });
    expect(hubRequests("/api/models/acme/alpha")).toHaveLength(3);
  });

  it("gives up at once when Retry-After is far beyond the longest wait", async () => {
    hub.inject({ match: "/api/models/acme/alpha", status: 429, headers: { "Retry-After": "3600" } });

    const error = await hubError(client().modelInfo("acme/alpha"));
    expect(error).toMatchObject({ status: 429, retryable: true });
    expect(hubRequests("/api/models/acme/alpha")).toHaveLength(1);
  });

  it("tells its observer how each attempt went: rate limited, a server error, a reset, a client error, and the answers", async () => {
    const outcomes: string[] = [];
    const observed = client({ observe: (outcome) => outcomes.push(outcome) });
    hub.inject({ match: "/api/models/acme/alpha", status: 429, headers: { "Retry-After": "0" } });
    await observed.modelInfo("acme/alpha");
    hub.inject({ match: "/api/models/acme/alpha/refs", status: 503 });
    await observed.refs("acme/alpha");
    hub.inject({ match: "/api/models/acme/alpha/refs", reset: true });
    await observed.refs("acme/alpha");
    await hubError(observed.modelInfo("acme/alpha", "nope"));
    expect(outcomes).toEqual(["rate_limited", "ok", "server_error", "ok", "network_error", "ok", "client_error"]);
  });

  it("retries 503s", async () => {
    hub.inject({ match: "/api/models/acme/alpha/refs", status: 503, times: 2 });
    expect((await client().refs("acme/alpha")).branches).toHaveLength(1);
    expect(hubRequests("/api/models/acme/alpha/refs")).toHaveLength(3);
  });

  it("does not retry a 4xx", async () => {
    await hubError(client().modelInfo("acme/alpha", "nope"));
    expect(hub.requests).toHaveLength(1);
  });

  it("times out a slow response and succeeds on the retry", async () => {
    // Held until the test ends: only the timeout can end the first attempt.
    hub.hold({ match: "/api/models/acme/alpha" });

    expect((await client({ timeoutMs: 500 }).modelInfo("acme/alpha")).id).toBe("acme/alpha");
    // Had the slow answer been awaited, it would have been the only request.
    expect(hubRequests("/api/models/acme/alpha")).toHaveLength(2);
  });

  it("fails with a retryable HubError when every attempt times out", async () => {
    hub.hold({ match: "/api/models/acme/alpha", times: Infinity });

    const error = await hubError(client({ timeoutMs: 100, retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 50 } }).modelInfo("acme/alpha"));
    expect(error).toMatchObject({ status: null, retryable: true });
    expect(error.message).toMatch(/no response within 100 ms/);
  });

  it("retries a connection reset and a body cut short while reading JSON", async () => {
    hub.inject({ match: "/api/models/acme/alpha/refs", reset: true });
    hub.inject({ match: "/api/models/acme/alpha/refs", dropAfterBytes: 10 });

    expect((await client().refs("acme/alpha")).tags).toHaveLength(1);
    expect(hubRequests("/api/models/acme/alpha/refs")).toHaveLength(3);
  });

  it("surfaces a connection dropped mid-download as a stream error", async () => {
    hub.inject({ origin: "cdn", match: "/repos/", dropAfterBytes: 100_000 });

    const download = await client().download("acme/alpha", "main", "model.safetensors");
    const error = await readAll(download.body).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HubError);
    expect(error).toMatchObject({ retryable: true, status: null });
  });

  it("fails a download whose body stalls longer than the timeout", async () => {
    hub.hold({ origin: "cdn", match: "/repos/", afterBytes: 1_000 });

    const download = await client({ timeoutMs: 500 }).download("acme/alpha", "main", "model.safetensors");
    const error = await readAll(download.body).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).message).toMatch(/no data for 500 ms/);
  });

  it("does not mistake a slow reader for a stalled server", async () => {
    const download = await client({ timeoutMs: 300 }).download("acme/alpha", "main", "model.safetensors");
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect((await readAll(download.body)).length).toBe(300_000);
  });

  it("stops waiting for a retry when the signal aborts", async () => {
    hub.inject({ match: "/api/models/acme/alpha", status: 429, headers: { "Retry-After": "5" } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);

    await expect(client({ retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10_000 } }).modelInfo("acme/alpha", undefined, { signal: controller.signal })).rejects.toMatchObject({
      name: "AbortError",
    });
  });

  it("aborts a download in progress when the signal aborts", async () => {
    const held = hub.hold({ origin: "cdn", match: "/repos/", afterBytes: 1_000 });
    const controller = new AbortController();

    const download = await client().download("acme/alpha", "main", "model.safetensors", { signal: controller.signal });
    const reading = readAll(download.body);
    await held.reached;
    controller.abort();
    await expect(reading).rejects.toMatchObject({ name: "AbortError" });
  });
});
