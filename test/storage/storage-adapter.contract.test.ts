import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, open, readdir, readlink, realpath, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import express from "express";
import { FilesystemStorageAdapter } from "../../src/storage/fs.adapter";
import { createFsLinkRouter } from "../../src/storage/fs-link.router";
import { LinkSigner } from "../../src/storage/link-signer";
import { partSizeFor, S3StorageAdapter } from "../../src/storage/s3.adapter";
import {
  PLACED_RECEIPT,
  StorageKeyError,
  StorageNotFoundError,
  StorageRangeError,
  type StorageAdapter,
} from "../../src/storage/storage.port";
import { SCRATCH_RECEIPT } from "../../src/storage/staging";
import { startS3rver } from "../support/s3rver";

interface Harness {
  adapter: StorageAdapter;
  /** Added to the time presigned links are dated: a link dated in the past has lived that long. */
  clock: { offsetMs: number };
  /** Writes begun and neither finished nor abandoned: S3's pending multipart uploads under prefix, the filesystem's temporary files. */
  pending(prefix: string): Promise<string[]>;
  stop(): Promise<void>;
}

async function startS3(): Promise<Harness> {
  const s3 = await startS3rver();
  const clock = { offsetMs: 0 };
  const adapter = new S3StorageAdapter({
    now: () => new Date(Date.now() + clock.offsetMs),
    endPoint: s3.endpoint,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    region: s3.region,
    bucket: "contract",
  });
  await adapter.ensureBucket();
  await adapter.ensureBucket(); // idempotent
  return { adapter, clock, pending: (prefix: string) => s3.pendingUploads("contract", prefix), stop: () => s3.stop() };
}

async function startFilesystem() {
  const root = await mkdtemp(join(tmpdir(), "fs-storage-"));
  const basePath = join(root, "base");
  const clock = { offsetMs: 0 };
  const signer = new LinkSigner(randomBytes(32), () => Date.now() + clock.offsetMs);
  const store = "ns-contract";
  const app = express();
  // Requests only arrive after `adapter` below is initialised.
  app.use("/storage/fs", createFsLinkRouter({ signer, resolve: (s) => (s === store ? adapter : undefined) }));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const adapter = new FilesystemStorageAdapter({ basePath, signer, publicUrl: origin, store });
  return {
    adapter,
    clock,
    // No temporary folder yet (nothing was ever written) is no pending write; any other error is a failure.
    pending: async () => readdir(join(basePath, ".tmp")).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [];
      throw error;
    }),
    root,
    basePath,
    signer,
    store,
    origin,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rm(root, { recursive: true, force: true });
    },
  };
}

const MiB = 1024 * 1024;

/** A body of unknown length: irregular chunks produced lazily. */
function streamOf(data: Buffer): Readable {
  return Readable.from(
    (async function* () {
      for (let offset = 0, i = 0; offset < data.length; i++) {
        const size = 64 * 1024 + (i % 7) * 1013;
        yield data.subarray(offset, (offset += size));
      }
    })(),
    { objectMode: false },
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The paths whose FileHandle.sync ran while work did (Linux names a descriptor's path in /proc/self/fd). */
async function syncedDuring(work: () => Promise<unknown>): Promise<string[]> {
  const handle = await open(tmpdir(), "r");
  const prototype = Object.getPrototypeOf(handle) as { sync(): Promise<void> };
  await handle.close();
  const synced: string[] = [];
  const original = prototype.sync;
  const spy = jest.spyOn(prototype, "sync").mockImplementation(async function (this: { fd: number }) {
    synced.push(await readlink(`/proc/self/fd/${this.fd}`));
    return original.call(this);
  });
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return synced;
}
/** For tests that read which descriptor was synced from /proc/self/fd. */
const onLinux = process.platform === "linux" ? test : test.skip;

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until check holds, for at most 10 s. */
async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 10_000; !(await check()); await sleep(20)) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the condition");
  }
}

