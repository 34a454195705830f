import { createHash, type Hash } from "node:crypto";
import { readFileSync } from "node:fs";
import os from "node:os";
import { Worker } from "node:worker_threads";

/** What a file's bytes hash to: SHA-256 always, the git blob SHA-1 when it was asked for. */
export interface FileDigests {
  sha256: string;
  gitSha1: string | null;
}

/**
 * Hashes one stream of bytes, in order. `update` copies what it is given, so the caller may
 * hand the same chunk on to an upload; it returns false when the caller should wait for
 * `ready()` before the next chunk (the hasher then holds all the memory it is allowed).
 */
export interface StreamHasher {
  update(chunk: Buffer): boolean;
  ready(): Promise<void>;
  /** The digests of every byte given to `update`; the hasher is spent afterwards. */
  digest(): Promise<FileDigests>;
  /** Forgets the stream (after an abort); pending waits reject. */
  dispose(): void;
}

/** The hashing thread failed (it crashed, or the pool was closed): another attempt gets a new one. */
export class HashingError extends Error {
  override readonly name = "HashingError";
  readonly retryable = true;
}

export interface HashPoolOptions {
  /** Hashing threads; 0 hashes every stream on the calling thread. */
  threads: number;
  /** Streams shorter than this (8 MiB) are hashed on the calling thread: a round trip would cost more than it saves. */
  offloadFrom?: number;
  /**
   * Bytes handed to a thread at once (1 MiB). Each slab costs a message each way and a turn of
   * the thread's event loop, so smaller slabs cost more CPU per byte.
   */
  slabBytes?: number;
  /** Slabs one stream may have in flight (2: one hashing, one filling): its memory bound is slabBytes × this. */
  slabsPerStream?: number;
  /**
   * How long a thread with no stream is kept (5 s) before it is stopped: an idle thread holds its
   * heap and its malloc arena (8–9 MiB of resident memory after an import) for nothing.
   */
  idleThreadMs?: number;
}

const MiB = 1024 * 1024;

/*
 * Without the CPU's SHA extensions, SHA-256 costs more CPU than everything else the import does
 * to a byte. On the event loop it serialises with the download
 * and the upload; in a thread it overlaps them. A thread owns the hash state of each stream it
 * is given, so the bytes go to it in order, in slabs that are copied once, transferred (not
 * cloned) and handed back for reuse.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const streams = new Map();
parentPort.on("message", (m) => {
  if (m.op === "open") {
    streams.set(m.id, { sha256: createHash("sha256"), sha1: m.gitBlobSize === null ? null : createHash("sha1").update("blob " + m.gitBlobSize + "\\0") });
  } else if (m.op === "update") {
    const s = streams.get(m.id);
    if (s) {
      const bytes = new Uint8Array(m.buf, 0, m.length);
      s.sha256.update(bytes);
      if (s.sha1) s.sha1.update(bytes);
    }
    parentPort.postMessage({ op: "slab", id: m.id, buf: m.buf }, [m.buf]);
  } else if (m.op === "digest") {
    const s = streams.get(m.id);
    streams.delete(m.id);
    parentPort.postMessage({ op: "digest", id: m.id, sha256: s.sha256.digest("hex"), gitSha1: s.sha1 ? s.sha1.digest("hex") : null });
  } else if (m.op === "drop") {
    streams.delete(m.id);
  }
});
`;

type FromWorker = { op: "slab"; id: number; buf: ArrayBuffer } | { op: "digest"; id: number; sha256: string; gitSha1: string | null };

/** Hashing threads shared by every transfer of the process. */
export class HashPool {
  readonly threads: number;
  private readonly offloadFrom: number;
  private readonly slabBytes: number;
  private readonly slabsPerStream: number;
  private readonly idleThreadMs: number;
  private readonly workers: Array<HashThread | null>;
  private nextId = 1;

