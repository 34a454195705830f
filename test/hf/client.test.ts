import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { downloadFile, fileDownloadInfo, fileExists, HubApiError, listFiles, modelInfo, pathsInfo, snapshotDownload } from "@huggingface/hub";
import { Seed } from "../support/seed";
import { sha256 } from "../import/support";
import { FILES, REPO, startHfRegistry, type Backend, type HfRegistry } from "./support";

/*
 * The official JavaScript client, @huggingface/hub, pointed at the registry (`hubUrl`) with a
 * registry token (`hf_` + token), against a model imported from the fake hub: on filesystem
 * storage, where the registry streams the files, and on S3, where it redirects to presigned URLs.
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
    const hubEntries = await (await fetch(`${r.hub.url}/api/models/${REPO}/tree/main?recursive=true`)).json();
    // The fake hub pages its trees; the registry answers them whole.
    const all = [...hubEntries];
    for (let link = (await fetch(`${r.hub.url}/api/models/${REPO}/tree/main?recursive=true`)).headers.get("link"); link; ) {
      const next = /<([^>]+)>/.exec(link)![1];
      const page = await fetch(next);
      all.push(...(await page.json()));
      link = page.headers.get("link");
    }
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
