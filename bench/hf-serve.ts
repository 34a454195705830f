import { createHash } from "node:crypto";
import { get, type IncomingHttpHeaders } from "node:http";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { toHfToken } from "../src/auth/hf-token";
import { createTestDatabase, type TestDatabase } from "../test/support/database";
import { stopEmbeddedTestDatabase, useEmbeddedTestDatabase } from "../test/support/global-setup";
import { bothInTurn, gql, intSetting, median, MiB, RssProbe, sleep, startServer, startService, type Server, type Service } from "./harness";
import type { HubService } from "./services";

/*
 * `npm run bench:hf`: serving one large file from filesystem storage through the Hugging
 * Face-compatible endpoint (`GET /hf/{repo}/resolve/main/{file}`, a registry token, the catalogue
 * lookup, the stream), against a plain `fs.createReadStream → http` server (hf-baseline.ts)
 * serving the very same file, in the same run. BENCH_CLIENTS clients download the whole file at
 * once from one, then from the other (the order flips every run); the rate is all their bytes
 * over the time until the last one finished.
 *
 * The model is imported from the fake hub first, as a user would; the server is then restarted
 * on the same data, so that its memory peak (VmHWM) is the serving's, not the import's. Every
 * party runs in a process of its own; this one starts them, downloads and watches.
 *
 * Environment: BENCH_SIZE_MIB (default 1024), BENCH_CLIENTS (8), BENCH_RUNS (3), BENCH_TIMEOUT_S
 * (3600), BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the
 * serving server), TEST_DATABASE_URL (the PostgreSQL server that gets a fresh database).
 */

const REPO = "bench/serve";
const FILE = "model.safetensors";
const GOALS = { ratio: 0.9, rssMiB: 200 };

interface Settings {
  sizeMiB: number;
  clients: number;
  runs: number;
  timeoutMs: number;
  serverNodeArgs: string[];
}

function settings(env = process.env): Settings {
  const int = (name: string, fallback: number, min = 1) => intSetting(env, name, fallback, min);
  return { sizeMiB: int("BENCH_SIZE_MIB", 1024), clients: int("BENCH_CLIENTS", 8), runs: int("BENCH_RUNS", 3), timeoutMs: int("BENCH_TIMEOUT_S", 3600) * 1000,
    serverNodeArgs: (env.BENCH_SERVER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean) };
}

// ---------------------------------------------------------------------------------------------
// Setting up: the import, and the two servers

const SCAN = `mutation($input: ScanArtifactModelsInput!) { scanArtifactModels(input: $input) { artifactRevision { edges { node { id } } } } }`;
const IMPORT = `mutation($input: ImportArtifactsInput!) { importArtifacts(input: $input) { tasks { taskId } } }`;
const REVISION = `query($id: ID!) { artifactRevision(id: $id) { status lastError mount { kind hostPath } } }`;

