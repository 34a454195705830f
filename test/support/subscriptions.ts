import { randomUUID } from "node:crypto";
import { print, type DocumentNode } from "graphql";
import type { Client } from "graphql-ws";
import { ArtifactStatus } from "../../src/common/enums";
import { toGlobalId } from "../../src/common/relay";
import type { EventBus } from "../../src/events/event-bus";
import { Seed } from "./seed";
import type { TestKit } from "./testkit";

/*
 * graphql-ws tells a client nothing once the server has its subscription in place: between the
 * client's `subscribe` and the first `next` the server sends nothing, and an event published
 * before the server's resolver has subscribed to the event bus is simply not delivered. So a
 * test cannot know, from the client, when it may trigger events; a fixed sleep only guesses.
 *
 * A fence answers it from the only evidence there is: an event that came back. After
 * subscribing, the test publishes a marker event through the server's event bus, the same way
 * real events go (NOTIFY, then the LISTEN of every process on the database, then the resolver,
 * then graphql-ws, through a gateway if there is one), again every few milliseconds until the
 * first marker arrives. From then on every event published reaches this subscription.
 *
 * The same marker also ends a stream without a settle timer: subscribers of the PostgreSQL bus
 * receive events in commit order, and one bus sends its own in publish order, so a marker
 * published after the events under test arrives after all of them (and after any duplicate the
 * delivery path made of them). What came before it is then the complete stream, and asserting
 * it exactly cannot pass just because the check ran too early.
 *
 * Markers come in two kinds, told apart by the subscriber: "ready" markers (sent until one comes
 * back; stale ones may still trickle in afterwards and are dropped) and "drain" markers (sent one
 * at a time, only once the subscription is live, so each one is received).
 */

export type MarkerKind = "ready" | "drain";

/** How one subscription's markers are published and recognised. */
export interface Fence<T = any> {
  /** Publishes one marker of this kind, after everything published on this bus before. */
  send(kind: MarkerKind): void;
  /** Which kind of marker a result is, or null for an event under test. */
  kindOf(value: T): MarkerKind | null;
}

/** The process whose event bus publishes markers (any server on the subscriber's database will do). */
export type Publisher = Pick<TestKit, "booted">;

const bus = (publisher: Publisher): EventBus => publisher.booted.events;

/** The status a status marker carries: the fence revision "changes" to it; it changes nothing in the database. */
const MARKER_STATUS: Record<MarkerKind, ArtifactStatus> = { ready: ArtifactStatus.SCANNED, drain: ArtifactStatus.AVAILABLE };

export interface StatusFence extends Fence {
  /** The fence revision's global ID: list it in the subscription's artifactRevisionIds, next to the ones under test. */
  revisionId: string;
}

/**
 * Markers for an `artifactStatusChanged` subscription: status events of a revision seeded for
 * the purpose (in the first registry, visible to every role), which the subscription lists as well. A marker is told
 * by the revision's id and its kind by the status it carries, so the operation must select
 * `artifactRevision { id status }`.
 */
export async function statusFence(kit: Pick<TestKit, "ds">, publisher: Publisher): Promise<StatusFence> {
  const seed = new Seed(kit.ds);
  const [registry] = await kit.ds.query(`SELECT id FROM artifact_registries ORDER BY created_at LIMIT 1`);
  const artifact = await seed.artifact(registry?.id ?? (await seed.registry()).id, { name: `test-fence/${randomUUID()}` });
  const revision = await seed.revision(artifact.id, { version: "fence", status: ArtifactStatus.SCANNED });
  return {
    revisionId: revision.globalId,
    send: (kind) => bus(publisher).publish("revision.status", {
      revisionId: revision.id, artifactId: artifact.id, from: null, to: MARKER_STATUS[kind], at: new Date().toISOString(), actor: `test fence (${kind})`,
    }),
    kindOf: (value) => {
      const node = value?.artifactStatusChanged?.artifactRevision;
      if (node?.id !== revision.globalId) return null;
      return node.status === MARKER_STATUS.drain ? "drain" : "ready";
    },
  };
}

/**
 * Markers for an `artifactImportProgressUpdated` subscription of the revision `revisionUuid`:
 * progress events of that revision that name an artifact of their own, which no import ever
 * reports. The operation must select `artifactId`.
 */
export function progressFence(revisionUuid: string, publisher: Publisher): Fence {
  const artifactIds: Record<MarkerKind, string> = { ready: randomUUID(), drain: randomUUID() };
  const globalIds = Object.fromEntries(Object.entries(artifactIds).map(([kind, id]) => [toGlobalId("Artifact", id), kind as MarkerKind]));
  return {
    send: (kind) => bus(publisher).publish("revision.progress", revisionUuid, {
      revisionId: revisionUuid, artifactId: artifactIds[kind], status: ArtifactStatus.PULLING,
      progress: { totalFiles: 0, completedFiles: 0, totalBytes: "0", downloadedBytes: "0", bytesPerSecond: null, startedAt: null, updatedAt: null },
    }),
    kindOf: (value) => globalIds[value?.artifactImportProgressUpdated?.artifactId] ?? null,
  };
}

/**
 * Calls `send` now and then every `retryMs` until `arrived` resolves; rejects after `timeoutMs`
 * naming `what`. For a subscriber the test does not own (one inside the server under test),
 * tapped so that `arrived` resolves on its first marker.
 */
