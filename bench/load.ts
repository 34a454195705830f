import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { createLogger } from "../src/common/logger";
import { createDataSource } from "../src/db/data-source";
import { createPgEventBus } from "../src/events/pg-event-bus";
import { applyTransition, type LifecycleAction } from "../src/revision/lifecycle";
import { createTestDatabase, type TestDatabase } from "../test/support/database";
import { stopEmbeddedTestDatabase, useEmbeddedTestDatabase } from "../test/support/global-setup";
import { Seed } from "../test/support/seed";
import { cpuSeconds } from "./proc";
import { intSetting, percentile, RssProbe, sleep, startServer, type Server } from "./harness";
import { listPageClient, listQuery } from "./list-page";

/*
 * `npm run bench:load`: the built server under many clients, in two phases.
 *
 * 1. BENCH_CLIENTS clients (200) run the web UI's list query (ReservoirPageQuery, as the web UI
 *    sends it, a page of BENCH_PAGE_SIZE rows at rotating offsets) back to back for
 *    BENCH_DURATION_SECONDS (30) against BENCH_ARTIFACTS seeded artifacts (500, each with two
 *    revisions): throughput, latency p50/p99, errors, and the server's RSS and CPU.
 * 2. BENCH_SUBSCRIBERS graphql-ws sockets (500) subscribe to the status of one revision, which
 *    this process moves through an import's statuses (SCANNED → PULLING → PULLED → VERIFYING →
 *    AVAILABLE → SCANNED …) BENCH_EVENTS times (50), one change every BENCH_EVENT_INTERVAL_MS
 *    (200), each in its own transaction as the import worker does: delivery latency p50/p99,
 *    from the moment the change's transaction has committed (its COMMIT returned here) to each
 *    subscriber's receipt.
 *
 * The server is a process of its own (dist/src/main.js, IMPORT_WORKER=false); the clients and
 * the committing side run here, so their CPU is not the server's (it is reported too: when it
 * nears one core, the clients are the bottleneck). TEST_DATABASE_URL: the PostgreSQL server that
 * gets a fresh database (unset: an embedded one for the run).
 */

interface Settings {
  clients: number;
  durationSeconds: number;
  artifacts: number;
  pageSize: number;
  subscribers: number;
  events: number;
  eventIntervalMs: number;
}

function settings(env = process.env): Settings {
  const int = (name: string, fallback: number, min = 1) => intSetting(env, name, fallback, min);
  return {
    clients: int("BENCH_CLIENTS", 200),
    durationSeconds: int("BENCH_DURATION_SECONDS", 30),
    artifacts: int("BENCH_ARTIFACTS", 500),
    pageSize: int("BENCH_PAGE_SIZE", 20),
    subscribers: int("BENCH_SUBSCRIBERS", 500, 0),
    events: int("BENCH_EVENTS", 50),
    eventIntervalMs: int("BENCH_EVENT_INTERVAL_MS", 200, 10),
  };
}


const ms = (value: number) => (Number.isNaN(value) ? "?" : value.toFixed(1));


// ---------------------------------------------------------------------------------------------
// Phase 1: the list query

interface ListResult {
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  latencies: number[];
  server: Awaited<ReturnType<RssProbe["stop"]>>;
  clientCpuSeconds: number | null;
}

async function listPhase(server: Server, s: Settings): Promise<ListResult> {
  const query = listQuery();
  const client = listPageClient(server, query, { artifacts: s.artifacts, pageSize: s.pageSize });
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const send = async () => {
    const result = await client();
    latencies.push(result.ms);
    if (result.error) {
      errors++;
      firstError ??= result.error;
    }
  };
  // A short warm-up, unmeasured: connections, the JIT, the database's caches.
  await Promise.all(Array.from({ length: Math.min(s.clients, 20) }, () => send()));
  latencies.length = 0;
  errors = 0;
  firstError = undefined;

  const probe = await new RssProbe(server.pid).start();
  const clientCpuAtStart = await cpuSeconds("self");
  const started = performance.now();
  const deadline = started + s.durationSeconds * 1000;
  await Promise.all(Array.from({ length: s.clients }, async () => {
    while (performance.now() < deadline) await send();
  }));
  const seconds = (performance.now() - started) / 1000;
  const clientCpu = await cpuSeconds("self");
  return {
    requests: latencies.length,
    errors,
    firstError,
    seconds,
    latencies,
    server: await probe.stop(),
    clientCpuSeconds: clientCpu === null || clientCpuAtStart === null ? null : clientCpu - clientCpuAtStart,
  };
}