  constructor(options: HashPoolOptions) {
    this.threads = Math.max(0, Math.floor(options.threads));
    this.offloadFrom = options.offloadFrom ?? 8 * MiB;
    this.slabBytes = options.slabBytes ?? MiB;
    this.slabsPerStream = Math.max(1, options.slabsPerStream ?? 2);
    this.idleThreadMs = Math.max(0, options.idleThreadMs ?? 5_000);
    this.workers = Array.from({ length: this.threads }, () => null);
  }

  /**
   * A hasher for a stream of `expectedSize` bytes; `gitBlobSize` asks for the git blob SHA-1 too
   * (its header names the size, so it must be known up front).
   */
  open(expectedSize: number, gitBlobSize: number | null): StreamHasher {
    if (this.threads === 0 || expectedSize < this.offloadFrom) return new InlineHasher(gitBlobSize);
    return new OffloadedHasher(this.leastBusy(), this.nextId++, gitBlobSize, this.slabBytes, this.slabsPerStream);
  }

  /** Threads started and not stopped: they start with the first stream that needs one. */
  get runningThreads(): number {
    return this.workers.filter((w) => w !== null && !w.dead).length;
  }

  /** Stops the threads (streams still open fail). */
  async close(): Promise<void> {
    const running = this.workers.filter((w): w is HashThread => w !== null);
    this.workers.fill(null);
    await Promise.all(running.map((w) => w.terminate()));
  }

  private leastBusy(): HashThread {
    let best = -1;
    for (let i = 0; i < this.workers.length; i++) {
      const worker = this.workers[i];
      if (!worker || worker.dead) {
        this.workers[i] = new HashThread(this.idleThreadMs);
        return this.workers[i]!;
      }
      if (best < 0 || worker.streams.size < this.workers[best]!.streams.size) best = i;
    }
    return this.workers[best]!;
  }
}

/*
 * One core's SHA-256 rate (MB/s) from which hashing counts as cheap: it lies between the rates of
 * CPUs without SHA extensions and those of CPUs with them.
 */
const FAST_HASH_MB_PER_S = 800;

/** What decides where hashing pays: cores to run on, and how fast one of them hashes. */
export interface MachineFacts {
  cores: number;
  sha256MBps: number;
}

/**
 * Hashing threads for imports into one kind of storage when IMPORT_HASH_THREADS is "auto".
 * - One core: none. A thread could only take turns with the event loop.
 * - Slow SHA-256: one thread per core beyond the event loop's (at most four), whatever the storage.
 * - Fast SHA-256: one thread for the filesystem, none for S3. Writing a file costs the event loop
 *   little, so hashing on it is what the import waits for, and a thread speeds it up. An S3
 *   import waits for its uploads: a thread gains it nothing and adds its isolate to the peak memory.
 */
export function autoHashThreads(storageKind: string, machine: MachineFacts): number {
  if (machine.cores < 2) return 0;
  if (machine.sha256MBps < FAST_HASH_MB_PER_S) return Math.min(4, machine.cores - 1);
  return storageKind === "filesystem" ? 1 : 0;
}

/** This machine's facts, measured once per process (the SHA-256 rate takes a few milliseconds). */
export const thisMachine: () => MachineFacts = (() => {
  let facts: MachineFacts | undefined;
  return () => (facts ??= { cores: Math.min(os.availableParallelism(), cgroupCpuLimit() ?? Infinity), sha256MBps: sha256Rate() });
})();

/**
 * Whole CPUs a cgroup quota leaves this process (a container's `--cpus`), or null without one:
 * Node 20 counts the CPUs the process may run on, not how much of them it may use.
 */
