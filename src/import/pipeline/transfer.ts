import { PassThrough } from "node:stream";
import type { StagingArea } from "../../storage/storage.port";
import { backoffDelay, sleep, type RetryPolicy } from "../../common/backoff";
import { ImportInterruptedError, isTransientTransferError, PermanentImportError } from "../import.errors";
import type { FileSource, ImportFile, OpenedFile } from "../import.ports";
import { HashingError, sharedHashPool, type HashPool, type StreamHasher } from "./hash";

/*
 * What the pipe into the storage adapter may hold before the download waits. The adapters
 * buffer ahead themselves (S3 whole parts, files a write-behind), so more here only keeps
 * download chunks alive longer: the peak memory grows, and chunks that survive two
 * young-generation collections are promoted and freed only by a full one, which slows the import.
 */
const UPLOAD_PIPE_BYTES = 256 * 1024;

export interface TransferContext {
  source: FileSource;
  /** Where the bytes go; nothing is kept there unless every byte matched. */
  staging: Pick<StagingArea, "put" | "readPartial">;
  signal: AbortSignal;
  /** Told every byte received; negative when a file restarts and its bytes no longer count. */
  onBytes(bytes: number): void;
  /** Told the bytes that arrived from the source (never a resumed partial read back from staging). */
  onReceived?(bytes: number): void;
  /**
   * Breaks in one file tolerated in a row without a byte of progress in between (a break after
   * progress resumes with a fresh count), and the backoff between them.
   */
  retry: RetryPolicy;
  /** How often a file may start over from byte 0 because its source changed under a resume. */
  maxRestarts?: number;
  /**
   * Requests after the first one a file may take, whatever the progress between them (a source
   * that sends a little and breaks, again and again, never ends otherwise). Unbounded when absent.
   */
  maxReconnects?: number;
  /** A body that brings fewer than `minBytes` in `windowMs` of waiting on it is a stall: it is dropped and asked for again. */
  stall?: StallPolicy;
  /** Where the bytes are hashed; the process's shared threads by default. */
  hashes?: HashPool;
}

export interface StallPolicy {
  windowMs: number;
  minBytes: number;
}

/** The transfer brought too few bytes over the stall window. */
export class TransferStalledError extends Error {
  override readonly name = "TransferStalledError";
  readonly retryable = true;

  constructor(readonly policy: StallPolicy, readonly received: number) {
    super(`the transfer stalled: ${received} byte(s) in ${policy.windowMs / 1000} s, fewer than ${policy.minBytes} (IMPORT_STALL_MIN_BYTES per IMPORT_STALL_WINDOW_SECONDS)`);
  }
}

/** A file took more requests than IMPORT_MAX_RECONNECTS_PER_FILE allows. */
export class TooManyReconnectsError extends Error {
  override readonly name = "TooManyReconnectsError";
  // Another attempt, later, may find the source in better shape; the attempts are bounded too.
  readonly retryable = true;

  constructor(path: string, reconnects: number, last: unknown) {
    super(`gave up on ${path} after ${reconnects} reconnect(s) (IMPORT_MAX_RECONNECTS_PER_FILE=${reconnects}); the last break: ${last instanceof Error ? last.message : String(last)}`, { cause: last });
  }
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
 * on a mismatch or an abort the upload is aborted, so the storage discards it (an interruption
 * keeps the partial, to be hashed again when resumed).
 */
export async function transferFile(ctx: TransferContext, file: ImportFile, path: string, resumeFrom = 0): Promise<TransferResult> {
  const maxRestarts = ctx.maxRestarts ?? 3;
  const count: ReconnectCount = { reconnects: 0 };
  for (let restarts = 0; ; restarts++) {
    // Only the first pass continues what a crashed attempt left; a restart starts from byte 0.
    const outcome = await streamOnce(ctx, file, path, count, restarts === 0 ? resumeFrom : 0);
    if (outcome !== "restart") return outcome;
    if (restarts >= maxRestarts) {
      throw Object.assign(new Error(`${file.path} changed upstream during the download ${restarts + 1} times`), { retryable: true });
    }
  }
}

/** Requests after the first, across every pass over one file. */
interface ReconnectCount {
  reconnects: number;
}

async function streamOnce(ctx: TransferContext, file: ImportFile, path: string, count: ReconnectCount, resumeFrom: number): Promise<TransferResult | "restart"> {
  const pass = new TransferPass(ctx, file, path, count, resumeFrom);
  try {
    return await pass.run();
  } catch (error) {
    await pass.abandon(error);
    throw error;
  }
}

/**
 * One pass over a file: one upload into staging and one hash, fed by as many requests as it
 * takes to resume after breaks. It ends with the file staged, "restart" when the source cannot
 * continue the same bytes, or an error; the caller abandons the pass on an error.
 */
class TransferPass {
  private readonly expected: number;
  private readonly upload = new PassThrough({ highWaterMark: UPLOAD_PIPE_BYTES });
  private readonly putControl = new AbortController();
  private readonly put: Promise<{ receipt: string }>;
  private readonly putSettled: Promise<void>;
  private putFailure: { error: unknown } | null = null;
  private readonly hasher: StreamHasher;
  private received = 0;
  private etag: string | null = null;
  /** Whether `etag` is the source's answer for these bytes (a resumed pass learns it from its first response). */
  private etagKnown = false;
  /** Breaks in a row without progress. */
  private breaks = 0;

