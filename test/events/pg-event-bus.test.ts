import { Client } from "pg";
import type { Logger } from "../../src/common/logger";
import { ArtifactStatus } from "../../src/common/enums";
import type { EventBus, ImportProgressEvent, RevisionStatusChangedEvent } from "../../src/events/event-bus";
import { createPgEventBus, DEFAULT_EVENTS_CHANNEL, type PgEventBusOptions } from "../../src/events/pg-event-bus";
import { createTestDatabase, testPgUrl, type TestDatabase } from "../support/database";

let db: TestDatabase;
const open: EventBus[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((bus) => bus.close()));
});
afterAll(() => db?.drop());

function recordingLogger() {
  const lines: Array<{ level: string; message: string }> = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, lines, text: () => lines.map((l) => `${l.level}: ${l.message}`).join("\n") };
}

async function bus(options: Partial<PgEventBusOptions> = {}): Promise<EventBus> {
  const created = await createPgEventBus({ connectionString: db.url, logger: recordingLogger().logger, ...options });
  open.push(created);
  return created;
}

const statusEvent = (revisionId: string, n: number): RevisionStatusChangedEvent => ({
  revisionId, artifactId: "a", from: ArtifactStatus.PULLING, to: ArtifactStatus.PULLED, at: new Date(n).toISOString(), actor: `actor-${n}`,
});

/**
 * Marker events, named: published after the events under test, a marker arrives after all of
 * them. The bus delivers in commit order, and one bus sends its events in publish order, so
 * whatever is still to come on the path a marker took (a duplicate, a leak published earlier)
 * comes before it.
 */
const fence = (name = "end") => statusEvent(`fence:${name}`, 0);
const statusFenceName = (event: unknown) => {
  const id = (event as { revisionId?: string }).revisionId;
  return id?.startsWith("fence:") ? id.slice("fence:".length) : null;
};

/**
 * Starts consuming at once (a Repeater listens from its first iteration, which happens here,
 * so the subscription is in place when this returns). Resolves with the events other than
 * markers that arrived before the marker `until`; rejects at the deadline, which only bounds a
 * failure.
 */
function collect<T>(
  iterable: AsyncIterable<T>,
  { until = "end", deadlineMs = 5000, fenceName = statusFenceName }: { until?: string; deadlineMs?: number; fenceName?: (event: T) => string | null } = {},
): Promise<T[]> {
  const iterator = iterable[Symbol.asyncIterator]();
  const seen: T[] = [];
  return new Promise<T[]>((resolve, reject) => {
    const finish = (error?: Error) => {
      clearTimeout(deadline);
      void iterator.return?.();
      if (error) reject(error);
      else resolve(seen);
    };
    const deadline = setTimeout(() => finish(new Error(`no marker ${until} within ${deadlineMs} ms; got ${JSON.stringify(seen)}`)), deadlineMs);
    const loop = async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return finish(new Error(`the subscription ended before the marker ${until}; got ${JSON.stringify(seen)}`));
        const name = fenceName(next.value);
        if (name === until) return finish();
        if (name === null) seen.push(next.value);
      }
    };
    loop().catch((error) => finish(error));
  });
}

