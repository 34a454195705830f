import { createClient, type Client, type ExecutionResult } from "graphql-ws";
import WebSocket from "ws";
import { ArtifactStatus } from "../../src/common/enums";
import type { RevisionStatusChangedEvent } from "../../src/events/event-bus";
import { Seed, uniqueName, type SeededRevision } from "../support/seed";
import { startTestKit, type RoleName, type TestKit } from "../support/testkit";

/*
 * One status event, many subscribers: the server reads the event's revision once, not once per
 * subscription, and still answers each subscriber as its role may see it.
 *
 * Events are told apart by the time they carry (`at`), which the payload reports as the
 * revision's updatedAt. A "sync" event on a fence revision, waited for by every subscriber,
 * marks the point where everything published before has been executed for all of them: the
 * bus delivers in publish order and graphql-ws executes one subscription's events in order.
 */

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit();
});
afterAll(() => kit?.close());

const STATUS = `subscription($input: ArtifactStatusChangedInput!) {
  artifactStatusChanged(input: $input) { artifactRevision { id status updatedAt digest } }
}`;
/** The same with a relation, which the event's loaders read once too. */
const STATUS_WITH_ARTIFACT = STATUS.replace("digest }", "digest artifact { name } }");

interface Received {
  id: string;
  status: string;
  updatedAt: string;
  digest: string | null;
  artifactName: string | null;
}

/** One graphql-ws connection with one status subscription, recording every answer. */
class Subscriber {
  readonly events: Received[] = [];
  readonly errors: Array<{ at: number; codes: string[] }> = [];
  private readonly client: Client;
  private readonly dispose: () => void;
  private waiters: Array<() => void> = [];

