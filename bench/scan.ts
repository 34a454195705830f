import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Client } from "pg";
import { createTestDatabase, type TestDatabase } from "../test/support/database";
import { stopEmbeddedTestDatabase, useEmbeddedTestDatabase } from "../test/support/global-setup";
import { cpuSeconds } from "./proc";
import { FILES_PER_MODEL, README_BYTES, type HubStats, type ScanHubService, type ScanHubSettings } from "./scan-hub";
import { bothInTurn, DIST, gql, intSetting, median, sleep, startServer, startService, type Server } from "./harness";

/*
 * `npm run bench:scan`: `scanArtifacts(limit: BENCH_MODELS)` against the fake hub, through the
 * built server, and the same against a baseline build in the same run.
 *
 * The fake hub (scan-hub.ts) and the server are processes of their own; this one starts them,
 * sends the mutation and polls the database. Each round, for each build, gets a fresh database
 * and a fresh server, a warm-up scan of other models (connections, the JIT), then:
 * - response: the time until the mutation's response has arrived;
 * - filled: the time from the request until every scanned revision has its README and manifest
 *   (readme and size set), polled every BENCH_POLL_MS;
 * - rescan and rescan filled: the same mutation again, with every model already stored, until
 *   every revision's details have been written again;
 * - the server's CPU time for the scan and its details, the transactions the database committed
 *   (pg_stat_database, without this process's polls) and the hub requests, by kind.
 * Builds alternate first and last (bothInTurn); the table shows medians of BENCH_RUNS rounds.
 *
 * The baseline is another commit's server (BENCH_BASELINE_REF, by default the commit before the
 * scan work; "none" skips it), exported with `git archive` and compiled with this tree's
 * TypeScript and node_modules into a cache under the system's temp folder.
 *
 * Environment: BENCH_MODELS (500), BENCH_RUNS (5), BENCH_HUB_PAGE_SIZE (1000, the hub's
 * largest), BENCH_POLL_MS (20), BENCH_BASELINE_REF, BENCH_SERVER_ENV (extra server variables for
 * both builds, e.g. "SCAN_DETAIL_CONCURRENCY=8"), BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof"), TEST_DATABASE_URL (unset: an embedded PostgreSQL for the run).
 */

// The commit this work started from: main before the scan was batched.
const DEFAULT_BASELINE_REF = "0270ccb";
const WARMUP_MODELS = 20;
const ROOT = path.resolve(DIST, "..");

interface Settings {
  models: number;
  runs: number;
  pageSize: number;
  pollMs: number;
  baselineRef: string | null;
  serverEnv: Record<string, string>;
  serverNodeArgs: string[];
}

function settings(env = process.env): Settings {
  const int = (name: string, fallback: number, min = 1) => intSetting(env, name, fallback, min);
  const serverEnv = Object.fromEntries((env.BENCH_SERVER_ENV ?? "").split(/[\s,]+/).filter(Boolean).map((pair) => {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`BENCH_SERVER_ENV: expected NAME=value, got ${pair}`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }));
  const ref = env.BENCH_BASELINE_REF || DEFAULT_BASELINE_REF;
  return {
    models: int("BENCH_MODELS", 500),
    runs: int("BENCH_RUNS", 5),
    pageSize: int("BENCH_HUB_PAGE_SIZE", 1000),
    pollMs: int("BENCH_POLL_MS", 20),
    baselineRef: ref === "none" ? null : ref,
    serverEnv,
    serverNodeArgs: (env.BENCH_SERVER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean),
  };
}

