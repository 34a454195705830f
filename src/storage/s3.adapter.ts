import { addAbortSignal, type Readable } from "node:stream";
import { Client, CopyConditions } from "minio";
import {
  checkByteRange,
  checkPresignOptions,
  normalizeKey,
  normalizePrefix,
  StorageKeyError,
  StorageNotFoundError,
  StorageRangeError,
  type ByteRange,
  type ObjectStat,
  type PresignOptions,
  type PutResult,
  type StorageAdapter,
} from "./storage.port";

export interface S3StorageOptions {
  /** Full URL of the S3 endpoint, e.g. http://127.0.0.1:9000 */
  endPoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
}

const MiB = 1024 * 1024;
const BASE_PART_SIZE = 8 * MiB;
const MAX_PARTS = 10_000;
const DELETE_BATCH = 1000;

// Parts grow by 8 MiB every 1000 parts, so memory stays at ~2 parts for common sizes while
// the 10,000-part limit still allows ~440 GiB.
const partSizeFor = (partNumber: number): number => BASE_PART_SIZE * (1 + Math.floor((partNumber - 1) / 1000));

/** One bucket of an S3-compatible endpoint (MinIO, AWS, s3rver in tests). */
export class S3StorageAdapter implements StorageAdapter {
  readonly kind = "s3";
  readonly bucket: string;
  private readonly region: string;
  private readonly client: Client;

  constructor(options: S3StorageOptions) {
    const url = new URL(options.endPoint);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error(`S3 endpoint must be an http(s) URL, got ${options.endPoint}`);
    }
    const useSSL = url.protocol === "https:";
    this.bucket = options.bucket;
    this.region = options.region;
    this.client = new Client({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      pathStyle: true,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: options.region,
    });
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
   * part is being read. Abort is honoured until the body is fully read; the final commit is
   * not interrupted.
   */
  async put(key: string, body: Readable, opts: { signal?: AbortSignal; contentType?: string } = {}): Promise<PutResult> {
    normalizeKey(key);
    const { signal } = opts;
    signal?.throwIfAborted();
    const headers = { "Content-Type": opts.contentType ?? "application/octet-stream" };
    const race = <T>(work: Promise<T>) => raceAbort(work, signal, () => body.destroy());
    const parts = readParts(body)[Symbol.asyncIterator]();
    let uploadId: string | undefined;
    try {
      const first = await race(parts.next());
      const second = first.done ? first : await race(parts.next());
      if (second.done) {
        const buf = first.done ? Buffer.alloc(0) : first.value;
        signal?.throwIfAborted();
        const { etag } = await this.client.putObject(this.bucket, key, buf, buf.length, headers);
        return { key, size: buf.length, etag };
      }

      uploadId = await race(this.client.initiateNewMultipartUpload(this.bucket, key, headers));
      const etags: { part: number; etag: string }[] = [];
      let size = 0;
      let current: IteratorResult<Buffer> = first;
      let lookahead: Promise<IteratorResult<Buffer>> = Promise.resolve(second);
      for (let part = 1; !current.done; part++) {
        if (part > MAX_PARTS) throw new Error(`object ${key} exceeds ${MAX_PARTS} parts`);
        const upload = this.client.uploadPart(
          { bucketName: this.bucket, objectName: key, uploadID: uploadId, partNumber: part, headers: {} },
          current.value,
        );
        const [uploaded, next] = await race(Promise.all([upload, lookahead]));
        etags.push({ part, etag: uploaded.etag });
        size += current.value.length;
        current = next;
        lookahead = next.done ? Promise.resolve(next) : parts.next();
      }
      signal?.throwIfAborted();
      const { etag } = await this.client.completeMultipartUpload(this.bucket, key, uploadId, etags);
      return { key, size, etag };
    } catch (err) {
      body.destroy();
      if (uploadId) await this.client.abortMultipartUpload(this.bucket, key, uploadId).catch(() => undefined);
      throw signal?.aborted ? signal.reason : err;
    }
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
    return this.client.presignedGetObject(this.bucket, key, checkPresignOptions(opts));
  }

  async presignPut(key: string, opts: PresignOptions): Promise<string> {
    normalizeKey(key);
    return this.client.presignedPutObject(this.bucket, key, checkPresignOptions(opts));
  }

  async ping(): Promise<void> {
    if (!(await this.client.bucketExists(this.bucket))) throw new Error(`bucket ${this.bucket} does not exist`);
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

async function* readParts(body: Readable): AsyncGenerator<Buffer> {
  let chunks: Buffer[] = [];
  let buffered = 0;
  let part = 1;
  for await (const chunk of body) {
    const buf: Buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    chunks.push(buf);
    buffered += buf.length;
    while (buffered >= partSizeFor(part)) {
      const all = Buffer.concat(chunks, buffered);
      const size = partSizeFor(part++);
      yield all.subarray(0, size);
      chunks = [all.subarray(size)];
      buffered -= size;
    }
  }
  if (buffered > 0 || part === 1) yield Buffer.concat(chunks, buffered);
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
    case "NotFound":
      return new StorageNotFoundError(key);
    case "InvalidRange":
      return range ? new StorageRangeError(key, range) : err;
    default:
      return err;
  }
}
