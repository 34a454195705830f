import { Directive, Field, ID, ObjectType } from "type-graphql";
import "../common/enums.graphql";
import { connectionTypes } from "../common/connection.type";
import { ArtifactAvailability, ArtifactType } from "../common/enums";
import { Node } from "../common/node.type";
import { toGlobalId } from "../common/relay";
import { DateTimeScalar, JSONScalar } from "../common/scalars";
import type { ArtifactEntity } from "./artifact.entity";

@ObjectType()
export class SourceInfo {
  @Field(() => String, { nullable: true }) name: string | null;
  @Field(() => String, { nullable: true }) url: string | null;
}

/** `registry` and `revisions` are field resolvers (artifact.resolver.ts): both go through DataLoaders. */
@ObjectType({ implements: Node })
@Directive('@key(fields: "id")')
export class Artifact implements Node {
  @Field(() => ID) id: string;
  @Field(() => String) name: string;
  @Field(() => ArtifactType) type: ArtifactType;
  @Field(() => String, { nullable: true }) description: string | null;
  @Field(() => SourceInfo) source: SourceInfo;
  @Field(() => Boolean) readonly: boolean;
  @Field(() => JSONScalar, { nullable: true }) extra: Record<string, unknown> | null;
  @Field(() => DateTimeScalar) scannedAt: Date;
  @Field(() => DateTimeScalar) updatedAt: Date;
  @Field(() => ArtifactAvailability) availability: ArtifactAvailability;

  // Not in the schema: what the field resolvers need.
  uuid: string;
  registryId: string;
}

export const { Edge: ArtifactEdge, Connection: ArtifactConnection } = connectionTypes("Artifact", () => Artifact);

/** Always a class instance: the Node interface resolves the concrete type by instanceof. */
export function toArtifact(e: ArtifactEntity): Artifact {
  return Object.assign(new Artifact(), {
    id: toGlobalId("Artifact", e.id),
    uuid: e.id,
    registryId: e.registryId,
    name: e.name,
    type: e.type,
    description: e.description,
    source: Object.assign(new SourceInfo(), { name: e.sourceName, url: e.sourceUrl }),
    readonly: e.readonly,
    extra: e.extra,
    scannedAt: e.scannedAt,
    updatedAt: e.updatedAt,
    availability: e.availability,
  });
}

@ObjectType()
export class UpdateArtifactPayload {
  @Field(() => Artifact) artifact: Artifact;
}

@ObjectType()
export class DeleteArtifactsPayload {
  @Field(() => [Artifact]) artifacts: Artifact[];
}

@ObjectType()
export class RestoreArtifactsPayload {
  @Field(() => [Artifact]) artifacts: Artifact[];
}
