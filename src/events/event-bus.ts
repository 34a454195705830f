import { createPubSub, type PubSub } from "@graphql-yoga/subscription";
import type { EntityManager } from "typeorm";
import type { ArtifactStatus } from "../common/enums";
import type { ImportProgressData } from "../revision/revision.entity";

/*
 * Events cross process boundaries as JSON (see pg-event-bus.ts): keep them small and made of
 * plain strings, numbers and nulls, and let subscribers read anything bigger from the database.
 */

export interface RevisionStatusChangedEvent {
  revisionId: string;
  artifactId: string;
  from: ArtifactStatus | null;
  to: ArtifactStatus;
  /** The transaction's now(), ISO 8601: equal to the revision's updated_at and the history row's created_at. */
  at: string;
  actor?: string;
}

export interface ImportProgressEvent {
  revisionId: string;
  artifactId: string;
  status: ArtifactStatus;
  progress: ImportProgressData;
}

/**
 * Credentials revoked: every token of `subject` issued before `notBefore` ("subject"), or every
 * token of the key pair whose access key is `subject` ("keypair"). Live sockets using them close.
 */
export interface CredentialRevokedEvent {
  kind: "subject" | "keypair";
  subject: string;
  /** ISO 8601. */
  notBefore: string;
}

/** Topics are keyed by revision id, so a subscriber only wakes for the revisions it asked for. */
export type EventTopics = {
  "revision.status": [event: RevisionStatusChangedEvent];
  "revision.progress": [revisionId: string, event: ImportProgressEvent];
  "auth.revoked": [event: CredentialRevokedEvent];
};

/** Publishes an event as part of a database transaction. */
export interface TransactionalPublisher {
  /**
   * Queues the event in the transaction `manager` runs: subscribers receive it when, and only
   * if, the transaction commits, in commit order with every other process's events.
   */
  publishIn<K extends keyof EventTopics>(manager: EntityManager, routingKey: K, ...args: EventTopics[K]): Promise<void>;
}

/**
 * The port resolvers subscribe to and services publish to: @graphql-yoga/subscription's typed
 * pubsub (type-graphql accepts it as its PubSub), publishIn for events that belong to a
 * transaction (status changes), and close() for shutdown. `publish` never throws and never
 * waits: it is for events with nothing to undo (progress).
 */
export interface EventBus extends PubSub<EventTopics>, TransactionalPublisher {
  close(): Promise<void>;
}

/** What yoga's pubsub dispatches for publish(routingKey, ...args): the event type and its detail. */
export function wireTopic(routingKey: string, args: readonly unknown[]): { topic: string; detail: unknown } {
  return args.length > 1 ? { topic: `${routingKey}:${String(args[0])}`, detail: args[1] } : { topic: routingKey, detail: args[0] ?? null };
}

/**
 * In-process bus, with no database: every subscriber must live in this process, and publishIn
 * publishes at once, as if the transaction had committed. The server uses the PostgreSQL one
 * (createPgEventBus); this one serves schema printing, which runs no transaction.
 */
export function createEventBus(): EventBus {
  const pubsub = createPubSub<EventTopics>();
  return {
    publish: pubsub.publish,
    subscribe: pubsub.subscribe,
    publishIn: async (_manager, routingKey, ...args) => pubsub.publish(routingKey, ...args),
    close: async () => undefined,
  };
}
