import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { downloadFile, fileDownloadInfo, fileExists, HubApiError, listFiles, modelInfo, pathsInfo, snapshotDownload } from "@huggingface/hub";
import { Seed } from "../support/seed";
import { sha256 } from "../import/support";
import { gitBlobOid } from "../support/fake-hub/content";
import { allPages, describeResponse, FILES, REPO, startHfRegistry, type Backend, type HfRegistry } from "./support";

/*
 * The official JavaScript client, @huggingface/hub, pointed at the registry (`hubUrl`) with a
 * registry token (`hf_` + token), against a model imported from the fake hub: on filesystem
 * storage, where the registry streams the files, and on S3, where it redirects to presigned URLs.
 * Then the requests huggingface_hub (Python, not installable here) makes for HF_ENDPOINT, replayed
 * step by step as its file_download.py makes them.
 */

const MOUNT = `query($id: ID!) { artifactRevision(id: $id) { status mount { kind hostPath endpoint region bucket prefix } } }`;

describe.each<Backend>(["filesystem", "s3"])("@huggingface/hub against the registry on %s storage", (backend) => {
  let r: HfRegistry;
  let hubSha: Map<string, string>;

  beforeAll(async () => {
    // The client announces each download on console.debug.
    jest.spyOn(console, "debug").mockImplementation(() => undefined);
    r = await startHfRegistry(backend);
    hubSha = new Map(await Promise.all(FILES.map(async (f) => [f.path, (await r.hub.fileInfo(REPO, "main", f.path)).sha256] as const)));
  });
  afterAll(() => r?.close());

  it("modelInfo gives the imported commit and every file", async () => {
    const info = await modelInfo({ ...r.client(), name: REPO, additionalFields: ["sha", "filePaths", "tags", "library_name"] });
    expect(info).toMatchObject({
      name: REPO,
      private: false,
      sha: r.revision.commit,
      library_name: "transformers",
      tags: ["bert", "license:mit"],
    });
    expect([...info.filePaths].sort()).toEqual(FILES.map((f) => f.path).sort());
  });

  it("listFiles lists every file recursively, with the Hub's oids, sizes and LFS details", async () => {
    const entries = [];
    for await (const entry of listFiles({ ...r.client(), repo: REPO, recursive: true })) entries.push(entry);
    // The fake hub pages its trees by three.
    const all = await allPages(`${r.hub.url}/api/models/${REPO}/tree/main?recursive=true`);
    expect(entries).toEqual(all);
  });

  it("downloadFile gives every file's exact bytes", async () => {
    for (const file of FILES) {
      const blob = await downloadFile({ ...r.client(), repo: REPO, path: file.path });
      expect(blob).not.toBeNull();
      expect({ path: file.path, sha256: sha256(Buffer.from(await blob!.arrayBuffer())) }).toEqual({ path: file.path, sha256: hubSha.get(file.path) });
    }
  });

  it("fileDownloadInfo gives the size and the ETag of a file", async () => {
    const lfs = await fileDownloadInfo({ ...r.client(), repo: REPO, path: "tokenizer/extra/merges.bin" });
    expect(lfs).toMatchObject({ size: 300_001 });
    const plain = await fileDownloadInfo({ ...r.client(), repo: REPO, path: "config.json" });
    const info = await r.hub.fileInfo(REPO, "main", "config.json");
    expect(plain).toMatchObject({ size: info.size });
    if (backend === "filesystem") {
      // On S3 the answer (and its ETag) is the bucket's, after the redirect.
      expect(lfs!.etag).toBe(`"${hubSha.get("tokenizer/extra/merges.bin")}"`);
      expect(plain!.etag).toBe(`"${info.oid}"`);
    }
  });

  it("pathsInfo describes files and folders, and leaves out what does not exist", async () => {
    const infos = await pathsInfo({ ...r.client(), repo: REPO, paths: ["model.safetensors", "tokenizer", "nope.txt"], expand: true });
    const model = await r.hub.fileInfo(REPO, "main", "model.safetensors");
    expect(infos.map((i) => ({ path: i.path, type: i.type }))).toEqual([{ path: "model.safetensors", type: "file" }, { path: "tokenizer", type: "directory" }]);
    expect(infos[0]).toMatchObject({ oid: model.oid, size: model.size, lfs: { oid: model.sha256, size: model.size, pointerSize: model.pointer!.length }, lastCommit: { id: r.revision.commit } });
  });

  it("snapshotDownload fills a directory with every file, byte for byte", async () => {
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), "hf-snapshot-"));
    try {
      const folder = await snapshotDownload({ ...r.client(), repo: REPO, cacheDir });
      expect(path.basename(folder)).toBe(r.revision.commit);
      for (const file of FILES) {
        const bytes = await readFile(path.join(folder, file.path));
        expect({ path: file.path, sha256: sha256(bytes) }).toEqual({ path: file.path, sha256: hubSha.get(file.path) });
      }
      expect((await listTree(folder)).sort()).toEqual(FILES.map((f) => f.path).sort());
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it("fileExists tells present files from missing ones", async () => {
    expect(await fileExists({ ...r.client(), repo: REPO, path: "model.safetensors" })).toBe(true);
    expect(await fileExists({ ...r.client(), repo: REPO, path: "missing.bin" })).toBe(false);
  });

  describe("fails cleanly", () => {
    it("on a repo the registry does not have: a 404 HubApiError", async () => {
      const error = await modelInfo({ ...r.client(), name: "acme/unknown-model" }).catch((e) => e);
      expect(error).toBeInstanceOf(HubApiError);
      expect(error).toMatchObject({ statusCode: 404, message: expect.stringContaining("acme/unknown-model not found") });
    });

    it("on a revision the registry does not have", async () => {
      const error = await modelInfo({ ...r.client(), name: REPO, revision: "v9" }).catch((e) => e);
      expect(error).toMatchObject({ statusCode: 404, message: expect.stringContaining("Invalid rev id: v9") });
      const download = await downloadFile({ ...r.client(), repo: REPO, path: "config.json", revision: "v9" }).catch((e) => e);
      expect(download).toMatchObject({ statusCode: 404 });
    });

    it("on a file the revision does not have: downloadFile and fileDownloadInfo answer null", async () => {
      expect(await downloadFile({ ...r.client(), repo: REPO, path: "weights/missing.bin" })).toBeNull();
      expect(await fileDownloadInfo({ ...r.client(), repo: REPO, path: "weights/missing.bin" })).toBeNull();
    });

    it("on a revision that is still PULLING, saying so", async () => {
      const [{ artifact_id }] = await r.kit.ds.query(`SELECT artifact_id FROM artifact_revisions WHERE id = $1`, [r.revision.id]);
      await new Seed(r.kit.ds).revision(artifact_id, {
        version: "v2-pulling", status: "PULLING",
        importProgress: { totalFiles: 6, completedFiles: 2, totalBytes: "1000", downloadedBytes: "420", bytesPerSecond: null, startedAt: null, updatedAt: null },
      });
      const error = await modelInfo({ ...r.client(), name: REPO, revision: "v2-pulling" }).catch((e) => e);
      expect(error).toBeInstanceOf(HubApiError);
      expect(error).toMatchObject({ statusCode: 404, message: expect.stringContaining(`${REPO}@v2-pulling is PULLING (42%)`) });
      const snapshot = await snapshotDownload({ ...r.client(), repo: REPO, revision: "v2-pulling", cacheDir: os.tmpdir() }).catch((e) => e);
      expect(snapshot).toMatchObject({ statusCode: 404, message: expect.stringContaining("is PULLING (42%)") });
    });
  });

  describe("where the bytes come from", () => {
    const path = "model.safetensors";

    it(backend === "s3"
      ? "a GET is redirected to a short-lived presigned URL of the bucket, which serves the bytes and ranges without the registry's token"
      : "a GET is answered by the registry itself", async () => {
      const hub = await r.hub.fileInfo(REPO, "main", path);
      const res = await fetch(r.url(`/${REPO}/resolve/main/${path}`), { headers: r.auth(), redirect: "manual" });
      if (backend === "filesystem") {
        expect(res.status).toBe(200);
        expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(hub.sha256);
        return;
      }
      expect({ status: res.status, commit: res.headers.get("x-repo-commit"), etag: res.headers.get("etag"), size: res.headers.get("x-linked-size") })
        .toEqual({ status: 302, commit: r.revision.commit, etag: `"${hub.sha256}"`, size: String(hub.size) });
      const location = new URL(res.headers.get("location")!);
      expect(location.origin).toBe(r.s3!.endpoint);
      expect(location.searchParams.get("X-Amz-Expires")).toBe("900");
      expect(location.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
      expect(sha256(Buffer.from(await (await fetch(location)).arrayBuffer()))).toBe(hub.sha256);
      const ranged = await fetch(location, { headers: { range: "bytes=10-19" } });
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer()).length).toBe(10);
      // Like S3, s3rver refuses a presigned URL that comes with a second credential: the client's
      // downloads above succeeded, so it did not carry the registry token to the bucket.
      const withToken = await fetch(location, { headers: r.auth() });
      expect({ status: withToken.status, body: await withToken.text() }).toEqual({ status: 400, body: expect.stringContaining("Only one auth mechanism allowed") });
    });

    it("a HEAD is answered by the registry itself, with the file's length", async () => {
      const res = await fetch(r.url(`/${REPO}/resolve/main/${path}`), { method: "HEAD", headers: r.auth(), redirect: "manual" });
      expect({ status: res.status, length: res.headers.get("content-length"), location: res.headers.get("location") })
        .toEqual({ status: 200, length: String((await r.hub.fileInfo(REPO, "main", path)).size), location: null });
    });
  });

  describe("the requests huggingface_hub makes with HF_ENDPOINT", () => {
    it("snapshot_download: model info, the tree at the commit, then each file as hf_hub_download fetches it", async () => {
      const token = r.client().accessToken;
      const info = await pyGet(r.url(`/api/models/${REPO}/revision/${pyQuote("main", "")}`), token);
      const commit = (await info.json()).sha;
      expect(commit).toBe(r.revision.commit);
      const tree = (await allPages(r.url(`/api/models/${REPO}/tree/${commit}?recursive=true&expand=false`), { authorization: `Bearer ${token}` })) as Array<{ type: string; path: string }>;
      const files = tree.filter((e) => e.type === "file").map((e) => e.path);
      expect(files.sort()).toEqual(FILES.map((f) => f.path).sort());
      for (const path of files) {
        const { bytes, metadata } = await hfHubDownload(r, path, commit, token);
        const hub = await r.hub.fileInfo(REPO, "main", path);
        expect({ path, sha256: sha256(bytes), size: metadata.size, commit: metadata.commit }).toEqual({ path, sha256: hub.sha256, size: hub.size, commit });
        // The cache names each blob by its ETag: the SHA-256 of an LFS file, the git blob id of another.
        expect({ path, etag: metadata.etag }).toEqual({ path, etag: hub.lfs ? sha256(bytes) : gitBlobOid(bytes) });
      }
    });

    it("list_repo_tree asks for a folder with its slashes encoded", async () => {
      const entries = (await (await pyGet(r.url(`/api/models/${REPO}/tree/main/${pyQuote("tokenizer/extra", "")}`), r.client().accessToken)).json()) as Array<{ path: string }>;
      expect(entries.map((e) => e.path)).toEqual(["tokenizer/extra/merges.bin"]);
    });

    it("a missing file: 404 EntryNotFound on the HEAD, with the commit to cache the miss under", async () => {
      const res = await fetch(r.url(`/${REPO}/resolve/main/${pyQuote("missing file.bin")}`), { method: "HEAD", headers: pyHeaders(r.client().accessToken), redirect: "manual" });
      expect({ status: res.status, code: res.headers.get("x-error-code"), commit: res.headers.get("x-repo-commit") }).toEqual({ status: 404, code: "EntryNotFound", commit: r.revision.commit });
    });
  });

  describe("ArtifactRevision.mount", () => {
    it(`names where the revision's folder is, and the folder holds every file`, async () => {
      const { artifactRevision } = await r.kit.as("user").ok(MOUNT, { id: r.revision.globalId });
      const mount = artifactRevision.mount;
      if (backend === "filesystem") {
        expect(mount).toEqual({ kind: "FILESYSTEM", hostPath: path.join(r.kit.dataDir, "objects", "default", REPO, "main"), endpoint: null, region: null, bucket: null, prefix: null });
        for (const file of FILES) expect(sha256(await readFile(path.join(mount.hostPath, file.path)))).toBe(hubSha.get(file.path));
        expect((await stat(mount.hostPath)).isDirectory()).toBe(true);
      } else {
        expect(mount).toEqual({ kind: "S3", hostPath: null, endpoint: r.s3!.endpoint, region: "us-east-1", bucket: "models", prefix: `${REPO}/main/` });
        const adapter = await r.kit.booted.storage.adapterFor(r.kit.booted.storage.defaultNamespaceId);
        const keys: string[] = [];
        for await (const { key } of adapter.list(mount.prefix)) keys.push(key.slice(mount.prefix.length));
        expect(keys.sort()).toEqual(FILES.map((f) => f.path).sort());
      }
    });

    it("is null for a revision that is not AVAILABLE", async () => {
      const [{ artifact_id }] = await r.kit.ds.query(`SELECT artifact_id FROM artifact_revisions WHERE id = $1`, [r.revision.id]);
      const scanned = await new Seed(r.kit.ds).revision(artifact_id, { version: "v3-scanned" });
      const { artifactRevision } = await r.kit.as("user").ok(MOUNT, { id: scanned.globalId });
      expect(artifactRevision).toEqual({ status: "SCANNED", mount: null });
    });
  });
});

