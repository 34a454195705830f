import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface, type Interface } from "node:readline";
import { Client } from "pg";
import { decodeGlobalId } from "../src/common/relay";
import { DEFAULT_EVENTS_CHANNEL } from "../src/events/pg-event-bus";
import { createTestDatabase, type TestDatabase } from "../test/support/database";
import { stopEmbeddedTestDatabase, useEmbeddedTestDatabase } from "../test/support/global-setup";
import type { FakeFile } from "../test/support/fake-hub";
import type { Receipts, SubscribersJob } from "./fanout-subscribers";
import { cpuSeconds } from "./proc";
import type { HubService } from "./services";
import { DIST, exited, gql, intSetting, MiB, percentile, sleep, startServer, startService, type Server, type Service } from "./harness";

/*
 * `npm run bench:fanout`: BENCH_SUBSCRIBERS graphql-ws subscribers (1000) on one revision while
 * the server imports it from the fake hub, BENCH_IMPORTS times (3; each import is followed by a
 * cleanup, so one round is five status events: PULLING, PULLED, VERIFYING, AVAILABLE, SCANNED).
 *
 * Four processes: the fake hub (services.js), the server (dist/src/main.js, with its import
 * worker), the subscribers (fanout-subscribers.js: one connection per subscriber, each with a
 * status and a progress subscription), and this one, the observer, which drives the imports and
 * LISTENs on the event channel itself.
 *
 * "From the commit" is when the observer's own LISTEN connection received the event's NOTIFY:
 * PostgreSQL sends it once the transaction has committed, to the server's LISTEN connection at
 * the same moment. The observer does nothing else meanwhile, so its clock reading is prompt.
 * Both processes read the wall clock the same way (performance.timeOrigin + now()). As an upper
 * bound the report also gives the latency from the event's `at`, the transaction's now(), which
 * is earlier than the commit by the length of the transition's transaction.
 *
 * Database reads per event: after the rounds, with no import running, the observer sends
 * BENCH_READ_EVENTS status events (20) that change nothing (NOTIFY of the revision's own status,
 * as the warm-up does), waits until every subscriber has them, and counts the scans of
 * artifact_revisions (seq_scan + idx_scan of pg_stat_user_tables) meanwhile. The import's own
 * reads would swamp the count during the rounds. Backends flush those counters within 10 s of
 * going idle, so each reading waits 11 s first.
 *
 * Baseline: BENCH_BASELINE_REF (a git ref, e.g. the commit before the change) is exported
 * with `git archive`, compiled with this tree's node_modules, and measured in the same run
 * before the current code, on a fresh database and the same hub. Unset: no baseline.
 *
 * Environment: BENCH_SUBSCRIBERS (1000), BENCH_IMPORTS (3), BENCH_SIZE_MIB (512, in two LFS
 * files), BENCH_READ_EVENTS, BENCH_BASELINE_REF, BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof"), TEST_DATABASE_URL (the PostgreSQL server that gets a fresh
 * database per variant; unset: an embedded one for the run).
 */

const REPO = "bench/fanout";

interface Settings {
  subscribers: number;
  imports: number;
  sizeMiB: number;
  baselineRef: string | null;
  readEvents: number;
  serverNodeArgs: string[];
}

function settings(env = process.env): Settings {
  return {
    subscribers: intSetting(env, "BENCH_SUBSCRIBERS", 1000),
    imports: intSetting(env, "BENCH_IMPORTS", 3),
    sizeMiB: intSetting(env, "BENCH_SIZE_MIB", 512, 2),
    baselineRef: env.BENCH_BASELINE_REF?.trim() || null,
    readEvents: intSetting(env, "BENCH_READ_EVENTS", 20),
    serverNodeArgs: (env.BENCH_SERVER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean),
  };
}

const wallMs = () => performance.timeOrigin + performance.now();


const ms = (value: number) => (Number.isNaN(value) ? "?" : value.toFixed(1));

// ---------------------------------------------------------------------------------------------
// The code under test: this tree's build, or a baseline ref's

