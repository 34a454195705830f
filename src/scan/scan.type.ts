import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { ArtifactType } from "../common/enums";
import { UUIDScalar } from "../common/scalars";
import { Artifact } from "../artifact/artifact.type";
import { DelegateeTarget } from "../registry/registry.type";
import { ArtifactRevisionConnection } from "../revision/revision.type";

@InputType()
export class ScanArtifactsInput {
  @Field(() => ID, { nullable: true }) registryId?: string | null;
  @Field(() => Int) limit: number;
  @Field(() => ArtifactType, { nullable: true }) artifactType?: ArtifactType | null;
  @Field(() => String, { nullable: true }) search?: string | null;
}

@ObjectType()
export class ScanArtifactsPayload {
  @Field(() => [Artifact]) artifacts: Artifact[];
}

@InputType()
export class ModelTarget {
  @Field(() => String) modelId: string;
  @Field(() => String, { nullable: true }) revision?: string | null;
}

@InputType()
export class ScanArtifactModelsInput {
  @Field(() => [ModelTarget]) models: ModelTarget[];
  @Field(() => UUIDScalar, { nullable: true }) registryId?: string | null;
}

@ObjectType()
export class ScanArtifactModelsPayload {
  @Field(() => ArtifactRevisionConnection) artifactRevision: InstanceType<typeof ArtifactRevisionConnection>;
}

@InputType()
export class DelegateScanArtifactsInput {
  @Field(() => ID, { nullable: true }) delegatorReservoirId?: string | null;
  @Field(() => DelegateeTarget, { nullable: true }) delegateeTarget?: DelegateeTarget | null;
  @Field(() => Int) limit: number;
  @Field(() => ArtifactType, { nullable: true }) artifactType?: ArtifactType | null;
  @Field(() => String, { nullable: true }) search?: string | null;
}

@ObjectType()
export class DelegateScanArtifactsPayload {
  @Field(() => [Artifact]) artifacts: Artifact[];
}