  constructor(readonly role: RoleName, revisionIds: string[], private readonly query = STATUS) {
    this.client = createClient({
      url: `${kit.url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${kit.token(role)}` },
      retryAttempts: 0,
    });
    this.dispose = this.client.subscribe({ query, variables: { input: { artifactRevisionIds: revisionIds } } }, {
      next: (value: ExecutionResult<any>) => {
        if (value.errors?.length) this.errors.push({ at: this.events.length, codes: value.errors.map((e: any) => String(e.extensions?.code)) });
        const node = value.data?.artifactStatusChanged?.artifactRevision;
        if (node) this.events.push({ id: node.id, status: node.status, updatedAt: node.updatedAt, digest: node.digest, artifactName: node.artifact?.name ?? null });
        for (const wake of this.waiters.splice(0)) wake();
      },
      error: (error) => this.errors.push({ at: this.events.length, codes: [`subscription failed: ${JSON.stringify(error)}`] }),
      complete: () => undefined,
    });
  }

  /** Resolves once `seen` holds; fails, printing what arrived, after 15 s. */
  async until(what: string, seen: () => boolean): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!seen()) {
      if (Date.now() > deadline) throw new Error(`${this.role} subscriber: no ${what} within 15 s.\nOperation:\n${this.query}\nReceived: ${JSON.stringify(this.events, null, 2)}\nErrors: ${JSON.stringify(this.errors)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  hasEventAt(id: string, at: string): boolean {
    return this.events.some((e) => e.id === id && e.updatedAt === at);
  }

  async close(): Promise<void> {
    this.dispose();
    await this.client.dispose();
  }
}

let clock = Date.parse("2030-01-01T00:00:00.000Z");
/** A distinct, increasing event time: how the subscribers tell events apart. */
const nextAt = () => new Date((clock += 1000)).toISOString();

function statusEvent(revision: SeededRevision, to: ArtifactStatus): RevisionStatusChangedEvent {
  return { revisionId: revision.id, artifactId: revision.artifactId, from: null, to, at: nextAt(), actor: "fan-out test" };
}

interface Audience {
  target: SeededRevision;
  fence: SeededRevision;
  subscribers: Subscriber[];
  /** Publishes a fence event and waits until every subscriber has it: all before it is executed. */
  sync(): Promise<void>;
  /** Publishes `event` and waits until each subscriber in `receivers` has it; returns the SQL the server ran meanwhile. */
  publishCounting(event: RevisionStatusChangedEvent, receivers?: Subscriber[]): Promise<string[]>;
  close(): Promise<void>;
}

async function audience(roles: RoleName[], query = STATUS): Promise<Audience> {
  const seed = new Seed(kit.ds);
  const registry = await seed.registry();
  const artifact = await seed.artifact(registry.id, { name: uniqueName("org/fan-out") });
  const target = await seed.revision(artifact.id, { version: "main", status: ArtifactStatus.SCANNED });
  const fenceArtifact = await seed.artifact(registry.id, { name: uniqueName("org/fan-out-fence") });
  const fence = await seed.revision(fenceArtifact.id, { version: "fence", status: ArtifactStatus.SCANNED });
  const subscribers = roles.map((role) => new Subscriber(role, [target.globalId, fence.globalId], query));

  // graphql-ws does not say when a subscription is in place: repeat fence events until each has one.
  const liveBy = Date.now() + 15_000;
  while (!subscribers.every((s) => s.events.some((e) => e.id === fence.globalId))) {
    if (Date.now() > liveBy) throw new Error(`subscribers not live within 15 s: ${JSON.stringify(subscribers.map((s) => [s.role, s.errors]))}`);
    kit.booted.events.publish("revision.status", statusEvent(fence, ArtifactStatus.SCANNED));
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const sync = async () => {
    const event = statusEvent(fence, ArtifactStatus.SCANNED);
    kit.booted.events.publish("revision.status", event);
    await Promise.all(subscribers.map((s) => s.until(`fence event at ${event.at}`, () => s.hasEventAt(fence.globalId, event.at))));
  };
  await sync();
  return {
    target,
    fence,
    subscribers,
    sync,
    publishCounting: async (event, receivers = subscribers) => {
      // Those who may not see the revision are told so; wait for that answer too.
      const refused = subscribers.filter((s) => !receivers.includes(s));
      const before = new Map(refused.map((s) => [s, s.errors.length]));
      const { statements } = await kit.countQueries(async () => {
        kit.booted.events.publish("revision.status", event);
        await Promise.all(receivers.map((s) => s.until(`event at ${event.at}`, () => s.hasEventAt(target.globalId, event.at))));
        await Promise.all(refused.map((s) => s.until("a refusal", () => s.errors.length > before.get(s)!)));
      });
      return statements;
    },
    close: async () => {
      await Promise.all(subscribers.map((s) => s.close()));
    },
  };
}

/** Statements that read revisions or artifacts (the event's payload); pg-boss polling and the like are not ours. */
const payloadReads = (statements: string[]) => statements.filter((sql) => /^\s*SELECT\b/i.test(sql) && /\b(artifact_revisions|artifacts)\b/.test(sql));

describe("status events with many subscribers", () => {
  it("reads the event's revision once, however many subscribe and whatever their roles", async () => {
    const roles: RoleName[] = [...Array(6).fill("superadmin"), ...Array(6).fill("admin"), ...Array(6).fill("user")];
    const crowd = await audience(roles);
    try {
      const event = statusEvent(crowd.target, ArtifactStatus.PULLING);
      const reads = payloadReads(await crowd.publishCounting(event));
      for (const s of crowd.subscribers) {
        expect(s.events.filter((e) => e.id === crowd.target.globalId)).toEqual([
          { id: crowd.target.globalId, status: "PULLING", updatedAt: event.at, digest: null, artifactName: null },
        ]);
      }
      // The revision with its artifact's availability, in one statement: once, not 18 times.
      expect(reads).toHaveLength(1);
    } finally {
      await crowd.close();
    }
  });

  it("still answers each subscriber as its role may see the revision, from the same single read", async () => {
    const crowd = await audience(["admin", "user", "superadmin", "user"]);
    try {
      await kit.ds.query(`UPDATE artifacts SET availability = 'DELETED', deleted_at = now() WHERE id = $1`, [crowd.target.artifactId]);
      const mayStillSee = crowd.subscribers.filter((s) => s.role !== "user");
      const event = statusEvent(crowd.target, ArtifactStatus.PULLING);
      const reads = payloadReads(await crowd.publishCounting(event, mayStillSee));
      for (const s of mayStillSee) expect(s.events.filter((e) => e.id === crowd.target.globalId).map((e) => e.status)).toEqual(["PULLING"]);
      for (const s of crowd.subscribers.filter((s) => s.role === "user")) {
        expect(s.events.filter((e) => e.id === crowd.target.globalId)).toEqual([]);
        expect(s.errors.at(-1)?.codes).toEqual(["NOT_FOUND"]);
      }
      expect(reads).toHaveLength(1);
    } finally {
      await crowd.close();
    }
  });

  it("reads each event afresh: a later event shows the rows as they are by then, not as the subscription first saw them", async () => {
    const crowd = await audience(["user", "admin", "user"], STATUS_WITH_ARTIFACT);
    try {
      const first = statusEvent(crowd.target, ArtifactStatus.PULLING);
      // The revision, then the artifact the selection asks for: once each for all three.
      expect(payloadReads(await crowd.publishCounting(first))).toHaveLength(2);
      await kit.ds.query(`UPDATE artifact_revisions SET digest = 'c0ffee' WHERE id = $1`, [crowd.target.id]);
      await kit.ds.query(`UPDATE artifacts SET name = 'org/fan-out-renamed' WHERE id = $1`, [crowd.target.artifactId]);
      const second = statusEvent(crowd.target, ArtifactStatus.PULLED);
      await crowd.publishCounting(second);
      for (const s of crowd.subscribers) {
        expect(s.events.filter((e) => e.id === crowd.target.globalId).map(({ status, digest, artifactName }) => ({ status, digest, artifactName }))).toEqual([
          { status: "PULLING", digest: null, artifactName: expect.stringMatching(/^org\/fan-out-[0-9a-f]+$/) },
          { status: "PULLED", digest: "c0ffee", artifactName: "org/fan-out-renamed" },
        ]);
      }
    } finally {
      await crowd.close();
    }
  });
});
