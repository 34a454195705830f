import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pipeline } from "node:stream/promises";

export interface S3rverHandle {
  /** Full URL, e.g. http://127.0.0.1:41234 */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Where s3rver keeps buckets and objects (a test compares its files before and after a refusal). */
  directory: string;
  /** Keys of the multipart uploads begun and neither completed nor aborted under prefix, read from the store itself, sorted. */
  pendingUploads(bucket: string, prefix?: string): Promise<string[]>;
  /** Keys under prefix whose PUT bodies are arriving now (a streamed PUT under way), sorted. */
  receiving(bucket: string, prefix?: string): string[];
  /** How many bytes of key's arriving PUT body s3rver has written so far; null when none is arriving. */
  received(bucket: string, key: string): Promise<number | null>;
  stop(): Promise<void>;
}

interface KoaContext {
  req: NodeJS.ReadableStream;
  method: string;
  status: number;
  path: string;
  query: Record<string, unknown>;
  type: string;
  body: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => unknown;
/** s3rver's FilesystemStore: putContent writes an object's or a part's body to its file. */
interface S3rverStore {
  putContent(path: string, content: unknown): Promise<[number, string]>;
}
interface S3rverInstance {
  middleware: KoaMiddleware[];
  store: S3rverStore;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  allowMismatchedSignatures?: boolean;
}) => S3rverInstance;

// s3rver ships no type declarations; the shape above is the part we use.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver: S3rverCtor = require("@20minutes/s3rver");

const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
const escapeXml = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
const s3Error = (code: string, message: string) => xml(`<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`);

interface Upload {
  key: string;
  uploadId: string;
  initiated: Date;
  dir: string;
}

/**
 * The multipart calls s3rver lacks, answered from its own store (`<root>/<bucket>/._S3rver_uploads/<id>/`
 * holds a `key` file and parts `1`, `2`, … with `.md5` files):
 * - ListMultipartUploads (`GET /bucket?uploads&prefix=`), which minio calls before a stream
 *   upload of unknown length and which staging cleanup uses;
 * - ListParts (`GET /bucket/key?uploadId=`) and AbortMultipartUpload (`DELETE /bucket/key?uploadId=`);
 * - NoSuchUpload for a part or a completion of an upload that is gone (s3rver would recreate
 *   the folder, or fail with a 500), as S3 answers;
 * - CompleteMultipartUpload as S3 does it: the listed parts must exist with those ETags, in
 *   ascending order, all but the last of at least 5 MiB, and the ETag is the MD5 of the parts'
 *   MD5s with "-N" appended. (s3rver checks none of that and hashes the whole object again.)
 * These bypass s3rver's signature check; everything else goes through it.
 */
const uploadsDir = (directory: string, bucket: string) => join(directory, bucket, "._S3rver_uploads");

async function readUpload(directory: string, bucket: string, uploadId: string): Promise<Upload | null> {
  if (!/^[0-9a-f]+$/.test(uploadId)) return null;
  const dir = join(uploadsDir(directory, bucket), uploadId);
  try {
    const [key, info] = await Promise.all([readFile(join(dir, "key"), "utf8"), stat(join(dir, "key"))]);
    return { key, uploadId, initiated: info.mtime, dir };
  } catch {
    return null;
  }
}

