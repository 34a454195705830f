import { setMaxListeners } from "node:events";
import { createPubSub, type PubSubEventTarget } from "@graphql-yoga/subscription";
import { Client, type Notification } from "pg";
import type { Logger } from "../common/logger";
import { wireTopic, type EventBus, type EventTopics } from "./event-bus";

export const DEFAULT_EVENTS_CHANNEL = "artifact_registry_events";

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; keep a margin. */
export const MAX_EVENT_BYTES = 7900;

export interface PgEventBusOptions {
  connectionString: string;
  /** A lower-case SQL identifier; every process on the database must use the same one. */
  channel?: string;
  logger: Logger;
  /** Backoff between reconnect attempts of the LISTEN connection, doubling from min to max. */
  reconnectDelayMs?: { min: number; max: number };
  /** Events waiting for the connection beyond this many are dropped, oldest first. */
  maxQueued?: number;
  /** How long close() waits for queued events to be sent. */
  closeTimeoutMs?: number;
}

interface WireEvent { t: string; d: unknown }

/**
 * An EventBus shared by every process on one database, over LISTEN/NOTIFY (no extra service).
 *
 * publish() only sends NOTIFY; local subscribers get the event when the notification comes back
 * to this process, like everybody else's. So each subscriber, here or elsewhere, receives one
 * copy, and all subscribers see the same order: the order in which the NOTIFYs committed.
 * Events of this process are sent one at a time on one session, so they keep publish order.
 * publishIn() sends the NOTIFY inside the caller's transaction instead: PostgreSQL delivers it
 * at commit, and drops it on rollback, so status changes reach every process in commit order,
 * which the row lock of a transition makes the order of the changes themselves.
 *
 * While the connection is down (it is re-established with backoff) events published here wait
 * in memory; notifications sent by other processes meanwhile are missed, as LISTEN/NOTIFY has
 * no replay. Subscribers that must not miss a state read it from the database.
 */
export async function createPgEventBus(options: PgEventBusOptions): Promise<EventBus> {
  const channel = options.channel ?? DEFAULT_EVENTS_CHANNEL;
  // LISTEN takes an identifier, not a parameter: only accept names that need no quoting.
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`Invalid event channel name ${JSON.stringify(channel)}`);

  const local = new EventTarget();
  // Every subscription adds a listener: a thousand on one topic is fan-out, not a leak.
  setMaxListeners(0, local);
  const link = new NotifyLink({ ...options, channel }, (topic, detail) => {
    local.dispatchEvent(new CustomEvent(topic, { detail }));
  });
  await link.start();

  // The pubsub subscribes on `local` and dispatches to the link, which is the whole trick.
  const eventTarget = {
    addEventListener: local.addEventListener.bind(local),
    removeEventListener: local.removeEventListener.bind(local),
    dispatchEvent: (event: CustomEvent) => {
      link.send({ t: event.type, d: event.detail });
      return true;
    },
  } as unknown as PubSubEventTarget<EventTopics>;
  const pubsub = createPubSub<EventTopics>({ eventTarget });
  return {
    publish: pubsub.publish,
    subscribe: pubsub.subscribe,
    publishIn: async (manager, routingKey, ...args) => {
      const { topic, detail } = wireTopic(routingKey, args);
      await manager.query("SELECT pg_notify($1, $2)", [channel, encodeEvent({ t: topic, d: detail })]);
    },
    close: () => link.close(),
  };
}

/** The NOTIFY payload; an event too big to send is a bug in whoever made it, so it throws. */
function encodeEvent(event: WireEvent): string {
  const payload = JSON.stringify(event);
  const bytes = Buffer.byteLength(payload);
  if (bytes > MAX_EVENT_BYTES) throw new Error(`event on ${event.t} is ${bytes} bytes, over the ${MAX_EVENT_BYTES}-byte NOTIFY limit`);
  return payload;
}

/** One session that LISTENs and sends this process's NOTIFYs, re-established when it drops. */
class NotifyLink {
  private client: Client | null = null;
  private readonly queue: string[] = [];
  private sending = false;
  private headFailures = 0;
  private closed = false;
  private retryDelay: number;
  private retryTimer: NodeJS.Timeout | null = null;
  private idleWaiters: Array<() => void> = [];
  private readonly logger: Logger;
  private readonly channel: string;
  private readonly delays: { min: number; max: number };
  private readonly maxQueued: number;