export function cgroupCpuLimit(read: (path: string) => string = (path) => readFileSync(path, "utf8")): number | null {
  const attempt = (path: string) => {
    try {
      return read(path).trim();
    } catch {
      return null;
    }
  };
  const v2 = attempt("/sys/fs/cgroup/cpu.max"); // "max 100000", or "150000 100000" for 1.5 CPUs
  const [quota, period] = v2 !== null ? v2.split(/\s+/) : [attempt("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), attempt("/sys/fs/cgroup/cpu/cpu.cfs_period_us")];
  const cpus = Number(quota) / Number(period);
  return Number.isFinite(cpus) && cpus > 0 ? Math.max(1, Math.floor(cpus)) : null;
}

/** Where the imports into each kind of storage hash their files: one pool per thread count, started on first use. */
export class HashPlacement {
  private readonly pools = new Map<number, HashPool>();
  private closed = false;

  /** `threads`: a count for every storage, or "auto" (see autoHashThreads). */
  constructor(
    private readonly threads: number | "auto",
    private readonly machine: () => MachineFacts = thisMachine,
  ) {}

  /** After close, a pool without threads: a run still unwinding must not start one that nothing would stop. */
  poolFor(storageKind: string): HashPool {
    const threads = this.closed ? 0 : this.threads === "auto" ? autoHashThreads(storageKind, this.machine()) : this.threads;
    let pool = this.pools.get(threads);
    if (!pool) this.pools.set(threads, (pool = new HashPool({ threads })));
    return pool;
  }

  /** Stops every pool's threads (streams still open fail). */
  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.close()));
  }
}

let shared: HashPool | undefined;

/** The process's pool for callers that name no storage: threads only where SHA-256 is slow. */
export function sharedHashPool(): HashPool {
  shared ??= new HashPool({ threads: autoHashThreads("unknown", thisMachine()) });
  return shared;
}

/** This core's SHA-256 rate in MB/s: the better of two passes over `mebibytes` (8 MiB take a few milliseconds with SHA extensions). */
export function sha256Rate(mebibytes = 8): number {
  const block = Buffer.alloc(MiB, 0x5a);
  let best = 0;
  for (let pass = 0; pass < 2; pass++) {
    const started = process.hrtime.bigint();
    const hash = createHash("sha256");
    for (let i = 0; i < mebibytes; i++) hash.update(block);
    hash.digest();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    best = Math.max(best, (mebibytes * MiB) / 1e6 / Math.max(seconds, 1e-9));
  }
  return best;
}

class InlineHasher implements StreamHasher {
  private readonly sha256: Hash = createHash("sha256");
  private readonly sha1: Hash | null;

  constructor(gitBlobSize: number | null) {
    this.sha1 = gitBlobSize === null ? null : createHash("sha1").update(`blob ${gitBlobSize}\0`);
  }

  update(chunk: Buffer): boolean {
    this.sha256.update(chunk);
    this.sha1?.update(chunk);
    return true;
  }

  async ready(): Promise<void> {}

  async digest(): Promise<FileDigests> {
    return { sha256: this.sha256.digest("hex"), gitSha1: this.sha1?.digest("hex") ?? null };
  }

  dispose(): void {}
}

/**
 * One hashing thread; it is referenced only while it has streams, so an idle pool never keeps the
 * process alive, and it stops once it has had none for `idleMs` (the pool then starts another).
 */
class HashThread {
  readonly streams = new Map<number, OffloadedHasher>();
  dead = false;
  private readonly worker: Worker;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly idleMs: number) {
    // It allocates next to nothing itself: a small heap keeps its resident set small.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, name: "import-hash", resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 } });
    this.worker.unref();
    this.worker.on("message", (message: FromWorker) => this.streams.get(message.id)?.receive(message));
    const fail = (error: HashingError) => {
      if (this.dead) return;
      this.dead = true;
      clearTimeout(this.idleTimer);
      for (const stream of [...this.streams.values()]) stream.fail(error);
      this.streams.clear();
    };
    this.worker.on("error", (error) => fail(new HashingError(`the hashing thread failed: ${error.message}`, { cause: error })));
    this.worker.on("exit", (code) => fail(new HashingError(`the hashing thread exited with code ${code}`)));
  }

  attach(stream: OffloadedHasher): void {
    clearTimeout(this.idleTimer);
    if (this.streams.size === 0) this.worker.ref();
    this.streams.set(stream.id, stream);
  }

  detach(id: number): void {
    if (!this.streams.delete(id) || this.streams.size > 0) return;
    this.worker.unref();
    if (this.idleMs === 0) this.retire();
    else this.idleTimer = setTimeout(() => this.retire(), this.idleMs).unref();
  }

  /** Stops an idle thread; marked dead first, so the pool never hands it another stream. */
  private retire(): void {
    if (this.dead || this.streams.size > 0) return;
    this.dead = true;
    void this.worker.terminate();
  }

  post(message: object, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(message, transfer);
  }

  async terminate(): Promise<void> {
    clearTimeout(this.idleTimer);
    await this.worker.terminate();
  }
}