async function listTree(root: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listTree(root, rel)));
    else out.push(rel);
  }
  return out;
}

/** Python's urllib.parse.quote: everything but letters, digits, '_.-~' and `safe` is escaped. */
function pyQuote(text: string, safe = "/"): string {
  return [...text].map((c) => (/[A-Za-z0-9_.~-]/.test(c) || safe.includes(c) ? c : encodeURIComponent(c).replace(/[!'()*]/g, (x) => `%${x.charCodeAt(0).toString(16).toUpperCase()}`))).join("");
}

function pyHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, "user-agent": "huggingface_hub/1.0; python/3.12", "accept-encoding": "identity" };
}

async function pyGet(url: string, token: string): Promise<Response> {
  const res = await fetch(url, { headers: pyHeaders(token) });
  if (!res.ok) throw new Error(`GET ${url}: ${describeResponse({ status: res.status, headers: res.headers, body: await res.text() })}`);
  return res;
}

/**
 * hf_hub_download's requests: a HEAD of hf_hub_url that follows relative redirects only, whose
 * metadata (X-Repo-Commit; X-Linked-Etag or ETag; Location or the URL; X-Linked-Size or, unless
 * redirected, Content-Length) must all be there; then a GET of the location, without the token
 * when it is on another host, following redirects and dropping the token when one changes origin
 * (as httpx does).
 */
async function hfHubDownload(r: HfRegistry, path: string, revision: string, token: string) {
  let url = r.url(`/${REPO}/resolve/${pyQuote(revision, "")}/${pyQuote(path)}`);
  const headers = pyHeaders(token);
  let head: Response;
  for (;;) {
    head = await fetch(url, { method: "HEAD", headers, redirect: "manual" });
    const location = head.headers.get("location");
    if (head.status >= 300 && head.status < 400 && location && !/^[a-z]+:\/\//i.test(location)) url = new URL(location, url).toString();
    else break;
  }
  if (head.status >= 400) throw new Error(`HEAD ${url}: ${describeResponse({ status: head.status, headers: head.headers })}`);
  const redirected = head.status >= 300;
  const metadata = {
    commit: head.headers.get("x-repo-commit"),
    etag: (head.headers.get("x-linked-etag") ?? head.headers.get("etag"))?.replace(/^W\//, "").replace(/"/g, "") ?? null,
    location: head.headers.get("location") ?? url,
    size: Number(head.headers.get("x-linked-size") ?? (redirected ? null : head.headers.get("content-length")) ?? NaN),
  };
  if (!metadata.commit || !metadata.etag || !Number.isFinite(metadata.size)) throw new Error(`HEAD ${url} lacks metadata: ${JSON.stringify(metadata)}`);
  const get: Record<string, string> = { ...headers };
  if (new URL(metadata.location).host !== new URL(url).host) delete get.authorization;
  let target = metadata.location;
  for (let hops = 0; ; hops++) {
    const res = await fetch(target, { headers: get, redirect: "manual" });
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location && hops < 5) {
      const next = new URL(location, target);
      if (next.origin !== new URL(target).origin) delete get.authorization;
      target = next.toString();
      continue;
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`GET ${target}: ${describeResponse({ status: res.status, headers: res.headers, body: bytes })}`);
    if (bytes.length !== metadata.size) throw new Error(`GET ${target}: ${bytes.length} bytes, expected ${metadata.size}`);
    return { bytes, metadata };
  }
}
