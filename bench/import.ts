import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createClient } from "graphql-ws";
import { Client } from "pg";
import WebSocket from "ws";
import { decodeGlobalId } from "../src/common/relay";
import { createTestDatabase } from "../test/support/database";
import { stopEmbeddedTestDatabase, useEmbeddedTestDatabase } from "../test/support/global-setup";
import type { FakeFile } from "../test/support/fake-hub";
import { sha256Rate } from "../src/import/pipeline/hash";
import { freePort } from "../src/common/net";
import type { BaselineJob } from "./baseline";
import { cpuSeconds, formatThreadCpu } from "./proc";
import { formatLinkStats, wallMs, type LinkStats } from "./link";
import type { HubService, S3Service } from "./services";
import { DIST, inRotation, gql, intSetting, median, MiB, RssProbe, sleep, startServer, startService, type Server, type Service } from "./harness";

/*
 * `npm run bench:import`: imports a synthetic model (a few large LFS files and many small ones)
 * from the fake hub into each storage backend through the real server, and measures in the same
 * run the peer (peer.ts: the official client, @huggingface/hub, downloading the same files into
 * the same kind of storage) and the baseline (the same bytes piped straight from the same hub
 * into the same storage adapter, with no database and no verification).
 *
 * Every party is a process of its own: the fake hub, s3rver, the server, the baseline. This one
 * only starts them and watches. So the measured process's memory is its own (peak RSS is its
 * VmRSS sampled every 100 ms, and the kernel's VmHWM), and the hub and s3rver do not share an
 * event loop. Baseline, peer and import take turns BENCH_RUNS times (the order rotates every
 * run, a fresh database and server for each import); the table shows medians, a ratio being the
 * median of the runs' ratios.
 *
 * Environment: BENCH_SIZE_MIB (default 1024), BENCH_LARGE_FILES (4), BENCH_SMALL_FILES (200),
 * BENCH_BACKENDS (filesystem,s3), BENCH_RUNS (3), BENCH_HUB_CONTENT (generated: the hub derives
 * each byte from an AES-CTR keystream as it sends it, as in the tests; memory: it holds the same
 * bytes in memory, which costs it far less CPU), BENCH_CONCURRENCY (files in parallel, in the
 * baseline and, unless BENCH_SERVER_ENV says otherwise, in the import: 4), BENCH_SERVER_ENV (extra
 * server variables, e.g. "IMPORT_FILE_CONCURRENCY=8"), BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof" to profile the import), BENCH_LINK_MIBPS (0: none; else every byte
 * from the hub crosses a link of that many MiB/s, link.ts), BENCH_IDLE_S (30: how long the server
 * idles after the import before its RSS is read again), TEST_DATABASE_URL (the PostgreSQL server
 * that gets a fresh database per import; unset: an embedded one for the run).
 */

const REPO = "bench/synthetic";

interface Settings {
  sizeMiB: number;
  largeFiles: number;
  smallFiles: number;
  backends: Array<"filesystem" | "s3">;
  runs: number;
  hubInMemory: boolean;
  concurrency: number;
  serverEnv: Record<string, string>;
  serverNodeArgs: string[];
  baselineNodeArgs: string[];
  timeoutMs: number;
  /** MiB/s of the link between the hub and its clients (link.ts); 0: no link, straight to the hub. */
  linkMiBps: number;
  /** Seconds the server idles after an import before its RSS is read again. */
  idleSeconds: number;
}

