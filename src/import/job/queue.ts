import { PgBoss, type Db, type JobWithMetadata, type Queue } from "pg-boss";
import type { ImportConfig } from "../../config/config";
import type { Logger } from "../../common/logger";
import { carryOverPgBoss10Jobs, setAsidePgBoss10Schema, type PgBoss10UpgradeOptions } from "../../db/pgboss-upgrade";
import type { ImportQueue, SqlExecutor } from "../import.ports";
import type { QueueJobCounts } from "../../metrics/metrics.ports";

export const IMPORT_QUEUE = "revision-import";
/** pg-boss keeps its tables in this schema of the service's database. */
export const PGBOSS_SCHEMA = "pgboss";
const APPLICATION_NAME = "artifact-registry import queue";
/** pg-boss refuses more than 24 h; an import that runs longer is re-delivered and finds its revision locked. */
const EXPIRE_IN_SECONDS = 23 * 3600;
/** A job may wait this long (queued or between retries) before pg-boss deletes it. */
const RETENTION_SECONDS = 7 * 86_400;

export interface ImportJobData {
  revisionId: string;
}

export type ImportJob = JobWithMetadata<ImportJobData>;

export interface LiveJob {
  id: string;
  state: "created" | "retry" | "active";
  startedOn: Date | null;
}

export interface PgBossImportQueueOptions {
  connectionString: string;
  config: Pick<ImportConfig, "maxAttempts" | "retryDelaySeconds" | "pollIntervalSeconds">;
  logger: Logger;
}

/**
 * The import queue on pg-boss, in its own schema of the same database: one queue of jobs
 * `{ revisionId }`, singleton per revision (the "stately" policy allows one queued and one
 * running job per key, and enqueue returns the live one), retried with exponential backoff.
 */
export class PgBossImportQueue implements ImportQueue {
  readonly boss: PgBoss;
  private readonly cancelHandlers = new Set<(revisionId: string) => Promise<void>>();
  private readonly workerIds: string[] = [];
  private started = false;

  constructor(private readonly options: PgBossImportQueueOptions) {
    this.boss = new PgBoss({
      connectionString: options.connectionString,
      schema: PGBOSS_SCHEMA,
      application_name: APPLICATION_NAME,
      max: 4,
      // No cron jobs here; maintenance (expiry, deletion) stays on.
      schedule: false,
    });
    this.boss.on("error", (error) => options.logger.error("import queue error", error));
  }

  async start(): Promise<void> {
    const { connectionString, logger } = this.options;
    const upgrade: PgBoss10UpgradeOptions = { connectionString, schema: PGBOSS_SCHEMA, queue: IMPORT_QUEUE, applicationName: APPLICATION_NAME, logger };
    await setAsidePgBoss10Schema(upgrade);
    await this.boss.start();
    this.started = true;
    const policy: Queue = {
      name: IMPORT_QUEUE,
      policy: "stately",
      retryLimit: this.options.config.maxAttempts - 1,
      retryDelay: this.options.config.retryDelaySeconds,
      retryBackoff: true,
      expireInSeconds: EXPIRE_IN_SECONDS,
      retentionSeconds: RETENTION_SECONDS,
    };
    if (!(await this.boss.getQueue(IMPORT_QUEUE))) {
      // Replicas starting together race to create it; the loser just updates it below.
      await this.boss.createQueue(IMPORT_QUEUE, policy).catch(async (error) => {
        if (!(await this.boss.getQueue(IMPORT_QUEUE))) throw error;
      });
    }
    // Settings follow the configuration of whichever process started last (the policy itself is fixed at creation).
    const { name: _name, policy: _policy, ...settings } = policy;
    await this.boss.updateQueue(IMPORT_QUEUE, settings);
    await carryOverPgBoss10Jobs(upgrade);
  }