describe.each([
  ["s3", startS3],
  ["filesystem", startFilesystem],
] as const)("the %s storage adapter", (_kind, start) => {
  let harness: Harness;
  let adapter: StorageAdapter;
  let p: string; // every test works under its own prefix

  beforeAll(async () => {
    harness = await start();
    adapter = harness.adapter;
  });
  afterAll(() => harness?.stop());
  beforeEach(() => {
    p = `t-${randomUUID()}/`;
  });

  const putBytes = (key: string, data: Buffer) => adapter.put(key, streamOf(data));

  test("get returns exactly the bytes put from a multi-part stream of unknown length", async () => {
    const data = randomBytes(20 * MiB + 12_345);
    const result = await putBytes(`${p}big.bin`, data);
    expect(result).toMatchObject({ key: `${p}big.bin`, size: data.length });
    expect(sha256(await readAll(await adapter.get(`${p}big.bin`)))).toBe(sha256(data));
  });

  test.each([
    ["exactly one 8 MiB part", 8 * MiB, undefined],
    ["exactly two parts", 16 * MiB, undefined],
    ["one byte over a part", 8 * MiB + 1, undefined],
    ["its announced size", 9 * MiB + 7, 9 * MiB + 7],
    ["less than announced", 3 * MiB, 5 * MiB],
    ["more than announced, past a part", 9 * MiB, 2 * MiB],
    ["more than announced, an empty announcement", 1000, 0],
  ])("a body of %s round-trips", async (_what, length, size) => {
    const data = randomBytes(length);
    const result = await adapter.put(`${p}sized.bin`, streamOf(data), { size });
    expect(result.size).toBe(length);
    expect(sha256(await readAll(await adapter.get(`${p}sized.bin`)))).toBe(sha256(data));
  });

  test("a small body and an empty body round-trip", async () => {
    const small = randomBytes(1000);
    await putBytes(`${p}small`, small);
    await adapter.put(`${p}empty`, Readable.from([]));
    expect(await readAll(await adapter.get(`${p}small`))).toEqual(small);
    expect((await readAll(await adapter.get(`${p}empty`))).length).toBe(0);
    expect(await adapter.stat(`${p}empty`)).toMatchObject({ size: 0 });
  });

  test("put replaces an existing object and its etag changes", async () => {
    await putBytes(`${p}k`, Buffer.from("first version"));
    const before = await adapter.stat(`${p}k`);
    await putBytes(`${p}k`, Buffer.from("second, longer version"));
    const after = await adapter.stat(`${p}k`);
    expect((await readAll(await adapter.get(`${p}k`))).toString()).toBe("second, longer version");
    expect(after?.etag).toBeTruthy();
    expect(after?.etag).not.toBe(before?.etag);
  });

  test("keys with spaces and non-ASCII characters round-trip, including through presigned links", async () => {
    const key = `${p}dir with space/ünïcødé ✓.bin`;
    await putBytes(key, Buffer.from("unicode"));
    expect((await collect(adapter.list(p))).map((o) => o.key)).toEqual([key]);
    const res = await fetch(await adapter.presignGet(key, { expiresInSeconds: 60 }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("unicode");
  });

  test("stat returns size, etag and lastModified of an object and null for a missing one", async () => {
    await putBytes(`${p}k`, randomBytes(4321));
    const stat = await adapter.stat(`${p}k`);
    expect(stat).toMatchObject({ key: `${p}k`, size: 4321 });
    expect(stat?.etag).toBeTruthy();
    expect(stat?.lastModified).toBeInstanceOf(Date);
    expect(await adapter.stat(`${p}missing`)).toBeNull();
    expect(await adapter.stat(`${p}k/below-a-file`)).toBeNull();
  });

  test("get of a missing key rejects with StorageNotFoundError", async () => {
    await expect(adapter.get(`${p}missing`)).rejects.toBeInstanceOf(StorageNotFoundError);
  });

  describe("with objects at a/b/1, a/b/2/x, a/b-c, a/bc and z", () => {
    beforeEach(async () => {
      for (const key of ["a/b/1", "a/b/2/x", "a/bc", "a/b-c", "z"]) await putBytes(p + key, Buffer.from(key));
    });
    const keysUnder = async (prefix: string) =>
      (await collect(adapter.list(prefix))).map((o) => o.key.slice(p.length)).sort();

    test("list of a folder prefix returns exactly the keys inside it, recursively, with sizes", async () => {
      const listed = await collect(adapter.list(`${p}a/b/`));
      expect(listed.map((o) => [o.key.slice(p.length), o.size]).sort()).toEqual([
        ["a/b/1", 5],
        ["a/b/2/x", 7],
      ]);
    });

    test("list treats the prefix as a plain string prefix, not a folder", async () => {
      expect(await keysUnder(`${p}a/b`)).toEqual(["a/b-c", "a/b/1", "a/b/2/x", "a/bc"]);
      expect(await keysUnder(p)).toEqual(["a/b-c", "a/b/1", "a/b/2/x", "a/bc", "z"]);
      expect(await keysUnder(`${p}nothing/`)).toEqual([]);
    });

    test("deletePrefix removes only the keys under the prefix and returns how many", async () => {
      expect(await adapter.deletePrefix(`${p}a/b/`)).toBe(2);
      expect(await keysUnder(p)).toEqual(["a/b-c", "a/bc", "z"]);
      expect(await adapter.deletePrefix(`${p}nothing/`)).toBe(0);
    });

    test("deletePrefix refuses the empty prefix", async () => {
      await expect(adapter.deletePrefix("")).rejects.toBeInstanceOf(StorageKeyError);
      expect(await keysUnder(p)).toHaveLength(5);
    });
  });

  test("copy makes an independent object that stays readable after the source is deleted", async () => {
    const data = randomBytes(3 * MiB);
    await putBytes(`${p}src`, data);
    await adapter.copy(`${p}src`, `${p}copies/dst`);
    await adapter.delete(`${p}src`);
    expect(sha256(await readAll(await adapter.get(`${p}copies/dst`)))).toBe(sha256(data));
    expect(await adapter.stat(`${p}copies/dst`)).toMatchObject({ size: data.length });
  });

  test("copy from a missing key rejects with StorageNotFoundError and creates nothing", async () => {
    await expect(adapter.copy(`${p}missing`, `${p}dst`)).rejects.toBeInstanceOf(StorageNotFoundError);
    expect(await adapter.stat(`${p}dst`)).toBeNull();
  });

  test("move puts the bytes at the new key, over an existing object, and leaves nothing at the old one", async () => {
    const data = randomBytes(2 * MiB);
    await putBytes(`${p}staging/a/src`, data);
    await putBytes(`${p}final/dst`, Buffer.from("old bytes"));
    await adapter.move(`${p}staging/a/src`, `${p}final/dst`);
    expect(sha256(await readAll(await adapter.get(`${p}final/dst`)))).toBe(sha256(data));
    expect(await adapter.stat(`${p}staging/a/src`)).toBeNull();
    expect(await collect(adapter.list(`${p}staging/`))).toEqual([]);
    await expect(adapter.move(`${p}staging/a/src`, `${p}final/other`)).rejects.toBeInstanceOf(StorageNotFoundError);
  });

  test("delete removes an object and is idempotent", async () => {
    await putBytes(`${p}k`, Buffer.from("x"));
    await adapter.delete(`${p}k`);
    expect(await adapter.stat(`${p}k`)).toBeNull();
    await expect(adapter.delete(`${p}k`)).resolves.toBeUndefined();
    await expect(adapter.delete(`${p}never-existed/at/all`)).resolves.toBeUndefined();
  });

  test("get with a range returns the exact inclusive slice", async () => {
    const data = randomBytes(1000);
    await putBytes(`${p}k`, data);
    const slice = async (start: number, end?: number) => readAll(await adapter.get(`${p}k`, { range: { start, end } }));
    expect(await slice(10, 19)).toEqual(data.subarray(10, 20));
    expect(await slice(0, 2)).toEqual(data.subarray(0, 3));
    expect(await slice(990)).toEqual(data.subarray(990));
    expect(await slice(500, 5000)).toEqual(data.subarray(500)); // end past the object is clamped
  });

  test("get with a range starting past the end rejects with StorageRangeError", async () => {
    await putBytes(`${p}k`, randomBytes(1000));
    await expect(adapter.get(`${p}k`, { range: { start: 1000 } })).rejects.toBeInstanceOf(StorageRangeError);
    await expect(adapter.get(`${p}k`, { range: { start: 5, end: 4 } })).rejects.toBeInstanceOf(StorageRangeError);
  });

  /** Copies each chunk before asking for the next, as the contract requires. */
  const readChunks = async (key: string, opts?: Parameters<StorageAdapter["readChunks"]>[1]) => {
    const chunks: Buffer[] = [];
    for await (const chunk of adapter.readChunks(key, opts)) chunks.push(Buffer.from(chunk));
    return { bytes: Buffer.concat(chunks), count: chunks.length };
  };

  test("readChunks gives the same bytes as get, whole or a range, in chunks of at most chunkSize", async () => {
    const data = randomBytes(300_000);
    await putBytes(`${p}k`, data);
    expect((await readChunks(`${p}k`)).bytes).toEqual(data);
    expect((await readChunks(`${p}k`, { range: { start: 10, end: 19 } })).bytes).toEqual(data.subarray(10, 20));
    expect((await readChunks(`${p}k`, { range: { start: 299_990 } })).bytes).toEqual(data.subarray(299_990));
    expect((await readChunks(`${p}k`, { range: { start: 1000, end: 900_000 } })).bytes).toEqual(data.subarray(1000));
    const small = await readChunks(`${p}k`, { chunkSize: 64 * 1024 });
    expect(small.bytes).toEqual(data);
    if (_kind === "filesystem") expect(small.count).toBe(Math.ceil(data.length / (64 * 1024)));
    await putBytes(`${p}empty`, Buffer.alloc(0));
    expect((await readChunks(`${p}empty`)).bytes.length).toBe(0);
  });

  test("readChunks rejects as get does: a missing object, a range past the end, an aborted read", async () => {
    await putBytes(`${p}k`, randomBytes(1000));
    await expect(readChunks(`${p}missing`)).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(readChunks(`${p}k`, { range: { start: 1000 } })).rejects.toBeInstanceOf(StorageRangeError);
    await expect(readChunks(`${p}k`, { range: { start: 5, end: 4 } })).rejects.toBeInstanceOf(StorageRangeError);
    const abort = new AbortController();
    abort.abort(new Error("client went away"));
    await expect(readChunks(`${p}k`, { signal: abort.signal })).rejects.toThrow("client went away");
  });

  test("a presigned GET URL serves the bytes to plain fetch", async () => {
    const data = randomBytes(100_000);
    await putBytes(`${p}k`, data);
    const res = await fetch(await adapter.presignGet(`${p}k`, { expiresInSeconds: 60 }));
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(data);
  });

  test("a presigned GET URL is refused once it has expired", async () => {
    await putBytes(`${p}k`, Buffer.from("secret"));
    // Signed 2.1 s ago: the one-second link has expired by now, the one-minute link has not.
    harness.clock.offsetMs = -2_100;
    const [expired, live] = await Promise.all([1, 60].map((expiresInSeconds) => adapter.presignGet(`${p}k`, { expiresInSeconds }))).finally(() => {
      harness.clock.offsetMs = 0;
    });
    const res = await fetch(expired);
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain("secret");
    expect(await (await fetch(live)).text()).toBe("secret");
  });

  test("a presigned GET URL cannot be used to write: the object stays as it was", async () => {
    const data = randomBytes(1000);
    await putBytes(`${p}k`, data);
    const url = await adapter.presignGet(`${p}k`, { expiresInSeconds: 60 });
    const res = await fetch(url, { method: "PUT", body: "overwritten" });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await readAll(await adapter.get(`${p}k`))).toEqual(data);
  });

  test("no adapter signs a PUT: uploads go through the service, which stages and hashes them", () => {
    expect("presignPut" in adapter).toBe(false);
  });

  test("presigning refuses lifetimes S3 would not accept", async () => {
    await expect(adapter.presignGet(`${p}k`, { expiresInSeconds: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(adapter.presignGet(`${p}k`, { expiresInSeconds: 8 * 24 * 3600 })).rejects.toBeInstanceOf(RangeError);
  });

  test("a put aborted mid-stream rejects with the abort reason and leaves no object", async () => {
    const controller = new AbortController();
    // Unbounded body that aborts after 20 MiB, when an S3 multipart upload is under way.
    const body = Readable.from(
      (async function* () {
        for (let sent = 0; sent < 256 * MiB; sent += MiB) {
          if (sent === 20 * MiB) controller.abort();
          yield randomBytes(MiB);
          await sleep(1);
        }
      })(),
      { objectMode: false },
    );
    await expect(adapter.put(`${p}aborted`, body, { signal: controller.signal })).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(body.destroyed).toBe(true);
    expect(await adapter.stat(`${p}aborted`)).toBeNull();
    expect(await collect(adapter.list(p))).toEqual([]);
    expect(await harness.pending(p)).toEqual([]);
  });

  test("a put with an already-aborted signal rejects without writing", async () => {
    await expect(
      adapter.put(`${p}k`, streamOf(Buffer.from("x")), { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ name: "AbortError" });
    expect(await adapter.stat(`${p}k`)).toBeNull();
  });

  describe("staging", () => {
    const area = () => adapter.staging(`${p}final/`, `${p}.staging/`);
    const bytesAt = async (key: string) => sha256(await readAll(await adapter.get(key)));

    test.each([
      ["larger than one S3 part", 20 * MiB + 12_345],
      ["of one part", 3000],
      ["empty", 0],
    ])("an object %s shows at its final key only once published, with the bytes staged, and only once", async (_what, length) => {
      const data = randomBytes(length);
      const staging = area();
      const staged = await staging.put("dir/model.bin", streamOf(data), { size: length });
      expect(staged.size).toBe(length);
      expect(await adapter.stat(`${p}final/dir/model.bin`)).toBeNull();
      // S3 keeps an object of several parts as a pending upload at its final key: nothing to copy on publish.
      expect(await harness.pending(p)).toEqual(_kind === "s3" && length > 8 * MiB ? [`${p}final/dir/model.bin`] : []);
      expect(await staging.holds("dir/model.bin", staged.receipt, length)).toBe(true);
      expect(await staging.holds("dir/model.bin", staged.receipt, length + 1)).toBe(false);

      await staging.publish("dir/model.bin", staged.receipt);
      expect(await bytesAt(`${p}final/dir/model.bin`)).toBe(sha256(data));
      expect(await staging.holds("dir/model.bin", staged.receipt, length)).toBe(false);
      await expect(staging.publish("dir/model.bin", staged.receipt)).rejects.toBeInstanceOf(StorageNotFoundError);
      expect(await harness.pending(p)).toEqual([]);
      // The filesystem moves the object out of staging; S3 deletes the scratch copies of what it
      // published in one batch, when the area is cleared.
      if (_kind === "filesystem") expect(await collect(adapter.list(`${p}.staging/`))).toEqual([]);
      await staging.clear();
      expect(await collect(adapter.list(`${p}.staging/`))).toEqual([]);
      expect(await bytesAt(`${p}final/dir/model.bin`)).toBe(sha256(data));
    });

    test.each([
      ["larger than one S3 part", 9 * MiB + 7, false],
      ["larger than one S3 part, of known SHA-256 (one streamed PUT on S3)", 9 * MiB + 7, true],
      ["of one part", 3000, false],
    ])("putFinal, where it exists, shows an object %s at its final key only once its body has ended, and nothing for a body that fails", async (_what, length, knownSha) => {
      const staging = area();
      if (_kind === "filesystem") {
        // The filesystem publishes a whole folder with one rename instead.
        expect(staging.putFinal).toBeUndefined();
        return;
      }
      if (!staging.putFinal) throw new Error("S3 staging stores files at their final keys");
      const key = `${p}final/dir/model.bin`;
      for (const ending of ["ends", "fails"] as const) {
        const data = randomBytes(length);
        const body = new PassThrough();
        body.write(data);
        const put = staging.putFinal("dir/model.bin", body, { size: length, ...(knownSha ? { sha256: sha256(data) } : {}) });
        put.catch(() => undefined);
        // Every byte taken in, the end held back: as an import does until the file's hash matched.
        for (let i = 0; body.readableLength > 0 || body.writableLength > 0; i++) {
          if (i > 200) throw new Error("the body was never read");
          await sleep(10);
        }
        expect(await adapter.stat(key)).toBeNull();
        if (ending === "fails") {
          body.destroy(new Error("checksum mismatch"));
          await expect(put).rejects.toThrow();
          expect(await adapter.stat(key)).toBeNull();
        } else {
          body.end();
          expect(await put).toEqual({ size: length, receipt: PLACED_RECEIPT });
          expect(await bytesAt(key)).toBe(sha256(data));
          await adapter.delete(key);
        }
        expect(await harness.pending(p)).toEqual([]);
      }
      await staging.clear();
      expect(await collect(adapter.list(p))).toEqual([]);
    });

    test("another area (a resumed attempt) may publish a staged copy that is still there, with the same bytes", async () => {
      const data = randomBytes(3000);
      const { receipt } = await area().put("model.bin", streamOf(data));
      await area().publish("model.bin", receipt);
      const again = area();
      // S3 publishes by copying, so the staged copy stays until the area is cleared; the filesystem moves it.
      const stagedCopyRemains = _kind === "s3";
      expect(await again.holds("model.bin", receipt, data.length)).toBe(stagedCopyRemains);
      if (stagedCopyRemains) await again.publish("model.bin", receipt);
      else await expect(again.publish("model.bin", receipt)).rejects.toBeInstanceOf(StorageNotFoundError);
      expect(await bytesAt(`${p}final/model.bin`)).toBe(sha256(data));
      await again.clear();
      expect(await collect(adapter.list(`${p}.staging/`))).toEqual([]);
    });

    test("readers get the object already at the final key until the staged one is published over it", async () => {
      const old = randomBytes(9 * MiB);
      const fresh = randomBytes(9 * MiB);
      await putBytes(`${p}final/model.bin`, old);
      const staging = area();
      const { receipt } = await staging.put("model.bin", streamOf(fresh));
      expect(await bytesAt(`${p}final/model.bin`)).toBe(sha256(old));
      await staging.publish("model.bin", receipt);
      expect(await bytesAt(`${p}final/model.bin`)).toBe(sha256(fresh));
    });

    test("clear drops everything staged, receipts kept or lost, and leaves published objects alone", async () => {
      const staging = area();
      const big = await staging.put("big.bin", streamOf(randomBytes(17 * MiB)));
      const small = await staging.put("small.bin", streamOf(randomBytes(100)));
      await staging.put("lost.bin", streamOf(randomBytes(10 * MiB))); // its receipt is never kept, as after a kill
      const kept = await staging.put("kept.bin", streamOf(Buffer.from("published")));
      await staging.publish("kept.bin", kept.receipt);

      await staging.clear();
      expect(await staging.holds("big.bin", big.receipt, 17 * MiB)).toBe(false);
      expect(await staging.holds("small.bin", small.receipt, 100)).toBe(false);
      await expect(staging.publish("big.bin", big.receipt)).rejects.toBeInstanceOf(StorageNotFoundError);
      expect(await harness.pending(p)).toEqual([]);
      expect(await collect(adapter.list(`${p}.staging/`))).toEqual([]);
      expect((await collect(adapter.list(`${p}final/`))).map((o) => o.key)).toEqual([`${p}final/kept.bin`]);
      expect((await readAll(await adapter.get(`${p}final/kept.bin`))).toString()).toBe("published");
    });

    test("a staging put aborted mid-stream leaves nothing staged", async () => {
      const controller = new AbortController();
      const body = Readable.from((async function* () {
        for (let sent = 0; sent < 64 * MiB; sent += MiB) {
          if (sent === 20 * MiB) controller.abort();
          yield randomBytes(MiB);
          await sleep(1);
        }
      })(), { objectMode: false });
      await expect(area().put("aborted.bin", body, { signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
      expect(await harness.pending(p)).toEqual([]);
      expect(await collect(adapter.list(p))).toEqual([]);
    });

    test("a staging put longer than the filesystem's disk catch-up interval (32 MiB) stores every byte in order", async () => {
      const data = randomBytes(40 * MiB);
      const staging = area();
      const { receipt } = await staging.put("long.bin", streamOf(data), { size: data.length });
      await staging.publish("long.bin", receipt);
      expect(await bytesAt(`${p}final/long.bin`)).toBe(sha256(data));
    });

    test("a staging put aborted for a reason keepPartialOn accepts keeps its partial to resume, where the backend has partials; another reason keeps nothing", async () => {
      const data = randomBytes(24 * MiB);
      const interrupted = (reason: string, keep: string) => {
        const controller = new AbortController();
        const body = Readable.from((async function* () {
          for (let sent = 0; sent < data.length; sent += MiB) {
            if (sent === 20 * MiB) controller.abort(new Error(reason));
            yield data.subarray(sent, sent + MiB);
            await sleep(1);
          }
        })(), { objectMode: false });
        return area().put("big.bin", body, { signal: controller.signal, keepPartialOn: (r) => (r as Error).message === keep });
      };

      await expect(interrupted("cancelled", "shutdown")).rejects.toThrow("cancelled");
      expect(await harness.pending(p)).toEqual([]);
      expect(await collect(adapter.list(p))).toEqual([]);

      await expect(interrupted("shutdown", "shutdown")).rejects.toThrow("shutdown");
      if (_kind === "s3") {
        // S3 has no partials to resume (the next attempt aborts what a put left): nothing stays.
        expect(await harness.pending(p)).toEqual([]);
        return;
      }
      const staging = area();
      const kept = (await staging.partials!()).get("big.bin") ?? 0;
      expect(kept).toBeGreaterThan(0);
      const partialHash = createHash("sha256");
      for await (const chunk of staging.readPartial!("big.bin", kept)) partialHash.update(chunk);
      expect(partialHash.digest("hex")).toBe(sha256(data.subarray(0, kept)));
      const { receipt } = await staging.put("big.bin", streamOf(data.subarray(kept)), { resumeFrom: kept });
      await staging.publish("big.bin", receipt);
      expect(await bytesAt(`${p}final/big.bin`)).toBe(sha256(data));
      expect(await staging.partials!()).toEqual(new Map());
    });

    test("dropAbandoned drops what puts cut short by a kill left, but the objects staged and the partials to resume", async () => {
      const staging = area();
      const kept = await staging.put("kept.bin", streamOf(randomBytes(9 * MiB)));
      // Its receipt was never noted, as after a kill: on S3 a pending upload nobody will complete.
      const lost = await staging.put("lost.bin", streamOf(randomBytes(9 * MiB)));
      if (_kind === "filesystem") {
        // What a kill leaves of two puts on the filesystem: their partial files.
        await putBytes(`${p}.staging.partial/resume.bin`, randomBytes(1000));
        await putBytes(`${p}.staging.partial/drop/me.bin`, randomBytes(500));
        expect(await staging.partials!()).toEqual(new Map([["drop/me.bin", 500], ["resume.bin", 1000]]));
      }

      await staging.dropAbandoned([{ path: "kept.bin", receipt: kept.receipt }], new Set(["resume.bin"]));

      expect(await staging.holds("kept.bin", kept.receipt, 9 * MiB)).toBe(true);
      if (_kind === "s3") {
        expect(await staging.holds("lost.bin", lost.receipt, 9 * MiB)).toBe(false);
        expect(await harness.pending(p)).toEqual([`${p}final/kept.bin`]);
      } else {
        expect(await staging.partials!()).toEqual(new Map([["resume.bin", 1000]]));
      }
      await staging.clear();
      expect(await collect(adapter.list(p))).toEqual([]);
      expect(await harness.pending(p)).toEqual([]);
    });

    test("a receipt it did not write holds nothing and publishes nothing", async () => {
      const staging = area();
      await staging.put("model.bin", streamOf(randomBytes(100)));
      expect(await staging.holds("model.bin", "upload:not-an-upload", 100)).toBe(false);
      await expect(staging.publish("model.bin", "upload:not-an-upload")).rejects.toBeInstanceOf(StorageNotFoundError);
      expect(await adapter.stat(`${p}final/model.bin`)).toBeNull();
    });

    test("the final and scratch prefixes must be folders apart from each other", () => {
      expect(() => adapter.staging(`${p}final`, `${p}.staging/`)).toThrow(StorageKeyError);
      expect(() => adapter.staging(`${p}final/`, `${p}final/.staging/`)).toThrow(StorageKeyError);
    });
  });

  const badKeys = ["../escape", "a/../../escape", "/etc/passwd", "a\u0000b", "a//b", "./a", "a/", ""];
  test.each(badKeys)("every operation rejects the key %j with StorageKeyError", async (key) => {
    const rejectsKey = (work: () => Promise<unknown>) => expect(work()).rejects.toBeInstanceOf(StorageKeyError);
    await rejectsKey(() => adapter.put(key, streamOf(Buffer.from("x"))));
    await rejectsKey(() => adapter.get(key));
    await rejectsKey(() => adapter.stat(key));
    await rejectsKey(() => adapter.delete(key));
    await rejectsKey(() => adapter.copy(key, `${p}ok`));
    await rejectsKey(() => adapter.copy(`${p}ok`, key));
    await rejectsKey(() => adapter.presignGet(key, { expiresInSeconds: 60 }));
  });

  test.each(["../", "/abs/", "a/../b/", "a\u0000/"])("list and deletePrefix reject the prefix %j", async (prefix) => {
    await expect(collect(adapter.list(prefix))).rejects.toBeInstanceOf(StorageKeyError);
    await expect(adapter.deletePrefix(prefix)).rejects.toBeInstanceOf(StorageKeyError);
  });

  test("ping resolves while the store is reachable", async () => {
    await expect(adapter.ping()).resolves.toBeUndefined();
  });
});

/** A request whose path goes on the wire exactly as given (fetch and URL parsing normalise dot segments). */
function rawRequest(origin: string, path: string, method = "GET"): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("S3 part sizes", () => {
  test("are max(8 MiB, size/10,000) in whole MiB when the size is known, so 10,000 parts always suffice", () => {
    expect(partSizeFor(1, 0)).toBe(8 * MiB);
    expect(partSizeFor(1, 80_000 * MiB)).toBe(8 * MiB);
    expect(partSizeFor(5000, 80_000 * MiB + 1)).toBe(9 * MiB);
    const size = 500 * 1024 * MiB + 12_345;
    expect(partSizeFor(1, size) * 10_000).toBeGreaterThanOrEqual(size);
  });

  test("grow by 8 MiB every 1000 parts when the size is unknown", () => {
    expect([1, 1000, 1001, 2001].map((n) => partSizeFor(n) / MiB)).toEqual([8, 8, 16, 24]);
  });
});

describe("the filesystem link router", () => {
  let fsh: Awaited<ReturnType<typeof startFilesystem>>;
  const data = randomBytes(1000);
  const key = "models/weights.bin";
  let url: string;

  beforeAll(async () => {
    fsh = await startFilesystem();
    await fsh.adapter.put(key, Readable.from([data]));
    await writeFile(join(fsh.root, "secret.txt"), "TOP-SECRET");
  });
  afterAll(() => fsh?.stop());
  beforeEach(async () => {
    url = await fsh.adapter.presignGet(key, { expiresInSeconds: 60 });
  });

  const linkFor = (claims: { store?: string; key: string; op?: "get" | "upload" }, path = encodeURI(claims.key)) => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const full = { store: fsh.store, op: "get" as const, exp, ...claims };
    const query = new URLSearchParams({ ns: full.store, exp: String(exp), op: full.op, sig: fsh.signer.sign(full) });
    return `/storage/fs/${path}?${query}`;
  };

  test("serves the whole object with length, type, etag and Accept-Ranges", async () => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("1000");
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("etag")).toMatch(/^".+"$/);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(data);
  });

  test("HEAD returns the same headers without a body", async () => {
    const res = await fetch(url, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("1000");
    expect(await res.text()).toBe("");
  });

  test.each([
    ["bytes=100-199", 100, 200],
    ["bytes=990-", 990, 1000],
    ["bytes=-10", 990, 1000],
    ["bytes=-5000", 0, 1000],
    ["bytes=900-5000", 900, 1000],
  ])("answers Range %s with 206 and the exact slice", async (range, start, end) => {
    const res = await fetch(url, { headers: { range } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes ${start}-${end - 1}/1000`);
    expect(res.headers.get("content-length")).toBe(String(end - start));
    expect(Buffer.from(await res.arrayBuffer())).toEqual(data.subarray(start, end));
  });

  test.each(["bytes=1000-", "bytes=5000-6000", "bytes=-0"])(
    "answers the unsatisfiable Range %s with 416 and Content-Range bytes */size",
    async (range) => {
      const res = await fetch(url, { headers: { range } });
      expect(res.status).toBe(416);
      expect(res.headers.get("content-range")).toBe("bytes */1000");
    },
  );

  test("ignores a multi-range or malformed Range header and serves the whole object", async () => {
    for (const range of ["bytes=0-1,5-6", "items=0-1", "bytes=9-3"]) {
      const res = await fetch(url, { headers: { range } });
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(1000);
    }
  });

  test("refuses a tampered signature with 403 and a JSON error", async () => {
    const last = url.at(-1) === "0" ? "1" : "0";
    const res = await fetch(url.slice(0, -1) + last);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: "link bad-signature" });
  });

  test("refuses a link whose key, store or expiry was changed, or that lacks a signature", async () => {
    const variants = [
      url.replace("weights.bin", "other.bin"),
      url.replace("ns=ns-contract", "ns=ns-other"),
      url.replace(/exp=\d+/, (m) => `exp=${Number(m.slice(4)) + 1000}`),
      url.replace(/&sig=[0-9a-f]+/, ""),
    ];
    for (const variant of variants) expect((await fetch(variant)).status).toBe(403);
  });

  test("writes nothing: a PUT answers 405 whatever the link, and an upload link does not download", async () => {
    const put = await fetch(url, { method: "PUT", body: "overwrite" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, HEAD");
    const forged = fsh.origin + linkFor({ key, op: "upload" });
    expect((await fetch(forged, { method: "PUT", body: "overwrite" })).status).toBe(405);
    expect(await (await fetch(forged)).json()).toEqual({ error: "link is for upload" });
    expect(await readAll(await fsh.adapter.get(key))).toEqual(data);
  });

  test("answers 404 for a valid link to a missing object or an unknown store", async () => {
    expect((await fetch(await fsh.adapter.presignGet("models/missing.bin", { expiresInSeconds: 60 }))).status).toBe(404);
    expect((await rawRequest(fsh.origin, linkFor({ key, store: "ns-unknown" }))).status).toBe(404);
  });

  test.each([
    "..%2Fsecret.txt",
    "..%2F..%2Fetc%2Fpasswd",
    "%2E%2E/secret.txt",
    "models/%2E%2E/%2E%2E/secret.txt",
    "%2Fetc%2Fpasswd",
    "/etc/passwd",
    "a%00b",
    "%E0%A4%A",
  ])("answers the traversal path %s with 400, even when correctly signed, and never serves the file", async (path) => {
    let decoded: string;
    try {
      decoded = path.split("/").map(decodeURIComponent).join("/");
    } catch {
      decoded = path;
    }
    for (const link of [`/storage/fs/${path}`, linkFor({ key: decoded }, path)]) {
      const res = await rawRequest(fsh.origin, link);
      expect(res.status).toBe(400);
      expect(res.body).not.toContain("TOP-SECRET");
      expect(res.body).not.toContain("root:");
    }
  });

  test("never follows a symlink out of the base", async () => {
    await mkdir(join(fsh.root, "outside"), { recursive: true });
    await writeFile(join(fsh.root, "outside", "secret.txt"), "TOP-SECRET");
    await symlink(join(fsh.root, "outside"), join(fsh.basePath, "escape"));
    await symlink(join(fsh.root, "secret.txt"), join(fsh.basePath, "secret-link"));

    await expect(fsh.adapter.get("escape/secret.txt")).rejects.toBeInstanceOf(StorageKeyError);
    await expect(fsh.adapter.get("secret-link")).rejects.toBeInstanceOf(StorageKeyError);
    await expect(fsh.adapter.put("escape/new.txt", streamOf(Buffer.from("x")))).rejects.toBeInstanceOf(StorageKeyError);
    await expect(fsh.adapter.delete("escape/secret.txt")).rejects.toBeInstanceOf(StorageKeyError);
    expect(await readdir(join(fsh.root, "outside"))).toEqual(["secret.txt"]);
    expect((await collect(fsh.adapter.list(""))).map((o) => o.key)).toEqual([key]);
    expect(await collect(fsh.adapter.list("escape/"))).toEqual([]);

    const res = await rawRequest(fsh.origin, linkFor({ key: "escape/secret.txt" }));
    expect(res.status).toBe(400);
    expect(res.body).not.toContain("TOP-SECRET");
  });

  test("an aborted put leaves nothing in the staging directory", async () => {
    const controller = new AbortController();
    const body = Readable.from(
      (async function* () {
        yield randomBytes(MiB);
        controller.abort();
        yield randomBytes(MiB);
      })(),
      { objectMode: false },
    );
    await expect(fsh.adapter.put("models/aborted.bin", body, { signal: controller.signal })).rejects.toThrow();
    expect(await readdir(join(fsh.basePath, ".tmp"))).toEqual([]);
  });

  test("move and delete remove the directories they leave empty, and no others", async () => {
    await fsh.adapter.put("pruned/a/b/moved.bin", streamOf(Buffer.from("m")));
    await fsh.adapter.put("pruned/a/kept.bin", streamOf(Buffer.from("k")));
    await fsh.adapter.put("pruned/c/deleted.bin", streamOf(Buffer.from("d")));
    await fsh.adapter.move("pruned/a/b/moved.bin", "placed/moved.bin");
    await fsh.adapter.delete("pruned/c/deleted.bin");
    expect((await readdir(join(fsh.basePath, "pruned"))).sort()).toEqual(["a"]);
    expect(await readdir(join(fsh.basePath, "pruned", "a"))).toEqual(["kept.bin"]);
  });

  test("moves out of one folder side by side all land, and the emptied folder goes", async () => {
    // As an import publishes: a few moves at a time, each starting as another ends, the last ones
    // racing to prune the folder they empty.
    for (let round = 0; round < 3; round++) {
      const keys = Array.from({ length: 200 }, (_, i) => `side-by-side/${round}/from/${i}.json`);
      for (const key of keys) await fsh.adapter.put(key, streamOf(Buffer.from(key)));
      const queue = [...keys];
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let key = queue.shift(); key; key = queue.shift()) await fsh.adapter.move(key, key.replace("/from/", "/to/"));
      }));
      expect((await collect(fsh.adapter.list(`side-by-side/${round}/`))).map((o) => o.key).sort()).toEqual(keys.map((key) => key.replace("/from/", "/to/")).sort());
      expect(await readdir(join(fsh.basePath, "side-by-side", String(round)))).toEqual(["to"]);
    }
  });

  onLinux("put and copy answer only once the new object's folder, and every folder made for it, is synced, so a power cut cannot lose it", async () => {
    const root = await realpath(fsh.basePath);
    const put = await syncedDuring(() => fsh.adapter.put("durable/a/b/put.bin", streamOf(Buffer.from("p"))));
    expect(put).toEqual(expect.arrayContaining([join(root, "durable", "a", "b"), join(root, "durable", "a"), join(root, "durable"), root]));
    const copied = await syncedDuring(() => fsh.adapter.copy("durable/a/b/put.bin", "durable/c/copy.bin"));
    expect(copied).toContain(join(root, "durable", "c"));
    expect(copied.some((path) => path.startsWith(join(root, ".tmp") + "/"))).toBe(true);
  });

  onLinux("a staging area's put leaves its folders to the publish, which syncs them", async () => {
    const root = await realpath(fsh.basePath);
    const staging = fsh.adapter.staging("durable/final/", "durable/.staging/");
    const synced = await syncedDuring(() => staging.put("x.bin", streamOf(Buffer.from("x"))));
    expect(synced).not.toContain(join(root, "durable", ".staging"));
    expect(await syncedDuring(() => staging.publish("x.bin", SCRATCH_RECEIPT))).toEqual(expect.arrayContaining([join(root, "durable", "final"), join(root, "durable", ".staging")]));
  });

  test("keys under the staging directory are refused", async () => {
    await expect(fsh.adapter.put(".tmp/x", streamOf(Buffer.from("x")))).rejects.toBeInstanceOf(StorageKeyError);
  });
});

describe("the filesystem's leftovers of killed processes", () => {
  test("temporary files not written to for an hour go when a process first uses the store; newer ones stay", async () => {
    const fsh = await startFilesystem();
    try {
      const tmp = join(fsh.basePath, ".tmp");
      await mkdir(tmp, { recursive: true });
      await writeFile(join(tmp, "killed-upload"), randomBytes(1000));
      await writeFile(join(tmp, "running-upload"), randomBytes(1000));
      const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
      await utimes(join(tmp, "killed-upload"), twoHoursAgo, twoHoursAgo);

      // Another process: a new adapter on the same folder.
      const next = new FilesystemStorageAdapter({ basePath: fsh.basePath, signer: fsh.signer, publicUrl: fsh.origin, store: fsh.store });
      await next.ping();

      await waitUntil(async () => !(await readdir(tmp)).includes("killed-upload"));
      expect(await readdir(tmp)).toEqual(["running-upload"]);
    } finally {
      await fsh.stop();
    }
  });
});

describe("the filesystem's publish of a whole staging area", () => {
  let fsh: Awaited<ReturnType<typeof startFilesystem>>;
  let n = 0;
  let folder: string;

  beforeAll(async () => {
    fsh = await startFilesystem();
  });
  afterAll(() => fsh?.stop());
  beforeEach(() => {
    folder = `area-${++n}/`;
  });

  const area = () => fsh.adapter.staging(`${folder}final/`, `${folder}.staging/`);
  const FILES = { "config.json": "{}", "weights/model.bin": "weights", "weights/deep/tokenizer.json": "tokens" };
  async function stageAll() {
    const staging = area();
    const staged = [];
    for (const [path, text] of Object.entries(FILES)) staged.push({ path, receipt: (await staging.put(path, streamOf(Buffer.from(text)))).receipt });
    return { staging, staged };
  }
  const keysUnder = async (prefix: string) => (await collect(fsh.adapter.list(prefix))).map((o) => o.key).sort();
  const finalKeys = () => Object.keys(FILES).map((path) => `${folder}final/${path}`).sort();

  onLinux("syncs the staged folders before the rename, and the final folder's parents after it", async () => {
    const { staging, staged } = await stageAll();
    const root = await realpath(fsh.basePath);
    const synced = await syncedDuring(() => staging.publishAll!(staged));
    const at = (...parts: string[]) => join(root, folder.slice(0, -1), ...parts);
    expect(synced).toEqual(expect.arrayContaining([at(".staging"), at(".staging", "weights"), at(".staging", "weights", "deep"), at()]));
  });

  test("moves every file to its final key in one rename when the final folder is new, and leaves no staging folder", async () => {
    const { staging, staged } = await stageAll();
    expect(await staging.publishAll!(staged)).toBe(true);

    expect(await keysUnder(folder)).toEqual(finalKeys());
    for (const [path, text] of Object.entries(FILES)) expect((await readAll(await fsh.adapter.get(`${folder}final/${path}`))).toString()).toBe(text);
    expect(await readdir(join(fsh.basePath, folder))).toEqual(["final"]);
    // Published means no longer staged: publishing a file again finds nothing.
    await expect(staging.publish("config.json", staged[0].receipt)).rejects.toBeInstanceOf(StorageNotFoundError);
  });

  test("does nothing when the final folder already exists, even empty: each file is published on its own", async () => {
    const { staging, staged } = await stageAll();
    await mkdir(join(fsh.basePath, folder, "final"), { recursive: true });
    expect(await staging.publishAll!(staged)).toBe(false);
    expect(await keysUnder(`${folder}final/`)).toEqual([]);
    for (const { path, receipt } of staged) expect(await staging.holds(path, receipt, FILES[path as keyof typeof FILES].length)).toBe(true);
  });

  test("does nothing when the area holds a file it was not given, or lacks one it was given", async () => {
    const { staging, staged } = await stageAll();
    expect(await staging.publishAll!(staged.slice(1))).toBe(false);
    expect(await staging.publishAll!([...staged, { path: "missing.bin", receipt: staged[0].receipt }])).toBe(false);
    expect(await keysUnder(`${folder}final/`)).toEqual([]);
    expect(await staging.publishAll!(staged)).toBe(true);
    expect(await keysUnder(folder)).toEqual(finalKeys());
  });

  test("does nothing for a receipt it did not write", async () => {
    const { staging, staged } = await stageAll();
    expect(await staging.publishAll!(staged.map((file, i) => (i === 0 ? { ...file, receipt: "upload:not-an-upload" } : file)))).toBe(false);
    expect(await keysUnder(`${folder}final/`)).toEqual([]);
  });

  test.each([
    ["a symlink", (dir: string) => symlink(join(fsh.root, "elsewhere"), join(dir, "link"))],
    ["an empty folder", (dir: string) => mkdir(join(dir, "empty"))],
  ])("does nothing when the area holds %s besides the files: it would be carried along", async (_what, add) => {
    const { staging, staged } = await stageAll();
    await add(join(fsh.basePath, folder, ".staging", "weights"));
    expect(await staging.publishAll!(staged)).toBe(false);
    expect(await keysUnder(`${folder}final/`)).toEqual([]);
    expect(await readdir(join(fsh.basePath, folder))).toEqual([".staging"]);
  });

  test.each([
    ["outside the store", () => join(fsh.root, "outside-final")],
    ["elsewhere inside the store", () => join(fsh.basePath, "other-folder")],
  ])("does nothing through a symlink %s, in place of the final folder's parent or of the area", async (_what, target) => {
    await mkdir(target(), { recursive: true });
    // The final folder's parent is a symlink.
    const { staging, staged } = await stageAll();
    const linked = fsh.adapter.staging(`${folder}linked/final/`, `${folder}.staging/`);
    await symlink(target(), join(fsh.basePath, folder, "linked"));
    expect(await linked.publishAll!(staged)).toBe(false);
    expect(await readdir(target())).toEqual([]);
    // The area itself is reached through a symlink.
    await symlink(join(fsh.basePath, folder, ".staging"), join(fsh.basePath, folder, ".linked-staging"));
    const through = fsh.adapter.staging(`${folder}final/`, `${folder}.linked-staging/`);
    expect(await through.publishAll!(staged)).toBe(false);
    expect(await keysUnder(`${folder}final/`)).toEqual([]);
    // Nothing moved: the area still publishes where no symlink is in the way.
    expect(await staging.publishAll!(staged)).toBe(true);
    expect(await keysUnder(`${folder}final/`)).toEqual(finalKeys());
  });

  test("does nothing when the area is gone (another attempt published it)", async () => {
    const { staging, staged } = await stageAll();
    expect(await staging.publishAll!(staged)).toBe(true);
    await rm(join(fsh.basePath, folder, "final"), { recursive: true });
    expect(await staging.publishAll!(staged)).toBe(false);
  });
});
