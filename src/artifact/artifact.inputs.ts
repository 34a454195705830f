import { Field, ID, InputType, registerEnumType } from "type-graphql";
import { OrderDirection } from "../common/enums.graphql";
import { ArtifactAvailability, ArtifactType } from "../common/enums";
import { StringFilter } from "../common/filters.type";

export enum ArtifactOrderField { NAME = "NAME", TYPE = "TYPE", SIZE = "SIZE", SCANNED_AT = "SCANNED_AT", UPDATED_AT = "UPDATED_AT" }
registerEnumType(ArtifactOrderField, { name: "ArtifactOrderField" });

/** See src/common/filters.sql.ts for the AND/OR/NOT semantics. */
@InputType()
export class ArtifactFilter {
  @Field(() => [ArtifactType], { nullable: true }) type?: ArtifactType[] | null;
  @Field(() => StringFilter, { nullable: true }) name?: StringFilter | null;
  /** Matches the registry's name. */
  @Field(() => StringFilter, { nullable: true }) registry?: StringFilter | null;
  /** Matches the source name. */
  @Field(() => StringFilter, { nullable: true }) source?: StringFilter | null;
  /** When no object of the whole filter sets it, the filter means availability [ALIVE]. */
  @Field(() => [ArtifactAvailability], { nullable: true }) availability?: ArtifactAvailability[] | null;
  @Field(() => [ArtifactFilter], { nullable: true }) AND?: ArtifactFilter[] | null;
  @Field(() => [ArtifactFilter], { nullable: true }) OR?: ArtifactFilter[] | null;
  @Field(() => [ArtifactFilter], { nullable: true }) NOT?: ArtifactFilter[] | null;
}

@InputType()
export class ArtifactOrderBy {
  @Field(() => ArtifactOrderField) field: ArtifactOrderField;
  @Field(() => OrderDirection, { defaultValue: OrderDirection.ASC }) direction: OrderDirection;
}

@InputType()
export class UpdateArtifactInput {
  @Field(() => ID) artifactId: string;
  /** null or absent: unchanged. */
  @Field(() => Boolean, { nullable: true }) readonly?: boolean | null;
  /** Absent: unchanged; null: cleared. */
  @Field(() => String, { nullable: true }) description?: string | null;
}

@InputType()
export class DeleteArtifactsInput {
  @Field(() => [ID]) artifactIds: string[];
}

@InputType()
export class RestoreArtifactsInput {
  @Field(() => [ID]) artifactIds: string[];
}
