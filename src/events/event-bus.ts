import { createPubSub } from "@graphql-yoga/subscription";
import type { ArtifactStatus } from "../common/enums";
import type { ImportProgressData } from "../revision/revision.entity";

export interface RevisionStatusChangedEvent {
  revisionId: string;
  artifactId: string;
  from: ArtifactStatus | null;
  to: ArtifactStatus;
  at: string;
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

export type EventBus = ReturnType<typeof createEventBus>;

/** In-process event bus; type-graphql's PubSub interface is satisfied by it. */
export function createEventBus() {
  return createPubSub<EventTopics>();
}