const sessions = async (applicationName = "artifact-registry-events") => {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 ORDER BY backend_start`, [applicationName])).rows.map((r) => r.pid as number);
  } finally {
    await client.end();
  }
};

async function sql(text: string, values: unknown[] = [], connectionString = db.url) {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the PostgreSQL event bus", () => {
  it("delivers an event to a subscriber in the publishing process exactly once, by way of the database", async () => {
    const events = await bus();
    const witness = await bus();
    const received = collect(events.subscribe("revision.status"), { until: "witness" });
    const elsewhere = collect(witness.subscribe("revision.status"));
    events.publish("revision.status", statusEvent("r1", 1));
    events.publish("revision.status", fence());
    // Once another process has it, its NOTIFY committed; a marker that process sends now comes
    // after it here too, and after a copy delivered by any shorter way, too.
    expect(await elsewhere).toEqual([statusEvent("r1", 1)]);
    witness.publish("revision.status", fence("witness"));
    expect(await received).toEqual([statusEvent("r1", 1)]);
  });

  it("delivers what one process publishes to subscribers of every process on the database, in publish order", async () => {
    const publisher = await bus();
    const other = await bus();
    const sent = Array.from({ length: 200 }, (_, i) => statusEvent(`r${i % 3}`, i));
    const here = collect(publisher.subscribe("revision.status"), { until: "other" });
    const there = collect(other.subscribe("revision.status"));
    for (const event of sent) publisher.publish("revision.status", event);
    publisher.publish("revision.status", fence());
    expect(await there).toEqual(sent);
    // All of it committed: a marker from the other process comes after it in the publisher, too.
    other.publish("revision.status", fence("other"));
    expect(await here).toEqual(sent);
  });

  it("wakes a keyed subscriber only for its key", async () => {
    const events = await bus();
    const progress = (revisionId: string): ImportProgressEvent => ({
      revisionId, artifactId: "a", status: ArtifactStatus.PULLING,
      progress: { totalFiles: 2, completedFiles: 1, totalBytes: "100", downloadedBytes: "50", bytesPerSecond: 10, startedAt: null, updatedAt: null },
    });
    const mine = collect(events.subscribe("revision.progress", "r1"), { fenceName: (event) => (event.artifactId === "fence" ? "end" : null) });
    events.publish("revision.progress", "r2", progress("r2"));
    events.publish("revision.progress", "r1", progress("r1"));
    events.publish("revision.progress", "r1", { ...progress("r1"), artifactId: "fence" });
    expect(await mine).toEqual([progress("r1")]);
  });

  it("does not deliver events of another channel or of another database", async () => {
    const otherDb = await createTestDatabase();
    try {
      const events = await bus();
      const elsewhere = await createPgEventBus({ connectionString: otherDb.url, logger: recordingLogger().logger });
      const otherChannel = await bus({ channel: "someone_else" });
      try {
        const received = collect(events.subscribe("revision.status"));
        // Each comes back to its own bus, so it was committed before the fence below is sent.
        const sentElsewhere = collect(elsewhere.subscribe("revision.status"));
        const sentOnOtherChannel = collect(otherChannel.subscribe("revision.status"));
        elsewhere.publish("revision.status", statusEvent("x", 1));
        elsewhere.publish("revision.status", fence());
        otherChannel.publish("revision.status", statusEvent("y", 2));
        otherChannel.publish("revision.status", fence());
        expect(await sentElsewhere).toEqual([statusEvent("x", 1)]);
        expect(await sentOnOtherChannel).toEqual([statusEvent("y", 2)]);
        events.publish("revision.status", statusEvent("r", 3));
        events.publish("revision.status", fence());
        expect(await received).toEqual([statusEvent("r", 3)]);
      } finally {
        await elsewhere.close();
      }
    } finally {
      await otherDb.drop();
    }
  });

  it("ignores foreign notifications on its channel, logging them, and carries on", async () => {
    const log = recordingLogger();
    const events = await bus({ logger: log.logger });
    const received = collect(events.subscribe("revision.status"));
    await sql(`SELECT pg_notify($1, 'not json'), pg_notify($1, '{"no":"topic"}')`, [DEFAULT_EVENTS_CHANNEL]);
    events.publish("revision.status", statusEvent("r", 1));
    events.publish("revision.status", fence());
    expect(await received).toEqual([statusEvent("r", 1)]);
    expect(log.text()).toMatch(/warn: ignored a notification .* not JSON/);
    expect(log.text()).toMatch(/warn: ignored a notification .* without a topic/);
  });

  it("refuses an event over PostgreSQL's payload limit with an error log instead of failing the publisher", async () => {
    const log = recordingLogger();
    const events = await bus({ logger: log.logger });
    const received = collect(events.subscribe("revision.status"));
    expect(() => events.publish("revision.status", { ...statusEvent("big", 1), actor: "x".repeat(9000) })).not.toThrow();
    events.publish("revision.status", statusEvent("small", 2));
    events.publish("revision.status", fence());
    expect(await received).toEqual([statusEvent("small", 2)]);
    expect(log.text()).toMatch(/error: event on revision.status is \d+ bytes, over the 7900-byte NOTIFY limit/);
  });

  it("reconnects with backoff when its connection is killed, logs it, and sends what was published meanwhile", async () => {
    const log = recordingLogger();
    const events = await bus({ logger: log.logger, reconnectDelayMs: { min: 50, max: 400 } });
    const listener = await bus();
    // The publishing bus's session, which connected first.
    const [pid, ...others] = await sessions();
    expect(others).toHaveLength(1);
    const received = collect(listener.subscribe("revision.status"));
    await sql(`SELECT pg_terminate_backend($1)`, [pid]);
    await until(() => /warn: lost the event bus connection/.test(log.text()), "the lost connection to be logged");
    for (let i = 1; i <= 3; i++) events.publish("revision.status", statusEvent("r", i));
    events.publish("revision.status", fence());
    expect(await received).toEqual([1, 2, 3].map((i) => statusEvent("r", i)));
    expect(log.text()).toMatch(/info: event bus reconnected/);
    expect(await sessions()).toHaveLength(2);
  });

  it("keeps trying while the database refuses connections, and recovers when it accepts them again", async () => {
    const log = recordingLogger();
    const events = await bus({ logger: log.logger, reconnectDelayMs: { min: 20, max: 100 } });
    const received = collect(events.subscribe("revision.status"), { deadlineMs: 10_000 });
    await sql(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS false`, [], testPgUrl());
    try {
      await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'artifact-registry-events'`, [db.name], testPgUrl());
      await until(() => (log.text().match(/warn: event bus reconnect failed/g) ?? []).length >= 2, "two failed reconnects");
      events.publish("revision.status", statusEvent("r", 1));
      events.publish("revision.status", fence());
    } finally {
      await sql(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS true`, [], testPgUrl());
    }
    expect(await received).toEqual([statusEvent("r", 1)]);
  });

  it("on close, sends what is queued, then unlistens and ends its session", async () => {
    const listener = await bus();
    const received = collect(listener.subscribe("revision.status"));
    const log = recordingLogger();
    const events = await createPgEventBus({ connectionString: db.url, logger: log.logger, channel: DEFAULT_EVENTS_CHANNEL });
    expect(await sessions()).toHaveLength(2);
    events.publish("revision.status", statusEvent("last", 1));
    await events.close();
    await until(async () => (await sessions()).length === 1, "the closed bus's session to end");
    events.publish("revision.status", statusEvent("late", 2));
    expect(log.text()).toMatch(/warn: event on revision.status published after the event bus closed/);
    // close() returned once "last" was sent, so it is ahead of a fence the listener sends now; "late" never went.
    listener.publish("revision.status", fence());
    expect(await received).toEqual([statusEvent("last", 1)]);
  });
});