  /** Stops fetching and waits (up to timeoutMs) for running jobs; call after the worker has stopped them. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.boss.stop({ graceful: true, timeout: timeoutMs });
  }

  async enqueue(revisionId: string, tx?: SqlExecutor): Promise<string> {
    const db = tx ? inTransaction(tx) : this.boss.getDb();
    const live = await this.liveJob(revisionId, db);
    if (live) return live.id;
    const id = await this.boss.send(IMPORT_QUEUE, { revisionId } satisfies ImportJobData, { singletonKey: revisionId, db });
    if (id) {
      if (!tx) this.wake();
      return id;
    }
    // Another process enqueued it between our look and our send.
    const raced = await this.liveJob(revisionId, db);
    if (raced) return raced.id;
    throw new Error(`could not enqueue the import of revision ${revisionId}`);
  }

  notifyEnqueued(): void {
    this.wake();
  }

  async activeJobId(revisionId: string): Promise<string | null> {
    return (await this.liveJob(revisionId))?.id ?? null;
  }

  /** The revision's running job if there is one, else its queued one. */
  async liveJob(revisionId: string, db: Db = this.boss.getDb()): Promise<LiveJob | null> {
    const { rows } = await db.executeSql(
      `SELECT id, state::text AS state, started_on FROM ${PGBOSS_SCHEMA}.job
        WHERE name = $1 AND singleton_key = $2 AND state < 'completed'
        ORDER BY (state = 'active') DESC, created_on DESC LIMIT 1`,
      [IMPORT_QUEUE, revisionId],
    );
    const row = rows[0];
    return row ? { id: row.id, state: row.state, startedOn: row.started_on } : null;
  }

  /** Jobs waiting or running, by state: one count over pg-boss's index of live jobs. */
  async jobCounts(): Promise<QueueJobCounts> {
    const { rows } = await this.boss.getDb().executeSql(
      `SELECT state::text AS state, count(*)::int AS count FROM ${PGBOSS_SCHEMA}.job
        WHERE name = $1 AND state IN ('created', 'retry', 'active') GROUP BY state`,
      [IMPORT_QUEUE],
    );
    const counts: QueueJobCounts = { created: 0, retry: 0, active: 0 };
    for (const row of rows as Array<{ state: keyof QueueJobCounts; count: number }>) counts[row.state] = row.count;
    return counts;
  }

  async cancel(revisionId: string): Promise<void> {
    const { rows } = await this.boss.getDb().executeSql(
      `SELECT id FROM ${PGBOSS_SCHEMA}.job WHERE name = $1 AND singleton_key = $2 AND state < 'completed'`,
      [IMPORT_QUEUE, revisionId],
    );
    if (rows.length) await this.boss.cancel(IMPORT_QUEUE, rows.map((r: { id: string }) => r.id));
    // A run in this process stops its transfers now; runs elsewhere notice the status at their next tick.
    for (const handler of this.cancelHandlers) await handler(revisionId);
  }

  /** Hands an orphaned running job back to pg-boss as failed: it is retried (with backoff) while attempts remain. */
  async failJob(jobId: string, message: string): Promise<void> {
    await this.boss.fail(IMPORT_QUEUE, jobId, { message });
  }

  /** For the worker in this process: told when a revision's import is cancelled, so it can abort the run. */
  onCancel(handler: (revisionId: string) => Promise<void>): () => void {
    this.cancelHandlers.add(handler);
    return () => this.cancelHandlers.delete(handler);
  }

  /** Starts `count` pollers, each running one job at a time. */
  async work(count: number, handler: (job: ImportJob) => Promise<void>): Promise<void> {
    for (let i = 0; i < count; i++) {
      const id = await this.boss.work(
        IMPORT_QUEUE,
        { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: this.options.config.pollIntervalSeconds },
        async ([job]: ImportJob[]) => handler(job),
      );
      this.workerIds.push(id);
    }
  }

  async stopWorking(): Promise<void> {
    if (this.workerIds.length === 0) return;
    this.workerIds.length = 0;
    // Without waiting for running jobs: the worker interrupts them after this returns.
    await this.boss.offWork(IMPORT_QUEUE, { wait: false });
  }

  /** Pollers in this process look at once instead of at their next interval. */
  private wake(): void {
    for (const id of this.workerIds) this.boss.notifyWorker(id);
  }
}

/** pg-boss's executor on a TypeORM transaction (whose query answers an UPDATE with [rows, count]). */
function inTransaction(tx: SqlExecutor): Db {
  return {
    async executeSql(text, values) {
      const result = await tx.query(text, values);
      const rows = Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === "number" ? result[0] : result;
      return { rows: Array.isArray(rows) ? rows : [] };
    },
  };
}
