import pLimit from "p-limit";
import type { DataSource } from "typeorm";
import type { Logger } from "../../common/logger";
import type { Config, ImportConfig } from "../../config/config";
import type { EventBus } from "../../events/event-bus";
import type { HuggingFaceRegistryRecord, ReservoirRegistryRecord } from "../../registry/registry.records";
import { listMidImportRevisions, IMPORTING_STATUSES } from "../../revision/lifecycle";
import type { StorageManager } from "../../storage/storage-manager";
import { sleep } from "../../common/backoff";
import type { UpstreamClients } from "../../upstream/clients";
import { ImportCancelledError, ImportInterruptedError } from "../import.errors";
import { isImportLockHeld, RevisionLocks } from "./locks";
import { HashPlacement } from "../pipeline/hash";
import { runImport, type PipelineDeps } from "../pipeline/run";
import type { ImportJob, LiveJob, PgBossImportQueue } from "./queue";
import { createFileSourceFactory } from "../sources/factory";
import { configuredVerifiers } from "../pipeline/verifiers";
import type { ImportMetrics } from "../../metrics/metrics.ports";
import { collectAfterImports } from "../../boot/heap";

/** A worker takes a job's lock right after fetching it; a job active this long without the lock is orphaned. */
const ORPHAN_GRACE_MS = 2_000;
/** How long a stopping or cancelling run may take to unwind before we stop waiting for it. */
const UNWIND_TIMEOUT_MS = 30_000;

export interface ImportWorkerDeps {
  ds: DataSource;
  queue: PgBossImportQueue;
  pipeline: PipelineDeps;
  config: Pick<ImportConfig, "concurrency" | "recoveryIntervalSeconds">;
  /** For the lock connection (one per process). */
  connectionString: string;
  logger: Logger;
  /** How long a job waits for a revision that another run still holds before it is retried later. */
  lockWaitMs?: number;
}

interface Run {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs import jobs in this process: `concurrency` revisions at once, each under its revision's
 * advisory lock. At start-up and then periodically it makes sure every revision mid-import has a
 * live job: one whose process died (kill -9) is handed back to the queue, and one that has none
 * gets a new one.
 */
export class ImportWorker {
  private readonly runs = new Map<string, Run>();
  private readonly locks: RevisionLocks;
  private recoveryTimer: NodeJS.Timeout | null = null;
  private recovering: Promise<void> | null = null;
  private stopping = false;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: ImportWorkerDeps) {
    this.locks = new RevisionLocks(deps.connectionString, deps.logger, (error) => {
      for (const run of this.runs.values()) run.controller.abort(new ImportInterruptedError(`lost the import lock connection: ${error.message}`));
    });
  }

  async start(): Promise<void> {
    this.unsubscribe = this.deps.queue.onCancel((revisionId) => this.abort(revisionId, new ImportCancelledError("the import was cancelled")));
    await this.deps.queue.work(this.deps.config.concurrency, (job) => this.handle(job));
    await this.recover();
    this.recoveryTimer = setInterval(() => void this.recover(), this.deps.config.recoveryIntervalSeconds * 1000);
    this.recoveryTimer.unref();
  }

  /** Stops fetching, interrupts running imports (their jobs go back to the queue) and waits for them to unwind. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.recoveryTimer) clearInterval(this.recoveryTimer);
    this.unsubscribe?.();
    await this.deps.queue.stopWorking();
    const runs = [...this.runs.values()];
    for (const run of runs) run.controller.abort(new ImportInterruptedError("the server is shutting down"));
    await withDeadline(Promise.allSettled(runs.map((r) => r.done)), UNWIND_TIMEOUT_MS);
    await this.recovering;
    try {
      await this.locks.close();
    } finally {
      await this.deps.pipeline.hashes?.close();
    }
  }

  /** Revisions this process is importing right now. */
  running(): string[] {
    return [...this.runs.keys()];
  }

  private async abort(revisionId: string, reason: Error): Promise<void> {
    const run = this.runs.get(revisionId);
    if (!run) return;
    run.controller.abort(reason);
    // The caller deletes staging next: wait until no transfer of ours can still write there.
    if (!(await withDeadline(run.done, UNWIND_TIMEOUT_MS))) this.deps.logger.warn(`the import of revision ${revisionId} did not stop within ${UNWIND_TIMEOUT_MS} ms of its cancel`);
  }

  private async handle(job: ImportJob): Promise<void> {
    const { revisionId } = job.data;
    if (this.stopping) throw new ImportInterruptedError("the server is shutting down");
    // A run of the same revision still unwinding here (cancelled just before a new import) ends first.
    await this.runs.get(revisionId)?.done;
    // stop() may have taken its list of runs to interrupt meanwhile.
    if (this.stopping) throw new ImportInterruptedError("the server is shutting down");
    const controller = new AbortController();
    let settle!: () => void;
    const run: Run = { controller, done: new Promise<void>((resolve) => (settle = resolve)) };
    this.runs.set(revisionId, run);
    try {
      let locked: boolean;
      try {
        locked = await this.locks.acquire(revisionId, { timeoutMs: this.deps.lockWaitMs ?? 10_000, signal: controller.signal });
      } catch (error) {
        if (controller.signal.reason instanceof ImportCancelledError) return;
        throw error;
      }
      if (!locked) throw new Error(`revision ${revisionId} is being imported by another run; this job retries later`);
      try {
        const outcome = await runImport(this.deps.pipeline, revisionId, controller.signal, { number: job.retryCount + 1, max: job.retryLimit + 1 });
        this.deps.logger.info(`import job ${job.id} of revision ${revisionId} ended: ${outcome}`);
      } finally {
        await this.locks.release(revisionId);
      }
    } finally {
      if (this.runs.get(revisionId) === run) this.runs.delete(revisionId);
      settle();
      // The last run's buffers are garbage now, and an idle process would keep them (heap.ts).
      if (this.runs.size === 0) setImmediate(() => this.runs.size === 0 && collectAfterImports());
    }
  }

