import { registerEnumType } from "type-graphql";
import { ApiKeypairRole, ArtifactAvailability, ArtifactMountKind, ArtifactRegistryType, ArtifactRemoteStatus, ArtifactStatus, ArtifactType } from "./enums";

/**
 * The one place where the shared TS enums become GraphQL enums. type-graphql keeps one global
 * registry, so each enum must be registered exactly once: import this module for its side
 * effect wherever a GraphQL type uses one of them. `Role` stays internal (not in the schema).
 */
export enum OrderDirection { ASC = "ASC", DESC = "DESC" }

registerEnumType(OrderDirection, { name: "OrderDirection" });
registerEnumType(ArtifactType, { name: "ArtifactType" });
registerEnumType(ArtifactAvailability, { name: "ArtifactAvailability" });
registerEnumType(ArtifactRegistryType, { name: "ArtifactRegistryType" });
registerEnumType(ArtifactRemoteStatus, { name: "ArtifactRemoteStatus" });
registerEnumType(ArtifactStatus, { name: "ArtifactStatus" });
registerEnumType(ApiKeypairRole, { name: "ApiKeypairRole" });
registerEnumType(ArtifactMountKind, { name: "ArtifactMountKind" });
