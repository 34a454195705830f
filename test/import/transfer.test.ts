import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { loadConfig } from "../../src/config/config";
import { ImportCancelledError, ImportInterruptedError, PermanentImportError } from "../../src/import/import.errors";
import type { FileSource, ImportFile, OpenedFile } from "../../src/import/import.ports";
import { HashingError, HashPool } from "../../src/import/pipeline/hash";
import { transferFile, type TransferContext } from "../../src/import/pipeline/transfer";
import { configuredVerifiers, pickleKind } from "../../src/import/pipeline/verifiers";
import { FilesystemStorageAdapter } from "../../src/storage/fs.adapter";
import { LinkSigner } from "../../src/storage/link-signer";
import { objectBytes, waitFor } from "./support";

/* One file's transfer against a scripted source and a real filesystem store: resume, restart, refuse. */

const BYTES = randomBytes(64 * 1024);
const SHA = createHash("sha256").update(BYTES).digest("hex");
const FILE: ImportFile = { id: "f", path: "weights.bin", size: String(BYTES.length), sha256: SHA, upstreamOid: null };

/** One answer of a scripted source: its bytes (cut short after `breakAfter`), or a body of its own. */
type Reply = { status?: 200 | 206; etag?: string | null; bytes?: Buffer; body?: Readable; breakAfter?: number; length?: number | null };

/** A source that answers each open with the next scripted reply, served from the requested offset. */
function scripted(replies: Array<(start: number) => Reply>): FileSource & { opens: Array<number> } {
  const opens: number[] = [];
  return {
    kind: "huggingface",
    opens,
    async open(_file, opts): Promise<OpenedFile> {
      const start = opts.range?.start ?? 0;
      opens.push(start);
      const reply = replies[Math.min(opens.length - 1, replies.length - 1)](start);
      const bytes = reply.bytes ?? Buffer.alloc(0);
      const body = reply.body ?? (reply.breakAfter === undefined
        ? Readable.from([bytes])
        : Readable.from((async function* () {
          yield bytes.subarray(0, reply.breakAfter);
          throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
        })()));
      const length = reply.length !== undefined ? reply.length : reply.body ? null : bytes.length;
      return { status: reply.status ?? (start > 0 ? 206 : 200), body, etag: reply.etag === undefined ? "v1" : reply.etag, contentLength: length };
    },
  };
}

/** A source whose answers are the given bodies, of unknown length. */
const withBodies = (bodies: Array<(start: number) => Readable>) => scripted(bodies.map((body) => (start: number) => ({ body: body(start) })));

