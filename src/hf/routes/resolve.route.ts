import type { Writable } from "node:stream";
import { parseRange } from "../../storage/fs-link.router";
import type { ByteRange } from "../../storage/storage.port";
import { HF_ERRORS } from "../hf.errors";
import { contentType, lfsPointer, type HubFile } from "../hf.files";
import type { HfRoute } from "../hf.request";
import { revisionOf, type HfContext } from "../hf.context";

type FileRoute = Extract<HfRoute, { kind: "file" }>;

/**
 * `HEAD|GET /{repo}/resolve/{revision}/{path}` (and `/raw/`, which answers an LFS file's pointer).
 * The headers are the Hub's: X-Repo-Commit, a quoted ETag (an LFS file's SHA-256, another file's
 * git blob id), X-Linked-Etag and X-Linked-Size for LFS files, Accept-Ranges. On S3 a GET is
 * redirected to a presigned URL, which carries its own credential (clients drop the registry
 * token on the way to another origin); elsewhere, and for every HEAD, this server answers itself.
 */
export async function resolveFile(ctx: HfContext, route: FileRoute): Promise<void> {
  const revision = await revisionOf(ctx, route.repo, route.revision);
  const file = await ctx.catalog.file(revision.id, route.path);
  if (!file) throw HF_ERRORS.entryNotFound(`${route.path} does not exist on "${route.revision}"`, revision.commit);
  const common = { "X-Repo-Commit": revision.commit, "Accept-Ranges": "bytes" };

  if (route.raw && file.lfs) {
    const pointer = lfsPointer(file.lfs.sha256, file.size);
    const headers = { ...common, ETag: `"${file.oid}"`, "Content-Type": "text/plain; charset=utf-8" };
    return send(ctx, pointer.length, headers, (range) => [pointer.subarray(range.start, range.end + 1)]);
  }

  const headers: Record<string, string> = { ...common, ETag: `"${file.etag}"`, "Content-Type": contentType(file.path) };
  if (file.lfs) Object.assign(headers, { "X-Linked-Etag": `"${file.etag}"`, "X-Linked-Size": String(file.size) });
  const key = storageKeyOf(file, revision.id);
  const adapter = await ctx.storage.adapterFor(revision.namespaceId);
  if (adapter.kind === "s3" && ctx.req.method === "GET") {
    const location = await adapter.presignGet(key, { expiresInSeconds: ctx.redirectSeconds });
    ctx.res.status(302).set({ ...headers, Location: location, "Content-Length": "0" }).end();
    return;
  }
  await send(ctx, file.size, headers, (range, signal) => adapter.readChunks(key, { range, signal }));
}

function storageKeyOf(file: HubFile, revisionId: string): string {
  // An AVAILABLE revision's files all have one; a row without is a catalogue fault, not the client's.
  if (!file.storageKey) throw new Error(`file ${JSON.stringify(file.path)} of AVAILABLE revision ${revisionId} has no storage key`);
  return file.storageKey;
}

/**
 * Answers 200, or 206 for one satisfiable `Range` (416 otherwise); HEAD gets the headers alone.
 * Each chunk is written out before the next is read (readChunks reuses its buffer), which keeps a
 * download's memory to one chunk and lets the socket's pace set the reading's.
 */
async function send(
  ctx: HfContext,
  size: number,
  headers: Record<string, string>,
  body: (range: Required<ByteRange>, signal: AbortSignal) => Iterable<Buffer> | AsyncIterable<Buffer>,
): Promise<void> {
  const { req, res } = ctx;
  const range = parseRange(req.get("range"), size);
  if (range === "unsatisfiable") throw HF_ERRORS.rangeNotSatisfiable(size, headers["X-Repo-Commit"]);
  res.set(headers);
  if (range) res.status(206).set({ "Content-Range": `bytes ${range.start}-${range.end}/${size}`, "Content-Length": String(range.end - range.start + 1) });
  else res.status(200).set("Content-Length", String(size));
  if (req.method === "HEAD" || size === 0) return void res.end();
  const signal = closed(res);
  for await (const chunk of body(range ?? { start: 0, end: size - 1 }, signal)) await write(res, chunk, signal);
  res.end();
}

/** Resolves once the socket has taken the chunk; rejects if the client goes away first. */
function write(res: Writable, chunk: Buffer, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const gone = () => reject(signal.reason);
    signal.addEventListener("abort", gone, { once: true });
    res.write(chunk, (error) => {
      signal.removeEventListener("abort", gone);
      if (error) reject(error);
      else resolve();
    });
  });
}

/** Aborted when the response closes: the client went away (or the response ended). */
function closed(res: Writable): AbortSignal {
  const abort = new AbortController();
  res.once("close", () => abort.abort(new Error("the client went away")));
  return abort.signal;
}
