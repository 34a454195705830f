import { Field, InputType, registerEnumType } from "type-graphql";
import { OrderDirection } from "../common/enums.graphql";
import { ArtifactRemoteStatus, ArtifactStatus } from "../common/enums";
import { IntFilter, StringFilter, UUIDFilter } from "../common/filters.type";

export enum ArtifactRevisionOrderField { VERSION = "VERSION", SIZE = "SIZE", CREATED_AT = "CREATED_AT", UPDATED_AT = "UPDATED_AT", STATUS = "STATUS" }
registerEnumType(ArtifactRevisionOrderField, { name: "ArtifactRevisionOrderField" });

/** `in` and `equals` together must both hold. */
@InputType()
export class ArtifactRevisionStatusFilter {
  @Field(() => [ArtifactStatus], { nullable: true }) in?: ArtifactStatus[] | null;
  @Field(() => ArtifactStatus, { nullable: true }) equals?: ArtifactStatus | null;
}

/** A revision without a remote status matches neither `in` nor `equals`. */
@InputType()
export class ArtifactRevisionRemoteStatusFilter {
  @Field(() => [ArtifactRemoteStatus], { nullable: true }) in?: ArtifactRemoteStatus[] | null;
  @Field(() => ArtifactRemoteStatus, { nullable: true }) equals?: ArtifactRemoteStatus | null;
}

/** See src/common/filters.sql.ts for the AND/OR/NOT semantics. */
@InputType()
export class ArtifactRevisionFilter {
  @Field(() => ArtifactRevisionStatusFilter, { nullable: true }) status?: ArtifactRevisionStatusFilter | null;
  @Field(() => ArtifactRevisionRemoteStatusFilter, { nullable: true }) remoteStatus?: ArtifactRevisionRemoteStatusFilter | null;
  @Field(() => StringFilter, { nullable: true }) version?: StringFilter | null;
  /** The artifact's UUID. */
  @Field(() => UUIDFilter, { nullable: true }) artifactId?: UUIDFilter | null;
  /** Bytes; a revision of unknown size matches no comparison (and every notEquals). */
  @Field(() => IntFilter, { nullable: true }) size?: IntFilter | null;
  @Field(() => [ArtifactRevisionFilter], { nullable: true }) AND?: ArtifactRevisionFilter[] | null;
  @Field(() => [ArtifactRevisionFilter], { nullable: true }) OR?: ArtifactRevisionFilter[] | null;
  @Field(() => [ArtifactRevisionFilter], { nullable: true }) NOT?: ArtifactRevisionFilter[] | null;
}

@InputType()
export class ArtifactRevisionOrderBy {
  @Field(() => ArtifactRevisionOrderField) field: ArtifactRevisionOrderField;
  @Field(() => OrderDirection, { defaultValue: OrderDirection.ASC }) direction: OrderDirection;
}