function settings(env = process.env): Settings {
  const int = (name: string, fallback: number, min = 1) => intSetting(env, name, fallback, min);
  const backends = (env.BENCH_BACKENDS ?? "filesystem,s3").split(",").map((b) => b.trim()).filter(Boolean);
  for (const backend of backends) if (backend !== "filesystem" && backend !== "s3") throw new Error(`BENCH_BACKENDS: unknown backend ${backend}`);
  const hubContent = env.BENCH_HUB_CONTENT || "generated";
  if (hubContent !== "generated" && hubContent !== "memory") throw new Error(`BENCH_HUB_CONTENT must be generated or memory, got ${hubContent}`);
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
    runs: int("BENCH_RUNS", 3),
    hubInMemory: hubContent === "memory",
    concurrency: int("BENCH_CONCURRENCY", 4),
    // The same parallelism on both sides, unless asked otherwise.
    serverEnv: { IMPORT_FILE_CONCURRENCY: String(int("BENCH_CONCURRENCY", 4)), ...serverEnv },
    serverNodeArgs: (env.BENCH_SERVER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean),
    baselineNodeArgs: (env.BENCH_BASELINE_NODE_ARGS ?? "").split(/\s+/).filter(Boolean),
    timeoutMs: int("BENCH_TIMEOUT_S", 3600) * 1000,
    linkMiBps: int("BENCH_LINK_MIBPS", 0, 0),
    idleSeconds: int("BENCH_IDLE_S", 30, 0),
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
// The two measurements

interface Measurement {
  bytes: number;
  seconds: number;
  /** When the timed transfer started (wallMs). */
  startedAtMs: number;
  peakRssMiB: number;
  /** CPU seconds the measured process used meanwhile. */
  cpuSeconds: number | null;
  /** The same by kind of thread (see threadCpu). */
  threadCpu?: Record<string, number>;
  /** CPU seconds the helper processes (hub, s3rver, link) spent meanwhile, by name. */
  servicesCpu?: Record<string, number | null>;
  /** What the link did meanwhile, when there is one. */
  link?: LinkStats;
}

/** Runs the baseline (baseline.js) or the peer (peer.js) on `job` in a process of its own. */
async function runClient(script: "baseline.js" | "peer.js", job: BaselineJob, nodeArgs: string[]): Promise<Measurement> {
  const child = spawn(process.execPath, [...nodeArgs, path.join(DIST, "bench", script), JSON.stringify(job)], { stdio: ["ignore", "pipe", "inherit"] });
  const probe = new RssProbe(child.pid!);
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  // Read the kernel's peak before the process is reaped.
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const rss = await probe.stop();
  if (code !== 0) throw new Error(`${script} exited with ${code}`);
  const { bytes, seconds, startedAtMs, cpuSeconds, threadCpu } = JSON.parse(out.trim().split("\n").pop()!) as Pick<Measurement, "bytes" | "seconds" | "startedAtMs" | "cpuSeconds" | "threadCpu">;
  return { bytes, seconds, startedAtMs, peakRssMiB: rss.sampledPeakMiB, cpuSeconds, threadCpu };
}

const SCAN = `mutation($input: ScanArtifactsInput!) { scanArtifacts(input: $input) { artifacts { id name } } }`;
const REVISIONS = `query($id: ID!) { artifact(id: $id) { revisions(first: 10) { edges { node { id version status files(first: 1) { count } } } } } }`;
const IMPORT = `mutation($input: ImportArtifactsInput!) { importArtifacts(input: $input) { tasks { taskId artifactRevision { id status } } } }`;
const STATUS = `query($id: ID!) { artifactRevision(id: $id) { status lastError } }`;

interface ImportMeasurement extends Measurement {
  serverHwmMiB: number | null;
  /** The server's RSS just before the import was requested: what it holds at rest. */
  restingRssMiB: number;
  /** The server's RSS after idling BENCH_IDLE_S seconds past the end of the import (null when 0). */
  idleRssMiB: number | null;
  /** What the RSS is made of at rest before, at the end of the import and after idling: to tell the V8 heap from the rest. */
  memory: { rest: MemoryBreakdown | null; end: MemoryBreakdown | null; idle: MemoryBreakdown | null };
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

async function runImport(server: Server, databaseUrl: string, fileCount: number, totalBytes: number, timeoutMs: number, idleSeconds: number): Promise<ImportMeasurement> {
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

  const resting = await rssMiB(server.pid);
  const rest = await memoryOf(server);
  const watch = await watchRevision(server, revisionId);
  const probe = await new RssProbe(server.pid).start();
  let rss: Awaited<ReturnType<RssProbe["stop"]>> | undefined;
  try {
    const requestedAt = Date.now();
    const startedAtMs = wallMs();
    const started = process.hrtime.bigint();
    await gql(server, IMPORT, { input: { artifactRevisionIds: [revisionId] } });
    const outcome = await watch.settled(timeoutMs);
    const seconds = Number(outcome.at - started) / 1e9;
    rss = await probe.stop();
    if (process.stderr.isTTY) process.stderr.write("\n");
    if (outcome.status === "FAILED") {
      const { artifactRevision } = await gql(server, STATUS, { id: revisionId });
      throw new Error(`the import FAILED: ${artifactRevision.lastError}`);
    }
    const { id } = decodeRevisionId(revisionId);
    const phases = await phasesOf(databaseUrl, id, requestedAt, requestedAt + seconds * 1000);
    await watch.close();
    const end = await memoryOf(server);
    // What the server gives back once it has nothing to do: nothing here calls it meanwhile (but one /metrics read).
    let idleRssMiB: number | null = null;
    let idle: MemoryBreakdown | null = null;
    if (idleSeconds > 0) {
      await sleep(idleSeconds * 1000);
      idleRssMiB = await rssMiB(server.pid);
      idle = await memoryOf(server);
    }
    return {
      bytes: totalBytes, seconds, startedAtMs, peakRssMiB: rss.sampledPeakMiB, serverHwmMiB: rss.hwmMiB, restingRssMiB: resting, idleRssMiB,
      memory: { rest, end, idle }, cpuSeconds: rss.cpuSeconds, threadCpu: rss.threadCpu, phases,
    };
  } finally {
    if (!rss) await probe.stop();
    await watch.close();
  }
}

interface MemoryBreakdown {
  /** VmRSS split: anonymous memory (heaps, buffers) and file pages (the node binary's code). */
  anonMiB: number;
  fileMiB: number;
  /** From the server's /metrics (prom-client's process.memoryUsage()): the V8 heap and the memory outside it that V8 knows of. */
  heapTotalMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
}

/** The server's memory by kind; null when /metrics does not answer. */
async function memoryOf(server: Server): Promise<MemoryBreakdown | null> {
  const status = await readFile(`/proc/${server.pid}/status`, "utf8");
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  const response = await fetch(`${server.url}/metrics`).catch(() => null);
  if (!response?.ok) return null;
  const text = await response.text();
  const gauge = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)`, "m").exec(text)?.[1] ?? NaN) / 2 ** 20;
  return {
    anonMiB: kib("RssAnon"),
    fileMiB: kib("RssFile") + kib("RssShmem"),
    heapTotalMiB: gauge("nodejs_heap_size_total_bytes"),
    heapUsedMiB: gauge("nodejs_heap_size_used_bytes"),
    externalMiB: gauge("nodejs_external_memory_bytes"),
  };
}

function describeMemory(m: MemoryBreakdown | null): string {
  if (!m) return "?";
  return `anon ${m.anonMiB.toFixed(0)} + file ${m.fileMiB.toFixed(0)}; heap ${m.heapUsedMiB.toFixed(0)}/${m.heapTotalMiB.toFixed(0)}, external ${m.externalMiB.toFixed(0)}`;
}

async function rssMiB(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
}

const STATUS_CHANGED = `subscription($input: ArtifactStatusChangedInput!) { artifactStatusChanged(input: $input) { artifactRevision { status } } }`;
const PROGRESS_UPDATED = `subscription($id: ID!) { artifactImportProgressUpdated(artifactRevisionId: $id) { status importProgress { downloadedBytes totalBytes } } }`;

/**
 * Learns when the import settles from the server's own subscription, as a client would, instead
 * of asking: ten status queries a second cost the server CPU that the import needs on a small
 * machine. A query every 2 s stands by in case the subscription missed the end.
 */
async function watchRevision(server: Server, revisionId: string): Promise<{ settled(timeoutMs: number): Promise<{ status: string; at: bigint }>; close(): Promise<void> }> {
  const ws = createClient({ url: `${server.url.replace(/^http/, "ws")}/graphql`, webSocketImpl: WebSocket, connectionParams: { Authorization: `Bearer ${server.token}` }, retryAttempts: 0, lazy: false });
  await new Promise<void>((resolve, reject) => {
    ws.on("connected", () => resolve());
    ws.on("closed", (event) => reject(new Error(`the subscription connection closed: ${JSON.stringify(event)}`)));
  });
  let settle!: (outcome: { status: string; at: bigint }) => void;
  let fail!: (error: unknown) => void;
  const outcome = new Promise<{ status: string; at: bigint }>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  // Rejections are read by settled(); this keeps one that comes first from going unhandled.
  outcome.catch(() => undefined);
  let seen = false;
  const ended = (status: string, by: "event" | "query") => {
    if (seen || (status !== "AVAILABLE" && status !== "FAILED")) return;
    seen = true;
    if (by === "query") process.stderr.write(`  the subscription missed the end of the import: its time is up to 2 s long\n`);
    settle({ status, at: process.hrtime.bigint() });
  };
  const unsubscribe = [
    ws.subscribe<any>({ query: STATUS_CHANGED, variables: { input: { artifactRevisionIds: [revisionId] } } }, {
      next: ({ data, errors }) => (errors ? fail(new Error(JSON.stringify(errors))) : ended(data?.artifactStatusChanged.artifactRevision.status, "event")),
      // A lost connection leaves the end to the standby query.
      error: (error) => process.stderr.write(`  the status subscription failed (${String((error as Error)?.message ?? error)}); waiting by query\n`),
      complete: () => undefined,
    }),
  ];
  if (process.stderr.isTTY) {
    unsubscribe.push(ws.subscribe<any>({ query: PROGRESS_UPDATED, variables: { id: revisionId } }, {
      next: ({ data }) => {
        const { status, importProgress: p } = data?.artifactImportProgressUpdated ?? {};
        if (p) process.stderr.write(`\r  import: ${status} ${(Number(p.downloadedBytes) / MiB).toFixed(0)}/${(Number(p.totalBytes) / MiB).toFixed(0)} MiB      `);
      },
      error: () => undefined,
      complete: () => undefined,
    }));
  }
  let closed = false;
  const standBy = setInterval(() => {
    gql(server, STATUS, { id: revisionId }).then(({ artifactRevision }) => ended(artifactRevision.status, "query"), fail);
  }, 2000);
  return {
    settled: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the import did not settle within ${timeoutMs / 1000} s`)), timeoutMs);
      });
      try {
        return await Promise.race([outcome, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(standBy);
      for (const stop of unsubscribe) stop();
      await ws.dispose();
    },
  };
}

