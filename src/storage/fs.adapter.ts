import { randomUUID } from "node:crypto";
import { constants, createWriteStream, type BigIntStats, type Dirent } from "node:fs";
import { access, copyFile, lstat, mkdir, open, readdir, realpath, rename, rm, rmdir, stat, truncate, unlink, type FileHandle } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { addAbortSignal, Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { LinkOp, LinkSigner } from "./link-signer";
import { SCRATCH_RECEIPT, ScratchStaging } from "./staging";
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
  type PutOptions,
  type PutResult,
  type ReadChunksOptions,
  type StagedFile,
  type StagedObject,
  type StagingArea,
  type StorageAdapter,
} from "./storage.port";

export interface FilesystemStorageOptions {
  /** Directory holding the objects; created on first use. */
  basePath: string;
  signer: LinkSigner;
  /**
   * Origin the app is reachable at (links point to `${publicUrl}/storage/fs/...`); a function
   * when it is known only once the server listens (PORT=0).
   */
  publicUrl: string | (() => string);
  /** Identity of this store (e.g. the storage namespace id); signed into every link. */
  store: string;
}

/**
 * What a put's file stream buffers ahead of the disk (Node's default is 16 KiB): the writer needs
 * room to keep the download going while the disk catches up.
 */
const WRITE_BEHIND_BYTES = 1024 * 1024;

/**
 * Bytes a resumable put writes between two requests that the disk catch up (an fdatasync the
 * writes do not wait for): the fsync that makes the file durable at its end then finds little
 * left to write. Without them a 1 GiB import's weights were all still in the page cache after
 * the last byte, and their fsyncs took 0.3–0.9 s more (benchmark.md, 2026-12-03 late evening).
 */
const CATCH_UP_BYTES = 32 * 1024 * 1024;

/** Passes the bytes on to the file's stream, asking the disk to catch up every CATCH_UP_BYTES, one request at a time. */
class DiskCatchUp extends Transform {
  private unsynced = 0;
  private syncing: Promise<void> | null = null;
  private failure: { error: Error } | null = null;

  constructor(private readonly handle: FileHandle) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.unsynced += chunk.length;
    if (this.unsynced >= CATCH_UP_BYTES && !this.syncing) {
      this.unsynced = 0;
      this.syncing = this.handle.datasync().then(
        () => {
          this.syncing = null;
        },
        (error: Error) => {
          this.failure ??= { error };
          this.syncing = null;
        },
      );
    }
    done(this.failure?.error ?? null, chunk);
  }

  /** Waits for the request in flight (it never rejects); throws what a request met. */
  async settled(): Promise<void> {
    await this.syncing;
    if (this.failure) throw this.failure.error;
  }
}

/** Chunks of readChunks: large enough that a chunk's overhead is small, small enough to cost nothing held. */
const READ_CHUNK_BYTES = 256 * 1024;

/** Uploads are staged here, on the same filesystem, so the final rename is atomic. Keys may not start with it. */
const TMP_DIR = ".tmp";
/**
 * A temporary file untouched this long belongs to no put still running: its process was killed.
 * Removed when a process first uses the store. A put writes as its bytes arrive, and a transfer
 * that stalls this long has been given up long before (IMPORT_STALL_WINDOW_SECONDS).
 */
const ABANDONED_TMP_MS = 60 * 60 * 1000;

/** One directory of a local filesystem; presigned links are served by createFsLinkRouter. */
export class FilesystemStorageAdapter implements StorageAdapter {
  readonly kind = "filesystem";
  readonly basePath: string;
  readonly store: string;
  private readonly signer: LinkSigner;
  private readonly publicUrl: () => string;
  private realBase?: Promise<string>;

