import { GraphQLError, type GraphQLResolveInfo } from "graphql";
import { Arg, Authorized, Ctx, Info, Mutation, Resolver } from "type-graphql";
import { listConnection } from "../../common/connection.type";
import { Role } from "../../common/enums";
import { toRevision } from "../../revision/revision.type";
import type { ImportTask } from "./import.service";
import type { AppContext } from "../../schema/context";
import {
  ApproveArtifactInput, ApproveArtifactPayload, CancelArtifactInput, CancelImportArtifactPayload,
  CleanupArtifactRevisionsInput, CleanupArtifactRevisionsPayload, DelegateImportArtifactsInput,
  DelegateImportArtifactsPayload, GetPresignedDownloadUrlInput, GetPresignedDownloadUrlPayload,
  GetPresignedUploadUrlInput, GetPresignedUploadUrlPayload, ImportArtifactsInput, ImportArtifactsPayload,
  RejectArtifactInput, RejectArtifactPayload,
} from "./import.type";

function toImportPayload(tasks: ImportTask[]): ImportArtifactsPayload {
  const revisions = tasks.map((t) => toRevision(t.revision));
  return {
    artifactRevisions: listConnection(revisions),
    tasks: tasks.map((t, i) => ({ taskId: t.taskId, artifactRevision: revisions[i] })),
  };
}

/** The import lifecycle and file serving: thin resolvers over ImportService. */
@Resolver()
export class ImportResolver {
  @Authorized(Role.ADMIN)
  @Mutation(() => ImportArtifactsPayload, { nullable: true })
  async importArtifacts(@Arg("input", () => ImportArtifactsInput) input: ImportArtifactsInput, @Ctx() ctx: AppContext): Promise<ImportArtifactsPayload> {
    const tasks = await ctx.services.imports.importArtifacts(input.artifactRevisionIds, { force: input.options?.force ?? false, namespaceId: input.vfolderId }, ctx.viewer!);
    return toImportPayload(tasks);
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => DelegateImportArtifactsPayload, { nullable: true })
  async delegateImportArtifacts(@Arg("input", () => DelegateImportArtifactsInput) input: DelegateImportArtifactsInput, @Ctx() ctx: AppContext): Promise<DelegateImportArtifactsPayload> {
    const tasks = await ctx.services.imports.delegateImportArtifacts(input.artifactRevisionIds, {
      force: input.options?.force ?? false,
      delegatorReservoirId: input.delegatorReservoirId,
      delegateeReservoirId: input.delegateeTarget?.delegateeReservoirId,
    }, ctx.viewer!);
    return toImportPayload(tasks);
  }

  /** Revisions that cannot be cleaned up are errors for their item; the others are cleaned. */
  @Authorized(Role.ADMIN)
  @Mutation(() => CleanupArtifactRevisionsPayload, { nullable: true })
  async cleanupArtifactRevisions(
    @Arg("input", () => CleanupArtifactRevisionsInput) input: CleanupArtifactRevisionsInput,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<CleanupArtifactRevisionsPayload> {
    const cleaned = await ctx.services.imports.cleanup(input.artifactRevisionIds, ctx.viewer!, (index, error) => {
      ctx.partialErrors.push(new GraphQLError(error.message, {
        path: [info.path.key],
        extensions: { ...error.extensions, inputPath: ["input", "artifactRevisionIds", index], artifactRevisionId: input.artifactRevisionIds[index] },
      }));
    });
    return { artifactRevisions: listConnection(cleaned.map(toRevision)) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CancelImportArtifactPayload, { nullable: true })
  async cancelImportArtifact(@Arg("input", () => CancelArtifactInput) input: CancelArtifactInput, @Ctx() ctx: AppContext): Promise<CancelImportArtifactPayload> {
    return { artifactRevision: toRevision(await ctx.services.imports.cancel(input.artifactRevisionId, ctx.viewer!)) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ApproveArtifactPayload, { nullable: true })
  async approveArtifactRevision(@Arg("input", () => ApproveArtifactInput) input: ApproveArtifactInput, @Ctx() ctx: AppContext): Promise<ApproveArtifactPayload> {
    return { artifactRevision: toRevision(await ctx.services.imports.approve(input.artifactRevisionId, ctx.viewer!)) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RejectArtifactPayload, { nullable: true })
  async rejectArtifactRevision(@Arg("input", () => RejectArtifactInput) input: RejectArtifactInput, @Ctx() ctx: AppContext): Promise<RejectArtifactPayload> {
    return { artifactRevision: toRevision(await ctx.services.imports.reject(input.artifactRevisionId, ctx.viewer!)) };
  }

  @Authorized()
  @Mutation(() => GetPresignedDownloadUrlPayload, { nullable: true })
  async getPresignedDownloadUrl(@Arg("input", () => GetPresignedDownloadUrlInput) input: GetPresignedDownloadUrlInput, @Ctx() ctx: AppContext): Promise<GetPresignedDownloadUrlPayload> {
    return { presignedUrl: await ctx.services.imports.presignedDownloadUrl(input.artifactRevisionId, input.key, input.expiration, ctx.viewer!) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => GetPresignedUploadUrlPayload, { nullable: true })
  async getPresignedUploadUrl(@Arg("input", () => GetPresignedUploadUrlInput) input: GetPresignedUploadUrlInput, @Ctx() ctx: AppContext): Promise<GetPresignedUploadUrlPayload> {
    const { url, fields } = await ctx.services.uploads.issue(input.artifactRevisionId, input.key, ctx.viewer!);
    return { presignedUrl: url, fields: JSON.stringify(fields) };
  }
}
