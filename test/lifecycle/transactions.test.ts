import { Client } from "pg";
import type { DataSource } from "typeorm";
import { ArtifactStatus } from "../../src/common/enums";
import type { Logger } from "../../src/common/logger";
import type { EventBus, RevisionStatusChangedEvent } from "../../src/events/event-bus";
import { createPgEventBus } from "../../src/events/pg-event-bus";
import { applyTransition, applyTransitionIn, listMidImportRevisions } from "../../src/revision/lifecycle";
import { createMigratedDataSource, type TestDatabase } from "../support/database";
import { Seed } from "../support/seed";

const S = ArtifactStatus;
let ds: DataSource;
let db: TestDatabase;
let close: () => Promise<void>;
let seed: Seed;
let artifactId: string;
/** The bus of the process that changes statuses, and the one of another process that watches. */
let bus: EventBus;
let watcher: EventBus;

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(async () => {
  ({ ds, db, close } = await createMigratedDataSource());
  seed = new Seed(ds);
  artifactId = (await seed.artifact((await seed.registry()).id)).id;
  bus = await createPgEventBus({ connectionString: db.url, logger: quiet });
  watcher = await createPgEventBus({ connectionString: db.url, logger: quiet });
});
afterAll(async () => {
  await Promise.all([bus, watcher].map((b) => b?.close()));
  await close?.();
});

const MARKER = "marker";

/**
 * Records the status events the watcher receives for the given revisions, in arrival order.
 * upToNow() sends a marker outside any transaction and answers with what arrived before it: as
 * PostgreSQL delivers notifications in commit order, that is every event committed so far.
 */
function watch(...revisionIds: string[]) {
  const arrived: RevisionStatusChangedEvent[] = [];
  const markers = new Map<string, () => void>();
  const iterator = watcher.subscribe("revision.status")[Symbol.asyncIterator]();
  void (async () => {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const event = next.value;
      if (event.artifactId === MARKER) markers.get(event.revisionId)?.();
      else if (revisionIds.includes(event.revisionId)) arrived.push(event);
    }
  })();
  let n = 0;
  return {
    async upToNow(): Promise<RevisionStatusChangedEvent[]> {
      const key = `${revisionIds[0]}-${++n}`;
      const seen = new Promise<void>((resolve) => markers.set(key, resolve));
      bus.publish("revision.status", { revisionId: key, artifactId: MARKER, from: null, to: S.SCANNED, at: new Date().toISOString() });
      await seen;
      return [...arrived];
    },
    stop: () => void iterator.return?.(),
  };
}

/** Lets the watcher's subscription reach its LISTEN loop before anything is published. */
async function watching(...revisionIds: string[]) {
  const w = watch(...revisionIds);
  await w.upToNow();
  return w;
}

const statusOf = async (id: string) => (await ds.query(`SELECT status FROM artifact_revisions WHERE id = $1`, [id]))[0].status;
const historyOf = (id: string) =>
  ds.query(`SELECT from_status, to_status, actor FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [id]);

/** Holds the revision's row lock from a separate session until release() is called. */
async function holdRowLock(id: string) {
  const client = new Client({ connectionString: db.url });
  client.on("error", () => undefined);
  await client.connect();
  await client.query("BEGIN");
  await client.query(`SELECT 1 FROM artifact_revisions WHERE id = $1 FOR UPDATE`, [id]);
  return {
    // Asked outside the holding transaction: pg_stat_activity is a snapshot per transaction.
    waiting: async () =>
      (await ds.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`))[0].n as number,
    release: async () => {
      await client.query("COMMIT");
      await client.end();
    },
  };
}