/** Imports REPO@main into the server's filesystem storage; returns the file's path there (from ArtifactRevision.mount). */
async function importModel(server: Server, timeoutMs: number): Promise<string> {
  const { scanArtifactModels } = await gql(server, SCAN, { input: { models: [{ modelId: REPO, revision: "main" }] } });
  const id: string = scanArtifactModels.artifactRevision.edges[0].node.id;
  await gql(server, IMPORT, { input: { artifactRevisionIds: [id] } });
  for (const deadline = Date.now() + timeoutMs; ; await sleep(500)) {
    const { artifactRevision: r } = await gql(server, REVISION, { id });
    if (r.status === "AVAILABLE") {
      if (r.mount?.kind !== "FILESYSTEM") throw new Error(`expected filesystem storage, got mount ${JSON.stringify(r.mount)}`);
      return path.join(r.mount.hostPath, FILE);
    }
    if (r.status === "FAILED") throw new Error(`the import FAILED: ${r.lastError}`);
    if (Date.now() > deadline) throw new Error(`the import did not end within ${timeoutMs / 1000} s (${r.status})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Measurement {
  seconds: number;
  bytes: number;
  peakRssMiB: number;
  hwmMiB: number | null;
  cpuSeconds: number | null;
}

/** Downloads url whole; resolves with the byte count, and the SHA-256 when asked. */
function download(url: string, headers: IncomingHttpHeaders, hash = false): Promise<{ bytes: number; sha256?: string }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`GET ${url}: ${res.statusCode} ${res.headers["x-error-message"] ?? ""}`));
      }
      const sha = hash ? createHash("sha256") : null;
      let bytes = 0;
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        sha?.update(chunk);
      });
      res.on("end", () => resolve({ bytes, sha256: sha?.digest("hex") }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

/** `clients` whole downloads at once, the serving process watched meanwhile. */
async function measure(url: string, headers: IncomingHttpHeaders, pid: number, clients: number, size: number): Promise<Measurement> {
  const probe = await new RssProbe(pid).start();
  const started = process.hrtime.bigint();
  const done = await Promise.all(Array.from({ length: clients }, () => download(url, headers)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = await probe.stop();
  for (const { bytes } of done) if (bytes !== size) throw new Error(`GET ${url}: ${bytes} bytes, expected ${size}`);
  return { seconds, bytes: clients * size, peakRssMiB: rss.sampledPeakMiB, hwmMiB: rss.hwmMiB, cpuSeconds: rss.cpuSeconds };
}

async function rssMiB(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;
}

const rate = (m: Measurement) => m.bytes / MiB / m.seconds;
const fixed = (value: number | null, digits = 1) => (value === null ? "?" : value.toFixed(digits));

interface Row {
  run: number;
  baseline: Measurement;
  served: Measurement;
}

function report(s: Settings, rows: Row[], restingMiB: number): string {
  const ratios = rows.map((r) => rate(r.served) / rate(r.baseline));
  const ratio = median(ratios);
  const peakRss = Math.max(...rows.map((r) => Math.max(r.served.peakRssMiB, r.served.hwmMiB ?? 0)));
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  return [
    `Machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} CPU(s), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}, Node ${process.version}`,
    `One file of ${s.sizeMiB} MiB in filesystem storage, ${s.clients} clients downloading it whole at once; medians of ${s.runs} run(s). ` +
      `The server holds ${restingMiB.toFixed(0)} MiB at rest, before the first download.`,
    "",
    "| | baseline (fs.createReadStream → http) | /hf/…/resolve/… |",
    "|---|---:|---:|",
    `| MiB/s, all clients | ${median(rows.map((r) => rate(r.baseline))).toFixed(0)} | ${median(rows.map((r) => rate(r.served))).toFixed(0)} |`,
    `| CPU seconds of the serving process | ${median(rows.map((r) => r.baseline.cpuSeconds ?? NaN)).toFixed(1)} | ${median(rows.map((r) => r.served.cpuSeconds ?? NaN)).toFixed(1)} |`,
    `| peak RSS, MiB (sampled / VmHWM) | ${median(rows.map((r) => r.baseline.peakRssMiB)).toFixed(0)} / ${fixed(median(rows.map((r) => r.baseline.hwmMiB ?? NaN)), 0)} | ${median(rows.map((r) => r.served.peakRssMiB)).toFixed(0)} / ${fixed(median(rows.map((r) => r.served.hwmMiB ?? NaN)), 0)} |`,
    "",
    `Ratio ${ratio.toFixed(2)}${ratios.length > 1 ? ` (runs ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})` : ""}: goal ≥ ${GOALS.ratio} ${verdict(ratio >= GOALS.ratio)}. ` +
      `Server peak RSS ${peakRss.toFixed(0)} MiB at most: goal < ${GOALS.rssMiB} MiB ${verdict(peakRss < GOALS.rssMiB)}.`,
    "",
    ...rows.map((r) => `run ${r.run}: baseline ${rate(r.baseline).toFixed(0)} MiB/s in ${r.baseline.seconds.toFixed(2)} s (CPU ${fixed(r.baseline.cpuSeconds)} s, RSS ${r.baseline.peakRssMiB.toFixed(0)} MiB); ` +
      `/hf ${rate(r.served).toFixed(0)} MiB/s in ${r.served.seconds.toFixed(2)} s (CPU ${fixed(r.served.cpuSeconds)} s, RSS ${r.served.peakRssMiB.toFixed(0)} MiB, VmHWM ${fixed(r.served.hwmMiB, 0)}); ratio ${(rate(r.served) / rate(r.baseline)).toFixed(2)}`),
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const s = settings();
  const size = s.sizeMiB * MiB;
  const work = await mkdtemp(path.join(os.tmpdir(), "bench-hf-"));
  const env = (db: TestDatabase, hub: HubService) => ({ DATABASE_URL: db.url, DATA_DIR: path.join(work, "server"), HF_ENDPOINT: hub.url });
  const logFile = path.join(os.tmpdir(), "bench-hf-server.log");
  let hub: Service<HubService> | undefined;
  let baseline: Service<{ url: string }> | undefined;
  let server: Server | undefined;
  let db: TestDatabase | undefined;
  try {
    process.stderr.write(`starting the fake hub with one ${s.sizeMiB} MiB LFS file; it hashes it once\n`);
    hub = await startService<HubService>(["hub", JSON.stringify({ repo: REPO, files: [{ path: FILE, content: { size, seed: 1 }, lfs: true }] })]);
    const tree = (await (await fetch(`${hub.info.url}/api/models/${REPO}/tree/main`)).json()) as Array<{ path: string; lfs?: { oid: string } }>;
    const expectedSha = tree.find((e) => e.path === FILE)!.lfs!.oid;

    // TEST_DATABASE_URL, or an embedded PostgreSQL for the run (as every benchmark does).
    await useEmbeddedTestDatabase();
    db = await createTestDatabase("ar_bench");
    server = await startServer(env(db, hub.info), [], logFile);
    process.stderr.write(`importing ${REPO} into filesystem storage (server log: ${logFile})\n`);
    const file = await importModel(server, s.timeoutMs);
    // A fresh process on the same data: its VmHWM is then the serving's, not the import's.
    await server.stop();
    server = await startServer({ ...env(db, hub.info), IMPORT_WORKER: "false" }, s.serverNodeArgs, logFile);
    baseline = await startService<{ url: string }>([file], "hf-baseline.js");

    const url = `${server.url}/hf/${REPO}/resolve/main/${FILE}`;
    const auth = { authorization: `Bearer ${toHfToken(server.token)}` };
    const restingMiB = await rssMiB(server.pid);
    const check = await download(url, auth, true);
    if (check.sha256 !== expectedSha) throw new Error(`/hf served a file whose SHA-256 is ${check.sha256}, not the hub's ${expectedSha}`);
    process.stderr.write(`/hf serves the file byte for byte (SHA-256 ${expectedSha.slice(0, 12)}…); measuring\n`);

    const rows: Row[] = [];
    for (let run = 1; run <= s.runs; run++) {
      const measureBaseline = () => measure(baseline!.info.url, {}, baseline!.pid, s.clients, size);
      const measureServed = () => measure(url, auth, server!.pid, s.clients, size);
      const [b, h] = await bothInTurn(run, measureBaseline, measureServed);
      rows.push({ run, baseline: b, served: h });
      process.stderr.write(`run ${run}: baseline ${rate(b).toFixed(0)} MiB/s, /hf ${rate(h).toFixed(0)} MiB/s, ratio ${(rate(h) / rate(b)).toFixed(2)}, server RSS ${h.peakRssMiB.toFixed(0)} MiB\n`);
    }
    process.stdout.write(`\n${report(s, rows, restingMiB)}\n`);
  } finally {
    await baseline?.stop().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    await hub?.stop().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    await stopEmbeddedTestDatabase().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
