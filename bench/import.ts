import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { signToken } from "../src/auth/jwt";
import { Role } from "../src/common/enums";
import { freePort } from "../src/common/net";
import { decodeGlobalId } from "../src/common/relay";
import { createTestDatabase, type TestDatabase } from "../test/support/database";
import { startFakeHub, type FakeFile, type FakeHub } from "../test/support/fake-hub";
import { startS3rver, type S3rverHandle } from "../test/support/s3rver";
import type { BaselineJob } from "./baseline";

/*
 * `npm run bench:import`: imports a synthetic model (a few large LFS files and many small ones)
 * from the fake hub into each storage backend through the real server, and measures the
 * baseline in the same run: the same bytes piped straight from the same hub into the same kind
 * of storage, with no database and no verification.
 *
 * The fake hub and s3rver run in this process; the server and the baseline each run in a child
 * process, so both compete with the same hub for the CPU, and each one's memory is its own:
 * peak RSS is the child's VmHWM from /proc.
 *
 * Environment: BENCH_SIZE_MIB (default 1024), BENCH_LARGE_FILES (4), BENCH_SMALL_FILES (200),
 * BENCH_BACKENDS (filesystem,s3), BENCH_CONCURRENCY (files in parallel in the baseline, 4),
 * BENCH_SERVER_ENV (extra server variables, e.g. "IMPORT_FILE_CONCURRENCY=8"), BENCH_SERVER_NODE_ARGS
 * (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the import), TEST_DATABASE_URL (the
 * PostgreSQL server that gets a fresh database per run).
 */

const MiB = 1024 * 1024;
const REPO = "bench/synthetic";
const DIST = path.resolve(__dirname, "..");

interface Settings {
  sizeMiB: number;
  largeFiles: number;
  smallFiles: number;
  backends: Array<"filesystem" | "s3">;
  concurrency: number;
  serverEnv: Record<string, string>;
  serverNodeArgs: string[];
  timeoutMs: number;
}