  constructor(
    private readonly ctx: TransferContext,
    private readonly file: ImportFile,
    private readonly path: string,
    private readonly count: ReconnectCount,
    /** Bytes of a partial a crashed attempt left, to hash again and continue (0: from scratch). */
    private readonly resumeFrom: number,
  ) {
    this.expected = Number(file.size);
    const signal = AbortSignal.any([ctx.signal, this.putControl.signal]);
    // A shutdown or a lost lock keeps the partial, as a kill does, for the next attempt to hash again and continue.
    this.put = ctx.staging.put(path, this.upload, {
      signal,
      size: this.expected,
      keepPartialOn: isInterruption,
      ...(resumeFrom > 0 ? { resumeFrom } : {}),
      ...(file.sha256 ? { sha256: file.sha256 } : {}),
    });
    this.putSettled = this.put.then(
      () => undefined,
      (error) => {
        this.putFailure = { error };
      },
    );
    this.hasher = (ctx.hashes ?? sharedHashPool()).open(this.expected, !file.sha256 && file.upstreamOid ? this.expected : null);
  }

  async run(): Promise<TransferResult | "restart"> {
    if (this.resumeFrom > 0 && !(await this.rehashPartial())) {
      await this.abandon(new Error("restart"));
      return "restart";
    }
    while (this.received < this.expected || this.received === 0) {
      const opened = await this.open();
      if (!opened) continue;
      if (this.received > 0 && (opened.status !== 206 || (this.etagKnown && (this.etag === null || opened.etag !== this.etag)))) {
        // The source cannot continue these exact bytes: the hash must start over with them.
        opened.body.destroy();
        await this.abandon(new Error("restart"));
        return "restart";
      }
      if (!this.etagKnown) {
        this.etag = opened.etag;
        this.etagKnown = true;
      }
      if (opened.contentLength !== null && this.received + opened.contentLength !== this.expected) {
        opened.body.destroy();
        throw new PermanentImportError(sizeMismatch(this.file, this.expected, this.received + opened.contentLength));
      }
      const before = this.received;
      if (!(await this.pump(opened))) continue;
      if (this.received === this.expected) break;
      // The body ended short without an error: ask for the rest.
      const short = Object.assign(new Error(`${this.file.path} ended after ${this.received} of ${this.expected} bytes`), { retryable: true });
      await this.pause(short, this.received > before);
    }
    return this.commit();
  }

  /** Drops what this pass staged and hashed, and takes its bytes back from the progress. */
  async abandon(reason: unknown): Promise<void> {
    this.hasher.dispose();
    this.putControl.abort(reason);
    this.upload.destroy();
    await this.putSettled;
    this.ctx.onBytes(-this.received);
  }

  /**
   * Hashes the bytes a crashed attempt kept, so the pass continues from there. False when they
   * are not all there any more: the pass then starts over.
   */
  private async rehashPartial(): Promise<boolean> {
    const read = this.ctx.staging.readPartial;
    if (!read) return false;
    try {
      for await (const chunk of read.call(this.ctx.staging, this.path, this.resumeFrom, this.ctx.signal)) {
        const hashing = this.hasher.update(chunk);
        this.received += chunk.length;
        this.ctx.onBytes(chunk.length);
        if (!hashing) await this.hasher.ready();
      }
    } catch (error) {
      if (this.ctx.signal.aborted || error instanceof HashingError) throw error;
      return false;
    }
    return this.received === this.resumeFrom;
  }

  /** Asks the source for the file from where this pass stands; null after a transient failure was waited out. */
  private async open(): Promise<OpenedFile | null> {
    try {
      return await this.ctx.source.open(this.file, { range: this.received > 0 ? { start: this.received } : undefined, signal: this.ctx.signal });
    } catch (error) {
      await this.pause(error, false);
      return null;
    }
  }

