import { request } from "node:http";
import { toHfToken } from "../../src/auth/hf-token";
import { startFakeHub, type FakeFile, type FakeHub } from "../support/fake-hub";
import { startS3rver, type S3rverHandle } from "../support/s3rver";
import { startTestKit, type RoleName, type TestKit } from "../support/testkit";
import { FAST_IMPORTS, scanModel, startImport, waitForStatus, type ScannedRevision } from "../import/support";

export const MiB = 1024 * 1024;
export const REPO = "acme/tiny-model";

/** A small model with what a real one has: plain and LFS files, at the root and in folders. */
export const FILES: FakeFile[] = [
  { path: ".gitattributes", content: "*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n" },
  { path: "README.md", content: "---\nlicense: mit\n---\n# Tiny model\n" },
  { path: "config.json", content: '{"model_type": "bert", "hidden_size": 8}' },
  { path: "model.safetensors", content: { size: 3 * MiB + 17, seed: 151 }, lfs: true },
  { path: "tokenizer/vocab.txt", content: "[PAD]\n[UNK]\nhello\nworld\n" },
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
