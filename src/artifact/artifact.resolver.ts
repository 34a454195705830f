import type { GraphQLResolveInfo } from "graphql";
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Info, Mutation, Query, Resolver, Root } from "type-graphql";
import { Role } from "../common/enums";
import { checkFilterShape } from "../common/filters.sql";
import { PagingArgsType } from "../common/paging.args";
import { resolvePaging } from "../common/paging";
import { connectionOf, lazyConnectionOf } from "../common/paging.util";
import { oncePerField } from "../common/per-field";
import { parseId } from "../common/relay";
import { ArtifactRevisionFilter, ArtifactRevisionOrderBy } from "../revision/revision.inputs";
import { querySignature } from "../revision/revision.loader";
import { ArtifactRevisionConnection, toRevision } from "../revision/revision.type";
import type { AppContext } from "../schema/context";
import { loadArtifactNode } from "./artifact.loader";
import { ArtifactFilter, ArtifactOrderBy, DeleteArtifactsInput, RestoreArtifactsInput, UpdateArtifactInput } from "./artifact.inputs";
import {
  Artifact, ArtifactConnection, DeleteArtifactsPayload, RestoreArtifactsPayload, SourceInfo, toArtifact, UpdateArtifactPayload,
} from "./artifact.type";

@Resolver(() => Artifact)
export class ArtifactResolver {
  @Authorized()
  @Query(() => Artifact, { nullable: true })
  artifact(@Arg("id", () => ID) id: string, @Ctx() ctx: AppContext): Promise<Artifact | null> {
    return loadArtifactNode(ctx, parseId("Artifact", id));
  }

  @Authorized()
  @Query(() => ArtifactConnection, { nullable: true })
  async artifacts(
    @Arg("filter", () => ArtifactFilter, { nullable: true }) filter: ArtifactFilter | null,
    @Arg("orderBy", () => [ArtifactOrderBy], { nullable: true }) orderBy: ArtifactOrderBy[] | null,
    @Args(() => PagingArgsType) args: PagingArgsType,
    @Ctx() ctx: AppContext,
  ) {
    const paging = resolvePaging(args, ctx.config.limits);
    // The page (which primes the artifact and registry loaders) and the count run only when selected.
    const listing = ctx.loaders.artifactLists.open({ filter, orderBy, paging, viewer: ctx.viewer! });
    // A cursor that does not fit the ordering fails in SQL: fetched here, that is this field's error.
    if (paging.kind === "cursor" && paging.cursor) await listing.page();
    return lazyConnectionOf(listing.page, toArtifact, listing.count);
  }

  @FieldResolver(() => SourceInfo)
  async registry(@Root() artifact: Artifact, @Ctx() ctx: AppContext): Promise<SourceInfo> {
    const registry = await ctx.loaders.artifactRegistryById.load(artifact.registryId);
    return Object.assign(new SourceInfo(), { name: registry?.name ?? null, url: registry?.url ?? null });
  }

  /** Batched: every artifact of a page asking with the same arguments shares one page query and one count query. */
  @FieldResolver(() => ArtifactRevisionConnection, { nullable: true })
  async revisions(
    @Root() artifact: Artifact,
    @Arg("filter", () => ArtifactRevisionFilter, { nullable: true }) filter: ArtifactRevisionFilter | null,
    @Arg("orderBy", () => [ArtifactRevisionOrderBy], { nullable: true }) orderBy: ArtifactRevisionOrderBy[] | null,
    @Args(() => PagingArgsType) args: PagingArgsType,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    // The same arguments for each of a page's artifacts: checked and keyed once.
    const { query, signature, countSignature } = oncePerField(info, () => {
      checkFilterShape(filter);
      const query = { filter, orderBy, paging: resolvePaging(args, ctx.config.limits) };
      return { query, signature: querySignature(query), countSignature: querySignature(filter) };
    });
    const page = await ctx.loaders.revisionsByArtifact.load({ artifactId: artifact.uuid, query, signature });
    for (const entity of page.rows) ctx.loaders.revisionById.prime(entity.id, entity);
    const count = () => ctx.loaders.revisionCountByArtifact.load({ artifactId: artifact.uuid, filter: query.filter, signature: countSignature });
    return connectionOf(page, toRevision, count);
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => UpdateArtifactPayload, { nullable: true })
  async updateArtifact(@Arg("input", () => UpdateArtifactInput) input: UpdateArtifactInput, @Ctx() ctx: AppContext): Promise<UpdateArtifactPayload> {
    return { artifact: toArtifact(await ctx.services.artifacts.update(input)) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => DeleteArtifactsPayload, { nullable: true })
  async deleteArtifacts(@Arg("input", () => DeleteArtifactsInput) input: DeleteArtifactsInput, @Ctx() ctx: AppContext): Promise<DeleteArtifactsPayload> {
    return { artifacts: (await ctx.services.artifacts.delete(input.artifactIds)).map(toArtifact) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => RestoreArtifactsPayload, { nullable: true })
  async restoreArtifacts(@Arg("input", () => RestoreArtifactsInput) input: RestoreArtifactsInput, @Ctx() ctx: AppContext): Promise<RestoreArtifactsPayload> {
    return { artifacts: (await ctx.services.artifacts.restore(input.artifactIds)).map(toArtifact) };
  }
}
