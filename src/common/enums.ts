/** Enumerations shared by the database model and the GraphQL schema. */
export enum ArtifactType { MODEL = "MODEL", PACKAGE = "PACKAGE", IMAGE = "IMAGE" }
export enum ArtifactAvailability { ALIVE = "ALIVE", DELETED = "DELETED" }
export enum ArtifactRegistryType { HUGGINGFACE = "HUGGINGFACE", RESERVOIR = "RESERVOIR" }
export enum ArtifactRemoteStatus { SCANNED = "SCANNED", AVAILABLE = "AVAILABLE", FAILED = "FAILED" }
export enum ArtifactStatus {
  SCANNED = "SCANNED",
  PULLING = "PULLING",
  PULLED = "PULLED",
  VERIFYING = "VERIFYING",
  NEEDS_APPROVAL = "NEEDS_APPROVAL",
  AVAILABLE = "AVAILABLE",
  FAILED = "FAILED",
  REJECTED = "REJECTED",
}
/** How a compute session mounts a revision's folder (GraphQL only: ArtifactRevision.mount). */
export enum ArtifactMountKind { FILESYSTEM = "FILESYSTEM", S3 = "S3" }
export enum Role { SUPERADMIN = "superadmin", ADMIN = "admin", USER = "user" }
export enum ApiKeypairRole { SUPERADMIN = "SUPERADMIN", ADMIN = "ADMIN", USER = "USER" }

export const sqlIn = (values: Record<string, string>) => Object.values(values).map((v) => `'${v}'`).join(", ");
