import { Arg, Authorized, Mutation, Resolver } from "type-graphql";
import { Role } from "../common/enums";
import { ERRORS } from "../common/errors";
import {
  ApproveArtifactInput, ApproveArtifactPayload, CancelArtifactInput, CancelImportArtifactPayload,
  CleanupArtifactRevisionsInput, CleanupArtifactRevisionsPayload, DelegateImportArtifactsInput,
  DelegateImportArtifactsPayload, GetPresignedDownloadUrlInput, GetPresignedDownloadUrlPayload,
  GetPresignedUploadUrlInput, GetPresignedUploadUrlPayload, ImportArtifactsInput, ImportArtifactsPayload,
  RejectArtifactInput, RejectArtifactPayload,
} from "./import.type";

/**
 * The import lifecycle and file serving. The roles are final; the behaviour lands with the
 * import issue, and until then each answers NOT_IMPLEMENTED rather than pretending.
 */
@Resolver()
export class ImportResolver {
  @Authorized(Role.ADMIN)
  @Mutation(() => ImportArtifactsPayload, { nullable: true })
  importArtifacts(@Arg("input", () => ImportArtifactsInput) _input: ImportArtifactsInput): ImportArtifactsPayload {
    throw ERRORS.notImplemented("importArtifacts");
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => DelegateImportArtifactsPayload, { nullable: true })
  delegateImportArtifacts(@Arg("input", () => DelegateImportArtifactsInput) _input: DelegateImportArtifactsInput): DelegateImportArtifactsPayload {
    throw ERRORS.notImplemented("delegateImportArtifacts");
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CleanupArtifactRevisionsPayload, { nullable: true })
  cleanupArtifactRevisions(@Arg("input", () => CleanupArtifactRevisionsInput) _input: CleanupArtifactRevisionsInput): CleanupArtifactRevisionsPayload {
    throw ERRORS.notImplemented("cleanupArtifactRevisions");
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CancelImportArtifactPayload, { nullable: true })
  cancelImportArtifact(@Arg("input", () => CancelArtifactInput) _input: CancelArtifactInput): CancelImportArtifactPayload {
    throw ERRORS.notImplemented("cancelImportArtifact");
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ApproveArtifactPayload, { nullable: true })
  approveArtifactRevision(@Arg("input", () => ApproveArtifactInput) _input: ApproveArtifactInput): ApproveArtifactPayload {
    throw ERRORS.notImplemented("approveArtifactRevision");
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RejectArtifactPayload, { nullable: true })
  rejectArtifactRevision(@Arg("input", () => RejectArtifactInput) _input: RejectArtifactInput): RejectArtifactPayload {
    throw ERRORS.notImplemented("rejectArtifactRevision");
  }

  @Authorized()
  @Mutation(() => GetPresignedDownloadUrlPayload, { nullable: true })
  getPresignedDownloadUrl(@Arg("input", () => GetPresignedDownloadUrlInput) _input: GetPresignedDownloadUrlInput): GetPresignedDownloadUrlPayload {
    throw ERRORS.notImplemented("getPresignedDownloadUrl");
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => GetPresignedUploadUrlPayload, { nullable: true })
  getPresignedUploadUrl(@Arg("input", () => GetPresignedUploadUrlInput) _input: GetPresignedUploadUrlInput): GetPresignedUploadUrlPayload {
    throw ERRORS.notImplemented("getPresignedUploadUrl");
  }
}