  constructor(options: FilesystemStorageOptions) {
    this.basePath = resolve(options.basePath);
    this.signer = options.signer;
    const { publicUrl } = options;
    this.publicUrl = typeof publicUrl === "string" ? () => publicUrl : publicUrl;
    this.store = options.store;
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const target = this.pathOf(key);
    const { signal } = opts;
    signal?.throwIfAborted();
    await this.assertInside(key, dirname(target));
    const tmp = await this.tempPath();
    try {
      await pipeline(body, createWriteStream(tmp, { flags: "wx", flush: true, highWaterMark: WRITE_BEHIND_BYTES }), { signal });
      const stats = await stat(tmp, { bigint: true });
      const changed = await this.commit(key, tmp, target);
      // An upload answered 200 (through an upload link) must still be there after a power cut.
      if (opts.syncFolder !== false) await syncDirs(changed);
      return { key, size: Number(stats.size), etag: etagOf(stats) };
    } catch (err) {
      body.destroy();
      await rm(tmp, { force: true });
      throw signal?.aborted ? signal.reason : err;
    }
  }

  /**
   * put() through a partial file at `partialKey` instead of a temporary one, so that what a crash
   * cuts short stays there for a later put to resume: `resumeFrom` keeps that many bytes of the
   * partial and appends the body. An error or an abort removes the partial, as put leaves nothing,
   * but for an abort whose reason `keepPartialOn` accepts: that keeps it, as a kill would.
   */
  async putResumable(partialKey: string, key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const target = this.pathOf(key);
    const partial = this.pathOf(partialKey);
    const { signal } = opts;
    signal?.throwIfAborted();
    await this.assertInside(key, dirname(target));
    const resumeFrom = opts.resumeFrom ?? 0;
    let handle: FileHandle | undefined;
    try {
      if (resumeFrom > 0) {
        await this.assertInside(partialKey, dirname(partial));
        // Only a regular file of ours is continued: never a link that would write elsewhere.
        if (!(await lstat(partial)).isFile()) throw new StorageNotFoundError(partialKey);
        await truncate(partial, resumeFrom);
        handle = await open(partial, "r+");
      } else {
        handle = await this.createFresh(partialKey, partial);
      }
      // The stream closes the handle at its end, which waits for a request in flight.
      const catchUp = new DiskCatchUp(handle);
      await pipeline(body, catchUp, createWriteStream("", { fd: handle, start: resumeFrom, flush: true, highWaterMark: WRITE_BEHIND_BYTES }), { signal });
      await catchUp.settled();
      const stats = await stat(partial, { bigint: true });
      const changed = await this.commit(key, partial, target);
      await this.prune(dirname(partial));
      if (opts.syncFolder !== false) await syncDirs(changed);
      return { key, size: Number(stats.size), etag: etagOf(stats) };
    } catch (err) {
      body.destroy();
      // Closed before the put settles: no late write may land in a partial that another put resumes.
      await handle?.close().catch(() => undefined);
      if (!(signal?.aborted && opts.keepPartialOn?.(signal.reason))) {
        await rm(partial, { force: true });
        await this.prune(dirname(partial));
      }
      throw signal?.aborted ? signal.reason : err;
    }
  }

