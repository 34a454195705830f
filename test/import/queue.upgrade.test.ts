import PgBoss10 from "pg-boss-v10";
import { Client } from "pg";
import { applyTransition } from "../../src/revision/lifecycle";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { startFakeHub, type FakeHub, type FakeModel } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";
import { FAST_IMPORTS, scanModel, waitFor, waitForStatus } from "./support";

/*
 * Upgrading from pg-boss 10, which pg-boss 12 cannot migrate: a database whose queue was made by
 * the previous version, holding a queued, a retrying and a running (orphaned) import job, is taken
 * over by this version: the jobs keep their ids and attempts and run to the end, and the old
 * schema is gone. While a process of the previous version is still connected, start-up refuses.
 */

jest.setTimeout(60_000);

const QUEUE = "revision-import";
/** What the previous version named its queue's sessions; the upgrade looks for them. */
const APPLICATION_NAME = "artifact-registry import queue";

const model = (id: string, seed: number): FakeModel => ({
  id,
  files: [{ path: "config.json", content: `{"id": "${id}"}` }, { path: "model.safetensors", content: { size: 100_000, seed }, lfs: true }],
});

let hub: FakeHub;
let db: TestDatabase;
const kits: TestKit[] = [];
let boss10: PgBoss10 | null = null;
/** The previous version's jobs, by what became of them before the upgrade. */
const jobs: Record<"queued" | "retrying" | "running", { id: string; revisionId: string }> = {} as never;

async function query<T = any>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  hub = await startFakeHub([model("upgrade/queued", 1), model("upgrade/retrying", 2), model("upgrade/running", 3)]);
  db = await createTestDatabase();
  // The service's tables and three revisions mid-import, made by an API-only server...
  const api = await startTestKit({ HF_ENDPOINT: hub.url, IMPORT_WORKER: "false", ...FAST_IMPORTS }, { database: db });
  const revisions = Object.fromEntries(await Promise.all((["queued", "retrying", "running"] as const).map(async (kind) => {
    const revision = await scanModel(api, `upgrade/${kind}`);
    await applyTransition(api.ds, revision.id, "startImport", {
      actor: "test",
      patch: { importCommit: revision.commit, importNamespaceId: api.booted.storage.defaultNamespaceId },
    }, api.booted.events);
    return [kind, revision.id] as const;
  })));
  await api.close();

  // ...whose queue is then pg-boss 10's, set up as the previous version did.
  await query(`DROP SCHEMA pgboss CASCADE`);
  boss10 = new PgBoss10({ connectionString: db.url, schema: "pgboss", application_name: APPLICATION_NAME, schedule: false });
  boss10.on("error", () => undefined);
  await boss10.start();
  await boss10.createQueue(QUEUE, { name: QUEUE, policy: "stately", retryLimit: 2, retryDelay: 1, retryBackoff: true, expireInHours: 23, retentionDays: 7 });
  const send = async (kind: keyof typeof jobs) => {
    const id = await boss10!.send(QUEUE, { revisionId: revisions[kind] }, { singletonKey: revisions[kind] });
    if (!id) throw new Error(`pg-boss 10 did not enqueue the ${kind} job`);
    jobs[kind] = { id, revisionId: revisions[kind] };
    await query(`UPDATE artifact_revisions SET import_task_id = $2 WHERE id = $1`, [revisions[kind], id]);
  };
  // Fetched and failed: back in the queue, waiting out its backoff.
  await send("retrying");
  expect((await boss10.fetch(QUEUE)).map((j) => j.id)).toEqual([jobs.retrying.id]);
  await boss10.fail(QUEUE, jobs.retrying.id, { message: "a first attempt that failed" });
  // Fetched by a process that then died: active, with nobody holding its revision's lock.
  await send("running");
  expect((await boss10.fetch(QUEUE)).map((j) => j.id)).toEqual([jobs.running.id]);
  await send("queued");
  // A poller keeps a session of the previous version open, as a running process would.
  await boss10.createQueue("keepalive");
  await boss10.work("keepalive", { pollingIntervalSeconds: 0.5 }, async () => undefined);
});

afterAll(async () => {
  await boss10?.stop({ graceful: false, close: true }).catch(() => undefined);
  for (const kit of kits) await kit.close();
  await db?.drop();
  await hub?.stop();
});

describe("an upgrade from pg-boss 10", () => {
  it("refuses to start while a process of the previous version is still connected, and leaves its queue alone", async () => {
    await expect(startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS }, { database: db })).rejects.toThrow(
      /the import queue is still used by a process of the previous version \(pg-boss 10; pid \d+/,
    );
    expect(await query(`SELECT version FROM pgboss.version`)).toEqual([{ version: 24 }]);
    expect(await query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1`, [QUEUE])).toEqual([{ n: 3 }]);
  });

  it("runs the previous version's queued, retrying and orphaned jobs to the end under their ids, then drops the old schema", async () => {
    await boss10!.stop({ graceful: false, close: true });
    boss10 = null;
    // The previous version's process exits, and its sessions end with it (pg-boss 10's stop may
    // leave a poller's session open a while on a busy machine).
    // Only this test's database: other test files' servers share the PostgreSQL server and the application name.
    const theirs = `application_name = $1 AND datname = current_database()`;
    await query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${theirs}`, [APPLICATION_NAME]);
    await waitFor("the previous version's sessions to close", async () => (await query(`SELECT 1 FROM pg_stat_activity WHERE ${theirs}`, [APPLICATION_NAME])).length === 0);

    const kit = await startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS }, { database: db });
    kits.push(kit);
    for (const job of Object.values(jobs)) expect((await waitForStatus(kit, job.revisionId, ["AVAILABLE", "FAILED"], 30_000)).status).toBe("AVAILABLE");
    // A job is marked completed just after its revision's last status commits.
    const jobRows = () => kit.ds.query(`SELECT id, state, retry_count FROM pgboss.job WHERE name = $1 ORDER BY created_on`, [QUEUE]);
    await waitFor("the jobs to be marked finished", async () => (await jobRows()).every((row: { state: string }) => !["created", "retry", "active"].includes(row.state)));
    const rows = await jobRows();
    // The jobs that ran are the ones the previous version enqueued, carried over rather than replaced;
    // attempts count on from where they were: the retried and the orphaned job ran a second time.
    expect(rows).toEqual([
      { id: jobs.retrying.id, state: "completed", retry_count: 1 },
      { id: jobs.running.id, state: "completed", retry_count: 1 },
      { id: jobs.queued.id, state: "completed", retry_count: 0 },
    ]);
    expect(await kit.ds.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pgboss%' ORDER BY nspname`)).toEqual([{ nspname: "pgboss" }]);
    const [{ version }] = await kit.ds.query(`SELECT version FROM pgboss.version`);
    expect(version).toBeGreaterThan(24);
  });
});
