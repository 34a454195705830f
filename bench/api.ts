import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { createDataSource } from "../src/db/data-source";
import { createTestDatabase, type TestDatabase } from "../test/support/database";
import { stopEmbeddedTestDatabase, useEmbeddedTestDatabase } from "../test/support/global-setup";
import { Seed } from "../test/support/seed";
import { cpuSeconds } from "./proc";
import { DIST, intSetting, percentile, RssProbe, sleep, startServer } from "./harness";
import { listPageClient, listQuery } from "./list-page";

/*
 * `npm run bench:api`: what one web UI list page (ReservoirPageQuery, BENCH_PAGE_SIZE rows of
 * BENCH_ARTIFACTS) costs the server, for this tree and for a baseline built from
 * BENCH_BASELINE_REF (default: where this branch left main, `git merge-base HEAD main`) in the
 * same run, in alternating order over BENCH_ROUNDS.
 *
 * Per server and round: BENCH_CONCURRENCY clients (50) send the list query back to back for
 * BENCH_DURATION_SECONDS (20), from this process; the server is a process of its own. Reported:
 * server CPU (utime + stime from /proc) per request, latency p50/p99, peak RSS during the load
 * and RSS after BENCH_IDLE_SECONDS (30) idle. Then a second start of the same server at
 * LOG_LEVEL=debug counts the SQL statements of BENCH_COUNT_REQUESTS sequential requests in its
 * log (the query observer logs each one), so logging never weighs on the CPU measurement.
 *
 * Each server runs with the node flags of its own `npm start` (package.json).
 * BENCH_CPU_PROF=1 starts the measured servers with --cpu-prof (profiles in the printed folder).
 * BENCH_NODE_ARGS: extra node flags for both servers (e.g. "--max-semi-space-size=4");
 * BENCH_ONLY=before|after measures one of them (to try flags quickly).
 */

interface Settings {
  concurrency: number;
  durationSeconds: number;
  idleSeconds: number;
  artifacts: number;
  pageSize: number;
  rounds: number;
  countRequests: number;
  baselineRef: string;
  cpuProf: boolean;
  nodeArgs: string[];
  only: string | null;
}

function settings(env = process.env): Settings {
  const int = (name: string, fallback: number, min = 1) => intSetting(env, name, fallback, min);
  return {
    concurrency: int("BENCH_CONCURRENCY", 50),
    durationSeconds: int("BENCH_DURATION_SECONDS", 20),
    idleSeconds: int("BENCH_IDLE_SECONDS", 30, 0),
    artifacts: int("BENCH_ARTIFACTS", 500),
    pageSize: int("BENCH_PAGE_SIZE", 20),
    rounds: int("BENCH_ROUNDS", 2),
    countRequests: int("BENCH_COUNT_REQUESTS", 20),
    baselineRef: env.BENCH_BASELINE_REF || execFileSync("git", ["merge-base", "HEAD", "main"], { cwd: REPO, encoding: "utf8" }).trim(),
    cpuProf: env.BENCH_CPU_PROF === "1",
    nodeArgs: (env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean),
    only: env.BENCH_ONLY || null,
  };
}


const REPO = path.resolve(DIST, "..");


interface Variant {
  name: string;
  main: string;
  /** The node flags of the variant's own `npm start`, so each server runs as it is deployed. */
  startArgs: string[];
}

/** The flags between `node` and the script in a package.json's start script. */
function startArgs(root: string): string[] {
  const start: string = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).scripts?.start ?? "";
  const words = start.split(/\s+/);
  const node = words.indexOf("node");
  return node < 0 ? [] : words.slice(node + 1).filter((w) => w.startsWith("--"));
}

/**
 * The baseline's server, compiled from `git archive <ref>` into a cached folder beside this
 * clone's node_modules (tsc only: the list query needs no console bundle).
 */
