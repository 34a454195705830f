import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from "type-graphql";
import { loadArtifactNode } from "../artifact/artifact.loader";
import { Artifact } from "../artifact/artifact.type";
import { PagingArgsType } from "../common/paging.args";
import { resolvePaging } from "../common/paging";
import { connectionOf } from "../common/paging.util";
import { parseId } from "../common/relay";
import type { AppContext } from "../schema/context";
import { ArtifactRevisionFilter, ArtifactRevisionOrderBy } from "./revision.inputs";
import { loadRevisionNode, querySignature } from "./revision.loader";
import { ArtifactStatus } from "../common/enums";
import { ArtifactFile, ArtifactFileConnection, ArtifactMount, ArtifactRevision, ArtifactRevisionConnection, toArtifactFile, toRevision } from "./revision.type";

@Resolver(() => ArtifactRevision)
export class RevisionResolver {
  @Authorized()
  @Query(() => ArtifactRevision, { nullable: true })
  artifactRevision(@Arg("id", () => ID) id: string, @Ctx() ctx: AppContext): Promise<ArtifactRevision | null> {
    return loadRevisionNode(ctx, parseId("ArtifactRevision", id));
  }

  @Authorized()
  @Query(() => ArtifactRevisionConnection, { nullable: true })
  async artifactRevisions(
    @Arg("filter", () => ArtifactRevisionFilter, { nullable: true }) filter: ArtifactRevisionFilter | null,
    @Arg("orderBy", () => [ArtifactRevisionOrderBy], { nullable: true }) orderBy: ArtifactRevisionOrderBy[] | null,
    @Args(() => PagingArgsType) args: PagingArgsType,
    @Ctx() ctx: AppContext,
  ) {
    const paging = resolvePaging(args, ctx.config.limits);
    const { page, count } = await ctx.services.revisions.list({ filter, orderBy, paging, viewer: ctx.viewer! });
    for (const entity of page.rows) ctx.loaders.revisionById.prime(entity.id, entity);
    return connectionOf(page, toRevision, count);
  }

  @FieldResolver(() => Artifact, { nullable: true })
  artifact(@Root() revision: ArtifactRevision, @Ctx() ctx: AppContext): Promise<Artifact | null> {
    return loadArtifactNode(ctx, revision.artifactId);
  }

  /** Ordered by path; batched like Artifact.revisions. */
  @FieldResolver(() => ArtifactFileConnection)
  async files(
    @Root() revision: ArtifactRevision,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: AppContext,
  ) {
    const paging = resolvePaging({ first, after }, ctx.config.limits);
    const page = await ctx.loaders.filesByRevision.load({ revisionId: revision.uuid, paging, signature: querySignature(paging) });
    return connectionOf(page, toArtifactFile, () => ctx.loaders.fileCountByRevision.load(revision.uuid));
  }

  /** Where to mount the revision's folder read-only in a compute session; null unless AVAILABLE. */
  @FieldResolver(() => ArtifactMount, { nullable: true })
  async mount(@Root() revision: ArtifactRevision, @Ctx() ctx: AppContext): Promise<ArtifactMount | null> {
    if (revision.status !== ArtifactStatus.AVAILABLE) return null;
    return ctx.loaders.mountByRevision.load(revision.uuid);
  }
}

@Resolver(() => ArtifactFile)
export class ArtifactFileResolver {
  /** A presigned URL of the file, for AVAILABLE revisions only. */
  @FieldResolver(() => String, { nullable: true })
  downloadUrl(
    @Root() file: ArtifactFile,
    @Arg("expiration", () => Int, { nullable: true }) expiration: number | null,
    @Ctx() ctx: AppContext,
  ): Promise<string | null> {
    return ctx.services.imports.fileDownloadUrl(file.storageKey, expiration, () => ctx.loaders.servingByRevision.load(file.revisionId));
  }
}