  /** Hashes and uploads one response's bytes; false when the connection broke or stalled (and the break was waited out). */
  private async pump(opened: OpenedFile): Promise<boolean> {
    const before = this.received;
    const watch = this.ctx.stall ? new StallWatch(this.ctx.stall, (stall) => opened.body.destroy(stall)) : null;
    try {
      const chunks = (opened.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      for (;;) {
        // Only the wait on the source counts toward a stall, never the wait on storage or hashing.
        watch?.waiting();
        const { done, value: chunk } = await chunks.next();
        if (done) break;
        watch?.arrived(chunk.length);
        if (this.received + chunk.length > this.expected) throw new PermanentImportError(sizeMismatch(this.file, this.expected, `more than ${this.expected}`));
        const hashing = this.hasher.update(chunk);
        this.received += chunk.length;
        this.ctx.onBytes(chunk.length);
        this.ctx.onReceived?.(chunk.length);
        if (!this.upload.write(chunk)) await drained(this.upload, this.putSettled);
        if (!hashing) await this.hasher.ready();
        if (this.putFailure) throw this.putFailure.error;
      }
      return true;
    } catch (error) {
      opened.body.destroy();
      if (this.putFailure) throw this.putFailure.error;
      // A broken hash is not a broken connection: reading on would not mend it.
      if (error instanceof HashingError) throw error;
      await this.pause(error, this.received > before);
      return false;
    } finally {
      watch?.stop();
    }
  }

  /** Waits before the next request after a transient failure, or rethrows what retrying cannot mend. */
  private async pause(error: unknown, progressed: boolean): Promise<void> {
    if (this.ctx.signal.aborted) throw this.ctx.signal.reason;
    if (!isTransientTransferError(error)) throw error;
    this.breaks = progressed ? 1 : this.breaks + 1;
    if (this.breaks >= this.ctx.retry.attempts) throw error;
    const max = this.ctx.maxReconnects;
    if (max !== undefined && this.count.reconnects >= max) throw new TooManyReconnectsError(this.file.path, this.count.reconnects, error);
    this.count.reconnects++;
    await sleep(backoffDelay(this.breaks, this.ctx.retry), this.ctx.signal);
  }

  /**
   * Checks every byte against the manifest, then ends the upload: nothing is committed before. A
   * resumed pass that does not match starts over from byte 0 ("restart") before the source is
   * called wrong: the bytes a crash left may not be what they seemed.
   */
  private async commit(): Promise<TransferResult | "restart"> {
    const { file } = this;
    const digests = await this.hasher.digest();
    const actual = digests.sha256;
    let mismatch: string | null = null;
    if (file.sha256 && actual !== file.sha256.toLowerCase()) {
      mismatch = `Checksum mismatch for ${file.path}: expected SHA-256 ${file.sha256.toLowerCase()}, got ${actual}`;
    } else if (digests.gitSha1 && file.upstreamOid && digests.gitSha1 !== file.upstreamOid.toLowerCase()) {
      mismatch = `Checksum mismatch for ${file.path}: expected git blob SHA-1 ${file.upstreamOid.toLowerCase()}, got ${digests.gitSha1}`;
    }
    if (mismatch !== null) {
      if (this.resumeFrom === 0) throw new PermanentImportError(mismatch);
      await this.abandon(new Error("restart"));
      return "restart";
    }
    this.upload.end();
    const { receipt } = await this.put;
    return { sha256: actual, size: this.received, receipt };
  }
}

/**
 * Watches one body for a stall: over each window of time spent waiting on the source, at least
 * `minBytes` must arrive. A source that sends nothing trips it at the end of the window, one that
 * drips when its bytes arrive. Time the consumer spends (storage, hashing) is not counted.
 */
class StallWatch {
  private waited = 0;
  private bytes = 0;
  private since: number | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly policy: StallPolicy,
    private readonly onStall: (error: TransferStalledError) => void,
  ) {}

  waiting(): void {
    this.since = Date.now();
    this.arm();
  }

  arrived(bytes: number): void {
    if (this.since === null) return;
    clearTimeout(this.timer);
    this.account(bytes);
    this.since = null;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.since = null;
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.account(0);
      // Still waiting: watch the rest of the wait.
      if (this.since !== null) this.arm();
    }, Math.max(1, this.policy.windowMs - this.waited));
  }

  private account(bytes: number): void {
    const now = Date.now();
    this.waited += now - (this.since ?? now);
    this.bytes += bytes;
    this.since = now;
    if (this.waited < this.policy.windowMs) return;
    if (this.bytes < this.policy.minBytes) {
      this.stop();
      this.onStall(new TransferStalledError(this.policy, this.bytes));
      return;
    }
    // A window with enough bytes: the next one starts here.
    this.waited = 0;
    this.bytes = 0;
  }
}

function isInterruption(reason: unknown): boolean {
  return reason instanceof ImportInterruptedError;
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
