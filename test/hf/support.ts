import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { Readable } from "node:stream";
import { toHfToken } from "../../src/auth/hf-token";
import { finalKey } from "../../src/revision/layout";
import { gitBlobOid, lfsPointer } from "../support/fake-hub/content";
import { Seed, type SeededArtifact, type SeededRevision } from "../support/seed";
import { startFakeHub, type FakeFile, type FakeHub } from "../support/fake-hub";
import { startS3rver, type S3rverHandle } from "../support/s3rver";
import { startTestKit, type RoleName, type TestKit } from "../support/testkit";
import { FAST_IMPORTS, scanModel, sha256, startImport, waitForStatus, type ScannedRevision } from "../import/support";

export const MiB = 1024 * 1024;
export const REPO = "acme/tiny-model";

/** A small model with what a real one has: plain and LFS files, at the root and in folders. */
export const FILES: FakeFile[] = [
  { path: ".gitattributes", content: "*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n" },
  { path: "README.md", content: "---\nlicense: mit\n---\n# Tiny model\n" },
  { path: "config.json", content: '{"model_type": "bert", "hidden_size": 8}' },
  { path: "model.safetensors", content: { size: 3 * MiB + 17, seed: 151 }, lfs: true },
  { path: "tokenizer/vocab.txt", content: "[PAD]\n[UNK]\nhello\nworld\n" },
  { path: "tokenizer/special tokens.json", content: '{"pad": "[PAD]"}' },
  { path: "tokenizer/extra/merges.bin", content: { size: 300_001, seed: 152 }, lfs: true },
];

export type Backend = "filesystem" | "s3";

export interface HfRegistry {
  kit: TestKit;
  hub: FakeHub;
  s3?: S3rverHandle;
  /** The revision `main` of REPO, imported and AVAILABLE. */
  revision: ScannedRevision;
  /** What @huggingface/hub needs to talk to the registry as `role`. */
  client(role?: RoleName): { hubUrl: string; accessToken: string };
  /** The endpoint's URL for a path below /hf. */
  url(path: string): string;
  auth(role?: RoleName): { authorization: string };
  close(): Promise<void>;
}

/**
 * A registry on `backend` storage whose default namespace holds REPO@main, imported from the fake
 * hub as a user would import it (scan, import, AVAILABLE).
 */
export async function startHfRegistry(backend: Backend, env: Record<string, string> = {}): Promise<HfRegistry> {
  const hub = await startFakeHub([{ id: REPO, files: FILES, tags: ["bert", "license:mit"], pipeline_tag: "fill-mask", library_name: "transformers" }]);
  const s3 = backend === "s3" ? await startS3rver() : undefined;
  const storageEnv: Record<string, string> = s3 ? { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_BUCKET: "models" } : {};
  const kit = await startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS, ...storageEnv, ...env });
  const revision = await scanModel(kit, REPO);
  await startImport(kit, revision);
  const row = await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"]);
  if (row.status !== "AVAILABLE") throw new Error(`the import of ${REPO} ended ${row.status}: ${row.last_error}`);
  return {
    kit,
    hub,
    s3,
    revision,
    client: (role = "user") => ({ hubUrl: `${kit.url}/hf`, accessToken: toHfToken(kit.token(role)) }),
    url: (path) => `${kit.url}/hf${path}`,
    auth: (role = "user") => ({ authorization: `Bearer ${toHfToken(kit.token(role))}` }),
    close: async () => {
      await kit.close();
      await hub.stop();
      await s3?.stop();
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * A request whose path goes out byte for byte: fetch and URL would resolve `..` and `%2e%2e`
 * before sending, and the point of some tests is that the server sees them.
 */
export function rawRequest(baseUrl: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: options.method ?? "GET", headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** A response in a line, for failure messages: status, the Hub's error headers and the body. */
export function describeResponse(r: { status: number; headers: Headers | RawResponse["headers"]; body?: Buffer | string }): string {
  const get = (name: string) => (r.headers instanceof Headers ? r.headers.get(name) : r.headers[name.toLowerCase()]);
  const body = r.body === undefined ? "" : String(r.body).slice(0, 300);
  return `${r.status} X-Error-Code=${get("x-error-code")} X-Error-Message=${get("x-error-message")} body=${body}`;
}

/** Every item of a listing, following its `Link: <…>; rel="next"` pages. */
export async function allPages(url: string, headers: Record<string, string> = {}): Promise<unknown[]> {
  const items: unknown[] = [];
  for (let next: string | undefined = url; next; ) {
    const res: Response = await fetch(next, { headers });
    if (!res.ok) throw new Error(`GET ${next}: ${describeResponse({ status: res.status, headers: res.headers, body: await res.text() })}`);
    items.push(...((await res.json()) as unknown[]));
    next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1];
  }
  return items;
}

export interface SeededFile {
  path: string;
  content: string | Buffer;
  lfs?: boolean;
}

/**
 * An AVAILABLE revision put straight into the catalogue and a namespace's storage, as an import
 * leaves one (files at {name}/{version}/{path}, SHA-256 and git blob ids, the namespace noted),
 * for tests about what is served rather than how it got there.
 */
export async function seedServedRevision(
  kit: TestKit,
  opts: { name: string; version?: string; namespaceId?: string; files: SeededFile[]; availability?: "ALIVE" | "DELETED" },
): Promise<{ artifact: SeededArtifact; revision: SeededRevision; commit: string }> {
  const seed = new Seed(kit.ds);
  const version = opts.version ?? "main";
  const namespaceId = opts.namespaceId ?? kit.booted.storage.defaultNamespaceId;
  const registry = await seed.registry();
  const artifact = await seed.artifact(registry.id, { name: opts.name, availability: opts.availability });
  const commit = randomBytes(20).toString("hex");
  const revision = await seed.revision(artifact.id, { version, status: "AVAILABLE", digest: commit, latestUpstreamDigest: commit });
  const adapter = await kit.booted.storage.adapterFor(namespaceId);
  for (const file of opts.files) {
    const bytes = Buffer.from(file.content);
    const key = finalKey(opts.name, version, file.path);
    await adapter.put(key, Readable.from([bytes]));
    const oid = file.lfs ? gitBlobOid(lfsPointer(sha256(bytes), bytes.length)) : gitBlobOid(bytes);
    await kit.ds.query(
      `INSERT INTO artifact_revision_files (revision_id, path, size, sha256, upstream_oid, storage_key) VALUES ($1, $2, $3, $4, $5, $6)`,
      [revision.id, file.path, bytes.length, sha256(bytes), oid, key],
    );
  }
  await kit.ds.query(`INSERT INTO artifact_revision_namespaces (revision_id, namespace_id) VALUES ($1, $2)`, [revision.id, namespaceId]);
  return { artifact, revision, commit };
}
