import { Client } from "pg";
import type { Logger } from "../common/logger";

/**
 * The move from pg-boss 10 to 12. pg-boss 11 and 12 cannot migrate pg-boss 10's schema (version
 * 24; no release has that migration), so the first process of this version to start moves the
 * old schema aside, lets pg-boss install its own in its place, copies the queue's live jobs over
 * (same ids, state, attempts and retry times) and drops the old schema. See docs/stack.md.
 */

/** The schema version pg-boss 10 installs. */
const PGBOSS_10_SCHEMA_VERSION = 24;

export interface PgBoss10UpgradeOptions {
  connectionString: string;
  /** pg-boss's schema; the old one waits in `<schema>_v10` between the two steps. */
  schema: string;
  /** The only queue this service keeps; jobs of other queues are not carried over. */
  queue: string;
  /** Sessions of the previous version's queue carry this application_name. */
  applicationName: string;
  logger: Logger;
}

/** Before pg-boss starts: moves a pg-boss 10 schema aside. Refuses while a previous version's queue is connected. */
export async function setAsidePgBoss10Schema(options: PgBoss10UpgradeOptions): Promise<void> {
  const { schema } = options;
  const aside = `${schema}_v10`;
  await inUpgradeTransaction(options, async (client) => {
    const version = await schemaVersion(client, schema);
    if (version === null || version > PGBOSS_10_SCHEMA_VERSION) return;
    if (version < PGBOSS_10_SCHEMA_VERSION) {
      throw new Error(`the import queue's schema "${schema}" is pg-boss schema version ${version}, older than pg-boss 10's (${PGBOSS_10_SCHEMA_VERSION}): no upgrade path from it`);
    }
    if (await schemaExists(client, aside)) {
      throw new Error(`both "${schema}" (pg-boss 10) and "${aside}" exist: an earlier upgrade was left half done; drop the one that is not wanted`);
    }
    // A running pg-boss 10 would fail on pg-boss 12's tables (its SQL names columns they lack); better to say so now.
    const { rows } = await client.query<{ pid: number; client_addr: string | null }>(
      `SELECT pid, client_addr::text FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`,
      [options.applicationName],
    );
    if (rows.length) {
      const sessions = rows.map((r) => `pid ${r.pid} from ${r.client_addr ?? "a local socket"}`).join(", ");
      throw new Error(`the import queue is still used by a process of the previous version (pg-boss 10; ${sessions}): stop every process of the previous version, then start this one`);
    }
    await client.query(`ALTER SCHEMA ${ident(schema)} RENAME TO ${ident(aside)}`);
    options.logger.info(`import queue: moved pg-boss 10's schema "${schema}" aside to "${aside}"; pg-boss 12 installs its own`);
  });
}

/** After pg-boss has started and the queue exists: copies the live jobs from the old schema, then drops it. */
export async function carryOverPgBoss10Jobs(options: PgBoss10UpgradeOptions): Promise<void> {
  const { schema } = options;
  const aside = `${schema}_v10`;
  // One transaction: a crash leaves the old schema whole, and the next start copies again.
  await inUpgradeTransaction(options, async (client) => {
    if ((await schemaVersion(client, aside)) !== PGBOSS_10_SCHEMA_VERSION) return;
    const { rowCount } = await client.query(
      `INSERT INTO ${ident(schema)}.job (id, name, priority, data, state, retry_limit, retry_count, retry_delay, retry_backoff,
                                        expire_seconds, singleton_key, singleton_on, start_after, created_on, started_on, keep_until, policy)
       SELECT id, name, priority, data, state::text::${ident(schema)}.job_state, retry_limit, retry_count, retry_delay, retry_backoff,
              EXTRACT(epoch FROM expire_in)::int, singleton_key, singleton_on, start_after, created_on, started_on, keep_until, policy
         FROM ${ident(aside)}.job
        WHERE name = $1 AND state < 'completed'`,
      [options.queue],
    );
    await client.query(`DROP SCHEMA ${ident(aside)} CASCADE`);
    options.logger.info(`import queue: carried ${rowCount ?? 0} queued, retrying or running job(s) over from pg-boss 10 and dropped "${aside}"`);
  });
}

async function inUpgradeTransaction(options: PgBoss10UpgradeOptions, work: (client: Client) => Promise<void>): Promise<void> {
  const client = new Client({ connectionString: options.connectionString, application_name: `${options.applicationName} upgrade` });
  await client.connect();
  try {
    await client.query("BEGIN");
    // Replicas starting together take turns; the second finds the work done.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`artifact-registry pg-boss 10 upgrade of ${options.schema}`]);
    await work(client);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

async function schemaVersion(client: Client, schema: string): Promise<number | null> {
  const { rows } = await client.query<{ installed: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS installed`, [`${ident(schema)}.version`]);
  if (!rows[0]?.installed) return null;
  const { rows: versions } = await client.query<{ version: number }>(`SELECT version FROM ${ident(schema)}.version`);
  return versions[0]?.version ?? null;
}

async function schemaExists(client: Client, schema: string): Promise<boolean> {
  const { rows } = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema]);
  return rows.length > 0;
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