// ---------------------------------------------------------------------------------------------

interface Row {
  backend: string;
  run: number;
  baseline: Measurement;
  peer: Measurement;
  imported: ImportMeasurement;
}

function decodeRevisionId(globalId: string): { id: string } {
  const decoded = decodeGlobalId(globalId);
  if (!decoded) throw new Error(`not a global ID: ${globalId}`);
  return decoded;
}

const rate = (m: Measurement) => m.bytes / MiB / m.seconds;

/** Runs `work` and adds the CPU the helper processes (hub, s3rver, link) spent meanwhile to its measurement. */
async function withServicesCpu<M extends Measurement>(services: Record<string, { pid: number } | undefined>, link: Service<unknown> | undefined, work: () => Promise<M>): Promise<M> {
  const present = Object.entries(services).filter((entry): entry is [string, { pid: number }] => entry[1] !== undefined);
  const before = await Promise.all(present.map(([, service]) => cpuSeconds(service.pid)));
  const measured = await work();
  const after = await Promise.all(present.map(([, service]) => cpuSeconds(service.pid)));
  const spent = present.map(([name], i) => [name, before[i] === null || after[i] === null ? null : after[i]! - before[i]!] as const);
  // What the link did during the measured transfer alone.
  const linkStats = link ? (JSON.parse(await link.ask(`stats ${measured.startedAtMs} ${measured.startedAtMs + measured.seconds * 1000}`)) as LinkStats) : undefined;
  if (link && process.env.BENCH_LINK_TIMELINE) {
    // The same in tenths of the transfer, to see when the link waited.
    const tenth = (measured.seconds * 1000) / 10;
    for (let i = 0; i < 10; i++) {
      const from = measured.startedAtMs + i * tenth;
      const slice = JSON.parse(await link.ask(`stats ${from} ${from + tenth}`)) as LinkStats;
      process.stderr.write(`  ${((i * tenth) / 1000).toFixed(2)} s: ${(slice.bytes / MiB / (tenth / 1000)).toFixed(0)} MiB/s; ${formatLinkStats(slice)}\n`);
    }
  }
  return { ...measured, servicesCpu: Object.fromEntries(spent), ...(linkStats ? { link: linkStats } : {}) };
}

