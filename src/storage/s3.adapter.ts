import { addAbortSignal, pipeline, Transform, type Readable, type TransformCallback } from "node:stream";
import { Client, CopyConditions } from "minio";
import {
  checkByteRange,
  checkPresignOptions,
  normalizeKey,
  normalizePrefix,
  PLACED_RECEIPT,
  StorageKeyError,
  StorageNotFoundError,
  StorageRangeError,
  type ByteRange,
  type ObjectStat,
  type PresignOptions,
  type PutOptions,
  type PutResult,
  type ReadChunksOptions,
  type StagedFile,
  type StagedObject,
  type StagingArea,
  type StorageAdapter,
} from "./storage.port";
import { SCRATCH_RECEIPT, ScratchStaging } from "./staging";

export interface S3StorageOptions {
  /** Full URL of the S3 endpoint, e.g. http://127.0.0.1:9000 */
  endPoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
  /** The time presigned URLs are dated (default: now); the S3 server checks their expiry against its own clock. */
  now?: () => Date;
}

const MiB = 1024 * 1024;
const BASE_PART_SIZE = 8 * MiB;
const MAX_PARTS = 10_000;
const DELETE_BATCH = 1000;
/** The largest object S3 takes in one PUT; larger ones must go up in parts. */
export const MAX_SINGLE_PUT = 5 * 1024 * MiB;

/**
 * The size of part `partNumber`. With the body's length known, every part is max(8 MiB,
 * size/10,000) (rounded up to a MiB), so the 10,000-part limit is never reached. Unknown, parts
 * grow by 8 MiB every 1000, which still allows ~440 GiB.
 */
export function partSizeFor(partNumber: number, size?: number): number {
  if (size !== undefined) return Math.max(BASE_PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB);
  return BASE_PART_SIZE * (1 + Math.floor((partNumber - 1) / 1000));
}

/** minio's client, with the ListParts call it keeps to itself. */
class S3Client extends Client {
  parts(bucket: string, key: string, uploadId: string): Promise<Array<{ part: number; etag: string; size: number }>> {
    return this.listParts(bucket, key, uploadId);
  }
}

/** One bucket of an S3-compatible endpoint (MinIO, AWS, s3rver in tests). */
export class S3StorageAdapter implements StorageAdapter {
  readonly kind = "s3";
  readonly bucket: string;
  private readonly region: string;
  private readonly client: S3Client;
  /** The same client without minio's retry, which would send a streamed body, already spent, again. */
  private readonly streamingClient: S3Client;
  /** minio signs every payload's SHA-256 over http, and none over https. */
  private readonly signsPayloads: boolean;
  private readonly now?: () => Date;

