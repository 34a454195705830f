import { Field, Float, ID, InputType, ObjectType } from "type-graphql";
import { ArtifactStatus } from "../common/enums";
import { ArtifactImportProgress, ArtifactRevision } from "../revision/revision.type";

@InputType()
export class ArtifactStatusChangedInput {
  @Field(() => [ID]) artifactRevisionIds: string[];
}

@ObjectType()
export class ArtifactStatusChangedPayload {
  @Field(() => ArtifactRevision) artifactRevision: ArtifactRevision;
}

@ObjectType()
export class ArtifactImportProgressUpdatedPayload {
  @Field(() => ID) artifactId: string;
  /** 0.0 .. 1.0 of bytes. */
  @Field(() => Float) progress: number;
  @Field(() => ArtifactStatus) status: ArtifactStatus;
  @Field(() => ID) artifactRevisionId: string;
  @Field(() => ArtifactImportProgress) importProgress: ArtifactImportProgress;
}