// ---------------------------------------------------------------------------------------------
// Phase 2: subscribers of one import

const CYCLE: LifecycleAction[] = ["startImport", "pulled", "verify", "makeAvailable", "cleanup"];

interface SubscriberResult {
  subscribers: number;
  events: number;
  delivered: number;
  missed: number;
  latencies: number[];
  server: Awaited<ReturnType<RssProbe["stop"]>>;
}

async function subscriberPhase(server: Server, db: TestDatabase, revision: { id: string; globalId: string }, s: Settings): Promise<SubscriberResult> {
  const logger = createLogger("warn");
  const ds = createDataSource({ url: db.url, poolSize: 2 });
  await ds.initialize();
  const bus = await createPgEventBus({ connectionString: db.url, logger });
  const clients: Client[] = [];
  /** When each change's transaction had committed, by its `at` (the revision's updatedAt) in ms. */
  const committed = new Map<number, number>();
  const received: Array<Map<number, number>> = [];
  let step = 0;
  const change = async () => {
    const event = await applyTransition(ds, revision.id, CYCLE[step++ % CYCLE.length], { actor: "bench" }, bus);
    committed.set(Date.parse(event.at), performance.now());
  };
  try {
    const query = "subscription($input: ArtifactStatusChangedInput!) { artifactStatusChanged(input: $input) { artifactRevision { status updatedAt } } }";
    for (let i = 0; i < s.subscribers; i++) {
      const client = createClient({
        url: `${server.url.replace("http", "ws")}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${server.token}` },
        retryAttempts: 0,
      });
      clients.push(client);
      const mine = new Map<number, number>();
      received.push(mine);
      client.subscribe({ query, variables: { input: { artifactRevisionIds: [revision.globalId] } } }, {
        next: (value) => {
          const updatedAt = (value.data as { artifactStatusChanged?: { artifactRevision?: { updatedAt?: string } } } | undefined)?.artifactStatusChanged?.artifactRevision?.updatedAt;
          if (updatedAt) mine.set(Date.parse(updatedAt), performance.now());
        },
        error: (error) => process.stderr.write(`subscriber ${i}: ${JSON.stringify(error).slice(0, 300)}\n`),
        complete: () => undefined,
      });
    }
    // graphql-ws does not say when a subscription is live: change the status until every subscriber has seen a change.
    const liveBy = performance.now() + 60_000;
    while (received.some((r) => r.size === 0)) {
      if (performance.now() > liveBy) throw new Error(`${received.filter((r) => r.size === 0).length} of ${s.subscribers} subscribers saw no event within 60 s`);
      await change();
      await sleep(500);
    }
    const warmUp = new Set(committed.keys());
    process.stderr.write(`${s.subscribers} subscribers live after ${warmUp.size} warm-up change(s); measuring ${s.events} changes\n`);

    const probe = await new RssProbe(server.pid).start();
    for (let i = 0; i < s.events; i++) {
      await change();
      await sleep(s.eventIntervalMs);
    }
    // Let the last events arrive.
    const settleBy = performance.now() + 10_000;
    const measured = [...committed.keys()].filter((at) => !warmUp.has(at));
    while (performance.now() < settleBy && received.some((r) => measured.some((at) => !r.has(at)))) await sleep(100);
    const serverUse = await probe.stop();

    const latencies: number[] = [];
    let missed = 0;
    for (const mine of received) {
      for (const at of measured) {
        const got = mine.get(at);
        if (got === undefined) missed++;
        else latencies.push(got - committed.get(at)!);
      }
    }
    return { subscribers: s.subscribers, events: measured.length, delivered: latencies.length, missed, latencies, server: serverUse };
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    await bus.close();
    await ds.destroy();
  }
}

// ---------------------------------------------------------------------------------------------