async function listUploads(directory: string, bucket: string, prefix: string): Promise<Upload[]> {
  const ids = await readdir(uploadsDir(directory, bucket)).catch(() => [] as string[]);
  return (await Promise.all(ids.map((id) => readUpload(directory, bucket, id))))
    .filter((u): u is Upload => u !== null && u.key.startsWith(prefix))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function multipartCalls(directory: string): KoaMiddleware {
  const answer = (ctx: KoaContext, status: number, body: string) => {
    ctx.status = status;
    ctx.type = "application/xml";
    ctx.body = body;
  };
  return async (ctx, next) => {
    const [, bucket, rawKey] = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path) ?? [];
    if (!bucket) return next();
    const key = rawKey ? rawKey.split("/").map(decodeURIComponent).join("/") : "";
    const uploadId = typeof ctx.query.uploadId === "string" ? ctx.query.uploadId : null;

    if (!key && ctx.method === "GET" && "uploads" in ctx.query) {
      const prefix = typeof ctx.query.prefix === "string" ? ctx.query.prefix : "";
      const uploads = await listUploads(directory, bucket, prefix);
      const entries = uploads.map((u) =>
        `<Upload><Key>${escapeXml(u.key)}</Key><UploadId>${u.uploadId}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`);
      answer(ctx, 200, xml(
        '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Bucket>${escapeXml(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><Prefix>${escapeXml(prefix)}</Prefix>` +
        `<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${entries.join("")}</ListMultipartUploadsResult>`));
      return;
    }
    if (!key || uploadId === null) return next();

    const upload = await readUpload(directory, bucket, uploadId);
    if (!upload || upload.key !== key) {
      answer(ctx, 404, s3Error("NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."));
      return;
    }
    if (ctx.method === "GET") {
      const names = (await readdir(upload.dir)).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(a) - Number(b));
      const parts = await Promise.all(names.map(async (name) => {
        const [info, md5] = await Promise.all([stat(join(upload.dir, name)), readFile(join(upload.dir, `${name}.md5`), "utf8")]);
        return `<Part><PartNumber>${name}</PartNumber><LastModified>${info.mtime.toISOString()}</LastModified><ETag>"${md5}"</ETag><Size>${info.size}</Size></Part>`;
      }));
      answer(ctx, 200, xml(
        '<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${uploadId}</UploadId>` +
        `<MaxParts>10000</MaxParts><IsTruncated>false</IsTruncated>${parts.join("")}</ListPartsResult>`));
      return;
    }
    if (ctx.method === "DELETE") {
      await rm(upload.dir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    if (ctx.method === "POST") {
      const refused = await completeUpload(directory, bucket, upload, await readBody(ctx.req));
      if (typeof refused === "string") answer(ctx, 400, refused);
      else answer(ctx, 200, xml(
        '<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Location>${escapeXml(`/${bucket}/${key}`)}</Location><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><ETag>"${refused.etag}"</ETag></CompleteMultipartUploadResult>`));
      return;
    }
    await next();
  };
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
/** How s3rver names an object's file: `<bucket>/<key>._S3rver_object`. */
const OBJECT_SUFFIX = "._S3rver_object";
// What s3rver keeps of an object's headers (its S3Object.ALLOWED_METADATA, and x-amz-meta-*).
const KEPT_HEADERS = ["cache-control", "content-disposition", "content-encoding", "content-language", "content-type", "expires", "x-amz-storage-class", "x-amz-website-redirect-location"];

async function readBody(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/** Writes the object in s3rver's layout from the listed parts; answers its ETag, or the S3 error document refusing the list. */
async function completeUpload(directory: string, bucket: string, upload: Upload, body: string): Promise<{ etag: string } | string> {
  const listed = [...body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(([, part]) => ({
    number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(part)?.[1]),
    etag: (/<ETag>([\s\S]*?)<\/ETag>/.exec(part)?.[1] ?? "").replace(/&quot;|&#34;|"/g, ""),
  }));
  if (listed.length === 0) return s3Error("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
  const parts: Array<{ path: string; md5: string; size: number }> = [];
  for (const [i, { number, etag }] of listed.entries()) {
    if (i > 0 && number <= listed[i - 1]!.number) return s3Error("InvalidPartOrder", "The list of parts was not in ascending order.");
    const path = join(upload.dir, String(number));
    const [md5, info] = await Promise.all([readFile(`${path}.md5`, "utf8").catch(() => null), stat(path).catch(() => null)]);
    if (md5 === null || info === null || md5 !== etag) return s3Error("InvalidPart", `Part ${number} was not found, or its ETag is not ${etag}.`);
    parts.push({ path, md5, size: info.size });
  }
  if (parts.slice(0, -1).some((p) => p.size < MIN_PART_SIZE)) return s3Error("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.");

  const segments = upload.key.split("/");
  const name = segments.pop()!;
  const folder = join(directory, bucket, ...segments);
  const objectPath = join(folder, `${name}._S3rver_object`);
  await mkdir(folder, { recursive: true });
  const tmp = `${objectPath}.${randomUUID()}.tmp`;
  await pipeline(async function* () {
    for (const part of parts) yield* createReadStream(part.path, { highWaterMark: 1024 * 1024 });
  }, createWriteStream(tmp));
  await rename(tmp, objectPath);

  const etag = `${createHash("md5").update(Buffer.concat(parts.map((p) => Buffer.from(p.md5, "hex")))).digest("hex")}-${parts.length}`;
  const headers = JSON.parse(await readFile(join(upload.dir, "metadata"), "utf8")) as Record<string, string>;
  const metadata = Object.fromEntries(Object.entries(headers).filter(([k]) => KEPT_HEADERS.includes(k) || k.startsWith("x-amz-meta-")));
  await writeFile(join(folder, `${name}._S3rver_object.md5`), etag);
  await writeFile(join(folder, `${name}._S3rver_metadata.json`), JSON.stringify({ "content-type": "binary/octet-stream", ...metadata }, null, 2));
  await rm(upload.dir, { recursive: true, force: true });
  return { etag };
}

/**
 * Makes every PUT all or nothing, as S3's is ("Amazon S3 never adds partial objects"): s3rver
 * writes the body straight into the object's file, so a request cut short left its first bytes
 * there, in place of any earlier object. The body now goes to a temporary file, renamed over the
 * object's only once it has arrived whole (s3rver's request stream fails when the client's
 * connection closes before its Content-Length).
 */
function atomicPuts(store: S3rverStore): Map<string, string> {
  /** The temporary file of each body arriving, by the path it is for. */
  const arriving = new Map<string, string>();
  const putContent = store.putContent.bind(store);
  store.putContent = async (path, content) => {
    const tmp = `${path}.${randomUUID()}.tmp`;
    arriving.set(path, tmp);
    try {
      const written = await putContent(tmp, content);
      await rename(tmp, path);
      return written;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    } finally {
      arriving.delete(path);
    }
  };
  return arriving;
}

/**
 * Starts an S3 protocol server (SigV4 and presigned URLs verified) on an ephemeral port, with
 * the multipart calls s3rver lacks (see multipartCalls) and all-or-nothing PUTs (atomicPuts).
 */
export async function startS3rver(): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), "s3rver-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory });
  // Koa composes `middleware` when the server starts listening, so unshifting here puts
  // this ahead of s3rver's router (which would answer NotImplemented).
  server.middleware.unshift(multipartCalls(directory));
  const arriving = atomicPuts(server.store);
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKey: "S3RVER",
    secretKey: "S3RVER",
    region: "us-east-1",
    directory,
    pendingUploads: async (bucket, prefix = "") => (await listUploads(directory, bucket, prefix)).map((u) => u.key),
    receiving: (bucket, prefix = "") => [...arriving.keys()]
      .map((path) => relative(join(directory, bucket), path))
      .filter((path) => path.endsWith(OBJECT_SUFFIX) && !path.startsWith(".."))
      .map((path) => path.slice(0, -OBJECT_SUFFIX.length))
      .filter((key) => key.startsWith(prefix))
      .sort(),
    async received(bucket, key) {
      const tmp = arriving.get(join(directory, bucket, ...key.split("/")) + OBJECT_SUFFIX);
      return tmp === undefined ? null : (await stat(tmp).catch(() => null))?.size ?? null;
    },
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