function settings(env = process.env): Settings {
  const int = (name: string, fallback: number, min = 1) => {
    const value = env[name] === undefined || env[name] === "" ? fallback : Number(env[name]);
    if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${env[name]}`);
    return value;
  };
  const backends = (env.BENCH_BACKENDS ?? "filesystem,s3").split(",").map((b) => b.trim()).filter(Boolean);
  for (const backend of backends) if (backend !== "filesystem" && backend !== "s3") throw new Error(`BENCH_BACKENDS: unknown backend ${backend}`);
  const serverEnv = Object.fromEntries((env.BENCH_SERVER_ENV ?? "").split(/[\s,]+/).filter(Boolean).map((pair) => {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`BENCH_SERVER_ENV: expected NAME=value, got ${pair}`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }));
  return {
    sizeMiB: int("BENCH_SIZE_MIB", 1024),
    largeFiles: int("BENCH_LARGE_FILES", 4),
    smallFiles: int("BENCH_SMALL_FILES", 200, 0),
    backends: backends as Settings["backends"],
    concurrency: int("BENCH_CONCURRENCY", 4),
    serverEnv,
    serverNodeArgs: (env.BENCH_SERVER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean),
    timeoutMs: int("BENCH_TIMEOUT_S", 3600) * 1000,
  };
}

/** Small files of 1..64 KiB (configs, tokenizers, READMEs), the rest split evenly into LFS files. */
function syntheticModel(s: Settings): { files: FakeFile[]; totalBytes: number } {
  const files: FakeFile[] = [];
  let smallBytes = 0;
  for (let i = 0; i < s.smallFiles; i++) {
    const size = 1024 * (1 + ((i * 37) % 64));
    smallBytes += size;
    files.push({ path: `small/${String(i).padStart(4, "0")}.json`, content: { size, seed: 10_000 + i } });
  }
  const largeTotal = s.sizeMiB * MiB - smallBytes;
  if (largeTotal < s.largeFiles) throw new Error("BENCH_SIZE_MIB is too small for the small files");
  const each = Math.floor(largeTotal / s.largeFiles);
  for (let i = 0; i < s.largeFiles; i++) {
    const size = i === s.largeFiles - 1 ? largeTotal - each * (s.largeFiles - 1) : each;
    files.push({ path: `model-${String(i + 1).padStart(5, "0")}-of-${String(s.largeFiles).padStart(5, "0")}.safetensors`, content: { size, seed: i + 1 }, lfs: true });
  }
  return { files, totalBytes: s.sizeMiB * MiB };
}

// ---------------------------------------------------------------------------------------------
// Child processes and their memory

/** Samples a process's resident set every 100 ms; VmHWM (the kernel's own peak) is read at the end too. */
class RssProbe {
  peakKiB = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => void this.sample(), 100);
  }

  private async sample(): Promise<void> {
    const status = await readFile(`/proc/${this.pid}/status`, "utf8").catch(() => "");
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    this.peakKiB = Math.max(this.peakKiB, rss);
  }

  async stop(): Promise<{ sampledPeakMiB: number; hwmMiB: number | null; cpuSeconds: number | null }> {
    clearInterval(this.timer);
    await this.sample();
    const status = await readFile(`/proc/${this.pid}/status`, "utf8").catch(() => "");
    const hwm = /VmHWM:\s+(\d+)/.exec(status)?.[1];
    const cpu = await cpuSeconds(this.pid);
    return { sampledPeakMiB: this.peakKiB / 1024, hwmMiB: hwm ? Number(hwm) / 1024 : null, cpuSeconds: cpu === null || this.cpuAtStart === null ? null : cpu - this.cpuAtStart };
  }

  /** CPU time (user + system) the process has used so far, to tell a CPU-bound import from a waiting one. */
  async start(): Promise<this> {
    this.cpuAtStart = await cpuSeconds(this.pid);
    return this;
  }

  private cpuAtStart: number | null = null;
}

/** utime + stime of /proc/<pid>/stat, in seconds (clock ticks are 1/100 s on Linux). */
async function cpuSeconds(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  // The command name may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / 100 : null;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
  });
}

interface Server {
  url: string;
  pid: number;
  token: string;
  logFile: string;
  stop(): Promise<void>;
}

async function startServer(env: Record<string, string>, nodeArgs: string[], logFile: string): Promise<Server> {
  const port = await freePort();
  const secret = randomBytes(32).toString("hex");
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [...nodeArgs, path.join(DIST, "src", "main.js")], {
    env: { ...process.env, ...env, HOST: "127.0.0.1", PORT: String(port), AUTH_JWT_SECRET: secret, LOG_LEVEL: env.LOG_LEVEL ?? "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} while starting; see ${logFile}`);
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`the server was not ready within 120 s; see ${logFile}`);
    await sleep(200);
  }
  return {
    url,
    pid: child.pid!,
    token: signToken({ sub: "bench", role: Role.SUPERADMIN }, secret, "2h"),
    logFile,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => {
        process.stderr.write(`the server did not stop within 30 s of SIGTERM: killed\n`);
        child.kill("SIGKILL");
      }, 30_000);
      await exited(child);
      clearTimeout(timer);
      log.end();
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function gql<T = any>(server: Server, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL failed:\n${query}\n${JSON.stringify(body, null, 2)}`);
  return body.data;
}

// ---------------------------------------------------------------------------------------------
// The two measurements

interface Measurement {
  bytes: number;
  seconds: number;
  peakRssMiB: number;
  /** CPU seconds the measured process used meanwhile. */
  cpuSeconds: number | null;
}

async function runBaseline(job: BaselineJob): Promise<Measurement> {
  const child = spawn(process.execPath, [path.join(DIST, "bench", "baseline.js"), JSON.stringify(job)], { stdio: ["ignore", "pipe", "inherit"] });
  const probe = new RssProbe(child.pid!);
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  // Read the kernel's peak before the process is reaped.
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const rss = await probe.stop();
  if (code !== 0) throw new Error(`the baseline exited with ${code}`);
  const { bytes, seconds, cpuSeconds } = JSON.parse(out.trim().split("\n").pop()!) as { bytes: number; seconds: number; cpuSeconds: number };
  return { bytes, seconds, peakRssMiB: rss.sampledPeakMiB, cpuSeconds };
}

const SCAN = `mutation($input: ScanArtifactsInput!) { scanArtifacts(input: $input) { artifacts { id name } } }`;
const REVISIONS = `query($id: ID!) { artifact(id: $id) { revisions(first: 10) { edges { node { id version status files(first: 1) { count } } } } } }`;
const IMPORT = `mutation($input: ImportArtifactsInput!) { importArtifacts(input: $input) { tasks { taskId artifactRevision { id status } } } }`;
const STATUS = `query($id: ID!) { artifactRevision(id: $id) { status lastError importProgress { downloadedBytes totalBytes } } }`;

interface ImportMeasurement extends Measurement {
  serverHwmMiB: number | null;
  /** Seconds in each status, from the request: where the import's time goes. */
  phases: Array<{ status: string; seconds: number }>;
}

/** The revision's transitions as the server recorded them, each with the time spent before the next. */
async function phasesOf(databaseUrl: string, revisionId: string, requestedAt: number, endedAt: number): Promise<ImportMeasurement["phases"]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ to_status: string; at: Date }>(
      `SELECT to_status, created_at AS at FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`,
      [revisionId],
    );
    const since = rows.findIndex((r) => r.to_status === "PULLING");
    const steps = rows.slice(Math.max(since, 0));
    const phases = [{ status: "queued", seconds: ((steps[0]?.at.getTime() ?? requestedAt) - requestedAt) / 1000 }];
    steps.forEach((step, i) => {
      const next = steps[i + 1]?.at.getTime() ?? endedAt;
      if (i < steps.length - 1) phases.push({ status: step.to_status, seconds: (next - step.at.getTime()) / 1000 });
    });
    return phases;
  } finally {
    await client.end();
  }
}

async function runImport(server: Server, databaseUrl: string, fileCount: number, totalBytes: number, timeoutMs: number): Promise<ImportMeasurement> {
  const { scanArtifacts } = await gql(server, SCAN, { input: { limit: 1, search: REPO } });
  const artifact = scanArtifacts.artifacts.find((a: { name: string }) => a.name === REPO);
  if (!artifact) throw new Error(`the scan did not find ${REPO}`);
  // The manifest is read in the background after the scan answers.
  let revisionId: string | undefined;
  for (const deadline = Date.now() + 120_000; !revisionId; await sleep(200)) {
    const { artifact: found } = await gql(server, REVISIONS, { id: artifact.id });
    const main = found.revisions.edges.map((e: { node: any }) => e.node).find((r: any) => r.version === "main");
    if (main?.files.count === fileCount) revisionId = main.id;
    else if (Date.now() > deadline) throw new Error(`the manifest of ${REPO} has ${main?.files.count ?? 0} of ${fileCount} files after 120 s`);
  }

  const probe = await new RssProbe(server.pid).start();
  const requestedAt = Date.now();
  const started = process.hrtime.bigint();
  await gql(server, IMPORT, { input: { artifactRevisionIds: [revisionId] } });
  let last = "";
  for (const deadline = Date.now() + timeoutMs; ; await sleep(100)) {
    const { artifactRevision } = await gql(server, STATUS, { id: revisionId });
    if (artifactRevision.status === "AVAILABLE") break;
    if (artifactRevision.status === "FAILED") throw new Error(`the import FAILED: ${artifactRevision.lastError}`);
    if (Date.now() > deadline) throw new Error(`the import is still ${artifactRevision.status} after ${timeoutMs / 1000} s`);
    const progress = artifactRevision.importProgress;
    const line = progress ? `${artifactRevision.status} ${(Number(progress.downloadedBytes) / MiB).toFixed(0)}/${(Number(progress.totalBytes) / MiB).toFixed(0)} MiB` : artifactRevision.status;
    if (line !== last && process.stderr.isTTY) process.stderr.write(`\r  import: ${line}      `);
    last = line;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (process.stderr.isTTY) process.stderr.write("\n");
  const rss = await probe.stop();
  const { id } = decodeRevisionId(revisionId);
  const phases = await phasesOf(databaseUrl, id, requestedAt, requestedAt + seconds * 1000);
  return { bytes: totalBytes, seconds, peakRssMiB: rss.sampledPeakMiB, serverHwmMiB: rss.hwmMiB, cpuSeconds: rss.cpuSeconds, phases };
}

// ---------------------------------------------------------------------------------------------

interface Row {
  backend: string;
  baseline: Measurement;
  imported: ImportMeasurement;
}

function decodeRevisionId(globalId: string): { id: string } {
  const decoded = decodeGlobalId(globalId);
  if (!decoded) throw new Error(`not a global ID: ${globalId}`);
  return decoded;
}

const rate = (m: Measurement) => m.bytes / MiB / m.seconds;

async function benchBackend(backend: "filesystem" | "s3", s: Settings, hub: FakeHub, model: { files: FakeFile[]; totalBytes: number }, commit: string): Promise<Row> {
  const work = await mkdtemp(path.join(os.tmpdir(), `bench-import-${backend}-`));
  let s3: S3rverHandle | undefined;
  let db: TestDatabase | undefined;
  let server: Server | undefined;
  try {
    s3 = backend === "s3" ? await startS3rver() : undefined;
    const storage: BaselineJob["storage"] = s3
      ? { kind: "s3", endpoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region, bucket: "bench-baseline" }
      : { kind: "filesystem", basePath: path.join(work, "baseline") };
    process.stderr.write(`${backend}: baseline (hub → storage adapter, ${s.concurrency} files at a time)\n`);
    const baseline = await runBaseline({
      hubUrl: hub.url, repo: REPO, commit, concurrency: s.concurrency, storage,
      files: model.files.map((f) => ({ path: f.path, size: (f.content as { size: number }).size })),
    });

    db = await createTestDatabase("ar_bench");
    const env: Record<string, string> = { DATABASE_URL: db.url, DATA_DIR: path.join(work, "server"), HF_ENDPOINT: hub.url, ...s.serverEnv };
    if (s3) Object.assign(env, { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_REGION: s3.region, S3_BUCKET: "bench-import" });
    server = await startServer(env, s.serverNodeArgs, path.join(os.tmpdir(), `bench-import-${backend}-server.log`));
    process.stderr.write(`${backend}: import through the server (pid ${server.pid}, log ${server.logFile})\n`);
    const imported = await runImport(server, db.url, model.files.length, model.totalBytes, s.timeoutMs);
    return { backend, baseline, imported };
  } finally {
    await server?.stop().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    await s3?.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

function report(s: Settings, model: { files: FakeFile[]; totalBytes: number }, rows: Row[]): string {
  const small = model.files.filter((f) => !f.lfs);
  const large = model.files.filter((f) => f.lfs);
  const lines = [
    `Machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} CPU(s), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}, Node ${process.version}`,
    `Model: ${(model.totalBytes / MiB).toFixed(0)} MiB = ${large.length} LFS files of ~${(((large[0]?.content as { size: number })?.size ?? 0) / MiB).toFixed(0)} MiB + ${small.length} small files (1–64 KiB)`,
    "",
    "| backend | baseline MiB/s | import MiB/s | ratio | import peak RSS (MiB) | baseline peak RSS (MiB) |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows.map(({ backend, baseline, imported }) =>
      `| ${backend} | ${rate(baseline).toFixed(1)} | ${rate(imported).toFixed(1)} | ${(rate(imported) / rate(baseline)).toFixed(2)} | ${imported.peakRssMiB.toFixed(0)} (VmHWM ${imported.serverHwmMiB?.toFixed(0) ?? "?"}) | ${baseline.peakRssMiB.toFixed(0)} |`),
    "",
    ...rows.map(({ backend, baseline, imported }) =>
      `${backend}: baseline ${baseline.seconds.toFixed(1)} s (CPU ${baseline.cpuSeconds?.toFixed(1) ?? "?"} s); import ${imported.seconds.toFixed(1)} s (server CPU ${imported.cpuSeconds?.toFixed(1) ?? "?"} s), by status: ${imported.phases.map((p) => `${p.status} ${p.seconds.toFixed(1)}`).join(", ")}`),
  ];
  return lines.join("\n");
}

async function main(): Promise<void> {
  const s = settings();
  const model = syntheticModel(s);
  const hub = await startFakeHub([{ id: REPO, files: model.files }], { pageSize: 50, treePageSize: 1000 });
  try {
    const commit = hub.resolveRevision(REPO, "main")!;
    process.stderr.write(`hashing the synthetic model (${s.sizeMiB} MiB) once, before anything is timed\n`);
    for (const file of model.files) await hub.fileInfo(REPO, "main", file.path);
    const rows: Row[] = [];
    for (const backend of s.backends) rows.push(await benchBackend(backend, s, hub, model, commit));
    process.stdout.write(`\n${report(s, model, rows)}\n`);
  } finally {
    await hub.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