function report(s: Settings, list: ListResult, subs: SubscriberResult | null): string {
  const cpuShare = (cpu: number | null, seconds: number) => (cpu === null ? "?" : `${cpu.toFixed(1)} s (${((cpu / seconds) * 100).toFixed(0)}% of one core)`);
  const rss = (r: ListResult["server"]) => `${r.sampledPeakMiB.toFixed(0)} MiB sampled peak, VmHWM ${r.hwmMiB === null ? "?" : r.hwmMiB.toFixed(0)} MiB`;
  const lines = [
    `Machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} CPU(s), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}, Node ${process.version}`,
    "",
    `List query (ReservoirPageQuery, ${s.pageSize} rows a page, ${s.artifacts} artifacts): ${s.clients} clients for ${list.seconds.toFixed(1)} s`,
    `- throughput: ${(list.requests / list.seconds).toFixed(0)} requests/s (${list.requests} requests)`,
    `- latency: p50 ${ms(percentile(list.latencies, 50))} ms, p99 ${ms(percentile(list.latencies, 99))} ms, max ${ms(percentile(list.latencies, 100))} ms`,
    `- errors: ${list.errors}${list.firstError ? ` (first: ${list.firstError})` : ""}`,
    `- server: CPU ${cpuShare(list.server.cpuSeconds, list.seconds)}, RSS ${rss(list.server)}`,
    `- clients (this process): CPU ${cpuShare(list.clientCpuSeconds, list.seconds)}`,
  ];
  if (subs) {
    lines.push(
      "",
      `Subscribers: ${subs.subscribers} graphql-ws sockets on one revision, ${subs.events} status changes ${s.eventIntervalMs} ms apart`,
      `- delivered ${subs.delivered} of ${subs.subscribers * subs.events} events, missed ${subs.missed}`,
      `- delivery latency from commit: p50 ${ms(percentile(subs.latencies, 50))} ms, p99 ${ms(percentile(subs.latencies, 99))} ms, max ${ms(percentile(subs.latencies, 100))} ms`,
      `- server: CPU ${subs.server.cpuSeconds === null ? "?" : `${subs.server.cpuSeconds.toFixed(1)} s`}, RSS ${rss(subs.server)}`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const s = settings();
  const work = await mkdtemp(path.join(os.tmpdir(), "bench-load-"));
  const logFile = path.join(os.tmpdir(), "bench-load-server.log");
  let server: Server | undefined;
  let db: TestDatabase | undefined;
  try {
    await useEmbeddedTestDatabase();
    db = await createTestDatabase("ar_bench_load");
    server = await startServer({ DATABASE_URL: db.url, DATA_DIR: work, IMPORT_WORKER: "false", HF_ENDPOINT: "http://127.0.0.1:9" }, [], logFile);
    process.stderr.write(`server up (log: ${logFile}); seeding ${s.artifacts} artifacts\n`);

    const ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    let revision: { id: string; globalId: string };
    try {
      const seed = new Seed(ds);
      const registry = await seed.registry({ name: "bench" });
      const artifacts = await seed.artifacts(registry.id, Array.from({ length: s.artifacts }, (_, i) => ({ name: `bench/model-${String(i).padStart(5, "0")}`, description: `Model ${i}` })));
      for (const artifact of artifacts) await seed.revisions(artifact.id, [{ version: "main", status: "AVAILABLE", size: 1000 }, { version: "v1", status: "SCANNED" }]);
      [revision] = await seed.revisions(artifacts[0].id, [{ version: "bench-import", status: "SCANNED" }]);
    } finally {
      await ds.destroy();
    }

    process.stderr.write(`list query: ${s.clients} clients for ${s.durationSeconds} s\n`);
    const list = await listPhase(server, s);
    let subs: SubscriberResult | null = null;
    if (s.subscribers > 0) {
      process.stderr.write(`subscribers: opening ${s.subscribers} graphql-ws sockets\n`);
      subs = await subscriberPhase(server, db, revision, s);
    }
    process.stdout.write(`\n${report(s, list, subs)}\n`);
  } finally {
    await server?.stop().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    await stopEmbeddedTestDatabase().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