  constructor(options: S3StorageOptions) {
    const url = new URL(options.endPoint);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error(`S3 endpoint must be an http(s) URL, got ${options.endPoint}`);
    }
    const useSSL = url.protocol === "https:";
    this.bucket = options.bucket;
    this.region = options.region;
    this.now = options.now;
    const clientOptions = {
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      pathStyle: true,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: options.region,
    };
    this.client = new S3Client(clientOptions);
    this.streamingClient = new S3Client({ ...clientOptions, retryOptions: { disableRetry: true } });
    this.signsPayloads = !useSSL;
  }

  async ensureBucket(): Promise<void> {
    if (await this.client.bucketExists(this.bucket)) return;
    try {
      await this.client.makeBucket(this.bucket, this.region);
    } catch (err) {
      if (errorCode(err) !== "BucketAlreadyOwnedByYou") throw err;
    }
  }

  /*
   * minio's putObject with an unknown length cannot be cancelled (destroying its input leaves
   * the upload pending forever) and buffers ~0.5 GiB parts, so the multipart upload is driven
   * here: bodies under one part go up in a single PUT, larger ones part by part while the next
   * part is being read. Each upload owns two part buffers, filled by copying the body's chunks
   * once and reused part after part: its memory is two parts, however long the body. Abort is
   * honoured until the body is fully read; the final commit is not interrupted.
   */
  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    normalizeKey(key);
    const { key: written, size, etag } = await this.write(body, opts, { key });
    return { key: written, size, etag };
  }

  /**
   * Writes body to `target.key`. A body that fits one part goes up in a single PUT, to
   * `target.whole` when given; a longer one as a multipart upload to `target.key`, left pending
   * (its uploadId answered) when `target.pending`. Used by put and by S3Staging.
   */
  async write(body: Readable, opts: PutOptions, target: { key: string; whole?: string; pending?: boolean }): Promise<PutResult & { uploadId?: string }> {
    const { signal, size: expected } = opts;
    signal?.throwIfAborted();
    const headers = { "Content-Type": opts.contentType ?? "application/octet-stream" };
    const race = <T>(work: Promise<T>) => raceAbort(work, signal, () => body.destroy());
    const reader = new PartReader(body);
    const { key } = target;
    let uploadId: string | undefined;
    try {
      // A body expected to fit one part gets a buffer of its size (small files are the many).
      const firstSize = partSizeFor(1, expected);
      const first = Buffer.allocUnsafeSlow(expected !== undefined && expected < firstSize ? expected : firstSize);
      let length = await race(reader.fill(first));
      let current: Buffer = first;
      if (length === first.length && first.length < firstSize && (await race(reader.hasMore()))) {
        // Longer than announced: carry on with full parts.
        current = Buffer.allocUnsafeSlow(firstSize);
        first.copy(current);
        length += await race(reader.fill(current.subarray(length)));
      }
      if (length < current.length || !(await race(reader.hasMore()))) {
        signal?.throwIfAborted();
        const whole = target.whole ?? key;
        const { etag } = await this.client.putObject(this.bucket, whole, current.subarray(0, length), length, headers);
        return { key: whole, size: length, etag };
      }

      uploadId = await race(this.client.initiateNewMultipartUpload(this.bucket, key, headers));
      const etags: { part: number; etag: string }[] = [];
      let size = 0;
      let spare: Buffer | null = null;
      for (let part = 1; length > 0; part++) {
        if (part > MAX_PARTS) throw new Error(`object ${key} exceeds ${MAX_PARTS} parts`);
        const upload = this.client.uploadPart(
          { bucketName: this.bucket, objectName: key, uploadID: uploadId, partNumber: part, headers: {} },
          current.subarray(0, length),
        );
        const nextSize = partSizeFor(part + 1, expected);
        const next: Buffer = spare?.length === nextSize ? spare : Buffer.allocUnsafeSlow(nextSize);
        const [uploaded, nextLength] = await race(Promise.all([upload, reader.fill(next)]));
        etags.push({ part, etag: uploaded.etag });
        size += length;
        spare = current;
        current = next;
        length = nextLength;
      }
      signal?.throwIfAborted();
      if (target.pending) return { key, size, uploadId };
      const { etag } = await this.client.completeMultipartUpload(this.bucket, key, uploadId, etags);
      return { key, size, etag };
    } catch (err) {
      body.destroy();
      if (uploadId) await this.client.abortMultipartUpload(this.bucket, key, uploadId).catch(() => undefined);
      throw signal?.aborted ? signal.reason : err;
    }
  }

  /**
   * Whether putStreamed can take a body of these options: its size known, more than one part
   * (a smaller body goes up in one buffered PUT anyway), at most S3's single-PUT limit, and its
   * SHA-256 known where minio signs payloads (http).
   */
  canStream(opts: PutOptions): boolean {
    const { size, sha256 } = opts;
    if (size === undefined || size <= partSizeFor(1, size) || size > MAX_SINGLE_PUT) return false;
    return !this.signsPayloads || (sha256 !== undefined && /^[0-9a-f]{64}$/i.test(sha256));
  }

  /**
   * Sends body as one PUT of `opts.size` bytes, streamed as it arrives: no part buffers, no
   * completion (which s3rver pays for by rewriting every byte). The body's last chunk is held
   * back until the body has ended, so a body that fails or is aborted leaves the request short
   * of its Content-Length, and S3 stores nothing ("Amazon S3 never adds partial objects").
   * Over http the request is signed with the body's expected SHA-256, which S3 checks too.
   * Only for bodies canStream accepts.
   */
  async putStreamed(key: string, body: Readable, opts: PutOptions): Promise<PutResult> {
    normalizeKey(key);
    const { signal, size } = opts;
    if (!this.canStream(opts) || size === undefined) throw new Error(`a body of ${size ?? "unknown"} bytes cannot be streamed in one PUT here`);
    signal?.throwIfAborted();
    const held = new HoldBack(size);
    // A body that fails or closes early destroys held, which destroys the request.
    pipeline(body, held, () => undefined);
    const headers = { "Content-Type": opts.contentType ?? "application/octet-stream", "Content-Length": String(size) };
    try {
      const request = this.streamingClient.makeRequestStreamAsync(
        { method: "PUT", bucketName: this.bucket, objectName: key, headers },
        held,
        this.signsPayloads ? opts.sha256!.toLowerCase() : "",
        [200],
        "",
      );
      const response = await raceAbort(request, signal, () => body.destroy());
      response.resume();
      await raceAbort(finished(response), signal, () => response.destroy());
      const etag = String(response.headers.etag ?? "").replace(/^"|"$/g, "");
      return { key, size, etag };
    } catch (err) {
      body.destroy();
      held.destroy();
      throw signal?.aborted ? signal.reason : err;
    }
  }

  /** The parts of a pending multipart upload; StorageNotFoundError when the upload is gone (completed or aborted). */
  async uploadedParts(key: string, uploadId: string): Promise<Array<{ part: number; etag: string; size: number }>> {
    try {
      return await this.client.parts(this.bucket, key, uploadId);
    } catch (err) {
      throw mapError(err, key);
    }
  }

  /** Completes a pending multipart upload with the parts it holds; StorageNotFoundError when it is gone. */
  async completeUpload(key: string, uploadId: string): Promise<void> {
    const parts = await this.uploadedParts(key, uploadId);
    try {
      await this.client.completeMultipartUpload(this.bucket, key, uploadId, parts.map(({ part, etag }) => ({ part, etag })));
    } catch (err) {
      throw mapError(err, key);
    }
  }

  /**
   * Aborts every pending multipart upload under prefix but those whose ids `keep` holds (uploads
   * a crash or a kill left behind keep their parts, and their cost, until aborted). Lists again
   * until nothing is left to abort, so a server that does not page needs no markers.
   */
  async abortUploads(prefix: string, keep: ReadonlySet<string> = new Set()): Promise<number> {
    normalizePrefix(prefix);
    if (prefix === "") throw new StorageKeyError(prefix, "refusing to abort every upload");
    let aborted = 0;
    let keyMarker = "";
    for (let round = 0; round < 100; round++) {
      const { uploads, isTruncated, nextKeyMarker } = await this.client.listIncompleteUploadsQuery(this.bucket, prefix, keyMarker, "", "");
      const doomed = uploads.filter((u) => !keep.has(u.uploadId));
      for (const { key, uploadId } of doomed) {
        try {
          await this.client.abortMultipartUpload(this.bucket, key, uploadId);
          aborted++;
        } catch (err) {
          if (!(mapError(err, key) instanceof StorageNotFoundError)) throw err;
        }
      }
      if (isTruncated && nextKeyMarker) {
        keyMarker = nextKeyMarker;
        continue;
      }
      if (doomed.length === 0) return aborted;
      keyMarker = "";
    }
    throw new Error(`pending uploads under ${JSON.stringify(prefix)} keep coming back after 100 rounds of aborting them`);
  }

  async get(key: string, opts: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<Readable> {
    normalizeKey(key);
    const { range, signal } = opts;
    signal?.throwIfAborted();
    if (range) checkByteRange(key, range);
    try {
      const stream = range
        ? await this.client.getPartialObject(
            this.bucket,
            key,
            range.start,
            range.end === undefined ? undefined : range.end - range.start + 1,
          )
        : await this.client.getObject(this.bucket, key);
      return signal ? addAbortSignal(signal, stream) : stream;
    } catch (err) {
      throw mapError(err, key, range);
    }
  }

  /** The stream's own chunks: each a fresh buffer, which the contract allows. */
  async *readChunks(key: string, opts: ReadChunksOptions = {}): AsyncIterable<Buffer> {
    for await (const chunk of await this.get(key, opts)) yield chunk as Buffer;
  }

  async stat(key: string): Promise<ObjectStat | null> {
    normalizeKey(key);
    try {
      const s = await this.client.statObject(this.bucket, key);
      return { key, size: s.size, etag: s.etag, lastModified: s.lastModified };
    } catch (err) {
      if (mapError(err, key) instanceof StorageNotFoundError) return null;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectStat> {
    normalizePrefix(prefix);
    for await (const item of this.client.listObjectsV2(this.bucket, prefix, true)) {
      if (!item.name) continue; // common prefixes never appear when recursive, but the type allows them
      yield { key: item.name, size: item.size, etag: item.etag, lastModified: item.lastModified };
    }
  }

  /** S3 has no rename: a server-side copy, then the delete. */
  async move(sourceKey: string, destKey: string): Promise<void> {
    if (sourceKey === destKey) return;
    await this.copy(sourceKey, destKey);
    await this.delete(sourceKey);
  }

  async copy(sourceKey: string, destKey: string): Promise<void> {
    normalizeKey(sourceKey);
    normalizeKey(destKey);
    // S3 refuses a copy onto itself without a metadata change; for us it is a no-op.
    if (sourceKey === destKey) {
      if (!(await this.stat(sourceKey))) throw new StorageNotFoundError(sourceKey);
      return;
    }
    try {
      // The (bucket, key, "/bucket/key") form escapes the source properly; CopySourceOptions
      // uses encodeURI and would mangle keys containing '?', '#' or '+'.
      await this.client.copyObject(this.bucket, destKey, `/${this.bucket}/${sourceKey}`, new CopyConditions());
    } catch (err) {
      throw mapError(err, sourceKey);
    }
  }

  async delete(key: string): Promise<void> {
    normalizeKey(key);
    await this.client.removeObject(this.bucket, key);
  }

  async deletePrefix(prefix: string): Promise<number> {
    normalizePrefix(prefix);
    if (prefix === "") throw new StorageKeyError(prefix, "refusing to delete every object");
    let removed = 0;
    let batch: string[] = [];
    for await (const { key } of this.list(prefix)) {
      batch.push(key);
      if (batch.length === DELETE_BATCH) {
        removed += await this.removeBatch(batch);
        batch = [];
      }
    }
    if (batch.length > 0) removed += await this.removeBatch(batch);
    return removed;
  }

  async presignGet(key: string, opts: PresignOptions): Promise<string> {
    normalizeKey(key);
    return this.client.presignedGetObject(this.bucket, key, checkPresignOptions(opts), {}, this.now?.());
  }

  async ping(): Promise<void> {
    if (!(await this.client.bucketExists(this.bucket))) throw new Error(`bucket ${this.bucket} does not exist`);
  }

  staging(finalPrefix: string, scratchPrefix: string): StagingArea {
    return new S3Staging(this, finalPrefix, scratchPrefix);
  }

  private async removeBatch(keys: string[]): Promise<number> {
    // Quiet mode: the response lists only the keys that failed.
    const failures = (await this.client.removeObjects(this.bucket, keys)).filter((r) => r?.Error);
    if (failures.length > 0) {
      const first = failures[0]?.Error;
      throw new Error(`failed to delete ${failures.length} of ${keys.length} objects (${first?.Key}: ${first?.Code})`);
    }
    return keys.length;
  }
}

/** Reads a body into buffers the caller owns, copying every chunk once. */
class PartReader {
  private readonly chunks: AsyncIterator<Buffer | Uint8Array | string>;
  /** The part of the last chunk that did not fit. */
  private leftover: Buffer | null = null;
  private ended = false;

  constructor(body: Readable) {
    this.chunks = body[Symbol.asyncIterator]();
  }

  /** Fills target from the body; returns how many bytes it holds (fewer only at the end). */
  async fill(target: Buffer): Promise<number> {
    let filled = 0;
    while (filled < target.length) {
      const chunk = await this.take();
      if (!chunk) break;
      const n = chunk.copy(target, filled);
      filled += n;
      if (n < chunk.length) this.leftover = chunk.subarray(n);
    }
    return filled;
  }

  /** Whether the body has another byte. */
  async hasMore(): Promise<boolean> {
    const chunk = await this.take();
    this.leftover = chunk;
    return chunk !== null;
  }

  private async take(): Promise<Buffer | null> {
    if (this.leftover) {
      const chunk = this.leftover;
      this.leftover = null;
      return chunk;
    }
    while (!this.ended) {
      const { done, value } = await this.chunks.next();
      if (done) this.ended = true;
      else if (value.length > 0) return Buffer.isBuffer(value) ? value : Buffer.from(value);
    }
    return null;
  }
}

/** What HoldBack keeps of a body at most: the latest chunk, or the end of a longer one. */
const HELD_BYTES = 64 * 1024;

/**
 * Passes a body of `size` bytes on, holding back its last bytes (the latest chunk, at most
 * HELD_BYTES of it) until the body has ended with exactly that many: what follows never sees
 * the end of a body that fails.
 */
class HoldBack extends Transform {
  private held: Buffer | null = null;
  private seen = 0;

  constructor(private readonly size: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.size) return callback(new Error(`the body is longer than the ${this.size} bytes announced`));
    if (this.held) this.push(this.held);
    if (chunk.length > HELD_BYTES) {
      this.push(chunk.subarray(0, chunk.length - HELD_BYTES));
      this.held = chunk.subarray(chunk.length - HELD_BYTES);
    } else {
      this.held = chunk;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.seen !== this.size) return callback(new Error(`the body ended after ${this.seen} of the ${this.size} bytes announced`));
    callback(null, this.held ?? undefined);
  }
}

/** Resolves when the response has been read to its end; rejects when it breaks. */
function finished(response: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    response.once("end", resolve);
    response.once("error", reject);
    response.once("close", () => (response.readableEnded ? resolve() : reject(new Error("the S3 response closed before its end"))));
  });
}