async function until(check: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("concurrent transitions of one revision", () => {
  it("lets exactly one of two simultaneous startImports win; the other is a CONFLICT", async () => {
    const { id } = await seed.revision(artifactId, { status: S.SCANNED });
    const events = await watching(id);
    // Both requests queue behind a lock we hold, so they really do race for the row when it goes.
    const lock = await holdRowLock(id);
    const results = [
      applyTransition(ds, id, "startImport", { actor: "alice" }, bus),
      applyTransition(ds, id, "startImport", { actor: "bob" }, bus),
    ].map((p) => p.then((event) => ({ ok: true as const, event }), (error) => ({ ok: false as const, error })));
    await until(async () => (await lock.waiting()) >= 2, "both transitions to wait for the row lock");
    await lock.release();
    const settled = await Promise.all(results);

    const winners = settled.filter((r) => r.ok);
    const losers = settled.filter((r) => !r.ok);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect((losers[0] as any).error.extensions).toMatchObject({ code: "CONFLICT", currentStatus: S.PULLING, action: "startImport" });
    expect(await statusOf(id)).toBe(S.PULLING);
    expect(await historyOf(id)).toEqual([{ from_status: S.SCANNED, to_status: S.PULLING, actor: (winners[0] as any).event.actor }]);
    expect(await events.upToNow()).toEqual([(winners[0] as any).event]);
    events.stop();
  });

  it("serializes a cancel racing a pulled: the revision always ends cancelled, with a history that matches", async () => {
    const { id } = await seed.revision(artifactId, { status: S.PULLING });
    const events = await watching(id);
    const settled = await Promise.allSettled([
      applyTransition(ds, id, "cancel", { actor: "alice" }, bus),
      applyTransition(ds, id, "pulled", { actor: "import-worker" }, bus),
    ]);
    const history = await historyOf(id);
    // Either cancel ran first and pulled was refused, or pulled ran first and cancel followed it.
    const cancelFirst = [{ from_status: S.PULLING, to_status: S.SCANNED, actor: "alice" }];
    const pulledFirst = [{ from_status: S.PULLING, to_status: S.PULLED, actor: "import-worker" }, { from_status: S.PULLED, to_status: S.SCANNED, actor: "alice" }];
    expect([cancelFirst, pulledFirst]).toContainEqual(history);
    expect(settled.filter((r) => r.status === "fulfilled")).toHaveLength(history.length);
    expect(await statusOf(id)).toBe(S.SCANNED);
    expect((await events.upToNow()).map((e) => ({ from_status: e.from, to_status: e.to, actor: e.actor }))).toEqual(history);
    events.stop();
  });

  it("delivers the changes of two processes to a third in the order they committed", async () => {
    const { id } = await seed.revision(artifactId, { status: S.SCANNED });
    const other = await createPgEventBus({ connectionString: db.url, logger: quiet });
    try {
      const events = await watching(id);
      // Alternate the process that changes the status: each one's NOTIFY rides its own commit.
      const steps = [
        ["startImport", bus], ["pulled", other], ["verify", bus], ["makeAvailable", other],
        ["cleanup", bus], ["startImport", other], ["fail", bus],
      ] as const;
      for (const [action, publisher] of steps) await applyTransition(ds, id, action, { actor: "worker" }, publisher);
      const seen = await events.upToNow();
      expect(seen.map((e) => `${e.from}->${e.to}`)).toEqual([
        "SCANNED->PULLING", "PULLING->PULLED", "PULLED->VERIFYING", "VERIFYING->AVAILABLE",
        "AVAILABLE->SCANNED", "SCANNED->PULLING", "PULLING->FAILED",
      ]);
      events.stop();
    } finally {
      await other.close();
    }
  });
});

describe("publishing", () => {
  it("delivers the event only when the change commits", async () => {
    const { id } = await seed.revision(artifactId, { status: S.SCANNED });
    const events = await watching(id);
    let beforeCommit: RevisionStatusChangedEvent[] = [];
    const event = await ds.transaction(async (manager) => {
      const e = await applyTransitionIn(manager, id, "startImport", { actor: "alice" }, bus);
      beforeCommit = await events.upToNow();
      return e;
    });
    expect(beforeCommit).toEqual([]);
    expect(await events.upToNow()).toEqual([event]);
    events.stop();
  });

  it("delivers nothing, and changes nothing, when the caller's transaction rolls back", async () => {
    const { id } = await seed.revision(artifactId, { status: S.AVAILABLE });
    await seed.files(id, [{ path: "model.safetensors", size: 10 }]);
    const events = await watching(id);
    const cleanup = ds.transaction(async (manager) => {
      await manager.query(`DELETE FROM artifact_revision_files WHERE revision_id = $1`, [id]);
      const event = await applyTransitionIn(manager, id, "cleanup", { actor: "alice" }, bus);
      expect(event).toMatchObject({ from: S.AVAILABLE, to: S.SCANNED });
      throw new Error("storage refused to delete");
    });
    await expect(cleanup).rejects.toThrow("storage refused to delete");

    expect(await events.upToNow()).toEqual([]);
    events.stop();
    expect(await statusOf(id)).toBe(S.AVAILABLE);
    expect(await historyOf(id)).toEqual([]);
    expect(await ds.query(`SELECT path FROM artifact_revision_files WHERE revision_id = $1`, [id])).toEqual([{ path: "model.safetensors" }]);
  });

  it("commits the status with the caller's other rows when the caller's transaction commits", async () => {
    const { id } = await seed.revision(artifactId, { status: S.FAILED });
    await seed.files(id, [{ path: "a.bin", size: 1 }]);
    const event = await ds.transaction(async (manager) => {
      await manager.query(`DELETE FROM artifact_revision_files WHERE revision_id = $1`, [id]);
      return applyTransitionIn(manager, id, "cleanup", { actor: "alice", reason: "cleanupArtifactRevisions" }, bus);
    });
    expect(event).toMatchObject({ revisionId: id, artifactId, from: S.FAILED, to: S.SCANNED, actor: "alice" });
    expect(await statusOf(id)).toBe(S.SCANNED);
    expect(await ds.query(`SELECT 1 FROM artifact_revision_files WHERE revision_id = $1`, [id])).toEqual([]);
  });

  it("refuses to run outside a transaction, where its row lock would mean nothing", async () => {
    const { id } = await seed.revision(artifactId, { status: S.SCANNED });
    await expect(applyTransitionIn(ds.manager, id, "startImport", { actor: "alice" }, bus)).rejects.toThrow(/transaction/);
    expect(await statusOf(id)).toBe(S.SCANNED);
  });
});

describe("transition details", () => {
  it("writes the patch columns with the status, and clears the ones patched to null", async () => {
    const { id } = await seed.revision(artifactId, { status: S.VERIFYING, lastError: "an old error" });
    const verificationResult = { verifiers: [] };
    await applyTransition(ds, id, "makeAvailable", {
      actor: "import-worker", patch: { digest: "abc123", lastError: null, verificationResult },
    }, bus);
    const [row] = await ds.query(`SELECT status, digest, last_error, verification_result, import_progress FROM artifact_revisions WHERE id = $1`, [id]);
    expect(row).toEqual({ status: S.AVAILABLE, digest: "abc123", last_error: null, verification_result: verificationResult, import_progress: null });
  });

  it("moves a forced re-import back to AVAILABLE on cancel when the caller says so", async () => {
    const { id } = await seed.revision(artifactId, { status: S.AVAILABLE });
    const events = await watching(id);
    await expect(applyTransition(ds, id, "startImport", { actor: "alice" }, bus)).rejects.toMatchObject({ extensions: { code: "CONFLICT" } });
    await applyTransition(ds, id, "startImport", { actor: "alice", force: true }, bus);
    await applyTransition(ds, id, "cancel", { actor: "alice", to: S.AVAILABLE }, bus);
    expect((await events.upToNow()).map((e) => `${e.from}->${e.to}`)).toEqual(["AVAILABLE->PULLING", "PULLING->AVAILABLE"]);
    events.stop();
  });

  it("treats a target the action never has as a programming error, not a conflict", async () => {
    const { id } = await seed.revision(artifactId, { status: S.PULLING });
    await expect(applyTransition(ds, id, "fail", { actor: "x", to: S.AVAILABLE }, bus)).rejects.toThrow(/cannot lead to AVAILABLE/);
    expect(await statusOf(id)).toBe(S.PULLING);
  });

  it("answers NOT_FOUND for a revision that does not exist", async () => {
    await expect(applyTransition(ds, "00000000-0000-4000-8000-000000000000", "startImport", { actor: "x" }, bus))
      .rejects.toMatchObject({ extensions: { code: "NOT_FOUND" } });
  });
});

describe("recovery", () => {
  it("lists the revisions mid-import, with the status their import started from", async () => {
    const { id: artifact } = await seed.artifact((await seed.registry()).id);
    const scanned = await seed.revision(artifact, { status: S.SCANNED });
    const available = await seed.revision(artifact, { status: S.AVAILABLE });
    const settled = await seed.revision(artifact, { status: S.FAILED });
    await applyTransition(ds, scanned.id, "startImport", { actor: "a" }, bus);
    await applyTransition(ds, available.id, "startImport", { actor: "a", force: true }, bus);
    await applyTransition(ds, available.id, "pulled", { actor: "a" }, bus);

    const mid = (await listMidImportRevisions(ds)).filter((r) => r.artifactId === artifact);
    expect(mid.map(({ id, status, startedFrom }) => ({ id, status, startedFrom }))).toEqual([
      { id: scanned.id, status: S.PULLING, startedFrom: S.SCANNED },
      { id: available.id, status: S.PULLED, startedFrom: S.AVAILABLE },
    ]);
    expect(mid.map((r) => r.id)).not.toContain(settled.id);
  });
});
