import { GraphQLError } from "graphql";
import { Arg, Authorized, Ctx, Info, Mutation, Resolver } from "type-graphql";
import type { GraphQLResolveInfo } from "graphql";
import { toArtifact } from "../artifact/artifact.type";
import { listConnection } from "../common/connection.type";
import { Role } from "../common/enums";
import { toRevision } from "../revision/revision.type";
import type { AppContext } from "../schema/context";
import {
  DelegateScanArtifactsInput, DelegateScanArtifactsPayload, ScanArtifactModelsInput, ScanArtifactModelsPayload,
  ScanArtifactsInput, ScanArtifactsPayload,
} from "./scan.type";

/** Discovery of models upstream. Scanning talks to external registries: superadmin only. */
@Resolver()
export class ScanResolver {
  @Authorized(Role.SUPERADMIN)
  @Mutation(() => ScanArtifactsPayload, { nullable: true })
  async scanArtifacts(@Arg("input", () => ScanArtifactsInput) input: ScanArtifactsInput, @Ctx() ctx: AppContext): Promise<ScanArtifactsPayload> {
    const artifacts = await ctx.services.scans.scanArtifacts(input, ctx.viewer!);
    return { artifacts: artifacts.map(toArtifact) };
  }

  /**
   * Each model is scanned on its own: an unknown model or revision is an error for that item
   * (with the field's path and the item's input path) while the others are returned.
   */
  @Authorized(Role.SUPERADMIN)
  @Mutation(() => ScanArtifactModelsPayload, { nullable: true })
  async scanArtifactModels(
    @Arg("input", () => ScanArtifactModelsInput) input: ScanArtifactModelsInput,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ScanArtifactModelsPayload> {
    const path = [info.path.key];
    const scanned = await ctx.services.scans.scanModels(input.models, input.registryId, ctx.viewer!, (index, error) => {
      const target = input.models[index];
      ctx.partialErrors.push(new GraphQLError(error.message, {
        path,
        extensions: { ...error.extensions, inputPath: ["input", "models", index], modelId: target.modelId, revision: target.revision ?? null },
      }));
    });
    return { artifactRevision: listConnection(scanned.map(({ revision }) => toRevision(revision))) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => DelegateScanArtifactsPayload, { nullable: true })
  async delegateScanArtifacts(@Arg("input", () => DelegateScanArtifactsInput) input: DelegateScanArtifactsInput, @Ctx() ctx: AppContext): Promise<DelegateScanArtifactsPayload> {
    const artifacts = await ctx.services.scans.delegateScan(input, ctx.viewer!);
    return { artifacts: artifacts.map(toArtifact) };
  }
}
