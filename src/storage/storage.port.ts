import type { Readable } from "node:stream";

export interface ObjectStat {
  key: string;
  size: number;
  etag?: string;
  lastModified?: Date;
}
export interface PutResult {
  key: string;
  size: number;
  etag?: string;
}
export interface PutOptions {
  signal?: AbortSignal;
  contentType?: string;
  size?: number;
  /**
   * Whether put resolves only once the object's name, not only its bytes, would outlive a power
   * cut (default true; on the filesystem, a sync of its folder). A staging area passes false:
   * what it holds is checked again after a crash, and publishing syncs the folders.
   */
  syncFolder?: boolean;
  /**
   * For a staging area with partials: keep this many bytes of the path's partial (a put a crash
   * cut short, see StagingArea.partials) and append the body to them.
   */
  resumeFrom?: number;
  /**
   * For a staging area with partials: whether an abort for this reason keeps the partial, as a
   * crash would, for a later put to resume (say, a shutdown); by default an abort keeps nothing.
   * What is kept is never trusted: a put that resumes it is told only how many bytes to keep.
   */
  keepPartialOn?: (reason: unknown) => boolean;
  /**
   * The SHA-256 (hex) the body must have, where the caller knows it. S3's putFinal may then send
   * the body in one PUT signed with it (the server checks it too) instead of in parts.
   */
  sha256?: string;
}
export interface PresignOptions {
  expiresInSeconds: number;
}
export interface ReadChunksOptions {
  range?: ByteRange;
  signal?: AbortSignal;
  /** Largest chunk, in bytes (a hint; default 256 KiB). */
  chunkSize?: number;
}
/** Inclusive end, like HTTP; an omitted end means "to the last byte". */
export interface ByteRange {
  start: number;
  end?: number;
}

/**
 * A place to keep blobs: one bucket of an S3 endpoint, or one directory of a filesystem.
 *
 * Keys are relative and '/'-separated (see normalizeKey). Prefixes for list/deletePrefix are
 * plain string prefixes, as in S3: "a/b" matches "a/b/x" and "a/bc"; pass "a/b/" for a folder.
 */
export interface StorageAdapter {
  readonly kind: "s3" | "filesystem";
  /**
   * Streams a body to key; aborts (and leaves nothing behind) when signal aborts. Readers never
   * see a partial object. `size`, when known, is the body's expected length: a hint (S3 sizes
   * its parts by it), not a check.
   */
  put(key: string, body: Readable, opts?: PutOptions): Promise<PutResult>;
  /** Rejects with StorageNotFoundError when missing, StorageRangeError when range.start is past the end. */
  get(key: string, opts?: { range?: ByteRange; signal?: AbortSignal }): Promise<Readable>;
  /**
   * The same bytes as get, as chunks that may share one reused buffer: a chunk is valid only until
   * the next one is asked for, so a consumer writes it out, and waits for that, before it asks.
   * Serving a large file this way makes next to no garbage (the filesystem reads into one buffer).
   * Rejects, on the first chunk asked for, as get does.
   */
  readChunks(key: string, opts?: ReadChunksOptions): AsyncIterable<Buffer>;
  /** null when missing. */
  stat(key: string): Promise<ObjectStat | null>;
  /** Every key under prefix, recursively. Do not rely on the order (S3 sorts by key; S3-compatible servers may not). */
  list(prefix: string): AsyncIterable<ObjectStat>;
  /** Server-side copy (S3 CopyObject; fs copyFile/reflink). Rejects with StorageNotFoundError when the source is missing. */
  copy(sourceKey: string, destKey: string): Promise<void>;
  /** Moves an object: a rename where the backend has one (filesystem), else copy then delete. The source is gone afterwards. */
  move(sourceKey: string, destKey: string): Promise<void>;
  /** No error if missing. */
  delete(key: string): Promise<void>;
  /** Returns how many objects were removed. An empty prefix is refused: wiping a store must be explicit. */
  deletePrefix(prefix: string): Promise<number>;
  presignGet(key: string, opts: PresignOptions): Promise<string>;
  // No presignPut: a PUT URL straight to the store would let bytes in that nobody hashed, as
  // often as it is used, at any key. Uploads go through the service (see UploadService).
  /** Throws when unreachable (used by /readyz). */
  ping(): Promise<void>;
  /**
   * The staging area for objects bound for keys under `finalPrefix`; `scratchPrefix` is where the
   * backend may keep visible staged objects (both end with '/', neither inside the other).
   */
  staging(finalPrefix: string, scratchPrefix: string): StagingArea;
}

/** What a staged write leaves behind: its size, and a receipt to keep for publishing it later, from any process. */
export interface StagedObject {
  size: number;
  /** Opaque; store it as given. */
  receipt: string;
}

/** A file of a staging area: its path there, and the receipt its put gave. */
export interface StagedFile {
  path: string;
  receipt: string;
}

/**
 * Where objects are written before they are published: nothing shows at their final keys
 * (`finalPrefix` + path) until `publish`, so a forced re-import keeps serving the old files. The
 * filesystem stages under the scratch prefix and renames. S3 leaves an object larger than one
 * part as a multipart upload at its final key, completed on publish (no byte is copied, and no
 * 5 GiB CopyObject limit), and a smaller one under the scratch prefix, copied on publish.
 */
