import { readdir, readlink } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { toGlobalId } from "../../src/common/relay";
import { Seed } from "../support/seed";
import { sha256, waitFor } from "../import/support";
import { allPages, describeResponse, rawRequest, REPO, seedServedRevision, startHfRegistry, type HfRegistry } from "./support";

/*
 * The endpoint at the HTTP level, on filesystem storage: the Hub's headers, ranges, listings and
 * errors, every bad input, and who may read. The official client's view is in client.test.ts.
 */

let r: HfRegistry;
let artifactId: string;

beforeAll(async () => {
  r = await startHfRegistry("filesystem");
  [{ artifact_id: artifactId }] = await r.kit.ds.query(`SELECT artifact_id FROM artifact_revisions WHERE id = $1`, [r.revision.id]);
});
afterAll(() => r?.close());

/** GET (or another method) below /hf as a `user`, failing with the response when the status is not `status`. */
async function expectStatus(path: string, status: number, init: RequestInit = {}): Promise<Response & { bytes: Buffer }> {
  const res = await fetch(r.url(path), { ...init, headers: { ...r.auth(), ...(init.headers as Record<string, string>) } });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status !== status) throw new Error(`${init.method ?? "GET"} /hf${path}: expected ${status}, got ${describeResponse({ status: res.status, headers: res.headers, body: bytes })}`);
  return Object.assign(res, { bytes });
}

const json = (res: { bytes: Buffer }) => JSON.parse(res.bytes.toString("utf8"));