/**
 * Waits for `work` unless the signal aborts first (then calls onAbort and rejects with the
 * reason). The listener lives only as long as one wait: racing against one long-lived "aborted"
 * promise would keep a reaction, and every part buffer it resolved with, alive per wait.
 */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined, onAbort: () => void): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const listener = () => {
      onAbort();
      reject(signal.reason);
    };
    if (signal.aborted) {
      work.catch(() => undefined);
      listener();
      return;
    }
    signal.addEventListener("abort", listener, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", listener);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", listener);
        reject(error);
      },
    );
  });
}

function errorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String(err.code) : undefined;
}

function mapError(err: unknown, key: string, range?: ByteRange): unknown {
  switch (errorCode(err)) {
    case "NoSuchKey":
    case "NoSuchUpload":
    case "NotFound":
      return new StorageNotFoundError(key);
    case "InvalidRange":
      return range ? new StorageRangeError(key, range) : err;
    default:
      return err;
  }
}

const UPLOAD_RECEIPT = "upload:";

/**
 * S3's staging: an object longer than one part stays a pending multipart upload at its final
 * key, invisible until publish completes it (no byte is copied); one of a single part goes under
 * the scratch prefix and is copied on publish. Its scratch copy is deleted by clear(), with every
 * other, in one request per thousand keys instead of one per object (a model's hundreds of small
 * files made the deletes half of S3's work when a revision's files were published).
 */