/** `hubUrl`: where clients reach the hub (through the link when there is one). */
async function benchBackend(backend: "filesystem" | "s3", s: Settings, hub: Service<HubService>, link: Service<unknown> | undefined, hubUrl: string, model: { files: FakeFile[]; totalBytes: number }): Promise<Row[]> {
  const work = await mkdtemp(path.join(os.tmpdir(), `bench-import-${backend}-`));
  const s3 = backend === "s3" ? await startService<S3Service>(["s3"]) : undefined;
  const rows: Row[] = [];
  try {
    for (let run = 1; run <= s.runs; run++) {
      const baselineBucket = `bench-baseline-${run}`;
      const baselineJob: BaselineJob = {
        hubUrl, repo: REPO, commit: hub.info.commit, concurrency: s.concurrency,
        storage: s3 ? { kind: "s3", ...s3.info, bucket: baselineBucket } : { kind: "filesystem", basePath: path.join(work, `baseline-${run}`) },
        files: model.files.map((f) => ({ path: f.path, size: (f.content as { size: number }).size })),
      };
      const baseline = async () => {
        process.stderr.write(`${backend} run ${run}: baseline (hub → storage adapter, ${s.concurrency} files at a time)\n`);
        const measured = await withServicesCpu({ hub, s3rver: s3, link }, link, () => runClient("baseline.js", baselineJob, s.baselineNodeArgs));
        // Leave the disk as the import finds it: the baseline's copy goes before the next measurement.
        if (!s3) await rm(path.join(work, `baseline-${run}`), { recursive: true, force: true });
        return measured;
      };
      const peerJob: BaselineJob = {
        ...baselineJob,
        storage: s3 ? { kind: "s3", ...s3.info, bucket: `bench-peer-${run}` } : { kind: "filesystem", basePath: path.join(work, `peer-${run}`) },
      };
      const peer = async () => {
        process.stderr.write(`${backend} run ${run}: peer (@huggingface/hub → ${s3 ? "S3 adapter" : "files"}, ${s.concurrency} files at a time)\n`);
        const measured = await withServicesCpu({ hub, s3rver: s3, link }, link, () => runClient("peer.js", peerJob, s.baselineNodeArgs));
        if (!s3) await rm(path.join(work, `peer-${run}`), { recursive: true, force: true });
        return measured;
      };
      const imported = async () => {
        const db = await createTestDatabase("ar_bench");
        let server: Server | undefined;
        try {
          const env: Record<string, string> = { DATABASE_URL: db.url, DATA_DIR: path.join(work, `server-${run}`), HF_ENDPOINT: hubUrl, ...s.serverEnv };
          if (s3) Object.assign(env, { S3_ENDPOINT: s3.info.endpoint, S3_ACCESS_KEY: s3.info.accessKey, S3_SECRET_KEY: s3.info.secretKey, S3_REGION: s3.info.region, S3_BUCKET: `bench-import-${run}` });
          server = await startServer(env, s.serverNodeArgs, path.join(os.tmpdir(), `bench-import-${backend}-server.log`));
          process.stderr.write(`${backend} run ${run}: import through the server (pid ${server.pid}, log ${server.logFile})\n`);
          const started = server;
          return await withServicesCpu({ hub, s3rver: s3, link }, link, () => runImport(started, db.url, model.files.length, model.totalBytes, s.timeoutMs, s.idleSeconds));
        } finally {
          await server?.stop().catch(() => undefined);
          await db.drop().catch(() => undefined);
          await rm(path.join(work, `server-${run}`), { recursive: true, force: true });
        }
      };
      const [b, p, i] = await inRotation(run, baseline, peer, imported);
      rows.push({ backend, run, baseline: b, peer: p, imported: i });
      process.stderr.write(`${backend} run ${run}: ${runLine(rows[rows.length - 1])}\n`);
    }
    return rows;
  } finally {
    await s3?.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}


const cpu = (value: number | null | undefined) => (value === null || value === undefined ? "?" : value.toFixed(1));

const GiB = 1024 * MiB;
/** CPU seconds per GiB moved: the measured process's (the server for the import, the client otherwise). */
const cpuPerGiB = (m: Measurement) => (m.cpuSeconds === null ? NaN : m.cpuSeconds / (m.bytes / GiB));

function runLine({ baseline, peer, imported }: Row): string {
  const services = (m: Measurement) => Object.entries(m.servicesCpu ?? {}).map(([name, seconds]) => `${name} ${cpu(seconds)}`).join(", ");
  const threads = (m: Measurement) => (m.threadCpu ? ` [${formatThreadCpu(m.threadCpu)}]` : "");
  const linkStates = (m: Measurement) => (m.link ? `; link: ${formatLinkStats(m.link)}` : "");
  const client = (name: string, m: Measurement) => `${name} ${rate(m).toFixed(1)} MiB/s in ${m.seconds.toFixed(1)} s (CPU ${cpu(m.cpuSeconds)} s${threads(m)}; ${services(m)}${linkStates(m)}), peak RSS ${m.peakRssMiB.toFixed(0)} MiB`;
  return `${client("baseline", baseline)}; ${client("peer", peer)}; ` +
    `import ${rate(imported).toFixed(1)} MiB/s in ${imported.seconds.toFixed(1)} s (server CPU ${cpu(imported.cpuSeconds)} s${threads(imported)}; ${services(imported)}${linkStates(imported)}), peak RSS ${imported.peakRssMiB.toFixed(0)} MiB (VmHWM ${imported.serverHwmMiB?.toFixed(0) ?? "?"}, ${imported.restingRssMiB.toFixed(0)} at rest before${imported.idleRssMiB === null ? "" : `, ${imported.idleRssMiB.toFixed(0)} after idling`}; at rest ${describeMemory(imported.memory.rest)}; at the end ${describeMemory(imported.memory.end)}${imported.memory.idle ? `; idle ${describeMemory(imported.memory.idle)}` : ""}); ` +
    `import/peer ${(rate(imported) / rate(peer)).toFixed(2)}, import/baseline ${(rate(imported) / rate(baseline)).toFixed(2)}; by status: ${imported.phases.map((p) => `${p.status} ${p.seconds.toFixed(1)}`).join(", ")}`;
}

function report(s: Settings, model: { files: FakeFile[]; totalBytes: number }, rows: Row[], shaRates: [number, number]): string {
  const small = model.files.filter((f) => !f.lfs);
  const large = model.files.filter((f) => f.lfs);
  const shaPerGiB = GiB / 1e6 / Math.max(...shaRates);
  const range = (values: number[]) => (values.length > 1 ? ` (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})` : "");
  const table = s.backends.map((backend) => {
    const runs = rows.filter((r) => r.backend === backend);
    const m = (pick: (r: Row) => number) => median(runs.map(pick));
    const maxImportRss = Math.max(...runs.map((r) => Math.max(r.imported.peakRssMiB, r.imported.serverHwmMiB ?? 0)));
    const vsPeer = runs.map((r) => rate(r.imported) / rate(r.peer));
    const vsBaseline = runs.map((r) => rate(r.imported) / rate(r.baseline));
    const idle = runs.map((r) => r.imported.idleRssMiB).filter((v): v is number => v !== null);
    const link = s.linkMiBps > 0 ? ` ${(m((r) => rate(r.imported)) / s.linkMiBps).toFixed(3)} |` : "";
    return `| ${backend} | ${m((r) => rate(r.imported)).toFixed(1)} | ${m((r) => rate(r.peer)).toFixed(1)} | ${m((r) => rate(r.baseline)).toFixed(1)} | ` +
      `${median(vsPeer).toFixed(2)}${range(vsPeer)} | ${median(vsBaseline).toFixed(2)} | ` +
      `${m((r) => cpuPerGiB(r.imported)).toFixed(2)} | ${m((r) => cpuPerGiB(r.peer)).toFixed(2)} | ${(m((r) => cpuPerGiB(r.peer)) + shaPerGiB).toFixed(2)} | ${m((r) => cpuPerGiB(r.baseline)).toFixed(2)} | ` +
      `${m((r) => Math.max(r.imported.peakRssMiB, r.imported.serverHwmMiB ?? 0)).toFixed(0)} (max ${maxImportRss.toFixed(0)}) | ${idle.length ? `${median(idle).toFixed(0)} (max ${Math.max(...idle).toFixed(0)})` : "–"} |${link}`;
  });
  const linkHead = s.linkMiBps > 0 ? ` import ÷ link |` : "";
  const linkRule = s.linkMiBps > 0 ? `---:|` : "";
  const lines = [
    `Machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} CPU(s), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}, Node ${process.version}; SHA-256 on one core: ${shaRates.map((r) => r.toFixed(0)).join(" MB/s before the runs, ")} MB/s after ` +
      `(${shaPerGiB.toFixed(2)} s of one core per GiB)`,
    `Model: ${(model.totalBytes / MiB).toFixed(0)} MiB = ${large.length} LFS files of ~${(((large[0]?.content as { size: number })?.size ?? 0) / MiB).toFixed(0)} MiB + ${small.length} small files (1–64 KiB)`,
    `Each measured process (baseline, peer, server) runs alone in its process; the fake hub (content ${s.hubInMemory ? "held in memory" : "generated as sent"}) and s3rver each run in another` +
      `${s.linkMiBps > 0 ? `, and every byte from the hub crosses a link of ${s.linkMiBps} MiB/s (link.ts)` : ""}. ` +
      `${s.concurrency} files at a time on every side. Medians of ${s.runs} run(s), in rotated order; CPU is the measured process's (the server's for the import), per GiB moved; ` +
      `peak RSS is the server's (VmHWM or sampled VmRSS), idle RSS its VmRSS ${s.idleSeconds} s after the import.`,
    "",
    `| backend | import MiB/s | peer MiB/s | baseline MiB/s | import ÷ peer | import ÷ baseline | import CPU s/GiB | peer CPU s/GiB | peer + SHA-256 | baseline CPU s/GiB | import peak RSS (MiB) | RSS after idle (MiB) |${linkHead}`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|${linkRule}`,
    ...table,
    "",
    ...rows.map((row) => `${row.backend} run ${row.run}: ${runLine(row)}`),
  ];
  return lines.join("\n");
}

async function main(): Promise<void> {
  const s = settings();
  const model = syntheticModel(s);
  const shaBefore = sha256Rate(256);
  process.stderr.write(`starting the fake hub; it hashes the synthetic model (${s.sizeMiB} MiB) once, before anything is timed\n`);
  // With a link, the hub's LFS redirects point at the link's second port, which leads to its CDN.
  const linkPorts = s.linkMiBps > 0 ? [await freePort(), await freePort()] : null;
  const hub = await startService<HubService>(["hub", JSON.stringify({ repo: REPO, files: model.files, inMemory: s.hubInMemory, ...(linkPorts ? { cdnBase: `http://127.0.0.1:${linkPorts[1]}` } : {}) })]);
  let link: Service<unknown> | undefined;
  await useEmbeddedTestDatabase();
  try {
    let hubUrl = hub.info.url;
    if (linkPorts) {
      const target = (url: string) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) });
      link = await startService(["link", JSON.stringify({ mibps: s.linkMiBps, routes: [{ listenPort: linkPorts[0], target: target(hub.info.url) }, { listenPort: linkPorts[1], target: target(hub.info.cdnUrl) }] })]);
      hubUrl = `http://127.0.0.1:${linkPorts[0]}`;
    }
    const rows: Row[] = [];
    for (const backend of s.backends) rows.push(...(await benchBackend(backend, s, hub, link, hubUrl, model)));
    process.stdout.write(`\n${report(s, model, rows, [shaBefore, sha256Rate(256)])}\n`);
  } finally {
    await link?.stop();
    await hub.stop();
    await stopEmbeddedTestDatabase();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
