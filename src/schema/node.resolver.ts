import { Arg, Authorized, Ctx, ID, Query, Resolver } from "type-graphql";
import { loadArtifactNode } from "../artifact/artifact.loader";
import { Role } from "../common/enums";
import { Node } from "../common/node.type";
import { parseAnyId, type NodeTypeName } from "../common/relay";
import { loadRevisionNode } from "../revision/revision.loader";
import type { AppContext } from "./context";

type NodeLoader = (ctx: AppContext, uuid: string) => Promise<Node | null>;

/** How each Node type loads, through the request's DataLoaders and with its role rules. */
const NODE_LOADERS: Partial<Record<NodeTypeName, NodeLoader>> = {
  Artifact: (ctx, uuid) => loadArtifactNode(ctx, uuid),
  ArtifactRevision: (ctx, uuid) => loadRevisionNode(ctx, uuid),
  HuggingFaceRegistry: (ctx, uuid) => ctx.loaders.huggingfaceRegistryById.load(uuid),
  ReservoirRegistry: (ctx, uuid) => ctx.loaders.reservoirRegistryById.load(uuid),
  ObjectStorage: (ctx, uuid) => ctx.loaders.objectStorageById.load(uuid),
  VFSStorage: (ctx, uuid) => ctx.loaders.vfsStorageById.load(uuid),
  StorageNamespace: (ctx, uuid) => ctx.loaders.storageNamespaceById.load(uuid),
  // Key pairs are visible to the superadmin only, as in apiKeypairs.
  ApiKeypair: async (ctx, uuid) => (ctx.viewer?.role === Role.SUPERADMIN ? ctx.loaders.apiKeypairById.load(uuid) : null),
};

const NODE_TYPES = Object.keys(NODE_LOADERS) as NodeTypeName[];

@Resolver()
export class NodeResolver {
  /**
   * A global ID names its type. A bare UUID does not, so every type is asked (each through its
   * batched loader) and the one that has it answers.
   */
  @Authorized()
  @Query(() => Node, { nullable: true })
  async node(@Arg("id", () => ID) id: string, @Ctx() ctx: AppContext): Promise<Node | null> {
    const { type, id: uuid } = parseAnyId(NODE_TYPES, id);
    if (type) return NODE_LOADERS[type]!(ctx, uuid);
    const found = await Promise.all(NODE_TYPES.map((t) => NODE_LOADERS[t]!(ctx, uuid)));
    return found.find((node) => node !== null) ?? null;
  }
}