  /** Gives every revision mid-import a live job: the lifecycle says someone drives it, so someone must. */
  recover(): Promise<void> {
    this.recovering ??= this.recoverNow()
      .catch((error) => this.deps.logger.error("import recovery failed", error))
      .finally(() => {
        this.recovering = null;
      });
    return this.recovering;
  }

  private async recoverNow(): Promise<void> {
    if (this.stopping) return;
    const { ds, queue } = this.deps;
    const mid = (await listMidImportRevisions(ds)).filter((r) => !this.runs.has(r.id));
    const jobs = new Map<string, LiveJob | null>();
    await Promise.all(mid.map(async (r) => jobs.set(r.id, await queue.liveJob(r.id))));

    // An active job with nobody holding its lock: look twice, since a worker elsewhere may have just fetched it.
    const suspects = (await Promise.all(mid.map(async (r) => {
      const job = jobs.get(r.id);
      return job?.state === "active" && !(await isImportLockHeld(ds, r.id)) ? { id: r.id, job } : null;
    }))).filter((s) => s !== null);
    if (suspects.length) await sleep(ORPHAN_GRACE_MS);
    for (const { id, job } of suspects) {
      if (this.stopping || this.runs.has(id)) continue;
      const again = await queue.liveJob(id);
      const unchanged = again?.id === job.id && again.state === "active" && again.startedOn?.getTime() === job.startedOn?.getTime();
      if (!unchanged || (await isImportLockHeld(ds, id))) {
        jobs.set(id, again);
        continue;
      }
      const crashes = await recordCrash(ds, id);
      this.deps.logger.warn(`import job ${job.id} of revision ${id} lost its process (${crashes} time(s) since it last kept more bytes); handing it back to the queue`);
      await queue.failJob(job.id, "the process running this import stopped");
      jobs.set(id, await queue.liveJob(id));
    }

    const limit = pLimit(4);
    await Promise.all(mid.map((r) => limit(async () => {
      if (this.stopping || jobs.get(r.id)) return;
      const taskId = await queue.enqueue(r.id);
      await ds.query(`UPDATE artifact_revisions SET import_task_id = $2 WHERE id = $1 AND status = ANY($3)`, [r.id, taskId, IMPORTING_STATUSES]);
      this.deps.logger.info(`revision ${r.id} was ${r.status} without a live import job; enqueued job ${taskId}`);
    })));
  }
}

/**
 * Counts a crash of the revision's import. Whether it was one more in a row without progress is
 * for the next run to say, once it sees what the crashed run kept (ImportRun.accountCrashes);
 * that run fails the import when there are too many.
 */
async function recordCrash(ds: DataSource, revisionId: string): Promise<number> {
  // For an UPDATE, TypeORM answers [rows, affected count].
  const [[row]]: [Array<{ import_crashes: number }>, number] = await ds.query(
    `UPDATE artifact_revisions SET import_crashes = import_crashes + 1 WHERE id = $1 AND status = ANY($2) RETURNING import_crashes`,
    [revisionId, IMPORTING_STATUSES],
  );
  return row?.import_crashes ?? 0;
}

export interface CreateImportWorkerDeps {
  ds: DataSource;
  config: Config;
  storage: StorageManager;
  events: EventBus;
  logger: Logger;
  queue: PgBossImportQueue;
  connectionString: string;
  registries: {
    findHuggingFace(id: string): Promise<HuggingFaceRegistryRecord | null>;
    findReservoir(id: string): Promise<ReservoirRegistryRecord | null>;
  };
  clients: UpstreamClients;
  metrics?: ImportMetrics;
}

/** The worker with the real sources (Hugging Face, Reservoir) and the configured verifiers. */
export function createImportWorker(deps: CreateImportWorkerDeps): ImportWorker {
  const timeoutMs = deps.config.scan.upstreamTimeoutMs;
  const sources = createFileSourceFactory({
    registries: deps.registries,
    hubClients: deps.clients.hub,
    listTimeoutMs: deps.config.scan.requestTimeoutMs,
    reservoir: { ds: deps.ds, registries: deps.registries, clients: deps.clients.reservoir, logger: deps.logger, timeoutMs, egress: deps.clients.egress, metrics: deps.clients.metrics },
    uploads: { ds: deps.ds, storage: deps.storage },
  });
  return new ImportWorker({
    ds: deps.ds,
    queue: deps.queue,
    connectionString: deps.connectionString,
    logger: deps.logger,
    config: deps.config.import,
    pipeline: {
      ds: deps.ds,
      storage: deps.storage,
      events: deps.events,
      logger: deps.logger,
      sources,
      verifiers: configuredVerifiers(deps.config.import),
      fileConcurrency: deps.config.import.fileConcurrency,
      requireApproval: deps.config.import.requireApproval,
      maxCrashes: deps.config.import.maxCrashes,
      maxReconnectsPerFile: deps.config.import.maxReconnectsPerFile,
      stall: { windowMs: deps.config.import.stall.windowSeconds * 1000, minBytes: deps.config.import.stall.minBytes },
      hashes: new HashPlacement(deps.config.import.hashThreads),
      metrics: deps.metrics,
    },
  });
}

async function withDeadline(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
