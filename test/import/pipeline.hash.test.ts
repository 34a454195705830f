import { createHash, randomBytes } from "node:crypto";
import { autoHashThreads, cgroupCpuLimit, HashingError, HashPlacement, HashPool, type StreamHasher } from "../../src/import/pipeline/hash";

/* The hashing threads: the same digests as hashing in place, bounded memory, clean failures. */

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const gitSha1 = (data: Buffer) => createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");

/** Feeds data in irregular chunks, waiting whenever the hasher asks to. */
async function feed(hasher: StreamHasher, data: Buffer): Promise<{ waits: number }> {
  let waits = 0;
  for (let at = 0, i = 0; at < data.length; i++) {
    const chunk = data.subarray(at, (at += 1 + ((i * 7919) % 70_000)));
    if (!hasher.update(chunk)) {
      waits++;
      await hasher.ready();
    }
  }
  return { waits };
}

describe("HashPool", () => {
  let pool: HashPool;
  afterEach(() => pool?.close());

  it("gives the SHA-256 and git blob SHA-1 of every byte, across slab boundaries, in a thread and in place", async () => {
    pool = new HashPool({ threads: 1, offloadFrom: 1024, slabBytes: 64 * 1024, slabsPerStream: 2 });
    for (const length of [0, 1, 1023, 1024, 64 * 1024, 64 * 1024 + 1, 3 * 1024 * 1024 + 17]) {
      const data = randomBytes(length);
      const hasher = pool.open(length, length);
      await feed(hasher, data);
      expect({ length, ...(await hasher.digest()) }).toEqual({ length, sha256: sha256(data), gitSha1: gitSha1(data) });
    }
  });

  it("asks the caller to wait once its slabs are all in the thread, and keeps streams apart", async () => {
    pool = new HashPool({ threads: 2, offloadFrom: 0, slabBytes: 16 * 1024, slabsPerStream: 2 });
    const streams = Array.from({ length: 5 }, () => randomBytes(2 * 1024 * 1024 + 333));
    const results = await Promise.all(streams.map(async (data) => {
      const hasher = pool.open(data.length, null);
      const { waits } = await feed(hasher, data);
      return { waits, digests: await hasher.digest() };
    }));
    results.forEach(({ digests }, i) => expect(digests).toEqual({ sha256: sha256(streams[i]), gitSha1: null }));
    expect(results.some((r) => r.waits > 0)).toBe(true);
  });

  it("hashes short streams in place, without a thread", async () => {
    pool = new HashPool({ threads: 1 });
    const data = randomBytes(100_000);
    const hasher = pool.open(data.length, null);
    expect(hasher.update(data)).toBe(true);
    expect(await hasher.digest()).toEqual({ sha256: sha256(data), gitSha1: null });
    expect(pool.runningThreads).toBe(0);
  });

  it("fails the open streams with a retryable HashingError when their thread goes, and starts a new one for the next", async () => {
    pool = new HashPool({ threads: 1, offloadFrom: 0, slabBytes: 1024 });
    const hasher = pool.open(10_000, null);
    hasher.update(randomBytes(5000));
    await pool.close();
    const error = await hasher.digest().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HashingError);
    expect((error as HashingError).retryable).toBe(true);

    const data = randomBytes(10_000);
    const next = pool.open(data.length, null);
    await feed(next, data);
    expect((await next.digest()).sha256).toBe(sha256(data));
  });

  it("stops a thread left without streams, and starts another for the next stream", async () => {
    pool = new HashPool({ threads: 1, offloadFrom: 0, slabBytes: 1024, idleThreadMs: 0 });
    for (const data of [randomBytes(10_000), randomBytes(20_000)]) {
      const hasher = pool.open(data.length, null);
      await feed(hasher, data);
      expect(pool.runningThreads).toBe(1);
      expect((await hasher.digest()).sha256).toBe(sha256(data));
      expect(pool.runningThreads).toBe(0);
    }
  });

  it("forgets a disposed stream: its waits reject, and the thread serves the others", async () => {
    pool = new HashPool({ threads: 1, offloadFrom: 0, slabBytes: 1024, slabsPerStream: 1 });
    const dropped = pool.open(1_000_000, null);
    dropped.update(randomBytes(4096));
    const wait = dropped.ready();
    dropped.dispose();
    await expect(wait).rejects.toBeInstanceOf(HashingError);

    const data = randomBytes(50_000);
    const kept = pool.open(data.length, null);
    await feed(kept, data);
    expect((await kept.digest()).sha256).toBe(sha256(data));
  });
});

describe("where imports hash (IMPORT_HASH_THREADS)", () => {
  const fast = { cores: 2, sha256MBps: 2000 };
  const slow = { cores: 8, sha256MBps: 350 };

  it("on auto, gives the filesystem a thread and S3 none where SHA-256 is fast", () => {
    expect(autoHashThreads("filesystem", fast)).toBe(1);
    expect(autoHashThreads("s3", fast)).toBe(0);
  });

  it("on auto, gives every storage a thread per spare core, at most four, where SHA-256 is slow", () => {
    expect(autoHashThreads("s3", slow)).toBe(4);
    expect(autoHashThreads("filesystem", { cores: 3, sha256MBps: 350 })).toBe(2);
  });

  it("on auto, hashes on the event loop when there is only one core", () => {
    expect(autoHashThreads("filesystem", { cores: 1, sha256MBps: 2000 })).toBe(0);
    expect(autoHashThreads("s3", { cores: 1, sha256MBps: 350 })).toBe(0);
  });

  it("counts the whole CPUs a cgroup quota allows (v2, else v1), and nothing where there is none", () => {
    const files = (entries: Record<string, string>) => (path: string) => {
      if (!(path in entries)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return entries[path];
    };
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "150000 100000\n" }))).toBe(1);
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "400000 100000" }))).toBe(4);
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "50000 100000" }))).toBe(1);
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "max 100000" }))).toBeNull();
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "200000", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000" }))).toBe(2);
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000" }))).toBeNull();
    expect(cgroupCpuLimit(files({}))).toBeNull();
  });

  it("hands each storage the pool auto chose for it, one pool per thread count", async () => {
    const placement = new HashPlacement("auto", () => fast);
    try {
      expect(placement.poolFor("filesystem").threads).toBe(1);
      expect(placement.poolFor("s3").threads).toBe(0);
      expect(placement.poolFor("filesystem")).toBe(placement.poolFor("filesystem"));
    } finally {
      await placement.close();
    }
  });

  it("uses a configured count for every storage; close stops its threads, failing open streams, and starts none after", async () => {
    const placement = new HashPlacement(2, () => fast);
    const pool = placement.poolFor("s3");
    expect(pool.threads).toBe(2);
    expect(placement.poolFor("filesystem")).toBe(pool);
    const hasher = pool.open(16 * 1024 * 1024, null);
    hasher.update(randomBytes(64 * 1024));
    expect(pool.runningThreads).toBe(1);
    await placement.close();
    await expect(hasher.digest()).rejects.toBeInstanceOf(HashingError);
    expect(placement.poolFor("filesystem").threads).toBe(0);
  });
});