// ---------------------------------------------------------------------------------------------
// The baseline build

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}): ${result.stderr || result.stdout}`);
  return result.stdout.trim();
}

/** The server's main.js of `ref`, built once into the temp folder and kept there for later runs. */
async function baselineMain(ref: string): Promise<{ main: string; commit: string }> {
  const commit = run("git", ["rev-parse", "--verify", `${ref}^{commit}`], ROOT);
  const dir = path.join(os.tmpdir(), `bench-scan-baseline-${commit}`);
  const main = path.join(dir, "dist", "src", "main.js");
  if (existsSync(main)) return { main, commit };
  process.stderr.write(`building the baseline ${commit.slice(0, 12)} into ${dir}\n`);
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    run("sh", ["-c", `git archive --format=tar "${commit}" | tar -x -C "${partial}"`], ROOT);
    await symlink(path.join(ROOT, "node_modules"), path.join(partial, "node_modules"), "dir");
    run(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(partial, "tsconfig.build.json")], partial);
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
  return { main, commit };
}

// ---------------------------------------------------------------------------------------------
// One round

interface Round {
  responseMs: number;
  filledMs: number;
  rescanMs: number;
  rescanFilledMs: number;
  serverCpuS: number;
  transactions: number;
  hub: HubStats;
  problems: string[];
}

const SCAN = `mutation($input: ScanArtifactsInput!) { scanArtifacts(input: $input) { artifacts { id name } } }`;

/** The database, as this process sees it; counts its own queries so they can be left out of the database's. */
class Probe {
  queries = 0;

  constructor(private readonly client: Client) {}

  async query<T>(text: string, values: unknown[] = []): Promise<T[]> {
    this.queries++;
    return (await this.client.query(text, values)).rows as T[];
  }

  /** Revisions of models named `prefix…`: how many, and how many have README and size (written at or after `since`, when given). */
  async progress(prefix: string, since: Date | null): Promise<{ total: number; filled: number }> {
    const [row] = await this.query<{ total: number; filled: number }>(
      `SELECT count(*)::int AS total,
              (count(*) FILTER (WHERE r.readme IS NOT NULL AND r.size IS NOT NULL AND ($2::timestamptz IS NULL OR r.updated_at >= $2)))::int AS filled
         FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE a.name LIKE $1`,
      [`${prefix}%`, since],
    );
    return row;
  }

  async waitFilled(prefix: string, expected: number, since: Date | null, pollMs: number, timeoutMs = 120_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const { total, filled } = await this.progress(prefix, since);
      if (total >= expected && filled >= expected) return;
      if (performance.now() > deadline) throw new Error(`${filled} of ${expected} revisions of ${prefix}… filled after ${timeoutMs / 1000} s (${total} stored)`);
      await sleep(pollMs);
    }
  }

  async transactions(database: string): Promise<number> {
    // An idle backend reports its counts late: up to 10 s (PGSTAT_IDLE_INTERVAL).
    await sleep(10_500);
    const [row] = await this.query<{ n: string }>(`SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = $1`, [database]);
    return Number(row.n);
  }

  /** What a scan of every bench model must have stored. */
  async check(models: number): Promise<string[]> {
    const [row] = await this.query<{ artifacts: number; licensed: number; revisions: number; readmes: number; files: number; errors: number }>(
      `SELECT (SELECT count(*) FROM artifacts WHERE name LIKE 'bench/%')::int AS artifacts,
              (SELECT count(*) FROM artifacts WHERE name LIKE 'bench/%' AND extra->>'license' = 'apache-2.0')::int AS licensed,
              count(DISTINCT r.id)::int AS revisions,
              (count(DISTINCT r.id) FILTER (WHERE length(r.readme) = $1))::int AS readmes,
              count(f.revision_id)::int AS files,
              (count(DISTINCT r.id) FILTER (WHERE r.last_error IS NOT NULL))::int AS errors
         FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id LEFT JOIN artifact_revision_files f ON f.revision_id = r.id
        WHERE a.name LIKE 'bench/%'`,
      [README_BYTES],
    );
    const expected = { artifacts: models, licensed: models, revisions: models, readmes: models, files: models * FILES_PER_MODEL, errors: 0 };
    return Object.entries(expected)
      .filter(([key, value]) => row[key as keyof typeof row] !== value)
      .map(([key, value]) => `${key}: ${row[key as keyof typeof row]}, expected ${value}`);
  }
}

async function hubStats(hub: ScanHubService): Promise<HubStats> {
  return (await (await fetch(hub.statsUrl)).json()) as HubStats;
}

async function round(label: string, main: string, hub: ScanHubService, s: Settings): Promise<Round> {
  const work = await mkdtemp(path.join(os.tmpdir(), "bench-scan-"));
  const logFile = path.join(os.tmpdir(), `bench-scan-${label}.log`);
  let db: TestDatabase | undefined;
  let server: Server | undefined;
  let client: Client | undefined;
  try {
    db = await createTestDatabase("ar_bench_scan");
    server = await startServer({ DATABASE_URL: db.url, DATA_DIR: work, IMPORT_WORKER: "false", HF_ENDPOINT: hub.url, ...s.serverEnv }, s.serverNodeArgs, logFile, main);
    client = new Client({ connectionString: db.url });
    await client.connect();
    const probe = new Probe(client);
    const scan = (prefix: string, limit: number) => gql(server!, SCAN, { input: { limit, search: prefix } });

    // Unmeasured: connections, the JIT, the database's caches.
    await scan("warmup/", WARMUP_MODELS);
    await probe.waitFilled("warmup/", WARMUP_MODELS, null, s.pollMs);
    await hubStats(hub);
    const transactionsBefore = await probe.transactions(db.name);
    const queriesBefore = probe.queries;
    const cpuBefore = await cpuSeconds(server.pid);

    const started = performance.now();
    const first = await scan("bench/", s.models);
    const responded = performance.now();
    await probe.waitFilled("bench/", s.models, null, s.pollMs);
    const filled = performance.now();
    const cpuAfter = await cpuSeconds(server.pid);
    const hub1 = await hubStats(hub);
    const transactions = (await probe.transactions(db.name)) - transactionsBefore - (probe.queries - queriesBefore);
    const problems = await probe.check(s.models);
    const returned = (first as { scanArtifacts: { artifacts: unknown[] } }).scanArtifacts.artifacts.length;
    if (returned !== s.models) problems.push(`the mutation returned ${returned} artifacts, expected ${s.models}`);

    const [{ now }] = await probe.query<{ now: Date }>(`SELECT now()`);
    const restarted = performance.now();
    await scan("bench/", s.models);
    const rescanned = performance.now();
    await probe.waitFilled("bench/", s.models, now, s.pollMs);
    const refilled = performance.now();
    problems.push(...(await probe.check(s.models)).map((p) => `after the rescan: ${p}`));

    return {
      responseMs: responded - started,
      filledMs: filled - started,
      rescanMs: rescanned - restarted,
      rescanFilledMs: refilled - restarted,
      serverCpuS: cpuAfter !== null && cpuBefore !== null ? cpuAfter - cpuBefore : NaN,
      transactions,
      hub: hub1,
      problems,
    };
  } finally {
    await client?.end().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

function table(s: Settings, rounds: { baseline: Round[]; current: Round[] }, baselineCommit: string | null): string {
  const hasBaseline = rounds.baseline.length > 0;
  const med = (rs: Round[], f: (r: Round) => number) => median(rs.map(f));
  const rows: Array<[string, (r: Round) => number, (v: number) => string]> = [
    ["scanArtifacts response (ms)", (r) => r.responseMs, (v) => v.toFixed(0)],
    ["all READMEs and manifests filled (ms)", (r) => r.filledMs, (v) => v.toFixed(0)],
    ["rescan response (ms)", (r) => r.rescanMs, (v) => v.toFixed(0)],
    ["rescan details written (ms)", (r) => r.rescanFilledMs, (v) => v.toFixed(0)],
    ["server CPU, scan + details (s)", (r) => r.serverCpuS, (v) => v.toFixed(2)],
    ["database transactions committed", (r) => r.transactions, (v) => v.toFixed(0)],
    ["hub requests", (r) => r.hub.total ?? 0, (v) => v.toFixed(0)],
  ];
  const lines = [
    `Machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} CPU(s), load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}, Node ${process.version}`,
    `scanArtifacts(limit: ${s.models}) of ${s.models} models (${FILES_PER_MODEL} files each, one branch), hub pages of ${s.pageSize}; medians of ${rounds.current.length} rounds`,
    "",
    hasBaseline ? `| | baseline ${baselineCommit!.slice(0, 12)} | this tree | ratio |` : "| | this tree |",
    hasBaseline ? "|---|---:|---:|---:|" : "|---|---:|",
  ];
  for (const [name, f, fmt] of rows) {
    const current = med(rounds.current, f);
    if (!hasBaseline) lines.push(`| ${name} | ${fmt(current)} |`);
    else {
      const baseline = med(rounds.baseline, f);
      lines.push(`| ${name} | ${fmt(baseline)} | ${fmt(current)} | ${(current / baseline).toFixed(2)} |`);
    }
  }
  const kinds = (rs: Round[]) => {
    const all = new Set(rs.flatMap((r) => Object.keys(r.hub)));
    return [...all].filter((k) => k !== "total").sort().map((k) => `${k} ${median(rs.map((r) => r.hub[k] ?? 0))}`).join(", ");
  };
  lines.push("");
  if (hasBaseline) lines.push(`Hub requests by kind, baseline: ${kinds(rounds.baseline)}`);
  lines.push(`Hub requests by kind, this tree: ${kinds(rounds.current)}`);
  const each = (rs: Round[]) => rs.map((r) => `${r.responseMs.toFixed(0)}/${r.filledMs.toFixed(0)}`).join(" ");
  if (hasBaseline) lines.push(`Rounds (response/filled ms), baseline: ${each(rounds.baseline)}`);
  lines.push(`Rounds (response/filled ms), this tree: ${each(rounds.current)}`);
  return lines.join("\n");
}

async function main(): Promise<void> {
  const s = settings();
  const baseline = s.baselineRef ? await baselineMain(s.baselineRef) : null;
  const current = path.join(DIST, "src", "main.js");
  await useEmbeddedTestDatabase();
  const hubSettings: ScanHubSettings = { models: s.models, warmup: WARMUP_MODELS, pageSize: s.pageSize };
  const hub = await startService<ScanHubService>([JSON.stringify(hubSettings)], "scan-hub.js");
  const rounds: { baseline: Round[]; current: Round[] } = { baseline: [], current: [] };
  let failed = false;
  try {
    for (let i = 1; i <= s.runs; i++) {
      const measure = async (label: "baseline" | "current", main: string) => {
        const r = await round(label, main, hub.info, s);
        rounds[label].push(r);
        process.stderr.write(`round ${i} ${label}: response ${r.responseMs.toFixed(0)} ms, filled ${r.filledMs.toFixed(0)} ms, rescan ${r.rescanMs.toFixed(0)}/${r.rescanFilledMs.toFixed(0)} ms, `
          + `server CPU ${r.serverCpuS.toFixed(2)} s, ${r.transactions} transactions, hub ${JSON.stringify(r.hub)}\n`);
        for (const problem of r.problems) {
          failed = true;
          process.stderr.write(`round ${i} ${label}: WRONG RESULT: ${problem}\n`);
        }
      };
      if (baseline) await bothInTurn(i, () => measure("baseline", baseline.main), () => measure("current", current));
      else await measure("current", current);
    }
    process.stdout.write(`\n${table(s, rounds, baseline?.commit ?? null)}\n`);
  } finally {
    await hub.stop();
    await stopEmbeddedTestDatabase().catch(() => undefined);
  }
  if (failed) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
