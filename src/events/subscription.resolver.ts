import { filter, pipe } from "@graphql-yoga/subscription";
import { Arg, Authorized, Ctx, ID, Resolver, Root, Subscription } from "type-graphql";
import { canSeeArtifact } from "../artifact/artifact.service";
import { ERRORS } from "../common/errors";
import { parseId, toGlobalId } from "../common/relay";
import { loadRevisionNode } from "../revision/revision.loader";
import { toImportProgress, toRevision } from "../revision/revision.type";
import type { AppContext } from "../schema/context";
import type { ImportProgressEvent, RevisionStatusChangedEvent } from "./event-bus";
import { ArtifactImportProgressUpdatedPayload, ArtifactStatusChangedInput, ArtifactStatusChangedPayload } from "./subscription.type";

const MAX_SUBSCRIBED_REVISIONS = 500;

interface SubscribeData<Args> { args: Args; context: AppContext }

/** Checks at subscribe time that every revision exists and that this viewer may see it. */
async function visibleRevisionIds(context: AppContext, ids: readonly string[], argName: string): Promise<Set<string>> {
  if (ids.length > MAX_SUBSCRIBED_REVISIONS) throw ERRORS.badInput(`${argName} may list at most ${MAX_SUBSCRIBED_REVISIONS} revisions`);
  const uuids = ids.map((id) => parseId("ArtifactRevision", id, argName));
  const fresh = { viewer: context.viewer, loaders: context.newLoaders() };
  const found = await Promise.all(uuids.map((uuid) => loadRevisionNode(fresh, uuid)));
  const missing = ids.filter((_, i) => !found[i]);
  if (missing.length) throw ERRORS.notFound("ArtifactRevision", missing.join(", "));
  return new Set(uuids);
}

@Resolver()
export class SubscriptionResolver {
  @Authorized()
  @Subscription(() => ArtifactStatusChangedPayload, {
    description: "Every status change of the listed revisions, in order.",
    subscribe: async ({ args, context }: SubscribeData<{ input: ArtifactStatusChangedInput }>) => {
      if (!context.viewer) throw ERRORS.unauthenticated();
      const wanted = await visibleRevisionIds(context, args.input.artifactRevisionIds, "artifactRevisionIds");
      return pipe(context.events.subscribe("revision.status"), filter((event: RevisionStatusChangedEvent) => wanted.has(event.revisionId)));
    },
  })
  async artifactStatusChanged(
    @Root() event: RevisionStatusChangedEvent,
    @Arg("input", () => ArtifactStatusChangedInput) _input: ArtifactStatusChangedInput,
    @Ctx() context: AppContext,
  ): Promise<ArtifactStatusChangedPayload> {
    // The event's loaders, shared by all its subscribers (event-scope.ts): one read per event.
    const found = await context.loaders.revisionWithAvailabilityById.load(event.revisionId);
    if (!found || !canSeeArtifact(context.viewer, { availability: found.artifactAvailability })) {
      throw ERRORS.notFound("ArtifactRevision", toGlobalId("ArtifactRevision", event.revisionId));
    }
    const revision = toRevision(found.revision);
    // The event carries the status of this transition and when it happened; the row may already have moved on.
    revision.status = event.to;
    if (event.at) revision.updatedAt = new Date(event.at);
    return { artifactRevision: revision };
  }

  @Authorized()
  @Subscription(() => ArtifactImportProgressUpdatedPayload, {
    description: "Byte-level progress of the revision's import, at most about once a second.",
    subscribe: async ({ args, context }: SubscribeData<{ artifactRevisionId: string }>) => {
      if (!context.viewer) throw ERRORS.unauthenticated();
      const [uuid] = await visibleRevisionIds(context, [args.artifactRevisionId], "artifactRevisionId");
      return context.events.subscribe("revision.progress", uuid);
    },
  })
  artifactImportProgressUpdated(
    @Root() event: ImportProgressEvent,
    @Arg("artifactRevisionId", () => ID) _artifactRevisionId: string,
  ): ArtifactImportProgressUpdatedPayload {
    const progress = toImportProgress(event.progress)!;
    const total = Number(progress.totalBytes);
    return {
      artifactId: toGlobalId("Artifact", event.artifactId),
      artifactRevisionId: toGlobalId("ArtifactRevision", event.revisionId),
      status: event.status,
      progress: total > 0 ? Math.min(1, Number(progress.downloadedBytes) / total) : 0,
      importProgress: progress,
    };
  }
}
