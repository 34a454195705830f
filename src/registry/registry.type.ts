import { Authorized, Directive, Field, ID, InputType, ObjectType } from "type-graphql";
import "../common/enums.graphql";
import { connectionTypes } from "../common/connection.type";
import { ArtifactRegistryType, Role } from "../common/enums";
import { Node } from "../common/node.type";
import { toGlobalId } from "../common/relay";
import { UUIDScalar } from "../common/scalars";
import { maskSecret } from "../common/secrets";
import type { ArtifactRegistryRecord, HuggingFaceRegistryRecord, ReservoirRegistryRecord } from "./registry.records";

@ObjectType({ implements: Node })
@Directive('@key(fields: "id")')
export class HuggingFaceRegistry implements Node {
  @Field(() => ID) id: string;
  @Field(() => String) url: string;
  @Field(() => String) name: string;
  /** Write-only: "****" plus at most the last 4 characters; null for the user role (registry.resolver.ts). */
  @Field(() => String, { nullable: true }) token: string | null;

  // Not in the schema.
  uuid: string;
}

@ObjectType({ implements: Node })
@Directive('@key(fields: "id")')
export class ReservoirRegistry implements Node {
  @Field(() => ID) id: string;
  @Field(() => String) name: string;
  /** The remote registry's GraphQL endpoint. */
  @Field(() => String) endpoint: string;
  /** Admins only: the user role is refused FORBIDDEN. */
  @Authorized(Role.ADMIN)
  @Field(() => String) accessKey: string;
  /** Write-only: "****" plus at most the last 4 characters. Admins only. */
  @Authorized(Role.ADMIN)
  @Field(() => String) secretKey: string;
  @Field(() => String) apiVersion: string;

  uuid: string;
}

/** The registry common to every kind; `registryId` is the bare UUID clients pass where a UUID is wanted. */
@ObjectType()
export class ArtifactRegistry {
  @Field(() => ID) id: string;
  @Field(() => ID) registryId: string;
  @Field(() => String) name: string;
  @Field(() => ArtifactRegistryType) type: ArtifactRegistryType;
}

export const { Edge: HuggingFaceRegistryEdge, Connection: HuggingFaceRegistryConnection } =
  connectionTypes("HuggingFaceRegistry", () => HuggingFaceRegistry);
export const { Edge: ReservoirRegistryEdge, Connection: ReservoirRegistryConnection } =
  connectionTypes("ReservoirRegistry", () => ReservoirRegistry);

// Mappers return class instances: the Node interface resolves the concrete type by instanceof.

export function toHuggingFaceRegistry(r: HuggingFaceRegistryRecord): HuggingFaceRegistry {
  return Object.assign(new HuggingFaceRegistry(), {
    id: toGlobalId("HuggingFaceRegistry", r.id),
    uuid: r.id,
    url: r.url,
    name: r.name,
    token: maskSecret(r.token),
  });
}

export function toReservoirRegistry(r: ReservoirRegistryRecord): ReservoirRegistry {
  return Object.assign(new ReservoirRegistry(), {
    id: toGlobalId("ReservoirRegistry", r.id),
    uuid: r.id,
    name: r.name,
    endpoint: r.endpoint,
    accessKey: r.accessKey,
    secretKey: maskSecret(r.secretKey) ?? "****",
    apiVersion: r.apiVersion,
  });
}

export function toArtifactRegistry(r: ArtifactRegistryRecord): ArtifactRegistry {
  return Object.assign(new ArtifactRegistry(), {
    id: toGlobalId("ArtifactRegistry", r.id),
    registryId: r.id,
    name: r.name,
    type: r.type,
  });
}

@ObjectType()
export class CreateHuggingFaceRegistryPayload {
  @Field(() => HuggingFaceRegistry) huggingfaceRegistry: HuggingFaceRegistry;
}

@ObjectType()
export class UpdateHuggingFaceRegistryPayload {
  @Field(() => HuggingFaceRegistry) huggingfaceRegistry: HuggingFaceRegistry;
}

@ObjectType()
export class DeleteHuggingFaceRegistryPayload {
  @Field(() => UUIDScalar) id: string;
}

@ObjectType()
export class CreateReservoirRegistryPayload {
  @Field(() => ReservoirRegistry) reservoir: ReservoirRegistry;
}

@ObjectType()
export class UpdateReservoirRegistryPayload {
  @Field(() => ReservoirRegistry) reservoir: ReservoirRegistry;
}

@ObjectType()
export class DeleteReservoirRegistryPayload {
  @Field(() => UUIDScalar) id: string;
}

/** A Reservoir registry and one of its registries, which a delegated scan or import names (Backend.AI compatibility). */
@InputType()
export class DelegateeTarget {
  @Field(() => ID) delegateeReservoirId: string;
  @Field(() => ID) targetRegistryId: string;
}