class OffloadedHasher implements StreamHasher {
  /** Slabs back from the thread, ready to fill. */
  private readonly free: ArrayBuffer[] = [];
  private allocated = 0;
  private current: Uint8Array | null = null;
  private filled = 0;
  /** Bytes given while every slab was in flight; copied as slabs come back. */
  private readonly backlog: Buffer[] = [];
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private result: { resolve: (digests: FileDigests) => void; reject: (error: unknown) => void } | null = null;
  private failure: unknown = null;
  private done = false;

  constructor(
    private readonly thread: HashThread,
    readonly id: number,
    gitBlobSize: number | null,
    private readonly slabBytes: number,
    private readonly maxSlabs: number,
  ) {
    thread.attach(this);
    thread.post({ op: "open", id, gitBlobSize });
  }

  update(chunk: Buffer): boolean {
    if (this.failure) throw this.failure;
    if (this.done) throw new Error("update after digest");
    if (this.backlog.length > 0) {
      this.backlog.push(chunk);
      return false;
    }
    const rest = this.fill(chunk);
    if (rest) this.backlog.push(rest);
    return rest === null;
  }

  ready(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.backlog.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  async digest(): Promise<FileDigests> {
    await this.ready();
    if (this.done) throw new Error("digest twice");
    this.done = true;
    if (this.current && this.filled > 0) this.send();
    return new Promise<FileDigests>((resolve, reject) => {
      this.result = { resolve, reject };
      this.thread.post({ op: "digest", id: this.id });
    });
  }

  dispose(): void {
    if (!this.thread.dead && !this.failure) this.thread.post({ op: "drop", id: this.id });
    this.fail(new HashingError("the hash was dropped"));
  }

  receive(message: FromWorker): void {
    if (message.op === "slab") {
      this.free.push(message.buf);
      this.drainBacklog();
      return;
    }
    this.thread.detach(this.id);
    this.result?.resolve({ sha256: message.sha256, gitSha1: message.gitSha1 });
    this.result = null;
  }

  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error;
    this.thread.detach(this.id);
    this.backlog.length = 0;
    for (const waiter of this.waiters) waiter.reject(error);
    this.waiters = [];
    this.result?.reject(error);
    this.result = null;
  }

  /** Copies as much of chunk as the slabs take; returns what is left over, or null. */
  private fill(chunk: Buffer): Buffer | null {
    let at = 0;
    while (at < chunk.length) {
      if (!this.current && !this.takeSlab()) return chunk.subarray(at);
      const slab = this.current!;
      const n = Math.min(chunk.length - at, slab.length - this.filled);
      slab.set(chunk.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === slab.length) this.send();
    }
    return null;
  }

  private takeSlab(): boolean {
    const buf = this.free.pop() ?? (this.allocated < this.maxSlabs ? (this.allocated++, new ArrayBuffer(this.slabBytes)) : null);
    if (!buf) return false;
    this.current = new Uint8Array(buf);
    this.filled = 0;
    return true;
  }

  private send(): void {
    const buf = this.current!.buffer as ArrayBuffer;
    this.thread.post({ op: "update", id: this.id, buf, length: this.filled }, [buf]);
    this.current = null;
    this.filled = 0;
  }

  private drainBacklog(): void {
    while (this.backlog.length > 0) {
      const rest = this.fill(this.backlog[0]);
      if (rest) {
        this.backlog[0] = rest;
        return;
      }
      this.backlog.shift();
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }
}