class S3Staging extends ScratchStaging {
  /** Paths whose scratch copy this area published: no longer staged, deleted by clear(). */
  private readonly published = new Set<string>();

  constructor(private readonly s3: S3StorageAdapter, finalPrefix: string, scratchPrefix: string) {
    super(s3, finalPrefix, scratchPrefix);
  }

  override async put(path: string, body: Readable, opts: PutOptions = {}): Promise<StagedObject> {
    const target = { key: normalizeKey(this.finalKey(path)), whole: normalizeKey(this.scratchKey(path)), pending: true };
    const { size, uploadId } = await this.s3.write(body, opts, target);
    this.published.delete(path);
    return { size, receipt: uploadId ? UPLOAD_RECEIPT + uploadId : SCRATCH_RECEIPT };
  }

  /**
   * A body of known size and SHA-256 up to 5 GiB goes up in one streamed PUT whose last bytes
   * wait for the body's end; any other in one buffered PUT or as a multipart upload completed
   * once the body has ended. None shows at the final key before the body has ended.
   */
  async putFinal(path: string, body: Readable, opts: PutOptions = {}): Promise<StagedObject> {
    const key = normalizeKey(this.finalKey(path));
    const { size } = this.s3.canStream(opts) ? await this.s3.putStreamed(key, body, opts) : await this.s3.write(body, opts, { key });
    return { size, receipt: PLACED_RECEIPT };
  }

