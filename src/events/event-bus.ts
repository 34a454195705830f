import { createPubSub, type PubSub } from "@graphql-yoga/subscription";
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

/** Topics are keyed by revision id, so a subscriber only wakes for the revisions it asked for. */
export type EventTopics = {
  "revision.status": [event: RevisionStatusChangedEvent];
  "revision.progress": [revisionId: string, event: ImportProgressEvent];
};

/**
 * The port resolvers subscribe to and services publish to: @graphql-yoga/subscription's typed
 * pubsub (type-graphql accepts it as its PubSub), plus close() for shutdown. `publish` never
 * throws and never waits: it is called after a commit, when there is nothing left to undo.
 */
export interface EventBus extends PubSub<EventTopics> {
  close(): Promise<void>;
}

/**
 * In-process bus: every subscriber must live in this process. The server uses the PostgreSQL
 * one (createPgEventBus); this one serves schema printing and unit tests.
 */
export function createEventBus(): EventBus {
  const pubsub = createPubSub<EventTopics>();
  return { publish: pubsub.publish, subscribe: pubsub.subscribe, close: async () => undefined };
}
