import { PassThrough } from "node:stream";
import type { StagingArea } from "../../storage/storage.port";
import { backoffDelay, sleep, type RetryPolicy } from "../../common/backoff";
import { isTransientTransferError, PermanentImportError } from "../import.errors";
import type { FileSource, ImportFile, OpenedFile } from "../import.ports";
import { HashingError, sharedHashPool, type HashPool } from "./hash";

/*
 * What the pipe into the storage adapter may hold before the download waits. The adapters
 * buffer ahead themselves (S3 whole parts, files a write-behind), so more here only keeps
 * download chunks alive longer: with 1 MiB an S3 import peaked at 301 MiB (goal: under 300)
 * against 289 with 256 KiB, and 4 MiB slowed a file import to 89 MiB/s, since chunks that survive
 * two young-generation collections are promoted and freed only by a full one.
 */
const UPLOAD_PIPE_BYTES = 256 * 1024;

export interface TransferContext {
  source: FileSource;
  /** Where the bytes go; nothing is kept there unless every byte matched. */
  staging: Pick<StagingArea, "put">;
  signal: AbortSignal;
  /** Told every byte received; negative when a file restarts and its bytes no longer count. */
  onBytes(bytes: number): void;
  /**
   * Breaks in one file tolerated in a row without a byte of progress in between (a break after
   * progress resumes with a fresh count), and the backoff between them.
   */
  retry: RetryPolicy;
  /** How often a file may start over from byte 0 because its source changed under a resume. */
  maxRestarts?: number;
  /** Where the bytes are hashed; the process's shared threads by default. */
  hashes?: HashPool;
}

export interface TransferResult {
  sha256: string;
  size: number;
  /** The staging area's receipt for the file. */
  receipt: string;
}

/**
 * Streams one file from the source into the staging area at `path`, in one pass that counts bytes and hashes them
 * (SHA-256 always, the git blob SHA-1 when that is all the manifest knows). A broken connection
 * resumes with a Range request into the same hash and the same upload while the source's ETag is
 * unchanged; otherwise the file starts over. Nothing is staged unless every byte matched:
 * on a mismatch or an abort the upload is aborted, so the storage discards it.
 */
export async function transferFile(ctx: TransferContext, file: ImportFile, path: string): Promise<TransferResult> {
  const maxRestarts = ctx.maxRestarts ?? 3;
  for (let restarts = 0; ; restarts++) {
    const outcome = await streamOnce(ctx, file, path);
    if (outcome !== "restart") return outcome;
    if (restarts >= maxRestarts) {
      throw Object.assign(new Error(`${file.path} changed upstream during the download ${restarts + 1} times`), { retryable: true });
    }
  }
}

async function streamOnce(ctx: TransferContext, file: ImportFile, path: string): Promise<TransferResult | "restart"> {
  const expected = Number(file.size);
  const upload = new PassThrough({ highWaterMark: UPLOAD_PIPE_BYTES });
  const putControl = new AbortController();
  const put = ctx.staging.put(path, upload, { signal: AbortSignal.any([ctx.signal, putControl.signal]), size: expected });
  let putFailure: { error: unknown } | null = null;
  const putSettled = put.then(
    () => undefined,
    (error) => {
      putFailure = { error };
    },
  );
  const hasher = (ctx.hashes ?? sharedHashPool()).open(expected, !file.sha256 && file.upstreamOid ? expected : null);
  let received = 0;
  let etag: string | null = null;
  let breaks = 0;

  const abandon = async (reason: unknown) => {
    hasher.dispose();
    putControl.abort(reason);
    upload.destroy();
    await putSettled;
    ctx.onBytes(-received);
  };
  const pause = async (error: unknown, progressed: boolean) => {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (!isTransientTransferError(error)) throw error;
    breaks = progressed ? 1 : breaks + 1;
    if (breaks >= ctx.retry.attempts) throw error;
    await sleep(backoffDelay(breaks, ctx.retry), ctx.signal);
  };

  try {
    while (received < expected || received === 0) {
      let opened: OpenedFile;
      try {
        opened = await ctx.source.open(file, { range: received > 0 ? { start: received } : undefined, signal: ctx.signal });
      } catch (error) {
        await pause(error, false);
        continue;
      }
      if (received > 0 && (opened.status !== 206 || etag === null || opened.etag !== etag)) {
        // The source cannot continue these exact bytes: the hash must start over with them.
        opened.body.destroy();
        await abandon(new Error("restart"));
        return "restart";
      }
      if (received === 0) etag = opened.etag;
      if (opened.contentLength !== null && received + opened.contentLength !== expected) {
        opened.body.destroy();
        throw new PermanentImportError(sizeMismatch(file, expected, received + opened.contentLength));
      }

      const before = received;
      try {
        for await (const chunk of opened.body as AsyncIterable<Buffer>) {
          if (received + chunk.length > expected) throw new PermanentImportError(sizeMismatch(file, expected, `more than ${expected}`));
          const hashing = hasher.update(chunk);
          received += chunk.length;
          ctx.onBytes(chunk.length);
          if (!upload.write(chunk)) await drained(upload, putSettled);
          if (!hashing) await hasher.ready();
          if (putFailure) throw (putFailure as { error: unknown }).error;
        }
      } catch (error) {
        opened.body.destroy();
        if (putFailure) throw (putFailure as { error: unknown }).error;
        // A broken hash is not a broken connection: reading on would not mend it.
        if (error instanceof HashingError) throw error;
        await pause(error, received > before);
        continue;
      }
      if (received === expected) break;
      // The body ended short without an error: ask for the rest.
      await pause(Object.assign(new Error(`${file.path} ended after ${received} of ${expected} bytes`), { retryable: true }), received > before);
    }

    // Nothing is committed before every byte is checked: the upload ends only after this.
    const digests = await hasher.digest();
    const actual = digests.sha256;
    if (file.sha256 && actual !== file.sha256.toLowerCase()) {
      throw new PermanentImportError(`Checksum mismatch for ${file.path}: expected SHA-256 ${file.sha256.toLowerCase()}, got ${actual}`);
    }
    if (digests.gitSha1 && file.upstreamOid) {
      const oid = digests.gitSha1;
      if (oid !== file.upstreamOid.toLowerCase()) {
        throw new PermanentImportError(`Checksum mismatch for ${file.path}: expected git blob SHA-1 ${file.upstreamOid.toLowerCase()}, got ${oid}`);
      }
    }
    upload.end();
    const { receipt } = await put;
    return { sha256: actual, size: received, receipt };
  } catch (error) {
    await abandon(error);
    throw error;
  }
}

function sizeMismatch(file: ImportFile, expected: number, actual: number | string): string {
  return `Size mismatch for ${file.path}: the manifest says ${expected} bytes, the source has ${actual}`;
}

/** Resolves when the upload wants more, or when it is over (the caller then finds out why). */
function drained(upload: PassThrough, putSettled: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      upload.off("drain", done);
      upload.off("close", done);
      resolve();
    };
    upload.on("drain", done);
    upload.on("close", done);
    void putSettled.then(done);
  });
}