  override async holds(path: string, receipt: string, size: number): Promise<boolean> {
    const uploadId = uploadIdOf(receipt);
    if (uploadId === null) return !this.published.has(path) && super.holds(path, receipt, size);
    try {
      const parts = await this.s3.uploadedParts(this.finalKey(path), uploadId);
      return parts.reduce((sum, p) => sum + p.size, 0) === size;
    } catch (err) {
      if (err instanceof StorageNotFoundError) return false;
      throw err;
    }
  }

  override async publish(path: string, receipt: string): Promise<void> {
    const uploadId = uploadIdOf(receipt);
    if (uploadId === null) return super.publish(path, receipt);
    await this.s3.completeUpload(this.finalKey(path), uploadId);
  }

  /** A copy: the scratch copy stays until clear(), which deletes them all in batches. */
  protected override async publishScratch(path: string): Promise<void> {
    if (this.published.has(path)) throw new StorageNotFoundError(this.scratchKey(path));
    await this.s3.copy(this.scratchKey(path), this.finalKey(path));
    this.published.add(path);
  }

  override async clear(): Promise<void> {
    await super.clear();
    this.published.clear();
    await this.s3.abortUploads(this.finalPrefix);
  }

  /** The uploads a kill cut short: every pending one under the folder that no staged receipt names. */
  override async dropAbandoned(staged: readonly StagedFile[]): Promise<void> {
    const keep = new Set(staged.flatMap((file) => uploadIdOf(file.receipt) ?? []));
    await this.s3.abortUploads(this.finalPrefix, keep);
  }
}

function uploadIdOf(receipt: string): string | null {
  return receipt.startsWith(UPLOAD_RECEIPT) ? receipt.slice(UPLOAD_RECEIPT.length) : null;
}