async function buildBaseline(ref: string): Promise<Variant> {
  const commit = execFileSync("git", ["rev-parse", "--verify", `${ref}^{commit}`], { cwd: REPO, encoding: "utf8" }).trim();
  const dir = path.join(os.tmpdir(), `bench-api-baseline-${commit.slice(0, 12)}`);
  const main = path.join(dir, "dist", "src", "main.js");
  if (!existsSync(main)) {
    process.stderr.write(`building the baseline ${ref} (${commit.slice(0, 12)}) in ${dir}\n`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    execFileSync("sh", ["-c", `git archive ${commit} | tar -x -C '${dir}'`], { cwd: REPO, stdio: "inherit" });
    await symlink(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    execFileSync(process.execPath, [path.join(REPO, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], { cwd: dir, stdio: "inherit" });
  }
  return { name: `before (${ref === commit ? "" : `${ref} `}${commit.slice(0, 8)})`, main, startArgs: startArgs(dir) };
}

interface Measurement {
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  cpuMsPerRequest: number;
  p50: number;
  p99: number;
  peakRssMiB: number;
  idleRssMiB: number;
  statementsPerRequest: number;
}


async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

async function measure(variant: Variant, db: TestDatabase, s: Settings, query: string, round: number, profDir: string): Promise<Measurement> {
  const work = await mkdtemp(path.join(os.tmpdir(), "bench-api-"));
  const logFile = path.join(os.tmpdir(), `bench-api-server-${variant.name.split(" ")[0]}.log`);
  const env = { DATABASE_URL: db.url, DATA_DIR: work, IMPORT_WORKER: "false", HF_ENDPOINT: "http://127.0.0.1:9" };
  const nodeArgs = [...variant.startArgs, ...s.nodeArgs, ...(s.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${path.join(profDir, `${variant.name.split(" ")[0]}-${round}`)}`] : [])];
  let server = await startServer(env, nodeArgs, logFile, variant.main);
  try {
    const send = listPageClient(server, query, { artifacts: s.artifacts, pageSize: s.pageSize });
    // Warm-up, unmeasured: connections, the JIT, the database's caches.
    for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: s.concurrency }, () => send()));

    const latencies: number[] = [];
    let errors = 0;
    let firstError: string | undefined;
    const probe = await new RssProbe(server.pid).start();
    const cpuAtStart = await cpuSeconds(server.pid);
    const started = performance.now();
    const deadline = started + s.durationSeconds * 1000;
    await Promise.all(Array.from({ length: s.concurrency }, async () => {
      while (performance.now() < deadline) {
        const result = await send();
        latencies.push(result.ms);
        if (result.error) {
          errors++;
          firstError ??= result.error;
        }
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    const cpu = (await cpuSeconds(server.pid))! - cpuAtStart!;
    const { sampledPeakMiB } = await probe.stop();
    await sleep(s.idleSeconds * 1000);
    const idleRssMiB = await rssMiB(server.pid);
    await server.stop();

    // The statement count, from a server that logs each statement.
    const countLog = logFile.replace(/\.log$/, "-sql.log");
    server = await startServer({ ...env, LOG_LEVEL: "debug" }, [...variant.startArgs, ...s.nodeArgs], countLog, variant.main);
    const count = listPageClient(server, query, { artifacts: s.artifacts, pageSize: s.pageSize });
    await count();
    await sleep(500);
    const before = (await readFile(countLog, "utf8")).length;
    for (let i = 0; i < s.countRequests; i++) await count();
    await sleep(500);
    const log = (await readFile(countLog, "utf8")).slice(before);
    const statements = log.split("\n").filter((line) => line.includes('"message":"sql"')).length;
    return {
      requests: latencies.length,
      errors,
      firstError,
      seconds,
      cpuMsPerRequest: (cpu * 1000) / latencies.length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      peakRssMiB: sampledPeakMiB,
      idleRssMiB,
      statementsPerRequest: statements / s.countRequests,
    };
  } finally {
    await server.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

function table(s: Settings, results: Map<string, Measurement[]>): string {
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const rows = [
    `| (median of ${s.rounds} rounds) | requests/s | server CPU ms/request | p50 ms | p99 ms | SQL statements/request | peak RSS MiB | RSS after ${s.idleSeconds} s idle MiB | errors |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [name, ms] of results) {
    const m = (f: (x: Measurement) => number, digits = 1) => median(ms.map(f)).toFixed(digits);
    rows.push(`| ${name} | ${m((x) => x.requests / x.seconds, 0)} | ${m((x) => x.cpuMsPerRequest, 2)} | ${m((x) => x.p50)} | ${m((x) => x.p99)} | ${m((x) => x.statementsPerRequest)} | ${m((x) => x.peakRssMiB, 0)} | ${m((x) => x.idleRssMiB, 0)} | ${ms.reduce((n, x) => n + x.errors, 0)} |`);
  }
  const rounds = [...results].flatMap(([name, ms]) => ms.map((x, i) =>
    `- ${name}, round ${i + 1}: ${x.requests} requests in ${x.seconds.toFixed(1)} s, CPU ${x.cpuMsPerRequest.toFixed(2)} ms/request, p50 ${x.p50.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms, ${x.statementsPerRequest.toFixed(1)} statements, RSS peak ${x.peakRssMiB.toFixed(0)} / idle ${x.idleRssMiB.toFixed(0)} MiB${x.firstError ? `, first error: ${x.firstError}` : ""}`));
  return [
    `Machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} CPU(s), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}`,
    `ReservoirPageQuery, ${s.pageSize} rows of ${s.artifacts} artifacts, ${s.concurrency} concurrent clients for ${s.durationSeconds} s${s.nodeArgs.length ? `, node ${s.nodeArgs.join(" ")}` : ""}`,
    "",
    ...rows,
    "",
    ...rounds,
  ].join("\n");
}

async function main(): Promise<void> {
  const s = settings();
  const query = listQuery();
  const variants: Variant[] = [await buildBaseline(s.baselineRef), { name: "after (this tree)", main: path.join(DIST, "src", "main.js"), startArgs: startArgs(REPO) }]
    .filter((v) => !s.only || v.name.startsWith(s.only));
  const profDir = path.join(os.tmpdir(), `bench-api-profiles-${Date.now().toString(36)}`);
  const dbs: TestDatabase[] = [];
  try {
    await useEmbeddedTestDatabase();
    // One database per variant, seeded alike: each server runs its own migrations.
    for (const _ of variants) {
      const db = await createTestDatabase("ar_bench_api");
      dbs.push(db);
    }
    const results = new Map<string, Measurement[]>(variants.map((v) => [v.name, []]));
    for (let round = 1; round <= s.rounds; round++) {
      const order = variants.length === 1 ? [0] : round % 2 ? [0, 1] : [1, 0];
      for (const i of order) {
        process.stderr.write(`round ${round}: ${variants[i].name}\n`);
        if (round === 1 && i === order[0]) await seedAll(variants, dbs, s);
        results.get(variants[i].name)!.push(await measure(variants[i], dbs[i], s, query, round, profDir));
      }
    }
    process.stdout.write(`\n${table(s, results)}\n`);
    for (const v of variants) process.stdout.write(`- ${v.name} runs as: node ${v.startArgs.join(" ") || "(no flags)"}\n`);
    if (s.cpuProf) process.stdout.write(`\nCPU profiles: ${profDir}\n`);
  } finally {
    for (const db of dbs) await db.drop().catch(() => undefined);
    await stopEmbeddedTestDatabase().catch(() => undefined);
  }
}

/** Each server migrates its database when it first starts; the seed goes in once both have. */
async function seedAll(variants: Variant[], dbs: TestDatabase[], s: Settings): Promise<void> {
  for (let i = 0; i < variants.length; i++) {
    const work = await mkdtemp(path.join(os.tmpdir(), "bench-api-"));
    const server = await startServer({ DATABASE_URL: dbs[i].url, DATA_DIR: work, IMPORT_WORKER: "false", HF_ENDPOINT: "http://127.0.0.1:9" }, [], path.join(os.tmpdir(), "bench-api-seed.log"), variants[i].main);
    await server.stop();
    await rm(work, { recursive: true, force: true });
    const ds = createDataSource({ url: dbs[i].url, poolSize: 2 });
    await ds.initialize();
    try {
      const seed = new Seed(ds);
      const registry = await seed.registry({ name: "bench" });
      const artifacts = await seed.artifacts(registry.id, Array.from({ length: s.artifacts }, (_, n) => ({ name: `bench/model-${String(n).padStart(5, "0")}`, description: `Model ${n}` })));
      for (const artifact of artifacts) await seed.revisions(artifact.id, [{ version: "main", status: "AVAILABLE", size: 1000 }, { version: "v1", status: "SCANNED" }]);
    } finally {
      await ds.destroy();
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
