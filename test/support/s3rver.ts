import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface S3rverHandle {
  /** Full URL, e.g. http://127.0.0.1:41234 */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  stop(): Promise<void>;
}

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, unknown>;
  type: string;
  body: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => unknown;
interface S3rverInstance {
  middleware: KoaMiddleware[];
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

const emptyMultipartListing = (bucket: string): string =>
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
  `<Bucket>${bucket}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
  "<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>" +
  "</ListMultipartUploadsResult>";

/**
 * Starts an S3 protocol server (SigV4 and presigned URLs verified) on an ephemeral port.
 * s3rver has no ListMultipartUploads, which minio calls before any stream upload of
 * unknown length and on removeIncompleteUpload; an empty listing is answered here.
 */
export async function startS3rver(): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), "s3rver-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory });
  // Koa composes `middleware` when the server starts listening, so unshifting here puts
  // this ahead of s3rver's router (which would answer NotImplemented).
  server.middleware.unshift(async (ctx, next) => {
    const bucket = /^\/([^/]+)\/?$/.exec(ctx.path)?.[1];
    if (ctx.method === "GET" && bucket && "uploads" in ctx.query) {
      ctx.type = "application/xml";
      ctx.body = emptyMultipartListing(bucket);
      return;
    }
    await next();
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKey: "S3RVER",
    secretKey: "S3RVER",
    region: "us-east-1",
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
