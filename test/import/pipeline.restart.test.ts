import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { signToken } from "../../src/auth/jwt";
import { Role } from "../../src/common/enums";
import { parseId } from "../../src/common/relay";
import { HashPool } from "../../src/import/pipeline/hash";
import { S3StorageAdapter } from "../../src/storage/s3.adapter";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { startFakeHub, type FakeHub, type FakeFile } from "../support/fake-hub";
import { startS3rver, type S3rverHandle } from "../support/s3rver";
import { captureOutput, listeningUrl } from "../support/spawned";
import { GraphQLClient, startTestKit, type TestKit } from "../support/testkit";
import { defaultAdapter, FAST_IMPORTS, keysUnder, objectBytes, scanModel, sha256, startImport, waitFor, waitForStatus } from "./support";

/*
 * An import interrupted by a restart, gracefully or by kill -9, resumes in the next process:
 * files verified in staging are not fetched again, the rest are, and the revision ends AVAILABLE
 * with the right bytes.
 */

jest.setTimeout(60_000);

const files = (prefix: string): FakeFile[] => [
  { path: "config.json", content: `{"model": "${prefix}"}` },
  { path: "shard-1.safetensors", content: { size: 200_000, seed: 1 }, lfs: true },
  { path: "shard-2.safetensors", content: { size: 200_000, seed: 2 }, lfs: true },
  // Held mid-transfer by a stall, so the import is still running when the process goes.
  { path: "shard-3.safetensors", content: { size: 300_000, seed: 3 }, lfs: true },
];
/** Shards of several S3 parts, so they are staged as pending multipart uploads at their final keys. */
const MiB = 1024 * 1024;
const s3Files: FakeFile[] = [
  { path: "config.json", content: `{"model": "s3"}` },
  { path: "shard-1.safetensors", content: { size: 9 * MiB + 1, seed: 11 }, lfs: true },
  { path: "shard-2.safetensors", content: { size: 9 * MiB + 2, seed: 12 }, lfs: true },
  { path: "shard-3.safetensors", content: { size: 12 * MiB, seed: 13 }, lfs: true },
];

let hub: FakeHub;
let db: TestDatabase;
let dataDir: string;
let s3: S3rverHandle;
const kits: TestKit[] = [];

beforeAll(async () => {
  hub = await startFakeHub([
    { id: "restart/graceful", files: files("graceful") },
    { id: "restart/killed", files: files("killed") },
    { id: "restart/crashing", files: files("crashing") },
    { id: "restart/large", files: files("large") },
    { id: "restart/terminated", files: files("terminated") },
    { id: "restart/s3", files: s3Files },
    { id: "restart/s3-forced", files: s3Files },
    { id: "restart/threaded", files: s3Files },
  ]);
  s3 = await startS3rver();
});
beforeEach(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(path.join(os.tmpdir(), "ar-restart-"));
});
afterEach(async () => {
  for (const kit of kits.splice(0)) await kit.close();
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
  hub.clearFaults();
});
afterAll(async () => {
  await hub?.stop();
  await s3?.stop();
});

/** The servers of a test are one deployment: one database, one auth secret (which also opens the sealed storage secrets). */
const authSecret = randomBytes(32).toString("hex");
const env = () => ({ HF_ENDPOINT: hub.url, DATA_DIR: dataDir, AUTH_JWT_SECRET: authSecret, IMPORT_FILE_CONCURRENCY: "4", ...FAST_IMPORTS });
const shaOf = (repo: string, file: string) => hub.fileInfo(repo, "main", file).then((i) => i.sha256);

/** Holds the last shard mid-body until the faults are cleared, so the import stops with it in flight. */
async function stallLastShard(repo: string, afterBytes = 50_000) {
  const sha = await shaOf(repo, "shard-3.safetensors");
  return hub.hold({ origin: "cdn", match: (r) => r.url.includes(sha), afterBytes, times: Infinity });
}

/** Waits until every file but the stalled one is verified in staging. */
async function stagedBut(query: (sql: string, params: unknown[]) => Promise<any[]>, revisionId: string, count: number) {
  await waitFor(`${count} files verified in staging`, async () => {
    const rows = await query(`SELECT count(*)::int AS n FROM artifact_import_files WHERE revision_id = $1 AND staged_sha256 IS NOT NULL`, [revisionId]);
    return rows[0].n >= count;
  });
}

