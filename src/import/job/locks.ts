import { Client } from "pg";
import type { Logger } from "../../common/logger";
import { sleep } from "../../common/backoff";

/** First key of the two-key advisory locks imports take ("ARI1"); the second is hashtext(revision id). */
const LOCK_CLASS = 1095911729;
const POLL_MS = 250;

type Queryable = { query(sql: string, params?: unknown[]): Promise<any> };

/**
 * Session-level advisory locks, one per revision being imported, on one connection per process.
 * They make "never two processes on one revision" hold even when the queue re-delivers a job,
 * and they die with the process: PostgreSQL drops them when its connection closes, even after a
 * kill -9, which is how recovery tells a running import from an orphaned one.
 */
export class RevisionLocks {
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  private closed = false;

  constructor(
    private readonly connectionString: string,
    private readonly logger: Logger,
    /** The connection broke: every lock it held is gone, so the imports relying on them must stop. */
    private readonly onLost: (error: Error) => void,
  ) {}

  /** Takes the revision's lock, waiting up to timeoutMs for another holder to let go. */
  async acquire(revisionId: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const client = await this.session();
      const { rows } = await client.query(`SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok`, [LOCK_CLASS, revisionId]);
      if (rows[0]?.ok === true) return true;
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS, opts.signal);
    }
  }

  async release(revisionId: string): Promise<void> {
    const client = this.client;
    if (!client) return; // the session is gone, and its locks with it
    try {
      await client.query(`SELECT pg_advisory_unlock($1, hashtext($2))`, [LOCK_CLASS, revisionId]);
    } catch (error) {
      this.logger.warn(`could not release the import lock of revision ${revisionId}`, error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client ?? (await this.connecting?.catch(() => null));
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async session(): Promise<Client> {
    if (this.closed) throw new Error("import locks are closed");
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = new Client({ connectionString: this.connectionString, application_name: "artifact-registry import locks", keepAlive: true });
      client.on("error", (error) => {
        if (this.client !== client) return;
        this.client = null;
        client.end().catch(() => undefined);
        this.logger.error("the import lock connection broke; running imports stop and will be retried", error);
        this.onLost(error);
      });
      await client.connect();
      this.client = client;
      return client;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }
}

/** Whether any session (this process's or another's) holds the revision's import lock. */
export async function isImportLockHeld(db: Queryable, revisionId: string): Promise<boolean> {
  const rows = await db.query(
    `SELECT EXISTS (
       SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 2
          AND classid = $1::bigint::oid AND objid::text::bigint = (hashtext($2)::bigint & 4294967295)
     ) AS held`,
    [LOCK_CLASS, revisionId],
  );
  return rows[0]?.held === true;
}