function* chunksOf(bytes: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** The bytes in pieces of the given sizes, `everyMs` apart, then nothing more for a long while. */
function trickle(bytes: Buffer, sizes: number[], everyMs: number): Readable {
  return Readable.from((async function* () {
    let at = 0;
    for (const size of sizes) {
      yield bytes.subarray(at, at + size);
      at += size;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
    await new Promise((resolve) => setTimeout(resolve, 60_000));
  })());
}

let dir: string;
let adapter: FilesystemStorageAdapter;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ar-transfer-"));
  adapter = new FilesystemStorageAdapter({ basePath: dir, signer: new LinkSigner("x".repeat(32)), publicUrl: "http://127.0.0.1", store: "t" });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

let hashes: HashPool;

function context(source: FileSource, counted: { bytes: number }): TransferContext {
  return { source, staging: adapter.staging("final/", "staging/"), signal: new AbortController().signal, onBytes: (n) => (counted.bytes += n), retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 }, hashes };
}

// Small slabs, so that a 64 KiB file crosses many of them when hashed in a thread.
describe.each([
  ["in place", 0],
  ["in a hashing thread", 1],
])("transferFile, hashing %s", (_how, threads) => {
  beforeAll(() => {
    hashes = new HashPool({ threads, offloadFrom: 0, slabBytes: 4096, slabsPerStream: 2 });
  });
  afterAll(() => hashes.close());

  it("resumes a broken body with a Range request into the same hash and upload", async () => {
    const source = scripted([
      () => ({ bytes: BYTES, breakAfter: 10_000 }),
      (start) => ({ bytes: BYTES.subarray(start) }),
    ]);
    const counted = { bytes: 0 };
    const result = await transferFile(context(source, counted), FILE, "weights.bin");
    expect(result).toEqual({ sha256: SHA, size: BYTES.length, receipt: "scratch" });
    expect(source.opens).toEqual([0, 10_000]);
    expect(counted.bytes).toBe(BYTES.length);
    expect(await objectBytes(adapter, "staging/weights.bin")).toEqual(BYTES);
  });

  it("starts the file over when the source's ETag changed under the resume", async () => {
    const source = scripted([
      () => ({ bytes: BYTES, breakAfter: 10_000 }),
      (start) => ({ bytes: BYTES.subarray(start), etag: "v2" }),
      () => ({ bytes: BYTES, etag: "v2" }),
    ]);
    const counted = { bytes: 0 };
    await transferFile(context(source, counted), FILE, "weights.bin");
    expect(source.opens).toEqual([0, 10_000, 0]);
    expect(counted.bytes).toBe(BYTES.length);
    expect(await objectBytes(adapter, "staging/weights.bin")).toEqual(BYTES);
  });

  it("refuses a source whose length differs from the manifest before reading a byte", async () => {
    const source = scripted([() => ({ bytes: BYTES.subarray(1) })]);
    const attempt = transferFile(context(source, { bytes: 0 }), FILE, "weights.bin");
    await expect(attempt).rejects.toThrow(PermanentImportError);
    await expect(attempt).rejects.toThrow(`Size mismatch for weights.bin: the manifest says ${BYTES.length} bytes, the source has ${BYTES.length - 1}`);
  });

  it("leaves nothing in the store when the hash does not match", async () => {
    const tampered = Buffer.from(BYTES);
    tampered[100] ^= 1;
    const source = scripted([() => ({ bytes: tampered })]);
    const counted = { bytes: 0 };
    await expect(transferFile(context(source, counted), FILE, "weights.bin")).rejects.toThrow(`Checksum mismatch for weights.bin: expected SHA-256 ${SHA}`);
    expect(await adapter.stat("staging/weights.bin")).toBeNull();
    // The bytes were written to a partial file before the hash was known: it is gone, with its folder.
    expect(await readdir(dir)).toEqual([]);
    expect(counted.bytes).toBe(0);
  });

  it("gives up after the configured breaks without progress", async () => {
    const source = scripted([() => ({ bytes: BYTES, breakAfter: 0 })]);
    await expect(transferFile(context(source, { bytes: 0 }), FILE, "weights.bin")).rejects.toThrow("socket hang up");
    expect(source.opens).toHaveLength(4);
  });

  it("drops a body that brings too few bytes over the stall window, and asks for the rest", async () => {
    const source = withBodies([
      // 100 bytes, then a trickle too thin for the window.
      (start) => trickle(BYTES.subarray(start), [100, 1, 1, 1, 1, 1, 1, 1, 1, 1], 10),
      (start) => Readable.from([BYTES.subarray(start)]),
    ]);
    const result = await transferFile({ ...context(source, { bytes: 0 }), stall: { windowMs: 40, minBytes: 1000 } }, FILE, "weights.bin");

    expect(result.sha256).toBe(SHA);
    expect(source.opens[0]).toBe(0);
    expect(source.opens).toHaveLength(2);
    expect(source.opens[1]).toBeGreaterThanOrEqual(100);
  });

  it("gives up on a file after maxReconnects requests beyond the first, though each one made progress", async () => {
    const source = scripted([(start) => ({ bytes: BYTES.subarray(start), breakAfter: 1000, length: null })]);
    const attempt = transferFile({ ...context(source, { bytes: 0 }), maxReconnects: 3 }, FILE, "weights.bin");

    await expect(attempt).rejects.toMatchObject({
      name: "TooManyReconnectsError",
      retryable: true,
      message: "gave up on weights.bin after 3 reconnect(s) (IMPORT_MAX_RECONNECTS_PER_FILE=3); the last break: socket hang up",
    });
    expect(source.opens).toEqual([0, 1000, 2000, 3000]);
    expect(await adapter.stat("staging/weights.bin")).toBeNull();
  });

  it("continues the partial a crashed attempt kept: its bytes are hashed again, and only the rest is asked for", async () => {
    await adapter.put("staging.partial/weights.bin", Readable.from([BYTES.subarray(0, 10_000)]));
    const source = scripted([(start) => ({ bytes: BYTES.subarray(start) })]);
    const counted = { bytes: 0 };

    const result = await transferFile(context(source, counted), FILE, "weights.bin", 10_000);

    expect(result).toEqual({ sha256: SHA, size: BYTES.length, receipt: "scratch" });
    expect(source.opens).toEqual([10_000]);
    expect(counted.bytes).toBe(BYTES.length);
    expect(await objectBytes(adapter, "staging/weights.bin")).toEqual(BYTES);
    expect(await adapter.stat("staging.partial/weights.bin")).toBeNull();
  });

  it("starts over from byte 0 when the kept bytes do not match, rather than calling the source wrong", async () => {
    const damaged = Buffer.from(BYTES.subarray(0, 10_000));
    damaged[5] ^= 0xff;
    await adapter.put("staging.partial/weights.bin", Readable.from([damaged]));
    const source = scripted([(start) => ({ bytes: BYTES.subarray(start) })]);

    const result = await transferFile(context(source, { bytes: 0 }), FILE, "weights.bin", 10_000);

    expect(result.sha256).toBe(SHA);
    expect(source.opens).toEqual([10_000, 0]);
    expect(await objectBytes(adapter, "staging/weights.bin")).toEqual(BYTES);
  });

  it("starts over from byte 0 when the source cannot continue the kept bytes (no 206)", async () => {
    await adapter.put("staging.partial/weights.bin", Readable.from([BYTES.subarray(0, 10_000)]));
    const source = scripted([(start) => ({ status: 200, bytes: BYTES.subarray(start) })]);

    const result = await transferFile(context(source, { bytes: 0 }), FILE, "weights.bin", 10_000);

    expect(result.sha256).toBe(SHA);
    expect(source.opens).toEqual([10_000, 0]);
  });

  it("does not count the time storage takes as a stall", async () => {
    const big = randomBytes(1024 * 1024);
    const file: ImportFile = { id: "b", path: "big.bin", size: String(big.length), sha256: createHash("sha256").update(big).digest("hex"), upstreamOid: null };
    const source = withBodies([(start) => Readable.from(chunksOf(big.subarray(start), 4096))]);
    let reads = 0;
    // A store that takes 100 ms over every read, several times the stall window in all; the source always has bytes ready.
    const slow: TransferContext["staging"] = {
      put: async (_path, body) => {
        let size = 0;
        for await (const chunk of body) {
          size += (chunk as Buffer).length;
          reads++;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return { size, receipt: "slow" };
      },
    };
    const result = await transferFile({ ...context(source, { bytes: 0 }), staging: slow, stall: { windowMs: 200, minBytes: 10 * big.length } }, file, "big.bin");

    expect(result).toMatchObject({ receipt: "slow", size: big.length });
    expect(source.opens).toEqual([0]);
    expect(reads).toBeGreaterThan(2);
  });
});

describe("transferFile stopped mid-file", () => {
  beforeAll(() => {
    hashes = new HashPool({ threads: 0, offloadFrom: 0 });
  });
  afterAll(() => hashes.close());

  it.each([
    ["interrupted (a shutdown, a lost lock): the partial stays, for the next attempt to resume", new ImportInterruptedError("the server is shutting down"), 10_000],
    ["cancelled: the partial goes", new ImportCancelledError("the import was cancelled"), undefined],
  ])("%s", async (_what, reason, kept) => {
    // The first 10,000 bytes, then nothing until the request is aborted.
    const source: FileSource = {
      kind: "huggingface",
      async open(_file, opts): Promise<OpenedFile> {
        const body = new PassThrough();
        body.write(BYTES.subarray(0, 10_000));
        opts.signal.addEventListener("abort", () => body.destroy(opts.signal.reason), { once: true });
        return { status: 200, body, etag: "v1", contentLength: BYTES.length };
      },
    };
    const controller = new AbortController();
    const attempt = transferFile({ ...context(source, { bytes: 0 }), signal: controller.signal }, FILE, "weights.bin");
    await waitFor("10,000 bytes in the partial", async () => (await adapter.stat("staging.partial/weights.bin"))?.size === 10_000);

    controller.abort(reason);

    await expect(attempt).rejects.toBe(reason);
    expect((await adapter.stat("staging.partial/weights.bin"))?.size).toBe(kept);
    expect(await adapter.stat("staging/weights.bin")).toBeNull();
  });
});

describe("transferFile with a hashing thread that goes away", () => {
  it("fails the file at once, retryable, without reading it again, and leaves nothing in the store", async () => {
    hashes = new HashPool({ threads: 1, offloadFrom: 0, slabBytes: 4096 });
    let closed = false;
    const source: FileSource & { opens: number } = {
      kind: "huggingface",
      opens: 0,
      async open(): Promise<OpenedFile> {
        source.opens++;
        const body = Readable.from((async function* () {
          for (let at = 0; at < BYTES.length; at += 8192) {
            if (at >= 32 * 1024 && !closed) {
              closed = true;
              await hashes.close();
            }
            yield BYTES.subarray(at, at + 8192);
          }
        })());
        return { status: 200, body, etag: "v1", contentLength: BYTES.length };
      },
    };
    const attempt = transferFile(context(source, { bytes: 0 }), FILE, "weights.bin");
    await expect(attempt).rejects.toThrow(HashingError);
    await expect(attempt).rejects.toMatchObject({ retryable: true });
    expect(source.opens).toBe(1);
    expect(await adapter.stat("staging/weights.bin")).toBeNull();
  });
});

describe("verifiers and configuration", () => {
  it("recognises pickles and torch zip archives by their first bytes", () => {
    expect(pickleKind(Buffer.from([0x80, 0x04, 0x95]))).toBe("pickle");
    expect(pickleKind(Buffer.from("PK\u0003\u0004", "latin1"))).toBe("torch-zip");
    expect(pickleKind(Buffer.from('{"a":1}'))).toBeNull();
    expect(pickleKind(Buffer.from([0x80, 0x09]))).toBeNull();
  });

  it("reads the IMPORT_* variables with their documented defaults", () => {
    expect(loadConfig({}).import).toEqual({
      worker: true, concurrency: 2, fileConcurrency: 4, requireApproval: false, maxAttempts: 5, maxCrashes: 3,
      retryDelaySeconds: 10, pollIntervalSeconds: 2, recoveryIntervalSeconds: 60, picklePolicy: "warn", hashThreads: "auto",
      stall: { windowSeconds: 60, minBytes: 1024 * 1024 }, maxReconnectsPerFile: 20,
    });
    expect(loadConfig({ IMPORT_WORKER: "false", IMPORT_REQUIRE_APPROVAL: "1", IMPORT_PICKLE_POLICY: "off" }).import).toMatchObject({ worker: false, requireApproval: true, picklePolicy: "off" });
    expect(configuredVerifiers({ picklePolicy: "off" })).toEqual([]);
    expect(() => loadConfig({ IMPORT_WORKER: "maybe", IMPORT_CONCURRENCY: "0" })).toThrow(/IMPORT_WORKER[\s\S]*IMPORT_CONCURRENCY|IMPORT_CONCURRENCY[\s\S]*IMPORT_WORKER/);
  });
});