async function expectResumedAndAvailable(kit: TestKit, repo: string, revisionId: string, repoFiles = files(repo)) {
  const row = await waitForStatus(kit, revisionId, ["AVAILABLE", "FAILED"], 30_000);
  expect(row).toMatchObject({ status: "AVAILABLE", last_error: null });
  const fetched = hub.requests.filter((r) => r.origin === "hub" && r.url.includes(`/${repo}/resolve/`)).map((r) => r.url.split("/").pop());
  // Only the file that was in flight is fetched again; the verified ones come from staging.
  expect(fetched).toEqual(["shard-3.safetensors"]);
  const adapter = await defaultAdapter(kit);
  for (const { path: file } of repoFiles) {
    expect(sha256(await objectBytes(adapter, `${repo}/main/${file}`))).toBe(await shaOf(repo, file));
  }
  expect(await keysUnder(adapter, ".staging/")).toEqual([]);
  const history = await kit.ds.query(`SELECT to_status FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [revisionId]);
  expect(history.map((h: any) => h.to_status)).toEqual(["SCANNED", "PULLING", "PULLED", "VERIFYING", "AVAILABLE"]);
}

/** Imports repo in the spawned server until every file but the stalled one is verified, then kills it with SIGKILL. */
async function killedMidImport(server: Awaited<ReturnType<typeof spawnedServer>>, repo: string): Promise<string> {
  const revisionId = await server.scanAndImport(repo);
  await stagedBut(server.query, revisionId, 3);
  await server.kill();
  hub.clearFaults();
  hub.clearRequests();
  expect(await server.statusOf(revisionId)).toBe("PULLING");
  return revisionId;
}

describe("an import across a restart", () => {
  it("resumes after the server shuts down mid-import, skipping the files already verified", async () => {
    const repo = "restart/graceful";
    await stallLastShard(repo);
    const first = await startTestKit(env(), { database: db });
    kits.push(first);
    const revision = await scanModel(first, repo);
    await startImport(first, revision);
    await stagedBut((sql, params) => first.ds.query(sql, params), revision.id, 3);

    kits.splice(kits.indexOf(first), 1);
    await first.close();
    hub.clearFaults();
    hub.clearRequests();
    const second = await startTestKit(env(), { database: db });
    kits.push(second);
    await expectResumedAndAvailable(second, repo, revision.id);
  });

  it("resumes after the server is killed with SIGKILL mid-import", async () => {
    const repo = "restart/killed";
    await stallLastShard(repo);
    const server = await spawnedServer();
    try {
      const revisionId = await killedMidImport(server, repo);

      const next = await startTestKit(env(), { database: db });
      kits.push(next);
      await expectResumedAndAvailable(next, repo, revisionId);
    } finally {
      await server.stop();
    }
  });

  it("resumes into S3 after SIGKILL: files verified before the kill are in their final place, not fetched again, and the upload cut short left nothing", async () => {
    const repo = "restart/s3";
    // The last shard stalls 9 MiB in, its streamed PUT under way: the kill cuts it short.
    await stallLastShard(repo, 9 * MiB);
    const s3Env = { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_BUCKET: "restart" };
    const server = await spawnedServer(s3Env);
    const pending = (prefix: string) => s3.pendingUploads("restart", prefix);
    try {
      const revisionId = await server.scanAndImport(repo);
      await stagedBut(server.query, revisionId, 3);
      await waitFor("the last shard's upload to be under way", async () => s3.receiving("restart", `${repo}/`).includes(`${repo}/main/shard-3.safetensors`));
      await server.kill();
      hub.clearFaults();
      hub.clearRequests();
      // Into a new folder, each verified file went straight to its final key; the shard cut short is nowhere.
      await waitFor("s3rver to drop the PUT cut short", async () => s3.receiving("restart").length === 0);
      expect(await pending(`${repo}/`)).toEqual([]);
      const bucket = new S3StorageAdapter({ endPoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region, bucket: "restart" });
      expect(await keysUnder(bucket, `${repo}/`)).toEqual(["config.json", "shard-1.safetensors", "shard-2.safetensors"].map((file) => `${repo}/main/${file}`));

      const next = await startTestKit({ ...env(), ...s3Env }, { database: db });
      kits.push(next);
      await expectResumedAndAvailable(next, repo, revisionId, s3Files);
      expect(await pending(`${repo}/`)).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it("resumes a forced re-import into S3 after SIGKILL: uploads staged before the kill are completed in PULLED, not fetched again", async () => {
    const repo = "restart/s3-forced";
    const s3Env = { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_BUCKET: "restart" };
    const server = await spawnedServer(s3Env);
    const pending = (prefix: string) => s3.pendingUploads("restart", prefix);
    try {
      const revisionId = await server.scanAndImport(repo);
      await waitFor("the first import to end", async () => ["AVAILABLE", "FAILED"].includes(await server.statusOf(revisionId)), 30_000);
      expect(await server.statusOf(revisionId)).toBe("AVAILABLE");
      await stallLastShard(repo, 9 * MiB);
      expect(await server.scanAndImport(repo, true)).toBe(revisionId);
      await stagedBut(server.query, revisionId, 3);
      await waitFor("the last shard's first part to be uploaded", async () => (await pending(`${repo}/`)).includes(`${repo}/main/shard-3.safetensors`));
      await server.kill();
      hub.clearFaults();
      hub.clearRequests();
      // The revision still serves its old files: the new ones wait as pending uploads at their keys.
      expect(await pending(`${repo}/`)).toEqual(["shard-1", "shard-2", "shard-3"].map((shard) => `${repo}/main/${shard}.safetensors`));

      const next = await startTestKit({ ...env(), ...s3Env }, { database: db });
      kits.push(next);
      expect(await waitForStatus(next, revisionId, ["AVAILABLE", "FAILED"], 30_000)).toMatchObject({ status: "AVAILABLE", last_error: null });
      const fetched = hub.requests.filter((r) => r.origin === "hub" && r.url.includes(`/${repo}/resolve/`)).map((r) => r.url.split("/").pop());
      expect(fetched).toEqual(["shard-3.safetensors"]);
      const adapter = await defaultAdapter(next);
      for (const { path: file } of s3Files) expect(sha256(await objectBytes(adapter, `${repo}/main/${file}`))).toBe(await shaOf(repo, file));
      expect(await pending(`${repo}/`)).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it("resumes after SIGKILL while a hashing thread hashes its large files, and every byte lands right", async () => {
    const repo = "restart/threaded";
    // Shards of 9-12 MiB go to the hashing thread; the last one stalls after 9 MiB, and the kill comes once the others are verified.
    await stallLastShard(repo, 9 * MiB);
    const threaded = { IMPORT_HASH_THREADS: "1" };
    const server = await spawnedServer(threaded);
    try {
      const revisionId = await killedMidImport(server, repo);

      // The resumed shard goes to a pool with a thread.
      const open = HashPool.prototype.open;
      const hashedLarge: number[] = [];
      const spy = jest.spyOn(HashPool.prototype, "open").mockImplementation(function (this: HashPool, expectedSize, gitBlobSize) {
        if (expectedSize >= 8 * MiB) hashedLarge.push(this.threads);
        return open.call(this, expectedSize, gitBlobSize);
      });
      try {
        const next = await startTestKit({ ...env(), ...threaded }, { database: db });
        kits.push(next);
        await expectResumedAndAvailable(next, repo, revisionId, s3Files);
      } finally {
        spy.mockRestore();
      }
      expect(hashedLarge).toEqual([1]);
    } finally {
      await server.stop();
    }
  });

  it("gives up, FAILED with a clear error, when the import keeps killing its process without keeping more of it", async () => {
    const repo = "restart/crashing";
    // Held before the last shard's first byte: a kill there leaves nothing of it to keep.
    await stallLastShard(repo, 0);
    const limit = { IMPORT_MAX_CRASHES: "1" };
    const first = await spawnedServer(limit);
    let revisionId: string;
    try {
      revisionId = await first.scanAndImport(repo);
      await stagedBut(first.query, revisionId, 3);
      await first.kill();
    } finally {
      await first.stop();
    }

    // The second process keeps three verified files more than the first started with: that crash does not count.
    hub.clearRequests();
    const second = await spawnedServer(limit);
    try {
      await waitFor("the second process to fetch the last shard again", async () => hub.requests.some((r) => r.url.endsWith("/shard-3.safetensors")), 30_000);
      await waitFor("the second process to account for the first crash", async () =>
        (await second.query(`SELECT import_crashes FROM artifact_revisions WHERE id = $1 AND import_crash_mark > 0`, [revisionId]))[0]?.import_crashes === 0);
      await second.kill();
    } finally {
      await second.stop();
    }

    // It died at the same place, keeping nothing more: that one counts, and the limit is reached.
    const third = await startTestKit({ ...env(), ...limit }, { database: db });
    kits.push(third);
    const row = await waitForStatus(third, revisionId, ["AVAILABLE", "FAILED"], 30_000);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toMatch(/stopped 1 time\(s\) in a row without keeping more of it \(IMPORT_MAX_CRASHES=1\)/);
    expect(await keysUnder(await defaultAdapter(third), ".staging/")).toEqual([]);
    const history = await third.ds.query(`SELECT to_status FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [revisionId]);
    expect(history.map((h: any) => h.to_status)).toEqual(["SCANNED", "PULLING", "FAILED"]);
  });

  it("keeps going while every kill leaves more of a large file kept, resuming it from its partial each time", async () => {
    const repo = "restart/large";
    const sha = await shaOf(repo, "shard-3.safetensors");
    // Each process gets 100,000 more bytes of the last shard before it is held, and killed.
    const limit = { IMPORT_MAX_CRASHES: "1" };
    let revisionId = "";
    const ranges: Array<string | undefined> = [];
    for (let kill = 1; kill <= 2; kill++) {
      hub.clearFaults();
      hub.clearRequests();
      hub.hold({ origin: "cdn", match: (r) => r.url.includes(sha), afterBytes: 100_000, times: Infinity });
      const server = await spawnedServer(limit);
      try {
        if (kill === 1) {
          revisionId = await server.scanAndImport(repo);
          await stagedBut(server.query, revisionId, 3);
        }
        await waitFor(`the last shard's partial to hold ${kill * 100_000} bytes`, async () => (await stat(partialOf(revisionId, "shard-3.safetensors")).catch(() => null))?.size === kill * 100_000, 30_000);
        ranges.push(...hub.requests.filter((r) => r.origin === "cdn" && r.url.includes(sha)).map((r) => r.headers.range as string | undefined));
        await server.kill();
      } finally {
        await server.stop();
      }
    }
    // The first process fetched the shard from byte 0; the second resumed it where the first was killed.
    expect(ranges).toEqual([undefined, "bytes=100000-"]);

    hub.clearFaults();
    hub.clearRequests();
    const last = await startTestKit({ ...env(), ...limit }, { database: db });
    kits.push(last);
    const row = await waitForStatus(last, revisionId, ["AVAILABLE", "FAILED"], 30_000);
    expect(row).toMatchObject({ status: "AVAILABLE", last_error: null, import_crashes: 0 });
    expect(hub.requests.filter((r) => r.origin === "cdn").map((r) => r.headers.range)).toEqual(["bytes=200000-"]);
    const adapter = await defaultAdapter(last);
    expect(sha256(await objectBytes(adapter, `${repo}/main/shard-3.safetensors`))).toBe(sha);
    expect(await keysUnder(adapter, ".staging")).toEqual([]);
  });

  it("resumes a large file from its partial after the server is sent SIGTERM mid-file, as after a kill", async () => {
    const repo = "restart/terminated";
    const sha = await shaOf(repo, "shard-3.safetensors");
    hub.hold({ origin: "cdn", match: (r) => r.url.includes(sha), afterBytes: 100_000, times: Infinity });
    const server = await spawnedServer();
    let revisionId = "";
    try {
      revisionId = await server.scanAndImport(repo);
      await stagedBut(server.query, revisionId, 3);
      await waitFor("the last shard's partial to hold 100,000 bytes", async () => (await stat(partialOf(revisionId, "shard-3.safetensors")).catch(() => null))?.size === 100_000, 30_000);

      expect(await server.terminate()).toBe(0);
      // The shutdown handed the job back without counting a crash, and left the partial as a kill would.
      const [row] = await server.query(`SELECT status, import_crashes, import_task_id FROM artifact_revisions WHERE id = $1`, [revisionId]);
      expect(row).toMatchObject({ status: "PULLING", import_crashes: 0 });
      const [job] = await server.query(`SELECT state FROM pgboss.job WHERE id = $1`, [row.import_task_id]);
      expect(job.state).toBe("retry");
      expect((await stat(partialOf(revisionId, "shard-3.safetensors"))).size).toBe(100_000);
    } finally {
      await server.stop();
    }

    hub.clearFaults();
    hub.clearRequests();
    const next = await startTestKit(env(), { database: db });
    kits.push(next);
    const row = await waitForStatus(next, revisionId, ["AVAILABLE", "FAILED"], 30_000);
    expect(row).toMatchObject({ status: "AVAILABLE", last_error: null, import_crashes: 0 });
    // Only the rest of the last shard is asked for: its first 100,000 bytes come from the partial, hashed again.
    expect(hub.requests.filter((r) => r.origin === "cdn").map((r) => r.headers.range)).toEqual(["bytes=100000-"]);
    const adapter = await defaultAdapter(next);
    for (const { path: file } of files(repo)) {
      expect(sha256(await objectBytes(adapter, `${repo}/main/${file}`))).toBe(await shaOf(repo, file));
    }
    expect(await keysUnder(adapter, ".staging")).toEqual([]);
  });
});