export interface StagingArea {
  /** Streams body into staging; on error or abort nothing is kept (but a partial `keepPartialOn` asks for). */
  put(path: string, body: Readable, opts?: PutOptions): Promise<StagedObject>;
  /** Whether the object `receipt` names is still staged, whole (`size` bytes). */
  holds(path: string, receipt: string, size: number): Promise<boolean>;
  /**
   * Makes the staged object the one at its final key; it is then no longer staged. Rejects with
   * StorageNotFoundError when nothing is staged under receipt (say, this area published it
   * already). A backend may leave the published object's staged copy until `clear`, so another
   * area (after a crash) may publish the same bytes again.
   */
  publish(path: string, receipt: string): Promise<void>;
  /**
   * Publishes the whole area in one step, where the backend can (a folder rename on the
   * filesystem): only when nothing is under the final prefix yet and the area holds exactly
   * `staged`. True when it did: each file is at its final key and none is staged. False when it
   * did nothing, and the caller publishes the files one by one.
   */
  publishAll?(staged: readonly StagedFile[]): Promise<boolean>;
  /**
   * Stores body straight at its final key, where a backend gains by it over put then publish
   * (S3: no scratch copy, and the upload is completed beside the other transfers instead of all
   * at the end, which on s3rver rewrites every part). The object appears there only once the
   * body has ended without error, so the caller ends the body only after checking every byte;
   * on error or abort nothing is kept. The receipt, PLACED_RECEIPT, names nothing staged. An
   * import uses it only where nothing of the revision is served from the final prefix.
   */
  putFinal?(path: string, body: Readable, opts?: PutOptions): Promise<StagedObject>;
  /** Drops everything staged in this area (and staged copies left by publish), whoever wrote it and whether or not its receipt was kept; published objects stay. */
  clear(): Promise<void>;
  /**
   * What puts cut short by a crash left, that a put may resume (`resumeFrom`): the bytes kept of
   * each path. Only where the backend keeps them (the filesystem); absent elsewhere.
   */
  partials?(): Promise<Map<string, number>>;
  /** The first `length` bytes of path's partial, to hash them again before resuming (chunks valid until the next, as readChunks). */
  readPartial?(path: string, length: number, signal?: AbortSignal): AsyncIterable<Buffer>;
  /**
   * Drops what puts cut short by a crash left behind, but the partials of `resume` and the
   * objects `staged` names: partial files on the filesystem, pending multipart uploads on S3
   * (which keep their parts, and their cost, until aborted).
   */
  dropAbandoned(staged: readonly StagedFile[], resume: ReadonlySet<string>): Promise<void>;
}

/** The receipt of an object `putFinal` stored at its final key. */
export const PLACED_RECEIPT = "placed";

export class StorageKeyError extends Error {
  override readonly name = "StorageKeyError";
  /** A key is refused the same way every time: an import that meets one fails at once. */
  readonly retryable = false;
  constructor(readonly key: string, reason: string) {
    super(`invalid storage key ${JSON.stringify(key)}: ${reason}`);
  }
}

export class StorageNotFoundError extends Error {
  override readonly name = "StorageNotFoundError";
  constructor(readonly key: string) {
    super(`no object at ${JSON.stringify(key)}`);
  }
}

export class StorageRangeError extends Error {
  override readonly name = "StorageRangeError";
  constructor(readonly key: string, readonly range: ByteRange, readonly size?: number) {
    super(`range ${range.start}-${range.end ?? ""} not satisfiable for ${JSON.stringify(key)}`);
  }
}

const MAX_KEY_BYTES = 1024; // S3's limit, applied to both adapters so keys stay portable

/**
 * Validates a key and returns it unchanged. Both adapters must accept exactly the same keys,
 * so anything a filesystem would reinterpret ('.', '..', empty segments, '\\', control
 * characters) is refused rather than rewritten.
 */
export function normalizeKey(key: string): string {
  validatePath(key, "key");
  if (key.endsWith("/")) throw new StorageKeyError(key, "must not end with '/'");
  return key;
}

/** Like normalizeKey, but "" (everything) and a trailing '/' are allowed. */
export function normalizePrefix(prefix: string): string {
  if (prefix === "") return prefix;
  validatePath(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix, "prefix", prefix);
  return prefix;
}

function validatePath(value: string, what: string, original = value): void {
  if (typeof value !== "string" || value.length === 0) throw new StorageKeyError(original, `${what} is empty`);
  if (Buffer.byteLength(original) > MAX_KEY_BYTES) throw new StorageKeyError(original, `longer than ${MAX_KEY_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new StorageKeyError(original, "contains a control character");
  if (value.includes("\\")) throw new StorageKeyError(original, "contains '\\'");
  if (value.startsWith("/")) throw new StorageKeyError(original, "is absolute");
  for (const segment of value.split("/")) {
    if (segment === "") throw new StorageKeyError(original, "has an empty segment");
    if (segment === "." || segment === "..") throw new StorageKeyError(original, `has a '${segment}' segment`);
  }
}

const MAX_PRESIGN_SECONDS = 7 * 24 * 3600; // SigV4's limit, applied to both adapters

/** Returns expiresInSeconds after checking it is a whole number of seconds S3 would accept. */
export function checkPresignOptions({ expiresInSeconds }: PresignOptions): number {
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_PRESIGN_SECONDS) {
    throw new RangeError(`expiresInSeconds must be an integer in 1..${MAX_PRESIGN_SECONDS}, got ${expiresInSeconds}`);
  }
  return expiresInSeconds;
}

export function checkByteRange(key: string, range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw new StorageRangeError(key, range);
  }
}
