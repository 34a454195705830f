import { spawn, type ChildProcess } from "node:child_process";
import { ensureBuilt, scriptArgs } from "../support/built";
import { startFakeHub, type FakeHub, type FakeModel } from "../support/fake-hub";
import { captureOutput, waitForOutput } from "../support/spawned";
import { scrape } from "../support/prometheus";
import { startTestKit, type TestKit } from "../support/testkit";
import { defaultAdapter, FAST_IMPORTS, objectBytes, revisionRow, scanModel, sha256, startImport, waitFor, waitForStatus } from "./support";

/*
 * `npm run worker`, as built: a process that only runs imports, next to an API server started
 * with IMPORT_WORKER=false on the same database and data directory. It imports what the server
 * enqueued, and on SIGTERM hands its running import back to the queue for another worker.
 */

jest.setTimeout(120_000);

const model = (id: string, seed: number): FakeModel => ({
  id,
  files: [{ path: "config.json", content: `{"id": "${id}"}` }, { path: "model.safetensors", content: { size: 400_000, seed }, lfs: true }],
});

interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

let hub: FakeHub;
let api: TestKit;
let nodeArgs: string[];
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  await ensureBuilt();
  // The command `npm run worker` runs, so the test follows the entry point wherever it moves.
  nodeArgs = await scriptArgs("worker");
  hub = await startFakeHub([model("worker/first", 1), model("worker/handed-back", 2)]);
  api = await startTestKit({ HF_ENDPOINT: hub.url, IMPORT_WORKER: "false", ...FAST_IMPORTS });
});
afterAll(async () => {
  for (const worker of workers) await worker.stop("SIGKILL");
  await api?.close();
  await hub?.stop();
});

/** Starts the built worker on the API server's database, data directory and secret; resolves once it runs. */
async function startWorker(extraEnv: Record<string, string> = {}): Promise<WorkerProcess> {
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: "production",
    DATABASE_URL: api.db.url,
    DATA_DIR: api.dataDir,
    AUTH_JWT_SECRET: api.config.jwtSecret!,
    HF_ENDPOINT: hub.url,
    LOG_LEVEL: "info",
    ...FAST_IMPORTS,
    ...extraEnv,
  };
  const child = spawn(process.execPath, nodeArgs, { env, stdio: ["ignore", "pipe", "pipe"] });
  const output = captureOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const worker: WorkerProcess = {
    child,
    output,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  workers.push(worker);
  await waitForOutput(child, output, /import worker running \d+ revision/, "the worker to start");
  return worker;
}

const jobOf = async (revisionId: string) => (await api.ds.query(`SELECT id, state, retry_count FROM pgboss.job WHERE singleton_key = $1 ORDER BY created_on DESC LIMIT 1`, [revisionId]))[0];

describe("the worker process", () => {
  it("imports a revision an API-only server enqueued, to AVAILABLE, and counts it in its own metrics on METRICS_PORT", async () => {
    const token = "worker-scrape-token-0123456789";
    const worker = await startWorker({ METRICS_PORT: "0", METRICS_TOKEN: token });
    const [, metricsUrl] = await waitForOutput(worker.child, worker.output, /import worker metrics at (http:\/\/\S+?:[1-9]\d*)\/metrics/, "the worker's metrics endpoint");
    expect((await fetch(`${metricsUrl}/metrics`)).status).toBe(401);
    expect((await scrape(metricsUrl, token)).value("artifact_registry_imports_total", { status: "AVAILABLE" })).toBe(0);
    const revision = await scanModel(api, "worker/first");
    await startImport(api, revision);

    const row = await waitForStatus(api, revision.id, ["AVAILABLE", "FAILED"], 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\nworker output:\n${worker.output()}`);
    });
    expect(row).toMatchObject({ status: "AVAILABLE", digest: revision.commit, last_error: null });
    expect(api.booted.imports.worker).toBeNull();
    const history = await api.ds.query(`SELECT to_status, actor FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [revision.id]);
    expect(history.map((h: any) => `${h.to_status} by ${h.actor}`).slice(2)).toEqual(["PULLED by import-worker", "VERIFYING by import-worker", "AVAILABLE by import-worker"]);
    const adapter = await defaultAdapter(api);
    const weights = await hub.fileInfo("worker/first", "main", "model.safetensors");
    expect(sha256(await objectBytes(adapter, "worker/first/main/model.safetensors"))).toBe(weights.sha256);
    // Each process counts what it did: the worker imported, the API server did not.
    const counted = await waitFor("the worker to count the import", async () => {
      const now = await scrape(metricsUrl, token);
      return now.value("artifact_registry_imports_running") === 0 ? now : undefined;
    });
    expect(counted.value("artifact_registry_imports_total", { status: "AVAILABLE" })).toBe(1);
    expect(counted.value("artifact_registry_import_bytes_total")).toBe(400_000 + Buffer.byteLength(`{"id": "worker/first"}`));
    expect(counted.value("artifact_registry_upstream_requests_total", { registry: "huggingface", outcome: "ok" })).toBeGreaterThan(0);
    expect((await scrape(api.url)).value("artifact_registry_imports_total", { status: "AVAILABLE" })).toBe(0);
    expect(await worker.stop()).toBe(0);
  });

  it("hands its running import back to the queue on SIGTERM, and another worker finishes it", async () => {
    const first = await startWorker();
    const repo = "worker/handed-back";
    const weights = await hub.fileInfo(repo, "main", "model.safetensors");
    // Held until the worker is gone: the import is mid-transfer when SIGTERM arrives.
    const held = hub.hold({ origin: "cdn", match: (r) => r.url.includes(weights.sha256), afterBytes: 50_000 });
    const revision = await scanModel(api, repo);
    const taskId = await startImport(api, revision);
    const transfer = await held.reached;

    expect(await first.stop("SIGTERM")).toBe(0);
    expect(first.output()).toContain("SIGTERM received: handing running imports back to the queue");
    // Never released: the hold ends only because the worker's download was closed.
    await waitFor("the held download to be closed", async () => !held.holding && transfer.status !== undefined, 10_000);
    // Handed back, not failed: no error, and not counted as a crash.
    expect(await revisionRow(api, revision.id)).toMatchObject({ status: "PULLING", last_error: null, import_crashes: 0 });
    const job = await jobOf(revision.id);
    expect(job).toMatchObject({ id: taskId, state: "retry" });

    const second = await startWorker();
    const done = await waitForStatus(api, revision.id, ["AVAILABLE", "FAILED"], 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\nsecond worker output:\n${second.output()}`);
    });
    expect(done).toMatchObject({ status: "AVAILABLE", last_error: null });
    expect(sha256(await objectBytes(await defaultAdapter(api), `${repo}/main/model.safetensors`))).toBe(weights.sha256);
    await waitFor("the job to complete", async () => (await jobOf(revision.id))?.state === "completed");
    const history = await api.ds.query(`SELECT to_status FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [revision.id]);
    expect(history.map((h: any) => h.to_status)).toEqual(["SCANNED", "PULLING", "PULLED", "VERIFYING", "AVAILABLE"]);
    expect(await second.stop()).toBe(0);
  });
});