/** The partial file that a put cut short leaves of path in the default namespace's staging. */
const partialOf = (revisionId: string, file: string) => path.join(dataDir, "objects", "default", ".staging", `${revisionId}.partial`, file);

/** A server in a child process on the test database, to be killed with SIGKILL. */
async function spawnedServer(extraEnv: Record<string, string> = {}) {
  const secret = authSecret;
  // PORT=0: the system picks the port as the server binds it; its "listening on" line names it.
  const child = spawnServer({ ...env(), ...extraEnv, DATABASE_URL: db.url, PORT: "0", HOST: "127.0.0.1", AUTH_JWT_SECRET: secret, LOG_LEVEL: "info" });
  const output = captureOutput(child);
  const pg = new Client({ connectionString: db.url });
  let url: string;
  try {
    await pg.connect();
    url = await listeningUrl(child, output, 30_000);
  } catch (error) {
    child.kill("SIGKILL");
    await pg.end().catch(() => undefined);
    throw error;
  }
  const client = new GraphQLClient(url, signToken({ sub: "restart-test", role: Role.SUPERADMIN }, secret, "1h"));
  const query = async (sql: string, params: unknown[]) => (await pg.query(sql, params)).rows;
  return {
    query,
    statusOf: async (revisionId: string) => (await query(`SELECT status FROM artifact_revisions WHERE id = $1`, [revisionId]))[0].status,
    /** Scans the repository's main and starts its import (again, with force); answers with the revision's id. */
    async scanAndImport(repo: string, force = false): Promise<string> {
      const scanned = await client.ok(`mutation { scanArtifactModels(input: { models: [{ modelId: "${repo}", revision: "main" }] }) { artifactRevision { edges { node { id } } } } }`);
      const globalId = scanned.scanArtifactModels.artifactRevision.edges[0].node.id;
      await client.ok(`mutation($id: ID!, $force: Boolean!) { importArtifacts(input: { artifactRevisionIds: [$id], options: { force: $force } }) { tasks { taskId } } }`, { id: globalId, force });
      return parseId("ArtifactRevision", globalId);
    },
    /** Sends SIGTERM, as a rolling restart does, and answers with the exit code once the process has shut down. */
    async terminate(): Promise<number | null> {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      return exited;
    },
    async kill(): Promise<void> {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
    async stop(): Promise<void> {
      if (child.exitCode === null) child.kill("SIGKILL");
      await pg.end().catch(() => undefined);
    },
  };
}

/**
 * `node src/main.ts` through an in-process @swc/core require hook, so the test runs the
 * current sources without a build.
 */
function spawnServer(env: Record<string, string>): ChildProcess {
  const register = `
    const { transformSync } = require("@swc/core");
    const fs = require("node:fs");
    require.extensions[".ts"] = (module, filename) => {
      const { code } = transformSync(fs.readFileSync(filename, "utf8"), {
        filename,
        jsc: { parser: { syntax: "typescript", decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: "es2022" },
        module: { type: "commonjs" },
      });
      module._compile(code, filename);
    };
    require(process.argv[1]);`;
  const child = spawn(process.execPath, ["-e", register, path.resolve(__dirname, "../../src/main.ts")], {
    cwd: path.resolve(__dirname, "../.."),
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    if (process.env.TEST_LOG_LEVEL) process.stderr.write(chunk);
  });
  return child;
}