  /**
   * Creates the file at path (replacing one there) in a folder made as needed. A put beside it
   * that ends may prune the folder, empty for a moment, between the mkdir and the open: then again.
   */
  private async createFresh(key: string, path: string): Promise<FileHandle> {
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(dirname(path), { recursive: true });
        await this.assertInside(key, dirname(path));
        await rm(path, { force: true });
        return await open(path, "wx");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt === 5) throw err;
      }
    }
  }

  async get(key: string, opts: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<Readable> {
    const { handle, start, end } = await this.openRange(key, opts);
    let stream: Readable;
    try {
      stream = handle.createReadStream(opts.range ? { start, end: end - 1 } : {});
    } catch (err) {
      await handle.close();
      throw err;
    }
    return opts.signal ? addAbortSignal(opts.signal, stream) : stream;
  }

  /** Reads into one buffer, reused for every chunk: no garbage per chunk, unlike a read stream. */
  async *readChunks(key: string, opts: ReadChunksOptions = {}): AsyncIterable<Buffer> {
    const { handle, start, end } = await this.openRange(key, opts);
    try {
      const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(opts.chunkSize ?? READ_CHUNK_BYTES, end - start)));
      for (let position = start; position < end; ) {
        opts.signal?.throwIfAborted();
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
        if (bytesRead === 0) break; // the file shrank under us: end here, as a stream would
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }

  /** The open file of key and the byte span [start, end) to read: the range, clamped to the file. */
  private async openRange(key: string, opts: { range?: ByteRange; signal?: AbortSignal }): Promise<{ handle: FileHandle; start: number; end: number }> {
    const path = this.pathOf(key);
    const { range, signal } = opts;
    signal?.throwIfAborted();
    if (range) checkByteRange(key, range);
    const real = await this.realFile(key, path);
    const handle = await open(real, "r").catch((err) => {
      throw isMissing(err) ? new StorageNotFoundError(key) : err;
    });
    try {
      const { size } = await handle.stat();
      if (range && range.start >= size) throw new StorageRangeError(key, range, size);
      return { handle, start: range?.start ?? 0, end: range ? Math.min((range.end ?? size - 1) + 1, size) : size };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async stat(key: string): Promise<ObjectStat | null> {
    const path = this.pathOf(key);
    try {
      return toObjectStat(key, await stat(await this.realFile(key, path), { bigint: true }));
    } catch (err) {
      if (err instanceof StorageNotFoundError) return null;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectStat> {
    normalizePrefix(prefix);
    const dirKey = prefix.slice(0, prefix.lastIndexOf("/") + 1);
    const dir = join(this.basePath, ...dirKey.split("/"));
    if (!(await this.isInside(dir))) return;
    yield* this.walk(dir, dirKey, prefix);
  }

  async copy(sourceKey: string, destKey: string): Promise<void> {
    const sourcePath = this.pathOf(sourceKey);
    const target = this.pathOf(destKey);
    const source = await this.realFile(sourceKey, sourcePath);
    if (sourceKey === destKey) return;
    await this.assertInside(destKey, dirname(target));
    const tmp = await this.tempPath();
    try {
      // FICLONE reflinks on btrfs/XFS and falls back to a byte copy elsewhere.
      await copyFile(source, tmp, constants.COPYFILE_FICLONE);
      await syncFile(tmp);
      await syncDirs(await this.commit(destKey, tmp, target));
    } catch (err) {
      await rm(tmp, { force: true });
      throw isMissing(err) ? new StorageNotFoundError(sourceKey) : err;
    }
  }

  /** A rename: no byte is copied, readers see either the old object or the new one, and it is on disk once this resolves. */
  async move(sourceKey: string, destKey: string): Promise<void> {
    const sourcePath = this.pathOf(sourceKey);
    const target = this.pathOf(destKey);
    const source = await this.realFile(sourceKey, sourcePath);
    if (sourceKey === destKey) return;
    const changed = await this.commit(destKey, source, target);
    // A move publishes a staged file, which is noted next: it must outlive a power cut first.
    await syncDirs([...changed, dirname(source)]);
    // The directories the source leaves empty go, as after delete.
    await this.prune(dirname(sourcePath));
  }

  /**
   * Renames the folder of `sourcePrefix` to `destPrefix` in one step, which moves each of `paths`
   * (relative to the prefixes) to its key under destPrefix. Only when nothing is at destPrefix yet
   * and the folder holds exactly those regular files, and nothing else but the folders they are
   * in: true when it did, false (nothing moved) otherwise. One rename is quicker than a move per file.
   */
  async renameFolder(sourcePrefix: string, destPrefix: string, paths: readonly string[]): Promise<boolean> {
    for (const prefix of [sourcePrefix, destPrefix]) {
      normalizePrefix(prefix);
      if (!prefix.endsWith("/")) throw new StorageKeyError(prefix, "a folder prefix must end with '/'");
    }
    const sourceKey = sourcePrefix.slice(0, -1);
    const destKey = destPrefix.slice(0, -1);
    const source = this.pathOf(sourceKey);
    const dest = this.pathOf(destKey);
    if (dest.startsWith(source + sep) || source.startsWith(dest + sep)) throw new StorageKeyError(destPrefix, `must not overlap ${JSON.stringify(sourcePrefix)}`);
    // Where a symlink would take either folder elsewhere, the files go one by one (and are refused there).
    const base = await this.base();
    const plain = (key: string) => join(base, ...key.split("/"));
    if ((await this.realDir(source)) !== plain(sourceKey)) return false;
    if (await occupied(dest)) return false;
    const held = await this.filesIn(source, "");
    if (held === null || held.size !== paths.length || paths.some((path) => !held.has(path))) return false;
    if (!(await this.isInside(dirname(dest)))) return false;
    // The staged files' own entries were not synced when they were written (see PutOptions.syncFolder).
    await syncDirs([source, ...new Set(paths.map((path) => dirname(join(source, ...path.split("/")))))]);
    const created = await mkdir(dirname(dest), { recursive: true });
    if ((await this.realDir(dirname(dest))) !== dirname(plain(destKey))) return false;
    try {
      await rename(source, dest);
    } catch (err) {
      // Something got there first, or the folder went: the caller goes file by file.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST" || isMissing(err)) return false;
      throw err;
    }
    // The caller notes every file as placed next: the rename must outlive a power cut first.
    await syncDirs([...foldersChanged(created, dirname(dest)), dirname(source)]);
    await this.prune(dirname(source));
    return true;
  }

  async delete(key: string): Promise<void> {
    await this.remove(key, this.pathOf(key));
  }

  async deletePrefix(prefix: string): Promise<number> {
    normalizePrefix(prefix);
    if (prefix === "") throw new StorageKeyError(prefix, "refusing to delete every object");
    const keys: string[] = [];
    for await (const { key } of this.list(prefix)) keys.push(key);
    let removed = 0;
    for (const key of keys) if (await this.remove(key, this.pathOf(key))) removed++;
    return removed;
  }

  async presignGet(key: string, opts: PresignOptions): Promise<string> {
    return this.link(key, "get", opts);
  }

  async ping(): Promise<void> {
    await access(await this.base(), constants.R_OK | constants.W_OK);
  }

  staging(finalPrefix: string, scratchPrefix: string): StagingArea {
    return new FilesystemStaging(this, finalPrefix, scratchPrefix);
  }

  private link(key: string, op: Extract<LinkOp, "get">, opts: PresignOptions): string {
    this.pathOf(key);
    // Rounded up so a link never lives shorter than asked.
    const exp = Math.ceil((this.signer.now() + checkPresignOptions(opts) * 1000) / 1000);
    const sig = this.signer.sign({ store: this.store, key, op, exp });
    const query = new URLSearchParams({ ns: this.store, exp: String(exp), op, sig });
    return `${this.publicUrl().replace(/\/+$/, "")}/storage/fs/${key.split("/").map(encodeURIComponent).join("/")}?${query}`;
  }

  /** The path for key, refusing anything that would land outside basePath or in the staging dir. */
  private pathOf(key: string): string {
    normalizeKey(key);
    if (key === TMP_DIR || key.startsWith(`${TMP_DIR}/`)) throw new StorageKeyError(key, `'${TMP_DIR}/' is reserved`);
    const path = resolve(this.basePath, ...key.split("/"));
    if (!path.startsWith(this.basePath + sep)) throw new StorageKeyError(key, "resolves outside the store");
    return path;
  }

  private base(): Promise<string> {
    this.realBase ??= mkdir(this.basePath, { recursive: true })
      .then(() => realpath(this.basePath))
      .then((real) => {
        // In the background: nothing waits for what a killed process left behind.
        void sweepAbandonedTemporaries(join(real, TMP_DIR), ABANDONED_TMP_MS);
        return real;
      })
      .catch((err) => {
        this.realBase = undefined;
        throw err;
      });
    return this.realBase;
  }

  /** Whether the existing part of path stays under the base once symlinks are resolved. */
  private async isInside(path: string): Promise<boolean> {
    const base = await this.base();
    for (let p = path; ; p = dirname(p)) {
      try {
        const real = await realpath(p);
        return real === base || real.startsWith(base + sep);
      } catch (err) {
        if (!isMissing(err) || p === dirname(p)) throw err;
      }
    }
  }

  private async assertInside(key: string, path: string): Promise<void> {
    if (!(await this.isInside(path))) throw new StorageKeyError(key, "resolves outside the store");
  }

  /** The real path of key's file; StorageNotFoundError unless it is a regular file inside the base. */
  private async realFile(key: string, path: string): Promise<string> {
    let real: string;
    try {
      real = await realpath(path);
    } catch (err) {
      throw isMissing(err) ? new StorageNotFoundError(key) : err;
    }
    const base = await this.base();
    if (!real.startsWith(base + sep)) throw new StorageKeyError(key, "resolves outside the store");
    const stats = await stat(real);
    if (!stats.isFile()) throw new StorageNotFoundError(key);
    return real;
  }

  private async tempPath(): Promise<string> {
    const dir = join(await this.base(), TMP_DIR);
    await mkdir(dir, { recursive: true });
    return join(dir, randomUUID());
  }

  /**
   * Renames tmp to target, making its folders as needed. Returns the folders whose entries changed
   * (target's, every folder made, and the parent of the first), for callers that sync them.
   */
  private async commit(key: string, tmp: string, target: string): Promise<string[]> {
    let created: string | undefined;
    // A concurrent delete may prune the parent between mkdir and rename; retry a few times.
    for (let attempt = 1; ; attempt++) {
      const made = await mkdir(dirname(target), { recursive: true });
      if (made !== undefined && (created === undefined || made.length < created.length)) created = made;
      await this.assertInside(key, dirname(target));
      try {
        await rename(tmp, target);
        return foldersChanged(created, dirname(target));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt === 3) throw err;
      }
    }
  }

  /** Unlinks key's file and prunes directories it leaves empty; false when there was nothing to remove. */
  private async remove(key: string, path: string): Promise<boolean> {
    await this.assertInside(key, dirname(path));
    try {
      await unlink(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (isMissing(err) || code === "EISDIR" || code === "EPERM") return false;
      throw err;
    }
    await this.prune(dirname(path));
    return true;
  }

  /** Removes dir if it is empty, then its parents while they are, up to the base. */
  private async prune(dir: string): Promise<void> {
    for (; dir !== this.basePath && dir.startsWith(this.basePath + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or already gone): stop pruning
      }
    }
  }

  /** The real path of the directory at path, or null when there is none. */
  private async realDir(path: string): Promise<string | null> {
    try {
      const real = await realpath(path);
      return (await stat(real)).isDirectory() ? real : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /**
   * The paths of the regular files under dir, relative to it; null when it holds anything else
   * (a symlink, a device, an empty directory), which a folder rename would carry along.
   */
  private async filesIn(dir: string, relative: string, found = new Set<string>()): Promise<Set<string> | null> {
    const entries = await readdir(dir, { withFileTypes: true });
    if (entries.length === 0) return null;
    for (const entry of entries) {
      const path = relative + entry.name;
      if (entry.isFile()) found.add(path);
      else if (!entry.isDirectory() || (await this.filesIn(join(dir, entry.name), `${path}/`, found)) === null) return null;
    }
    return found;
  }

  private async *walk(dir: string, dirKey: string, prefix: string): AsyncGenerator<ObjectStat> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    // Sorting "name/" for directories yields keys in the byte order S3 lists them in.
    const sortName = (e: Dirent) => Buffer.from(e.isDirectory() ? `${e.name}/` : e.name);
    entries.sort((a, b) => Buffer.compare(sortName(a), sortName(b)));
    for (const entry of entries) {
      const key = dirKey + entry.name;
      if (entry.isDirectory()) {
        if (dirKey === "" && entry.name === TMP_DIR) continue;
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* this.walk(join(dir, entry.name), sub, prefix);
      } else if (entry.isFile() && key.startsWith(prefix) && isValidKey(key)) {
        try {
          yield toObjectStat(key, await stat(join(dir, entry.name), { bigint: true }));
        } catch (err) {
          if (!isMissing(err)) throw err; // deleted while listing
        }
      }
      // Symlinks are never followed.
    }
  }
}

/**
 * Staging in a folder of scratch files, which publishes a whole area with one rename where it
 * can. A put writes through a partial file beside the folder (`.staging/<id>.partial/<path>`),
 * which a crash leaves for the next attempt to resume.
 */
class FilesystemStaging extends ScratchStaging {
  private readonly partialPrefix: string;

  constructor(
    private readonly files: FilesystemStorageAdapter,
    finalPrefix: string,
    scratchPrefix: string,
  ) {
    super(files, finalPrefix, scratchPrefix);
    this.partialPrefix = `${scratchPrefix.slice(0, -1)}.partial/`;
  }

  override async put(path: string, body: Readable, opts: PutOptions = {}): Promise<StagedObject> {
    // Its name need not be durable yet: a crash means the file is checked again, and publishing syncs folders.
    const { size } = await this.files.putResumable(this.partialPrefix + path, this.scratchKey(path), body, { ...opts, syncFolder: false });
    return { size, receipt: SCRATCH_RECEIPT };
  }

  async partials(): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for await (const { key, size } of this.files.list(this.partialPrefix)) found.set(key.slice(this.partialPrefix.length), size);
    return found;
  }

  readPartial(path: string, length: number, signal?: AbortSignal): AsyncIterable<Buffer> {
    return this.files.readChunks(this.partialPrefix + path, { range: { start: 0, end: length - 1 }, signal });
  }

  override async dropAbandoned(_staged: readonly StagedFile[], resume: ReadonlySet<string>): Promise<void> {
    for (const path of (await this.partials()).keys()) if (!resume.has(path)) await this.files.delete(this.partialPrefix + path);
  }

  override async clear(): Promise<void> {
    await super.clear();
    await this.files.deletePrefix(this.partialPrefix);
  }

  async publishAll(staged: readonly StagedFile[]): Promise<boolean> {
    if (staged.length === 0 || staged.some((file) => file.receipt !== SCRATCH_RECEIPT)) return false;
    return this.files.renameFolder(this.scratchPrefix, this.finalPrefix, staged.map((file) => file.path));
  }
}

/**
 * Makes the entries of dir (a rename into or out of it) durable. A folder gone already (pruned by
 * a move beside this one, once empty) has nothing left to keep.
 */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, "r");
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes the temporary files in dir not written to for `ageMs`; what fails to go is left for the next start. */
async function sweepAbandonedTemporaries(dir: string, ageMs: number): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  const before = Date.now() - ageMs;
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(dir, entry.name);
    try {
      if ((await stat(path)).mtimeMs < before) await unlink(path);
    } catch {
      // Renamed into place or removed by its put meanwhile.
    }
  }
}