export async function repeatUntil(what: string, send: () => void, arrived: Promise<unknown>, { retryMs = 25, timeoutMs = 10_000 } = {}): Promise<void> {
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const ended = arrived.finally(() => {
    done = true;
    clearTimeout(timer);
  });
  const deadline = Date.now() + timeoutMs;
  const tick = (resolve: () => void, reject: (error: Error) => void) => {
    if (done) return resolve();
    if (Date.now() > deadline) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    send();
    timer = setTimeout(() => tick(resolve, reject), retryMs);
  };
  await Promise.race([ended, new Promise<void>((resolve, reject) => tick(resolve, reject))]);
  clearTimeout(timer);
  await ended;
}

export interface FencedSubscription<T> {
  /** The results that are not markers, in arrival order. */
  results: T[];
  /**
   * Resolves once a marker came back through the subscription: the server has it in place, and
   * every event published from now on reaches it. Rejects if the subscription fails first.
   */
  live: Promise<void>;
  /** With `until`: resolves with `results` once `until` accepts one of them. */
  done: Promise<T[]>;
  /**
   * Publishes a drain marker and resolves with the results that arrived before it. Call after
   * `live`, once the events under test were published on the marker's bus or committed: they
   * all arrive before the marker, and so does any duplicate the path between made of them.
   */
  drain(): Promise<T[]>;
  stop(): void;
}

export interface FencedOptions<T> {
  fence: Fence<T>;
  /** Whether a result ends the stream (`done` resolves). */
  until?: (value: T) => boolean;
  /** Bounds the whole subscription: a failure, never a wait the test relies on. */
  timeoutMs?: number;
  retryMs?: number;
}

/**
 * Subscribes, proves the subscription live with `fence` (see above), and collects what comes.
 * Failures print the operation, its variables, what arrived and the error.
 */
export function subscribeFenced<T = any>(
  client: Client,
  operation: { query: string | DocumentNode; variables?: Record<string, unknown> },
  { fence, until, timeoutMs = 30_000, retryMs }: FencedOptions<T>,
): FencedSubscription<T> {
  const query = typeof operation.query === "string" ? operation.query : print(operation.query);
  const variables = operation.variables ?? {};
  const results: T[] = [];
  const received: T[] = [];
  let failure: Error | null = null;
  const failed: Array<(error: Error) => void> = [];
  let readyArrived!: () => void;
  let readyFailed!: (error: Error) => void;
  const firstReady = new Promise<void>((resolve, reject) => {
    readyArrived = resolve;
    readyFailed = reject;
  });
  firstReady.catch(() => undefined);
  let drainsArrived = 0;
  const drainWaiters: Array<{ count: number; resolve: (results: T[]) => void }> = [];
  let finish: ((results: T[]) => void) | null = null;

  const describe = (error: unknown) => new Error(
    `Subscription failed.\nOperation:\n${query}\nVariables: ${JSON.stringify(variables, null, 2)}\n`
    + `Received (markers included): ${JSON.stringify(received, null, 2)}\nError: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
  );
  const fail = (error: unknown) => {
    if (failure) return;
    failure = describe(error);
    clearTimeout(timer);
    dispose();
    readyFailed(failure);
    for (const reject of failed.splice(0)) reject(failure);
  };
  /** A promise that also rejects when the subscription fails. */
  const guarded = <R>(wait: Promise<R>) => new Promise<R>((resolve, reject) => {
    if (failure) return reject(failure);
    failed.push(reject);
    wait.then(resolve, reject);
  });

  let isLive = false;
  const timer = setTimeout(() => fail(new Error(isLive
    ? `not finished within ${timeoutMs} ms`
    : `no fence marker came back within ${timeoutMs} ms (does the operation list the fence and select what tells a marker?)`)), timeoutMs);
  const dispose = client.subscribe<T>({ query, variables }, {
    next: (value) => {
      if (value.errors?.length) return fail(value.errors);
      const data = value.data as T;
      received.push(data);
      const kind = fence.kindOf(data);
      if (kind === "ready") {
        isLive = true;
        return readyArrived();
      }
      if (kind === "drain") {
        drainsArrived++;
        for (const waiter of drainWaiters.filter((w) => w.count <= drainsArrived)) {
          drainWaiters.splice(drainWaiters.indexOf(waiter), 1);
          waiter.resolve([...results]);
        }
        return;
      }
      results.push(data);
      if (until?.(data)) {
        clearTimeout(timer);
        dispose();
        finish?.(results);
      }
    },
    error: fail,
    complete: () => undefined,
  });

  // Rejects with the subscription's failure if it fails first (firstReady then rejects), or times out.
  const live = repeatUntil("a fence marker to come back", () => fence.send("ready"), firstReady, { retryMs, timeoutMs }).catch((error) => {
    fail(error);
    throw failure ?? error;
  });
  live.catch(() => undefined);
  const done = until
    ? guarded(new Promise<T[]>((resolve) => (finish = resolve)))
    : Promise.reject(new Error("subscribeFenced: `done` needs `until`"));
  done.catch(() => undefined);
  let drainsSent = 0;
  return {
    results,
    live,
    done,
    drain: () => {
      const count = ++drainsSent;
      const arrived = guarded(new Promise<T[]>((resolve) => drainWaiters.push({ count, resolve })));
      fence.send("drain");
      return arrived;
    },
    stop: () => {
      clearTimeout(timer);
      dispose();
    },
  };
}
