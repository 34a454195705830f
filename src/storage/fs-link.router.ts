import { pipeline } from "node:stream/promises";
import { Router, type NextFunction, type Request, type Response } from "express";
import type { FilesystemStorageAdapter } from "./fs.adapter";
import type { LinkOp, LinkSigner } from "./link-signer";
import { normalizeKey, StorageKeyError, StorageNotFoundError, type ByteRange } from "./storage.port";

export interface FsLinkRouterOptions {
  signer: LinkSigner;
  /** The adapter a link's `ns` names, or undefined when there is none. */
  resolve(store: string): FilesystemStorageAdapter | undefined;
}

const OPS: Record<string, LinkOp | undefined> = { GET: "get", HEAD: "get" };

/**
 * Serves presigned filesystem links (downloads only); the app mounts it at /storage/fs. Nothing
 * is written through it: uploads go to the service's upload links, which stage and hash them.
 */
export function createFsLinkRouter({ signer, resolve }: FsLinkRouterOptions): Router {
  const router = Router();
  // A plain middleware rather than "/*key": path-to-regexp would decode the key itself and turn
  // malformed escapes into errors for the app's handler instead of our 400.
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      const op = OPS[req.method];
      if (!op) {
        res.set("Allow", "GET, HEAD");
        return fail(res, 405, "method not allowed");
      }
      const key = keyOf(req.path);
      if (key === undefined) return fail(res, 400, "invalid key");

      const { ns, exp, op: linkOp, sig } = req.query;
      const verdict = signer.verify({ store: ns, key, op: linkOp, exp, sig });
      if (!verdict.ok) return fail(res, 403, `link ${verdict.reason}`);
      if (verdict.claims.op !== op) return fail(res, 403, `link is for ${verdict.claims.op}`);
      const adapter = resolve(verdict.claims.store);
      if (!adapter) return fail(res, 404, "unknown store");

      await getObject(adapter, key, req, res);
    } catch (err) {
      if (err instanceof StorageKeyError) return fail(res, 400, "invalid key");
      if (err instanceof StorageNotFoundError) return fail(res, 404, "not found");
      if (res.headersSent) return void res.destroy(err as Error);
      next(err);
    }
  });
  return router;
}

async function getObject(adapter: FilesystemStorageAdapter, key: string, req: Request, res: Response): Promise<void> {
  const stat = await adapter.stat(key);
  if (!stat) return fail(res, 404, "not found");
  const { size } = stat;
  const range = parseRange(req.get("range"), size);
  if (range === "unsatisfiable") {
    res.set("Content-Range", `bytes */${size}`);
    return fail(res, 416, "range not satisfiable");
  }
  res.set({
    "Accept-Ranges": "bytes",
    "Content-Type": "application/octet-stream",
    ETag: `"${stat.etag}"`,
    ...(stat.lastModified && { "Last-Modified": stat.lastModified.toUTCString() }),
  });
  if (range) {
    res.status(206).set("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
    res.set("Content-Length", String(range.end - range.start + 1));
  } else {
    res.status(200).set("Content-Length", String(size));
  }
  if (req.method === "HEAD" || size === 0) return void res.end();
  const abort = new AbortController();
  res.once("close", () => abort.abort());
  await pipeline(await adapter.get(key, { range, signal: abort.signal }), res);
}

/** The decoded key of a request path, or undefined when it is not a valid key. */
function keyOf(path: string): string | undefined {
  try {
    return normalizeKey(path.replace(/^\//, "").split("/").map(decodeURIComponent).join("/"));
  } catch {
    return undefined;
  }
}

/**
 * One `bytes=` range, resolved against size (RFC 9110 §14.1.2). Multiple ranges and malformed
 * headers are ignored, which the RFC allows, so the whole object is served.
 */
export function parseRange(header: string | undefined, size: number): Required<ByteRange> | "unsatisfiable" | undefined {
  const match = header && /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  const [, first, last] = match;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

function fail(res: Response, status: number, error: string): void {
  res.status(status).json({ error });
}