/** Exports `ref` and compiles its server with this tree's node_modules; returns its main.js. */
async function buildBaseline(ref: string): Promise<{ main: string; dir: string }> {
  const root = path.resolve(DIST, "..");
  const dir = await mkdtemp(path.join(os.tmpdir(), "bench-fanout-baseline-"));
  process.stderr.write(`baseline: exporting ${ref} to ${dir} and compiling it\n`);
  execFileSync("sh", ["-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, ref, dir], { stdio: "inherit" });
  await symlink(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  execFileSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(dir, "tsconfig.build.json")], { stdio: "inherit" });
  const main = path.join(dir, "dist", "src", "main.js");
  if (!existsSync(main)) throw new Error(`the baseline build has no ${main}`);
  return { main, dir };
}

// ---------------------------------------------------------------------------------------------
// The subscribers' process

class Subscribers {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly child: ChildProcess, reader: Interface) {
    this.lines = reader[Symbol.asyncIterator]();
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(job: SubscribersJob): Promise<Subscribers> {
    const child = spawn(process.execPath, [path.join(DIST, "bench", "fanout-subscribers.js"), JSON.stringify(job)], { stdio: ["pipe", "pipe", "inherit"] });
    const subscribers = new Subscribers(child, createInterface({ input: child.stdout! }));
    const { connected } = await subscribers.answer<{ connected: number }>();
    if (connected !== job.subscribers) throw new Error(`${connected} of ${job.subscribers} subscribers connected`);
    return subscribers;
  }

  async ask<T>(command: "live" | "reset" | "report"): Promise<T> {
    this.child.stdin!.write(`${command}\n`);
    return this.answer<T>();
  }

  private async answer<T>(): Promise<T> {
    const next = await this.lines.next();
    if (next.done) throw new Error("the subscribers' process ended");
    return JSON.parse(next.value) as T;
  }

  async stop(): Promise<void> {
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 30_000);
    await exited(this.child);
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The observer: this process's LISTEN on the event channel

interface Observed { topic: string; detail: any; wall: number }

async function observe(databaseUrl: string): Promise<{ events: Observed[]; client: Client; waitFor(what: string, match: (e: Observed) => boolean, timeoutMs: number): Promise<Observed> }> {
  const client = new Client({ connectionString: databaseUrl, application_name: "bench-fanout-observer" });
  const events: Observed[] = [];
  const waiters: Array<() => void> = [];
  client.on("notification", (message) => {
    const wall = wallMs();
    if (message.channel !== DEFAULT_EVENTS_CHANNEL || !message.payload) return;
    const { t, d } = JSON.parse(message.payload) as { t: string; d: unknown };
    events.push({ topic: t, detail: d, wall });
    for (const wake of waiters.splice(0)) wake();
  });
  await client.connect();
  await client.query(`LISTEN ${DEFAULT_EVENTS_CHANNEL}`);
  return {
    events,
    client,
    async waitFor(what, match, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (let seen = 0; ;) {
        const found = events.slice(seen).find(match);
        if (found) return found;
        seen = events.length;
        if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}

/**
 * Scans of artifact_revisions so far, once every backend has flushed its counters: they do
 * within 10 s of going idle, so after `settleMs` the count is read until it holds for 3 s.
 */
async function revisionScans(client: Client, settleMs: number): Promise<number> {
  const read = async () => {
    await client.query("SELECT pg_stat_clear_snapshot()");
    const { rows } = await client.query<{ scans: string }>(
      `SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS scans FROM pg_stat_user_tables WHERE relname = 'artifact_revisions'`,
    );
    return Number(rows[0]?.scans ?? 0);
  };
  await sleep(settleMs);
  let scans = await read();
  for (const giveUp = Date.now() + 30_000; Date.now() < giveUp;) {
    await sleep(3000);
    const again = await read();
    if (again === scans) break;
    scans = again;
  }
  return scans;
}

// ---------------------------------------------------------------------------------------------
// One variant: a fresh database and server, the subscribers, the import rounds

const SCAN = `mutation($input: ScanArtifactsInput!) { scanArtifacts(input: $input) { artifacts { id name } } }`;
const REVISIONS = `query($id: ID!) { artifact(id: $id) { revisions(first: 10) { edges { node { id version files(first: 1) { count } } } } } }`;
const IMPORT = `mutation($input: ImportArtifactsInput!) { importArtifacts(input: $input) { tasks { taskId } } }`;
const CLEANUP = `mutation($input: CleanupArtifactRevisionsInput!) { cleanupArtifactRevisions(input: $input) { artifactRevisions { count } } }`;

interface VariantResult {
  label: string;
  subscribers: number;
  statusEvents: number;
  statusDelivered: number;
  statusMissed: number;
  fromNotify: number[];
  fromTransaction: number[];
  progressEvents: number;
  pullingSeconds: number;
  progressReceived: number[];
  progressLatency: number[];
  statusPerSubscriber: number[];
  readsPerEvent: number;
  /** CPU per idle status event (no import running), in ms. */
  cpuPerEventMs: { server: number | null; subscribers: number | null };
  serverCpu: number | null;
  subscribersCpu: number | null;
  errors: number;
  firstError?: string;
}

async function findRevision(server: Server, fileCount: number): Promise<string> {
  const { scanArtifacts } = await gql(server, SCAN, { input: { limit: 1, search: REPO } });
  const artifact = scanArtifacts.artifacts.find((a: { name: string }) => a.name === REPO);
  if (!artifact) throw new Error(`the scan did not find ${REPO}`);
  for (const deadline = Date.now() + 120_000; ; await sleep(200)) {
    const { artifact: found } = await gql(server, REVISIONS, { id: artifact.id });
    const main = found.revisions.edges.map((e: { node: any }) => e.node).find((r: any) => r.version === "main");
    if (main?.files.count === fileCount) return main.id;
    if (Date.now() > deadline) throw new Error(`the manifest of ${REPO} has ${main?.files.count ?? 0} of ${fileCount} files after 120 s`);
  }
}

async function runVariant(label: string, main: string, hub: Service<HubService>, fileCount: number, s: Settings): Promise<VariantResult> {
  const db: TestDatabase = await createTestDatabase(`ar_bench_fanout`);
  const work = await mkdtemp(path.join(os.tmpdir(), "bench-fanout-"));
  const logFile = path.join(os.tmpdir(), `bench-fanout-${label.replace(/\W+/g, "-")}-server.log`);
  let server: Server | undefined;
  let subscribers: Subscribers | undefined;
  let observer: Awaited<ReturnType<typeof observe>> | undefined;
  try {
    server = await startServer({ DATABASE_URL: db.url, DATA_DIR: work, HF_ENDPOINT: hub.info.url }, s.serverNodeArgs, logFile, main);
    process.stderr.write(`${label}: server up (pid ${server.pid}, log ${logFile})\n`);
    const revisionId = await findRevision(server, fileCount);
    const uuid = decodeGlobalId(revisionId)!.id;
    observer = await observe(db.url);
    const [row] = (await observer.client.query<{ artifact_id: string }>(`SELECT artifact_id FROM artifact_revisions WHERE id = $1`, [uuid])).rows;

    process.stderr.write(`${label}: opening ${s.subscribers} subscribers\n`);
    subscribers = await Subscribers.start({ url: server.url, token: server.token, revisionId, subscribers: s.subscribers });
    /** A status event that changes nothing in the database (by default the revision's own status, SCANNED, between imports). */
    const idleEvent = async (actor: string, to = "SCANNED") => {
      const event = { revisionId: uuid, artifactId: row.artifact_id, from: null, to, at: new Date().toISOString(), actor };
      await observer!.client.query("SELECT pg_notify($1, $2)", [DEFAULT_EVENTS_CHANNEL, JSON.stringify({ t: "revision.status", d: event })]);
    };
    // graphql-ws does not say when a subscription is in place: send idle events until every subscriber has had one.
    for (const liveBy = Date.now() + 120_000; ;) {
      const { live, firstError } = await subscribers.ask<{ live: number; firstError?: string }>("live");
      if (live === s.subscribers) break;
      if (Date.now() > liveBy) throw new Error(`${live} of ${s.subscribers} subscribers live after 120 s${firstError ? ` (first error: ${firstError})` : ""}`);
      await idleEvent("bench warm-up");
      await sleep(500);
    }
    // Warm-up events may still be on their way: one with a status no import reaches (REJECTED)
    // comes after all of them, as each subscription receives its events in order.
    await idleEvent("bench warm-up end", "REJECTED");
    for (const syncBy = Date.now() + 120_000; ; await sleep(500)) {
      const { report: warm } = await subscribers.ask<{ report: Receipts[] }>("report");
      if (warm.every((r) => r.status.some(([status]) => status === "REJECTED"))) break;
      if (Date.now() > syncBy) throw new Error("the warm-up's last event did not reach every subscriber within 120 s");
    }
    await subscribers.ask("reset");
    observer.events.length = 0;
    process.stderr.write(`${label}: ${s.subscribers} subscribers live; ${s.imports} import round(s)\n`);

    const cpuBefore = await Promise.all([cpuSeconds(server.pid), cpuSeconds(subscribers.pid)]);
    const isStatus = (to: string) => (e: Observed) => e.topic === "revision.status" && e.detail.revisionId === uuid && e.detail.to === to;
    for (let round = 1; round <= s.imports; round++) {
      const from = observer.events.length;
      const after = (match: (e: Observed) => boolean) => (e: Observed) => observer!.events.indexOf(e) >= from && match(e);
      await gql(server, IMPORT, { input: { artifactRevisionIds: [revisionId] } });
      const end = await observer.waitFor(`end of import ${round}`, after((e) => isStatus("AVAILABLE")(e) || isStatus("FAILED")(e)), 600_000);
      if (end.detail.to === "FAILED") throw new Error(`import ${round} FAILED; see ${logFile}`);
      await gql(server, CLEANUP, { input: { artifactRevisionIds: [revisionId] } });
      await observer.waitFor(`cleanup ${round}`, after(isStatus("SCANNED")), 60_000);
      process.stderr.write(`${label}: round ${round} done\n`);
      await sleep(1000);
    }

    const statusNotes = observer.events.filter((e) => e.topic === "revision.status" && e.detail.revisionId === uuid);
    const progressNotes = observer.events.filter((e) => e.topic === `revision.progress:${uuid}`);
    // Let the last answers arrive: until every subscriber has as many status events as were sent, or 30 s.
    let report: { report: Receipts[]; errors: number; firstError?: string };
    for (const settleBy = Date.now() + 30_000; ; await sleep(500)) {
      report = await subscribers.ask("report");
      if (report.report.every((r) => r.status.length >= statusNotes.length) || Date.now() > settleBy) break;
    }
    const cpuAfter = await Promise.all([cpuSeconds(server.pid), cpuSeconds(subscribers.pid)]);

    process.stderr.write(`${label}: counting reads over ${s.readEvents} idle status events\n`);
    await subscribers.ask("reset");
    const scansBefore = await revisionScans(observer.client, 11_000);
    const idleCpuBefore = await Promise.all([cpuSeconds(server.pid), cpuSeconds(subscribers.pid)]);
    for (let i = 0; i < s.readEvents; i++) {
      await idleEvent("bench read count");
      await sleep(200);
    }
    for (const settleBy = Date.now() + 30_000; ; await sleep(500)) {
      const { report: idle } = await subscribers.ask<{ report: Receipts[] }>("report");
      if (idle.every((r) => r.status.length >= s.readEvents) || Date.now() > settleBy) break;
    }
    const idleCpuAfter = await Promise.all([cpuSeconds(server.pid), cpuSeconds(subscribers.pid)]);
    const scansAfter = await revisionScans(observer.client, 11_000);

    // Each subscriber's status answers, matched in order to the notifications of the same status.
    const fromNotify: number[] = [];
    const fromTransaction: number[] = [];
    let delivered = 0;
    for (const mine of report.report) {
      let j = 0;
      for (const [status, wall] of mine.status) {
        while (j < statusNotes.length && statusNotes[j].detail.to !== status) j++;
        if (j === statusNotes.length) break;
        fromNotify.push(wall - statusNotes[j].wall);
        fromTransaction.push(wall - Date.parse(statusNotes[j].detail.at));
        delivered++;
        j++;
      }
    }
    const progressAt = new Map(progressNotes.map((e) => [e.detail.progress.updatedAt as string, e.wall]));
    const progressLatency: number[] = [];
    for (const mine of report.report) {
      for (const [updatedAt, wall] of mine.progress) {
        const sent = progressAt.get(new Date(updatedAt).toISOString());
        if (sent !== undefined) progressLatency.push(wall - sent);
      }
    }
    let pullingSeconds = 0;
    for (const [i, note] of statusNotes.entries()) {
      if (note.detail.to === "PULLING" && statusNotes[i + 1]) pullingSeconds += (statusNotes[i + 1].wall - note.wall) / 1000;
    }
    const delta = (before: (number | null)[], after: (number | null)[], i: 0 | 1) => (before[i] === null || after[i] === null ? null : after[i]! - before[i]!);
    const spent = (i: 0 | 1) => delta(cpuBefore, cpuAfter, i);
    const perIdleEvent = (i: 0 | 1) => {
      const seconds = delta(idleCpuBefore, idleCpuAfter, i);
      return seconds === null ? null : (seconds * 1000) / s.readEvents;
    };
    return {
      label,
      subscribers: s.subscribers,
      statusEvents: statusNotes.length,
      statusDelivered: delivered,
      statusMissed: statusNotes.length * s.subscribers - delivered,
      fromNotify: fromNotify.sort((a, b) => a - b),
      fromTransaction: fromTransaction.sort((a, b) => a - b),
      progressEvents: progressNotes.length,
      pullingSeconds,
      progressReceived: report.report.map((r) => r.progress.length).sort((a, b) => a - b),
      progressLatency: progressLatency.sort((a, b) => a - b),
      statusPerSubscriber: report.report.map((r) => r.status.length).sort((a, b) => a - b),
      readsPerEvent: (scansAfter - scansBefore) / s.readEvents,
      cpuPerEventMs: { server: perIdleEvent(0), subscribers: perIdleEvent(1) },
      serverCpu: spent(0),
      subscribersCpu: spent(1),
      errors: report.errors,
      firstError: report.firstError,
    };
  } finally {
    await subscribers?.stop().catch(() => undefined);
    await observer?.client.end().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    await db.drop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

function report(s: Settings, results: VariantResult[]): string {
  const lines = [
    `Machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} CPU(s), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}`,
    `${s.subscribers} subscribers (one graphql-ws connection each, a status and a progress subscription), ${s.imports} import(s) of ${s.sizeMiB} MiB, each followed by a cleanup`,
  ];
  for (const r of results) {
    const expectedProgress = r.progressEvents;
    const median = r.progressReceived[r.progressReceived.length >> 1] ?? 0;
    lines.push(
      "",
      `${r.label}:`,
      `- status events: ${r.statusEvents} sent, ${r.statusDelivered} of ${r.statusEvents * r.subscribers} delivered, ${r.statusMissed} missed; per subscriber min ${r.statusPerSubscriber[0] ?? 0}, max ${r.statusPerSubscriber.at(-1) ?? 0}`,
      `- status latency from the commit (NOTIFY at the observer): p50 ${ms(percentile(r.fromNotify, 50))} ms, p99 ${ms(percentile(r.fromNotify, 99))} ms, max ${ms(percentile(r.fromNotify, 100))} ms`,
      `- status latency from the transaction's now() (upper bound): p50 ${ms(percentile(r.fromTransaction, 50))} ms, p99 ${ms(percentile(r.fromTransaction, 99))} ms, max ${ms(percentile(r.fromTransaction, 100))} ms`,
      `- progress: ${expectedProgress} sent over ${r.pullingSeconds.toFixed(1)} s of PULLING (${(expectedProgress / Math.max(r.pullingSeconds, 1e-9)).toFixed(2)}/s; the import's tick is 1 s); per subscriber received min ${r.progressReceived[0] ?? 0}, median ${median}, max ${r.progressReceived.at(-1) ?? 0} of ${expectedProgress}`,
      `- progress latency from the NOTIFY: p50 ${ms(percentile(r.progressLatency, 50))} ms, p99 ${ms(percentile(r.progressLatency, 99))} ms, max ${ms(percentile(r.progressLatency, 100))} ms`,
      `- database reads per status event (artifact_revisions scans, idle events, no import running): ${r.readsPerEvent.toFixed(2)}`,
      `- CPU per idle status event (clock ticks of 10 ms, over ${s.readEvents} events): server ${r.cpuPerEventMs.server?.toFixed(1) ?? "?"} ms, subscribers' process ${r.cpuPerEventMs.subscribers?.toFixed(1) ?? "?"} ms`,
      `- CPU during the rounds: server ${r.serverCpu?.toFixed(1) ?? "?"} s, subscribers' process ${r.subscribersCpu?.toFixed(1) ?? "?"} s`,
      `- subscription errors: ${r.errors}${r.firstError ? ` (first: ${r.firstError})` : ""}`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const s = settings();
  const half = Math.floor((s.sizeMiB * MiB) / 2);
  const files: FakeFile[] = [
    { path: "config.json", content: "{}" },
    { path: "model-00001-of-00002.safetensors", content: { size: half, seed: 1 }, lfs: true },
    { path: "model-00002-of-00002.safetensors", content: { size: s.sizeMiB * MiB - half, seed: 2 }, lfs: true },
  ];
  let hub: Service<HubService> | undefined;
  let baseline: { main: string; dir: string } | undefined;
  try {
    if (s.baselineRef) baseline = await buildBaseline(s.baselineRef);
    await useEmbeddedTestDatabase();
    hub = await startService<HubService>(["hub", JSON.stringify({ repo: REPO, files })]);
    const results: VariantResult[] = [];
    if (baseline) results.push(await runVariant(`baseline (${s.baselineRef})`, baseline.main, hub, files.length, s));
    results.push(await runVariant("this tree", path.join(DIST, "src", "main.js"), hub, files.length, s));
    process.stdout.write(`\n${report(s, results)}\n`);
  } finally {
    await hub?.stop().catch(() => undefined);
    await stopEmbeddedTestDatabase().catch(() => undefined);
    if (baseline) await rm(baseline.dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