describe("HEAD and GET /{repo}/resolve/{revision}/{path}", () => {
  it("HEAD of an LFS file answers the Hub's headers: commit, SHA-256 ETag, linked ETag and size, length", async () => {
    const info = await r.hub.fileInfo(REPO, "main", "model.safetensors");
    const res = await expectStatus(`/${REPO}/resolve/main/model.safetensors`, 200, { method: "HEAD" });
    expect(Object.fromEntries(["x-repo-commit", "etag", "x-linked-etag", "x-linked-size", "content-length", "accept-ranges", "content-type"].map((h) => [h, res.headers.get(h)]))).toEqual({
      "x-repo-commit": r.revision.commit,
      etag: `"${info.sha256}"`,
      "x-linked-etag": `"${info.sha256}"`,
      "x-linked-size": String(info.size),
      "content-length": String(info.size),
      "accept-ranges": "bytes",
      "content-type": "application/octet-stream",
    });
    expect(res.bytes.length).toBe(0);
  });

  it("HEAD of a plain file answers its git blob id as ETag, and no linked headers", async () => {
    const info = await r.hub.fileInfo(REPO, "main", "config.json");
    const res = await expectStatus(`/${REPO}/resolve/main/config.json`, 200, { method: "HEAD" });
    expect(res.headers.get("etag")).toBe(`"${info.oid}"`);
    expect(res.headers.get("x-linked-etag")).toBeNull();
    expect(res.headers.get("x-linked-size")).toBeNull();
    expect(res.headers.get("content-length")).toBe(String(info.size));
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
  });

  it("GET streams the whole file, the same bytes as the hub's", async () => {
    const res = await expectStatus(`/${REPO}/resolve/main/model.safetensors`, 200);
    expect(sha256(res.bytes)).toBe((await r.hub.fileInfo(REPO, "main", "model.safetensors")).sha256);
  });

  it("finds a revision by version, by refs/heads/…, by HEAD and by its full commit SHA, URL-encoded", async () => {
    for (const revision of ["main", "refs%2Fheads%2Fmain", "HEAD", r.revision.commit]) {
      const res = await expectStatus(`/${REPO}/resolve/${revision}/config.json`, 200);
      expect(res.headers.get("x-repo-commit")).toBe(r.revision.commit);
    }
  });

  it("decodes a path as clients encode it: a space, and slashes encoded or not", async () => {
    for (const path of ["tokenizer/special%20tokens.json", "tokenizer%2Fspecial%20tokens.json"]) {
      const res = await expectStatus(`/${REPO}/resolve/main/${path}`, 200);
      expect(res.bytes.toString()).toBe('{"pad": "[PAD]"}');
    }
  });

  describe("ranges", () => {
    let whole: Buffer;
    beforeAll(async () => {
      whole = (await expectStatus(`/${REPO}/resolve/main/tokenizer/extra/merges.bin`, 200)).bytes;
    });

    it.each([
      ["bytes=0-0", 0, 0],
      ["bytes=100-199", 100, 199],
      ["bytes=300000-", 300_000, 300_000],
      ["bytes=-10", 300_001 - 10, 300_000],
      ["bytes=299990-999999", 299_990, 300_000],
    ])("answers %s with 206, Content-Range and the exact slice", async (range, start, end) => {
      const res = await expectStatus(`/${REPO}/resolve/main/tokenizer/extra/merges.bin`, 206, { headers: { range } });
      expect(res.headers.get("content-range")).toBe(`bytes ${start}-${end}/300001`);
      expect(res.headers.get("content-length")).toBe(String(end - start + 1));
      expect(res.bytes.equals(whole.subarray(start, end + 1))).toBe(true);
    });

    it.each(["bytes=300001-", "bytes=999999-1000000", "bytes=-0"])("answers %s with 416 and the size", async (range) => {
      const res = await expectStatus(`/${REPO}/resolve/main/tokenizer/extra/merges.bin`, 416, { headers: { range } });
      expect(res.headers.get("content-range")).toBe("bytes */300001");
    });

    it("serves the whole file for a multi-range or malformed Range header", async () => {
      for (const range of ["bytes=0-1,5-6", "items=0-5", "bytes=9-3"]) {
        const res = await expectStatus(`/${REPO}/resolve/main/tokenizer/extra/merges.bin`, 200, { headers: { range } });
        expect(res.bytes.length).toBe(whole.length);
      }
    });

    it("answers a HEAD with a Range as the GET would, without a body", async () => {
      const res = await expectStatus(`/${REPO}/resolve/main/tokenizer/extra/merges.bin`, 206, { method: "HEAD", headers: { range: "bytes=0-0" } });
      expect(res.headers.get("content-range")).toBe("bytes 0-0/300001");
      expect(res.bytes.length).toBe(0);
    });
  });

  it("/raw/ answers an LFS file's pointer, and a plain file's bytes", async () => {
    const info = await r.hub.fileInfo(REPO, "main", "model.safetensors");
    const pointer = await expectStatus(`/${REPO}/raw/main/model.safetensors`, 200);
    expect(pointer.bytes.equals(info.pointer!)).toBe(true);
    expect(pointer.headers.get("etag")).toBe(`"${info.oid}"`);
    const plain = await expectStatus(`/${REPO}/raw/main/config.json`, 200);
    expect(sha256(plain.bytes)).toBe((await r.hub.fileInfo(REPO, "main", "config.json")).sha256);
  });

  it("answers a missing file with 404 EntryNotFound and the commit (huggingface_hub caches the miss under it)", async () => {
    for (const path of ["missing.bin", "tokenizer", "tokenizer/extra"]) {
      const res = await expectStatus(`/${REPO}/resolve/main/${path}`, 404);
      expect(res.headers.get("x-error-code")).toBe("EntryNotFound");
      expect(res.headers.get("x-repo-commit")).toBe(r.revision.commit);
      expect(json(res).error).toContain(`${path} does not exist on "main"`);
    }
  });

  it("serves only the files of the revision's manifest, not whatever else is in its folder", async () => {
    const adapter = await r.kit.booted.storage.adapterFor(r.kit.booted.storage.defaultNamespaceId);
    await adapter.put(`${REPO}/main/stray.txt`, Readable.from([Buffer.from("not imported")]));
    const res = await expectStatus(`/${REPO}/resolve/main/stray.txt`, 404);
    expect(res.headers.get("x-error-code")).toBe("EntryNotFound");
  });

  it("a client that goes away mid-download leaves no file open", async () => {
    // Larger than one chunk read from storage (256 KiB), so the client leaves mid-way.
    expect((await r.hub.fileInfo(REPO, "main", "model.safetensors")).size).toBeGreaterThan(1024 * 1024);
    const abort = new AbortController();
    const res = await fetch(r.url(`/${REPO}/resolve/main/model.safetensors`), { headers: r.auth(), signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    // The server runs in this process: its open files are ours.
    const stored = path.join(r.kit.dataDir, "objects", "default", REPO, "main", "model.safetensors");
    const open = async () => (await Promise.all((await readdir("/proc/self/fd")).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => "")))).filter((target) => target === stored);
    await waitFor("the download's file to be closed", async () => (await open()).length === 0, 5000);
  });

  it("answers 500, without the file's headers, when an AVAILABLE revision's object is missing from storage", async () => {
    await seedServedRevision(r.kit, { name: "acme/lost-object", files: [{ path: "weights.bin", content: "soon gone", lfs: true }] });
    const adapter = await r.kit.booted.storage.adapterFor(r.kit.booted.storage.defaultNamespaceId);
    await adapter.delete(`acme/lost-object/main/weights.bin`);
    const res = await expectStatus(`/acme/lost-object/resolve/main/weights.bin`, 500, { headers: { range: "bytes=0-3" } });
    expect({ body: json(res), contentRange: res.headers.get("content-range"), etag: res.headers.get("etag") }).toEqual({ body: { error: "Internal server error" }, contentRange: null, etag: null });
  });

  it("refuses other methods with 405 and Allow", async () => {
    const res = await expectStatus(`/${REPO}/resolve/main/config.json`, 405, { method: "PUT", body: "x" });
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect((await expectStatus(`/${REPO}/resolve/main/config.json`, 405, { method: "DELETE" })).headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("GET /api/models/{repo}[/revision/{revision}]", () => {
  it("answers the model's info: id, commit, files, and what the scan learned", async () => {
    const info = json(await expectStatus(`/api/models/${REPO}`, 200));
    expect(info).toMatchObject({
      _id: expect.stringMatching(/^[0-9a-f]{24}$/),
      id: REPO,
      modelId: REPO,
      author: "acme",
      sha: r.revision.commit,
      private: false,
      gated: false,
      disabled: false,
      tags: ["bert", "license:mit"],
      pipeline_tag: "fill-mask",
      library_name: "transformers",
      cardData: { license: "mit" },
      lastModified: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(info.siblings.map((s: { rfilename: string }) => s.rfilename)).toContain("tokenizer/special tokens.json");
    expect(info.siblings.every((s: object) => Object.keys(s).join() === "rfilename")).toBe(true);
  });

  it("with blobs=true gives each file's blob id, size and LFS details", async () => {
    const info = json(await expectStatus(`/api/models/${REPO}/revision/main?blobs=true`, 200));
    const model = await r.hub.fileInfo(REPO, "main", "model.safetensors");
    const config = await r.hub.fileInfo(REPO, "main", "config.json");
    const byName = new Map(info.siblings.map((s: { rfilename: string }) => [s.rfilename, s]));
    expect(byName.get("model.safetensors")).toEqual({ rfilename: "model.safetensors", blobId: model.oid, size: model.size, lfs: { sha256: model.sha256, size: model.size, pointerSize: model.pointer!.length } });
    expect(byName.get("config.json")).toEqual({ rfilename: "config.json", blobId: config.oid, size: config.size });
    expect(info.usedStorage).toBe([...byName.values()].reduce((sum: number, s: any) => sum + s.size, 0));
  });

  it("with expand keeps only the fields asked for, and refuses a field the Hub does not know", async () => {
    const info = json(await expectStatus(`/api/models/${REPO}/revision/HEAD?expand=sha&expand=pipeline_tag&expand=safetensors`, 200));
    expect(info).toEqual({ _id: expect.any(String), id: REPO, sha: r.revision.commit, pipeline_tag: "fill-mask" });
    const bad = await expectStatus(`/api/models/${REPO}?expand=secrets`, 400);
    expect(json(bad).error).toContain('"expand" must be one of');
  });

  it("without a revision answers main only while main is served", async () => {
    const name = "acme/tags-only";
    const { artifact } = await seedServedRevision(r.kit, { name, version: "v1", files: [{ path: "config.json", content: "{}" }] });
    await new Seed(r.kit.ds).revision(artifact.id, { version: "main" });
    const res = await expectStatus(`/api/models/${name}`, 404);
    expect(res.headers.get("x-error-code")).toBe("RevisionNotFound");
    expect(json(res).error).toBe(`${name}@main is SCANNED: it has not been imported`);
    expect(json(await expectStatus(`/api/models/${name}/revision/v1`, 200)).id).toBe(name);
  });

  it("refuses bad flags with 400", async () => {
    expect(json(await expectStatus(`/api/models/${REPO}?blobs=maybe`, 400)).error).toBe("blobs must be true or false");
  });
});

describe("GET /api/models/{repo}/tree/{revision}[/{path}]", () => {
  const tree = (query: string, path = "") => `/api/models/${REPO}/tree/main${path}${query}`;

  it("lists the root, a folder, and everything recursively, as the hub does", async () => {
    for (const [path, query] of [["", ""], ["", "?recursive=true"], ["/tokenizer", ""], ["/tokenizer", "?recursive=1"], ["/tokenizer/extra", ""], ["/tokenizer%2Fextra", ""]]) {
      const ours = json(await expectStatus(tree(query, path), 200));
      expect({ path, query, entries: ours }).toEqual({ path, query, entries: await allPages(`${r.hub.url}${tree(query, path)}`) });
    }
  });

  it("pages by limit with an absolute Link on the host the client used, the pages adding up to the whole", async () => {
    const whole = json(await expectStatus(tree("?recursive=true"), 200));
    const first = await expectStatus(tree("?recursive=true&limit=3"), 200);
    expect(first.headers.get("link")).toMatch(new RegExp(`^<${r.kit.url}/hf/api/models/${REPO}/tree/main\\?recursive=true&limit=3&cursor=[\\w-]+>; rel="next"$`));
    expect(await allPages(r.url(tree("?recursive=true&limit=3")), r.auth())).toEqual(whole);
    expect(whole).toHaveLength(9);
  });

  it("with expand adds each file's last commit: the imported one", async () => {
    const entries = json(await expectStatus(tree("?expand=true"), 200));
    const config = entries.find((e: { path: string }) => e.path === "config.json");
    expect(config.lastCommit).toEqual({ id: r.revision.commit, title: "", date: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(entries.find((e: { type: string }) => e.type === "directory").lastCommit).toBeUndefined();
  });

  it("answers 404 EntryNotFound for a path that is no folder", async () => {
    for (const path of ["/config.json", "/nope"]) {
      const res = await expectStatus(tree("", path), 404);
      expect(res.headers.get("x-error-code")).toBe("EntryNotFound");
    }
  });

  it.each([
    ["a cursor that is not ours", "?cursor=bm90LWpzb24"],
    ["a negative offset", `?cursor=${Buffer.from('{"offset":-1}').toString("base64url")}`],
    ["limit 0", "?limit=0"],
    ["limit 1001", "?limit=1001"],
    ["a limit that is no number", "?limit=ten"],
    ["recursive that is no boolean", "?recursive=maybe"],
    ["a repeated flag", "?expand=true&expand=false"],
  ])("refuses %s with 400", async (_what, query) => {
    await expectStatus(tree(query), 400);
  });
});

describe("POST /api/models/{repo}/paths-info/{revision}", () => {
  const url = `/api/models/${REPO}/paths-info/main`;

  it("takes JSON and answers the entries that exist, files and folders", async () => {
    const res = await expectStatus(url, 200, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ paths: ["config.json", "tokenizer", "gone.txt"] }) });
    const config = await r.hub.fileInfo(REPO, "main", "config.json");
    expect(json(res)).toEqual([
      { type: "file", oid: config.oid, size: config.size, path: "config.json" },
      { type: "directory", oid: expect.stringMatching(/^[0-9a-f]{40}$/), size: 0, path: "tokenizer" },
    ]);
  });

  it("takes a form, as huggingface_hub sends it (repeated paths, expand=True)", async () => {
    const body = new URLSearchParams([["paths", "model.safetensors"], ["paths", "config.json"], ["expand", "True"]]);
    const entries = json(await expectStatus(url, 200, { method: "POST", body }));
    expect(entries.map((e: { path: string }) => e.path)).toEqual(["model.safetensors", "config.json"]);
    expect(entries[0]).toMatchObject({ lfs: { oid: (await r.hub.fileInfo(REPO, "main", "model.safetensors")).sha256 }, lastCommit: { id: r.revision.commit } });
  });

  it.each([
    ["no paths", { expand: true }],
    ["paths that are not strings", { paths: [1, 2] }],
    ["more than 1000 paths", { paths: Array.from({ length: 1001 }, (_, i) => `f${i}`) }],
    ["a path with '..'", { paths: ["../../etc/passwd"] }],
    ["a path with NUL", { paths: ["config.json\u0000"] }],
    ["expand that is no boolean", { paths: ["config.json"], expand: "sometimes" }],
  ])("refuses %s with 400", async (_what, body) => {
    await expectStatus(url, 400, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  });

  it("refuses malformed JSON with 400 and GET with 405", async () => {
    await expectStatus(url, 400, { method: "POST", headers: { "content-type": "application/json" }, body: "{paths:" });
    expect((await expectStatus(url, 405)).headers.get("allow")).toBe("POST");
  });
});

describe("revisions that exist but are not served answer 404 RevisionNotFound, saying why", () => {
  const progress = { totalFiles: 5, completedFiles: 2, totalBytes: "2000", downloadedBytes: "845", bytesPerSecond: null, startedAt: null, updatedAt: null };

  it.each([
    ["PULLING", { status: "PULLING", importProgress: progress }, "is PULLING (42%)"],
    ["VERIFYING", { status: "VERIFYING" }, "is VERIFYING: its files are being verified"],
    ["NEEDS_APPROVAL", { status: "NEEDS_APPROVAL" }, "is NEEDS_APPROVAL: an administrator has to approve it"],
    ["FAILED", { status: "FAILED", lastError: "upstream gone" }, "is FAILED: its import failed"],
    ["REJECTED", { status: "REJECTED" }, "was REJECTED by an administrator"],
    ["SCANNED", { status: "SCANNED" }, "is SCANNED: it has not been imported"],
  ])("%s", async (status, seed, why) => {
    const version = `state-${status.toLowerCase()}`;
    await new Seed(r.kit.ds).revision(artifactId, { version, ...seed });
    for (const path of [`/api/models/${REPO}/revision/${version}`, `/${REPO}/resolve/${version}/config.json`, `/api/models/${REPO}/tree/${version}`]) {
      const res = await expectStatus(path, 404);
      expect({ path, code: res.headers.get("x-error-code"), message: res.headers.get("x-error-message") }).toEqual({ path, code: "RevisionNotFound", message: `${REPO}@${version} ${why}` });
    }
  });

  it("a revision whose files were cleaned up", async () => {
    const revision = await new Seed(r.kit.ds).revision(artifactId, { version: "state-cleaned", status: "SCANNED" });
    await r.kit.ds.query(
      `INSERT INTO artifact_revision_status_history (revision_id, from_status, to_status, actor) VALUES ($1, NULL, 'SCANNED', 'scan'), ($1, 'SCANNED', 'PULLING', 'a'), ($1, 'PULLING', 'PULLED', 'w'), ($1, 'PULLED', 'VERIFYING', 'w'), ($1, 'VERIFYING', 'AVAILABLE', 'w'), ($1, 'AVAILABLE', 'SCANNED', 'a')`,
      [revision.id],
    );
    const res = await expectStatus(`/api/models/${REPO}/revision/state-cleaned`, 404);
    expect(res.headers.get("x-error-message")).toBe(`${REPO}@state-cleaned was cleaned up: its files were deleted`);
  });

  it("a revision that does not exist at all", async () => {
    const res = await expectStatus(`/api/models/${REPO}/revision/v404`, 404);
    expect(res.headers.get("x-error-code")).toBe("RevisionNotFound");
    expect(res.headers.get("x-error-message")).toBe(`Invalid rev id: v404 (${REPO} has no such version or commit here)`);
  });
});

describe("storage namespaces", () => {
  let namespaceId: string;
  let name: string;

  beforeAll(async () => {
    const su = r.kit.as("superadmin");
    const vfs = await su.ok(`mutation($i: CreateVFSStorageInput!) { createVFSStorage(input: $i) { vfsStorage { id } } }`, { i: { name: "second-fs", host: "local", basePath: `${r.kit.dataDir}/second` } });
    const storageId = Buffer.from(vfs.createVFSStorage.vfsStorage.id, "base64").toString().split(":")[1];
    namespaceId = (await su.ok(`mutation($i: RegisterStorageNamespaceInput!) { registerStorageNamespace(input: $i) { id } }`, { i: { storageId, namespace: "team-a" } })).registerStorageNamespace.id;
    name = "acme/elsewhere";
    await seedServedRevision(r.kit, { name, namespaceId, files: [{ path: "weights.bin", content: "team a's weights", lfs: true }] });
  });

  it("serves another namespace's revisions under /hf/namespaces/{id, global id or name}", async () => {
    for (const ns of [namespaceId, encodeURIComponent(toGlobalId("StorageNamespace", namespaceId)), "team-a"]) {
      const res = await expectStatus(`/namespaces/${ns}/${name}/resolve/main/weights.bin`, 200);
      expect(res.bytes.toString()).toBe("team a's weights");
    }
  });

  it("does not serve them in the default namespace, and says where they are not", async () => {
    const res = await expectStatus(`/${name}/resolve/main/weights.bin`, 404);
    expect(res.headers.get("x-error-message")).toBe(`${name}@main is AVAILABLE in another storage namespace`);
    expect((await expectStatus(`/namespaces/team-a/${REPO}/resolve/main/config.json`, 404)).headers.get("x-error-code")).toBe("RevisionNotFound");
  });

  it("answers 404 RepoNotFound for an unknown namespace", async () => {
    for (const ns of ["no-such-namespace", "00000000-0000-4000-8000-000000000000", "..%2F..%2Fetc"]) {
      const res = await expectStatus(`/namespaces/${ns}/api/models/${REPO}`, 404);
      expect(res.headers.get("x-error-code")).toBe("RepoNotFound");
    }
  });
});

describe("bad input never reaches a file outside the revision", () => {
  it.each(([
    ["'..' segments", `/${REPO}/resolve/main/../../../../etc/passwd`, 400],
    ["encoded '..' segments", `/${REPO}/resolve/main/%2e%2e/%2e%2e/${REPO}/main/config.json`, 400],
    ["a '.' segment", `/${REPO}/resolve/main/./config.json`, 400],
    ["an encoded '..' hidden behind encoded slashes", `/${REPO}/resolve/main/tokenizer%2F..%2F..%2F..%2Fetc%2Fpasswd`, 400],
    ["an encoded backslash", `/${REPO}/resolve/main/..%5C..%5Cetc%5Cpasswd`, 400],
    ["an empty segment", `/${REPO}/resolve/main/tokenizer//vocab.txt`, 400],
    ["an empty path", `/${REPO}/resolve/main/`, 400],
    ["NUL in the path", `/${REPO}/resolve/main/config.json%00.txt`, 400],
    ["NUL in the revision", `/${REPO}/resolve/main%00/config.json`, 400],
    ["a control character in the revision", `/api/models/${REPO}/revision/ma%0Ain`, 400],
    ["a revision of 513 characters", `/api/models/${REPO}/revision/${"r".repeat(513)}`, 400],
    ["an encoded slash in the repo id", `/acme%2Ftiny-model/resolve/main/config.json`, 400],
    ["an encoded slash in the API's repo id", `/api/models/acme%2Ftiny-model`, 400],
    ["NUL in the repo id", `/api/models/acme/tiny%00model`, 400],
    ["'..' in the repo id", `/api/models/acme/..`, 400],
    ["'--' in the repo id", `/api/models/acme/tiny--model`, 400],
    ["a name starting with '-'", `/api/models/acme/-tiny`, 400],
    ["a name ending with '.'", `/api/models/acme/tiny.`, 400],
    ["a name ending with .git", `/api/models/acme/tiny.git`, 400],
    ["a name of 97 characters", `/api/models/acme/${"n".repeat(97)}`, 400],
    ["a space in the name", `/api/models/acme/tiny%20model`, 400],
    ["a non-ASCII name", `/api/models/acme/m%C3%B6del`, 400],
    ["malformed percent-encoding", `/${REPO}/resolve/main/%zz`, 400],
    ["a dataset", `/api/datasets/acme/data`, 404],
    ["the model list", `/api/models`, 404],
    ["an unknown route", `/${REPO}/blob/main/config.json`, 404],
    ["an unknown API action", `/api/models/${REPO}/refs`, 404],
  ] as Array<[string, string, number]>).map(([what, path, status]) => ({ what, path, status })))("$what answers $status", async ({ path, status }) => {
    const res = await rawRequest(r.kit.url, `/hf${path}`, { headers: r.auth() });
    expect({ path, status: res.status, body: res.body.toString().slice(0, 200) }).toEqual({ path, status, body: expect.stringContaining('"error"') });
    if (status === 400) expect(res.headers["x-error-code"]).toBeUndefined();
  });

  it("answers a name the Hub allows, but the registry does not have, with 404 RepoNotFound", async () => {
    const res = await expectStatus(`/api/models/acme/tiny_model.v2`, 404);
    expect(res.headers.get("x-error-code")).toBe("RepoNotFound");
  });
});

describe("who may read", () => {
  it("answers a request without a token with 401, as the Hub answers an anonymous client of a gated repo, even for a repo that does not exist", async () => {
    for (const path of [`/api/models/${REPO}`, `/${REPO}/resolve/main/config.json`, `/api/models/acme/does-not-exist`]) {
      const res = await fetch(r.url(path));
      expect({ path, status: res.status, code: res.headers.get("x-error-code") }).toEqual({ path, status: 401, code: "GatedRepo" });
    }
    const res = await fetch(r.url(`/api/models/${REPO}`));
    expect(res.headers.get("x-error-message")).toBe(`Access to model ${REPO} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
  });

  it("answers a token it cannot verify with 401 'Invalid credentials in Authorization header'", async () => {
    for (const authorization of ["Bearer hf_not-a-token", `Bearer hf_${r.kit.token("user").slice(0, -2)}xx`, "Basic dXNlcjpwYXNz"]) {
      const res = await fetch(r.url(`/api/models/${REPO}`), { headers: { authorization } });
      expect({ authorization, status: res.status, message: res.headers.get("x-error-message"), code: res.headers.get("x-error-code") })
        .toEqual({ authorization, status: 401, message: "Invalid credentials in Authorization header", code: null });
    }
  });

  it("lets every role read, with the token as hf_<token> or as it is", async () => {
    for (const role of ["user", "admin", "superadmin"] as const) {
      for (const token of [`hf_${r.kit.token(role)}`, r.kit.token(role)]) {
        const res = await fetch(r.url(`/${REPO}/resolve/main/config.json`), { headers: { authorization: `Bearer ${token}` } });
        expect({ role, status: res.status }).toEqual({ role, status: 200 });
      }
    }
  });

  it("accepts a key pair's token", async () => {
    const jwt = await import("jsonwebtoken");
    const { createApiKeypair } = await r.kit.as("superadmin").ok(`mutation { createApiKeypair(input: { role: USER }) { keypair { accessKey } secretKey } }`);
    const token = jwt.sign({ iss: createApiKeypair.keypair.accessKey }, createApiKeypair.secretKey, { algorithm: "HS256", expiresIn: "5m" });
    const res = await fetch(r.url(`/api/models/${REPO}`), { headers: { authorization: `Bearer hf_${token}` } });
    expect(res.status).toBe(200);
  });

  it("answers a user 404 RepoNotFound for a deleted artifact, and lets admins read it, as GraphQL does", async () => {
    const name = "acme/deleted-model";
    const { artifact } = await seedServedRevision(r.kit, { name, files: [{ path: "config.json", content: "{}" }] });
    await r.kit.as("superadmin").ok(`mutation($ids: [ID!]!) { deleteArtifacts(input: { artifactIds: $ids }) { artifacts { id } } }`, { ids: [artifact.globalId] });
    const res = await expectStatus(`/${name}/resolve/main/config.json`, 404);
    expect(res.headers.get("x-error-code")).toBe("RepoNotFound");
    const admin = await fetch(r.url(`/${name}/resolve/main/config.json`), { headers: r.auth("admin") });
    expect(admin.status).toBe(200);
  });
});