  constructor(
    private readonly options: PgEventBusOptions & { channel: string },
    private readonly deliver: (topic: string, detail: unknown) => void,
  ) {
    this.logger = options.logger;
    this.channel = options.channel;
    this.delays = options.reconnectDelayMs ?? { min: 100, max: 10_000 };
    this.maxQueued = options.maxQueued ?? 10_000;
    this.retryDelay = this.delays.min;
  }

  /** The first connection must succeed: a server that cannot reach its database should not start. */
  async start(): Promise<void> {
    this.client = await this.connect();
  }

  send(event: WireEvent): void {
    if (this.closed) {
      this.logger.warn(`event on ${event.t} published after the event bus closed; dropped`);
      return;
    }
    let payload: string;
    try {
      payload = encodeEvent(event);
    } catch (error) {
      this.logger.error(`${(error as Error).message}; dropped`);
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.queue.shift();
      this.logger.warn(`more than ${this.maxQueued} events waiting for the database; dropped the oldest`);
    }
    this.queue.push(payload);
    this.pump();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.idle(this.options.closeTimeoutMs ?? 2_000);
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const client = this.client;
    this.client = null;
    if (this.queue.length) this.logger.warn(`${this.queue.length} event(s) not sent before the event bus closed`);
    if (client) {
      await client.query(`UNLISTEN ${this.channel}`).catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }

  private async connect(): Promise<Client> {
    const client = new Client({ connectionString: this.options.connectionString, application_name: "artifact-registry-events" });
    // Without an 'error' listener pg turns a dropped connection into an uncaught exception; 'end' follows and drives the reconnect.
    client.on("error", (error) => this.logger.debug(`event bus connection error: ${error.message}`));
    client.on("end", () => this.lost(client));
    client.on("notification", (message) => this.receive(message));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  private lost(client: Client): void {
    if (client !== this.client || this.closed) return;
    this.client = null;
    this.logger.warn(`lost the event bus connection (LISTEN ${this.channel}); events from other processes are missed until it is back, reconnecting`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.delays.max, delay * 2);
    // Jitter, so that replicas cut off together do not all come back in the same millisecond.
    this.retryTimer = setTimeout(() => void this.reconnect(), delay / 2 + (Math.random() * delay) / 2);
    this.retryTimer.unref();
  }

  private async reconnect(): Promise<void> {
    this.retryTimer = null;
    try {
      const client = await this.connect();
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      this.retryDelay = this.delays.min;
      this.logger.info(`event bus reconnected (LISTEN ${this.channel})`);
      this.pump();
    } catch (error) {
      if (this.closed) return;
      this.logger.warn(`event bus reconnect failed, retrying in about ${this.retryDelay} ms: ${(error as Error).message}`);
      this.scheduleReconnect();
    }
  }

  private receive(message: Notification): void {
    if (this.closed || message.channel !== this.channel || !message.payload) return;
    let event: WireEvent;
    try {
      event = JSON.parse(message.payload);
    } catch {
      this.logger.warn(`ignored a notification on ${this.channel} that is not JSON`);
      return;
    }
    if (typeof event?.t !== "string") {
      this.logger.warn(`ignored a notification on ${this.channel} without a topic`);
      return;
    }
    this.deliver(event.t, event.d);
  }

  /**
   * Sends queued events strictly one after the other. Pipelining them on the session would be
   * just as ordered, but after a failure we could not tell which ones were sent.
   */
  private pump(): void {
    if (this.sending) return;
    const client = this.client;
    if (!client || this.queue.length === 0) {
      if (this.queue.length === 0) this.notifyIdle();
      return;
    }
    const payload = this.queue.shift()!;
    this.sending = true;
    client.query("SELECT pg_notify($1, $2)", [this.channel, payload]).then(
      () => {
        this.sending = false;
        this.headFailures = 0;
        this.pump();
      },
      (error: Error) => {
        this.sending = false;
        // Usually the connection died, and the NOTIFY may or may not have committed: resending
        // risks a duplicate, which subscribers tolerate better than a missing transition. An event
        // refused on three fresh connections in a row is not going to pass, though.
        if (++this.headFailures >= 3) {
          this.headFailures = 0;
          this.logger.error(`dropped an event the database refused three times: ${error.message}`);
        } else {
          this.queue.unshift(payload);
        }
        if (this.closed) return this.notifyIdle();
        // Ending the session makes 'end' start the reconnect, which resumes the pump. If the
        // session was already replaced while this query hung, the new one carries on now.
        if (client === this.client) void client.end().catch(() => undefined);
        else this.pump();
      },
    );
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves when nothing is queued or in flight, or after timeoutMs. */
  private idle(timeoutMs: number): Promise<void> {
    if (!this.sending && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
