import { loadArtifactNode } from "../artifact/artifact.loader";
import { parseId } from "../common/relay";
import { loadRevisionNode } from "../revision/revision.loader";
import type { AppContext } from "./context";

type ReferenceResolver = (reference: { id: string }, context: AppContext) => Promise<unknown> | unknown;

/**
 * Federation entities: a gateway hands us `{ __typename, id }` and we load the node through the
 * request's DataLoaders, so one `_entities` call of any size costs a constant number of queries.
 */
export const REFERENCE_RESOLVERS: Record<string, ReferenceResolver> = {
  Artifact: (ref, ctx) => loadArtifactNode(ctx, parseId("Artifact", ref.id)),
  ArtifactRevision: (ref, ctx) => loadRevisionNode(ctx, parseId("ArtifactRevision", ref.id)),
  HuggingFaceRegistry: (ref, ctx) => ctx.loaders.huggingfaceRegistryById.load(parseId("HuggingFaceRegistry", ref.id)),
  ReservoirRegistry: (ref, ctx) => ctx.loaders.reservoirRegistryById.load(parseId("ReservoirRegistry", ref.id)),
};
