import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { ArtifactType } from "../../common/enums";
import { ArtifactRevision, ArtifactRevisionConnection } from "../../revision/revision.type";
import { DelegateeTarget } from "../../registry/registry.type";

type RevisionConnection = InstanceType<typeof ArtifactRevisionConnection>;

@InputType()
export class ImportArtifactsOptions {
  @Field(() => Boolean, { defaultValue: false }) force: boolean;
}

@InputType()
export class ImportArtifactsInput {
  @Field(() => [ID]) artifactRevisionIds: string[];
  @Field(() => ID, { nullable: true }) vfolderId?: string | null;
  @Field(() => ImportArtifactsOptions, { nullable: true }) options?: ImportArtifactsOptions | null;
}

@ObjectType()
export class ArtifactRevisionImportTask {
  @Field(() => ID, { nullable: true }) taskId: string | null;
  @Field(() => ArtifactRevision) artifactRevision: ArtifactRevision;
}

@ObjectType()
export class ImportArtifactsPayload {
  @Field(() => ArtifactRevisionConnection) artifactRevisions: RevisionConnection;
  @Field(() => [ArtifactRevisionImportTask]) tasks: ArtifactRevisionImportTask[];
}

@InputType()
export class DelegateImportArtifactsInput {
  @Field(() => [ID]) artifactRevisionIds: string[];
  @Field(() => ID, { nullable: true }) delegatorReservoirId?: string | null;
  @Field(() => ArtifactType, { nullable: true }) artifactType?: ArtifactType | null;
  @Field(() => DelegateeTarget, { nullable: true }) delegateeTarget?: DelegateeTarget | null;
  @Field(() => ImportArtifactsOptions, { nullable: true }) options?: ImportArtifactsOptions | null;
}

@ObjectType()
export class DelegateImportArtifactsPayload {
  @Field(() => ArtifactRevisionConnection) artifactRevisions: RevisionConnection;
  @Field(() => [ArtifactRevisionImportTask]) tasks: ArtifactRevisionImportTask[];
}

@InputType()
export class CleanupArtifactRevisionsInput {
  @Field(() => [ID]) artifactRevisionIds: string[];
}

@ObjectType()
export class CleanupArtifactRevisionsPayload {
  @Field(() => ArtifactRevisionConnection) artifactRevisions: RevisionConnection;
}

@InputType()
export class CancelArtifactInput {
  @Field(() => ID) artifactRevisionId: string;
}

@ObjectType()
export class CancelImportArtifactPayload {
  @Field(() => ArtifactRevision) artifactRevision: ArtifactRevision;
}

@InputType()
export class ApproveArtifactInput {
  @Field(() => ID) artifactRevisionId: string;
}

@ObjectType()
export class ApproveArtifactPayload {
  @Field(() => ArtifactRevision) artifactRevision: ArtifactRevision;
}

@InputType()
export class RejectArtifactInput {
  @Field(() => ID) artifactRevisionId: string;
}

@ObjectType()
export class RejectArtifactPayload {
  @Field(() => ArtifactRevision) artifactRevision: ArtifactRevision;
}

@InputType("GetPresignedDownloadURLInput")
export class GetPresignedDownloadUrlInput {
  @Field(() => ID) artifactRevisionId: string;
  @Field(() => String) key: string;
  @Field(() => Int, { nullable: true }) expiration?: number | null;
}

@ObjectType("GetPresignedDownloadURLPayload")
export class GetPresignedDownloadUrlPayload {
  @Field(() => String) presignedUrl: string;
}

@InputType("GetPresignedUploadURLInput")
export class GetPresignedUploadUrlInput {
  @Field(() => ID) artifactRevisionId: string;
  @Field(() => String) key: string;
}

@ObjectType("GetPresignedUploadURLPayload")
export class GetPresignedUploadUrlPayload {
  @Field(() => String) presignedUrl: string;
  @Field(() => String) fields: string;
}
