import { Directive, Field, Float, ID, Int, ObjectType } from "type-graphql";
import "../common/enums.graphql";
import { connectionTypes } from "../common/connection.type";
import { ArtifactMountKind, ArtifactRemoteStatus, ArtifactStatus } from "../common/enums";
import { Node } from "../common/node.type";
import { toGlobalId } from "../common/relay";
import { ByteSizeScalar, DateTimeScalar } from "../common/scalars";
import type { ArtifactRevisionFileEntity } from "./revision-file.entity";
import type { ArtifactRevisionEntity, ImportProgressData, VerificationResultData } from "./revision.entity";

@ObjectType()
export class ArtifactVerifierMetadataEntry {
  @Field(() => String) key: string;
  @Field(() => String) value: string;
}

@ObjectType()
export class ArtifactVerifierMetadata {
  @Field(() => [ArtifactVerifierMetadataEntry]) entries: ArtifactVerifierMetadataEntry[];
}

@ObjectType()
export class ArtifactVerifierResult {
  @Field(() => Boolean) success: boolean;
  @Field(() => Int) infectedCount: number;
  @Field(() => DateTimeScalar) scannedAt: Date;
  @Field(() => Float) scanTime: number;
  @Field(() => Int) scannedCount: number;
  @Field(() => ArtifactVerifierMetadata) metadata: ArtifactVerifierMetadata;
  @Field(() => String, { nullable: true }) error: string | null;
}

@ObjectType()
export class ArtifactVerifierResultEntry {
  @Field(() => String) name: string;
  @Field(() => ArtifactVerifierResult) result: ArtifactVerifierResult;
}

@ObjectType()
export class ArtifactVerificationResult {
  @Field(() => [ArtifactVerifierResultEntry]) verifiers: ArtifactVerifierResultEntry[];
}

@ObjectType()
export class ArtifactImportProgress {
  @Field(() => Int) totalFiles: number;
  @Field(() => Int) completedFiles: number;
  @Field(() => ByteSizeScalar) totalBytes: string;
  @Field(() => ByteSizeScalar) downloadedBytes: string;
  @Field(() => Float, { nullable: true }) bytesPerSecond: number | null;
  @Field(() => DateTimeScalar, { nullable: true }) startedAt: Date | null;
  @Field(() => DateTimeScalar, { nullable: true }) updatedAt: Date | null;
}

/**
 * Where an AVAILABLE revision's folder lives, so a compute session can mount it read-only: a bind
 * mount or hostPath (FILESYSTEM), an S3 FUSE/CSI driver (S3). Nothing secret: no keys.
 */
@ObjectType()
export class ArtifactMount {
  @Field(() => ArtifactMountKind) kind: ArtifactMountKind;
  /** FILESYSTEM: the absolute path of the revision's folder on the storage host. */
  @Field(() => String, { nullable: true }) hostPath: string | null;
  @Field(() => String, { nullable: true }) endpoint: string | null;
  @Field(() => String, { nullable: true }) region: string | null;
  @Field(() => String, { nullable: true }) bucket: string | null;
  /** S3: the key prefix of the revision's folder, ending in "/". */
  @Field(() => String, { nullable: true }) prefix: string | null;
}

/** `artifact`, `files` and `mount` are field resolvers (revision.resolver.ts), batched through DataLoaders. */
@ObjectType({ implements: Node })
@Directive('@key(fields: "id")')
export class ArtifactRevision implements Node {
  @Field(() => ID) id: string;
  @Field(() => ArtifactStatus) status: ArtifactStatus;
  @Field(() => ArtifactRemoteStatus, { nullable: true }) remoteStatus: ArtifactRemoteStatus | null;
  @Field(() => String) version: string;
  @Field(() => String, { nullable: true }) readme: string | null;
  @Field(() => ByteSizeScalar, { nullable: true }) size: string | null;
  @Field(() => DateTimeScalar, { nullable: true }) createdAt: Date | null;
  @Field(() => DateTimeScalar, { nullable: true }) updatedAt: Date | null;
  /** The upstream commit the files were imported from. */
  @Field(() => String, { nullable: true }) digest: string | null;
  @Field(() => ArtifactVerificationResult, { nullable: true }) verificationResult: ArtifactVerificationResult | null;
  /** Null unless an import ran. */
  @Field(() => ArtifactImportProgress, { nullable: true }) importProgress: ArtifactImportProgress | null;
  /** The upstream commit the last scan saw. */
  @Field(() => String, { nullable: true }) latestUpstreamDigest: string | null;
  /** Why the last import failed. */
  @Field(() => String, { nullable: true }) lastError: string | null;

  // Not in the schema: what the field resolvers need.
  uuid: string;
  artifactId: string;
}

@ObjectType()
export class ArtifactFile {
  @Field(() => String) path: string;
  @Field(() => ByteSizeScalar) size: string;
  /** Known from upstream LFS metadata or computed on import. */
  @Field(() => String, { nullable: true }) sha256: string | null;

  // Not in the schema: downloadUrl (a field resolver) needs them.
  revisionId: string;
  storageKey: string | null;
}

export const { Edge: ArtifactRevisionEdge, Connection: ArtifactRevisionConnection } = connectionTypes("ArtifactRevision", () => ArtifactRevision);
export const { Edge: ArtifactFileEdge, Connection: ArtifactFileConnection } = connectionTypes("ArtifactFile", () => ArtifactFile);

const toDate = (value: string | null | undefined) => (value ? new Date(value) : null);

export function toImportProgress(data: ImportProgressData | null | undefined): ArtifactImportProgress | null {
  if (!data) return null;
  return Object.assign(new ArtifactImportProgress(), {
    totalFiles: data.totalFiles ?? 0,
    completedFiles: data.completedFiles ?? 0,
    totalBytes: String(data.totalBytes ?? "0"),
    downloadedBytes: String(data.downloadedBytes ?? "0"),
    bytesPerSecond: data.bytesPerSecond ?? null,
    startedAt: toDate(data.startedAt),
    updatedAt: toDate(data.updatedAt),
  });
}

function toVerificationResult(data: VerificationResultData | null | undefined): ArtifactVerificationResult | null {
  if (!data) return null;
  return {
    verifiers: (data.verifiers ?? []).map((v) => ({
      name: v.name,
      result: {
        success: v.result.success,
        infectedCount: v.result.infectedCount,
        scannedAt: new Date(v.result.scannedAt),
        scanTime: v.result.scanTime,
        scannedCount: v.result.scannedCount,
        metadata: { entries: v.result.metadata?.entries ?? [] },
        error: v.result.error ?? null,
      },
    })),
  };
}

/** Always a class instance: the Node interface resolves the concrete type by instanceof. */
export function toRevision(e: ArtifactRevisionEntity): ArtifactRevision {
  return Object.assign(new ArtifactRevision(), {
    id: toGlobalId("ArtifactRevision", e.id),
    uuid: e.id,
    artifactId: e.artifactId,
    status: e.status,
    remoteStatus: e.remoteStatus,
    version: e.version,
    readme: e.readme,
    size: e.size,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    digest: e.digest,
    verificationResult: toVerificationResult(e.verificationResult),
    importProgress: toImportProgress(e.importProgress),
    latestUpstreamDigest: e.latestUpstreamDigest,
    lastError: e.lastError,
  });
}

export function toArtifactFile(e: ArtifactRevisionFileEntity): ArtifactFile {
  return Object.assign(new ArtifactFile(), {
    path: e.path,
    size: e.size,
    sha256: e.sha256,
    revisionId: e.revisionId,
    storageKey: e.storageKey,
  });
}