/** Syncs the folders at once. */
async function syncDirs(dirs: string[]): Promise<void> {
  await Promise.all(dirs.map(syncDir));
}

/**
 * The folders whose entries a new entry in `folder` changed: folder itself and, when mkdir made
 * `created` and the folders below it down to folder, each of those and created's parent.
 */
function foldersChanged(created: string | undefined, folder: string): string[] {
  const changed = [folder];
  if (created === undefined) return changed;
  for (let dir = folder; dir !== created && dir.startsWith(created + sep); dir = dirname(dir)) changed.push(dirname(dir));
  changed.push(dirname(created));
  return [...new Set(changed)];
}

/** Makes the bytes of the file at path durable (a read-only descriptor will do, and works on a read-only copy). */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Whether anything (a file, a folder, a symlink, even a dangling one) is at path. */
async function occupied(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

function isValidKey(key: string): boolean {
  try {
    normalizeKey(key);
    return true;
  } catch {
    return false;
  }
}

// Size and nanosecond mtime change whenever the file is replaced, without hashing it.
const etagOf = (s: BigIntStats): string => `${s.size.toString(16)}-${s.mtimeNs.toString(16)}`;

const toObjectStat = (key: string, s: BigIntStats): ObjectStat => ({
  key,
  size: Number(s.size),
  etag: etagOf(s),
  lastModified: new Date(Number(s.mtimeMs)),
});
