import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { ACCEPTED_TOKEN, OLD_COMMIT, hubModels, sha256 } from "./hub-fixtures";

/** The fixture itself, spoken to with plain fetch: it must behave like the hub for the client tests to mean anything. */

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
});

/** Polls a condition the server side settles on its own (a closed socket reaching the hub). */
async function waitUntil(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); await new Promise((resolve) => setTimeout(resolve, 10))) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${check}`);
  }
}

const get = (path: string, init: RequestInit = {}) => fetch(`${hub.url}${path}`, { redirect: "manual", ...init });

describe("the fake hub", () => {
  it("pages the model list with an absolute Link that keeps the query", async () => {
    const res = await get("/api/models?search=acme&sort=downloads&direction=-1&limit=50");
    const link = res.headers.get("link") ?? "";
    const next = /^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? "";

    expect(await res.json()).toHaveLength(2);
    expect(next.startsWith(`${hub.url}/api/models?`)).toBe(true);
    expect(new URL(next).searchParams.get("search")).toBe("acme");
    expect(new URL(next).searchParams.get("cursor")).toBeTruthy();
  });

  it("returns the hub's default list fields unless expand asks for others, and rejects unknown ones", async () => {
    const [plain] = (await (await get("/api/models?limit=1")).json()) as object[];
    expect(Object.keys(plain).sort()).toEqual(["_id", "createdAt", "downloads", "id", "library_name", "likes", "modelId", "pipeline_tag", "private", "tags", "trendingScore"]);

    const [expanded] = (await (await get("/api/models?limit=1&expand=sha&expand=gated")).json()) as object[];
    expect(Object.keys(expanded).sort()).toEqual(["_id", "gated", "id", "sha"]);

    const bad = await get("/api/models?expand=bogus");
    expect(bad.status).toBe(400);
  });

  it("moves a branch to a new commit while a tag stays", async () => {
    hub.addModel({ id: "acme/mover", files: [{ path: "a.txt", content: "1" }], refs: { tags: { v1: "main" } } });
    const before = hub.resolveRevision("acme/mover", "main");
    const after = hub.setFiles("acme/mover", "main", [{ path: "a.txt", content: "2" }]);

    const refs = await (await get("/api/models/acme/mover/refs")).json();
    expect(refs).toEqual({
      branches: [{ name: "main", ref: "refs/heads/main", targetCommit: after }],
      converts: [],
      tags: [{ name: "v1", ref: "refs/tags/v1", targetCommit: before }],
    });
    expect(await (await get(`/acme/mover/resolve/${before}/a.txt`)).text()).toBe("1");
    expect(await (await get("/acme/mover/resolve/main/a.txt")).text()).toBe("2");
  });

  it("resolves refs/pr/N only when encoded as one segment", async () => {
    const encoded = await get("/api/models/acme/alpha/revision/refs%2Fpr%2F1");
    expect(encoded.status).toBe(200);
    const raw = await get("/api/models/acme/alpha/revision/refs/pr/1");
    expect(raw.status).toBe(404);
  });

  it("answers an LFS file with a 302 to the CDN carrying the hub's headers, and HEAD without a body", async () => {
    const info = await hub.fileInfo("acme/alpha", "main", "model.safetensors");
    const res = await get("/acme/alpha/resolve/main/model.safetensors", { method: "HEAD" });

    expect(res.status).toBe(302);
    expect(res.headers.get("location")?.startsWith(`${hub.cdnUrl}/repos/`)).toBe(true);
    expect(res.headers.get("x-repo-commit")).toBe(hub.resolveRevision("acme/alpha", "main"));
    expect(res.headers.get("x-linked-etag")).toBe(`"${info.sha256}"`);
    expect(res.headers.get("x-linked-size")).toBe("300000");
    expect(res.headers.get("etag")).toBe(`"${info.oid}"`);
    expect(await res.text()).toBe("");
  });

  it("has the CDN refuse an Authorization header and a tampered signature, like S3 with a presigned URL", async () => {
    const location = (await get("/acme/alpha/resolve/main/model.safetensors")).headers.get("location") as string;

    expect((await fetch(location, { headers: { authorization: "Bearer x" } })).status).toBe(400);
    // A different first character, whatever the signature starts with.
    const tampered = location.replace(/Signature=(.)/, (_m, first: string) => `Signature=${first === "0" ? "1" : "0"}`);
    expect(tampered).not.toBe(location);
    expect((await fetch(tampered)).status).toBe(403);
    const ok = await fetch(location);
    expect(ok.status).toBe(200);
    expect(sha256(Buffer.from(await ok.arrayBuffer()))).toBe((await hub.fileInfo("acme/alpha", "main", "model.safetensors")).sha256);
  });

  it("serves ranges consistent with the whole generated file, and 416 past the end", async () => {
    const location = (await get("/acme/alpha/resolve/main/model.safetensors")).headers.get("location") as string;
    const whole = Buffer.from(await (await fetch(location)).arrayBuffer());

    const middle = await fetch(location, { headers: { range: "bytes=65530-65545" } });
    expect(middle.status).toBe(206);
    expect(middle.headers.get("content-range")).toBe("bytes 65530-65545/300000");
    expect(Buffer.from(await middle.arrayBuffer())).toEqual(whole.subarray(65530, 65546));

    const suffix = await fetch(location, { headers: { range: "bytes=-5" } });
    expect(Buffer.from(await suffix.arrayBuffer())).toEqual(whole.subarray(-5));

    const past = await fetch(location, { headers: { range: "bytes=300000-" } });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe("bytes */300000");
  });

  it("hides a private repo: 401 without a token, 404 with a stranger's, visible to an accepted one", async () => {
    const anonymous = await get("/api/models/acme/secret");
    expect([anonymous.status, anonymous.headers.get("x-error-code")]).toEqual([401, "RepoNotFound"]);
    const stranger = await get("/api/models/acme/secret", { headers: { authorization: "Bearer hf_stranger" } });
    expect([stranger.status, stranger.headers.get("x-error-code")]).toEqual([404, "RepoNotFound"]);
    const accepted = await get("/api/models/acme/secret", { headers: { authorization: `Bearer ${ACCEPTED_TOKEN}` } });
    expect(accepted.status).toBe(200);
  });

  it("gates the tree and README too under strictGating", async () => {
    hub.setOptions({ strictGating: true });
    try {
      const tree = await get("/api/models/acme/gated/tree/main");
      expect([tree.status, tree.headers.get("x-error-code")]).toEqual([401, "GatedRepo"]);
      expect((await get("/acme/gated/resolve/main/README.md")).status).toBe(401);
    } finally {
      hub.setOptions({ strictGating: false });
    }
  });

  it("lists a directory non-recursively, and a missing directory as EntryNotFound", async () => {
    const nested = (await (await get("/api/models/acme/alpha/tree/main/nested")).json()) as { path: string }[];
    expect(nested.map((e) => e.path)).toEqual(["nested/deeper", "nested/tokenizer.json"]);
    const missing = await get("/api/models/acme/alpha/tree/main/nowhere");
    expect([missing.status, missing.headers.get("x-error-code")]).toEqual([404, "EntryNotFound"]);
  });

  it("logs requests with their origin, status and headers, and counts fault hits", async () => {
    const fault = hub.inject({ match: "/api/models/acme/alpha", status: 503, times: 2 });
    expect((await get("/api/models/acme/alpha")).status).toBe(503);
    expect((await get("/api/models/acme/alpha")).status).toBe(503);
    expect((await get("/api/models/acme/alpha", { headers: { authorization: "Bearer t" } })).status).toBe(200);

    expect(fault).toMatchObject({ hits: 2, remaining: 0 });
    expect(hub.requests.map((r) => [r.origin, r.status, r.faulted ?? false])).toEqual([
      ["hub", 503, true],
      ["hub", 503, true],
      ["hub", 200, false],
    ]);
    expect(hub.requests[2].headers.authorization).toBe("Bearer t");
  });

  it("flips a body byte when asked to corrupt", async () => {
    hub.inject({ match: "/acme/alpha/resolve/main/config.json", corrupt: 0 });
    const corrupted = Buffer.from(await (await get("/acme/alpha/resolve/main/config.json")).arrayBuffer());
    const clean = Buffer.from(await (await get("/acme/alpha/resolve/main/config.json")).arrayBuffer());
    expect(corrupted[0]).toBe(clean[0] ^ 0xff);
    expect(corrupted.subarray(1)).toEqual(clean.subarray(1));
  });

  it("holds a transfer mid-body until the test releases it", async () => {
    const whole = Buffer.from(await (await get("/api/models/acme/alpha")).arrayBuffer());
    const held = hub.hold({ match: "/api/models/acme/alpha", afterBytes: 10 });
    const res = await get("/api/models/acme/alpha");
    const reader = res.body!.getReader();
    expect(Buffer.from((await reader.read()).value!)).toEqual(whole.subarray(0, 10));
    const request = await held.reached;
    expect([request.url, held.holding, request.status]).toEqual(["/api/models/acme/alpha", true, undefined]);

    held.release();
    const rest: Buffer[] = [];
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest.push(Buffer.from(chunk.value));
    expect(Buffer.concat(rest)).toEqual(whole.subarray(10));
    expect([held.holding, held.hits]).toEqual([false, 1]);
  });

  it("holds a request before its headers until released, and a closed connection ends the hold", async () => {
    const held = hub.hold({ match: "/api/models/acme/alpha", times: 2 });
    const answered = get("/api/models/acme/alpha");
    await held.reached;
    expect(held.holding).toBe(true);
    held.release();
    expect((await answered).status).toBe(200);
    // Released for good: the second match passes without stopping.
    expect((await get("/api/models/acme/alpha")).status).toBe(200);
    expect(held.hits).toBe(2);

    const abandoned = hub.hold({ match: "/api/models/acme/alpha" });
    const controller = new AbortController();
    const aborted = get("/api/models/acme/alpha", { signal: controller.signal });
    await abandoned.reached;
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: "AbortError" });
    await waitUntil(() => !abandoned.holding);
    expect(hub.requests.at(-1)?.status).toBeUndefined();
  });

  it("keeps commits reachable by sha after the tag that named them moves", async () => {
    hub.setTag("acme/alpha", "v1", "main");
    try {
      expect((await get(`/api/models/acme/alpha/revision/${OLD_COMMIT}`)).status).toBe(200);
    } finally {
      hub.setTag("acme/alpha", "v1", OLD_COMMIT);
    }
  });
});
