import { z } from "zod";
import type { ArtifactAvailability, ArtifactType } from "../../common/enums";

/*
 * What this client asks a remote instance and what it accepts back. Answers are parsed, not
 * trusted: a remote of another version, or a hostile one, fails here with a protocol error
 * instead of writing garbage.
 *
 * The listing and the details are separate operations because of the remote's cost limit: a
 * page of artifacts with 100 revisions each and 500 files per revision would be estimated at
 * hundreds of thousands of points, and READMEs would make the page huge.
 */

const PageInfo = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() });
const connection = <T extends z.ZodType>(node: T) => z.object({ pageInfo: PageInfo, edges: z.array(z.object({ node })) });
const ByteSize = z.string().regex(/^\d{1,20}$/, "a ByteSize is a string of decimal digits");
const SourceInfo = z.object({ name: z.string().nullable(), url: z.string().nullable() });

const REVISION_FIELDS = `id version status remoteStatus digest latestUpstreamDigest size`;

/**
 * Statuses are kept as strings: a newer remote may know statuses this one does not, which the
 * scanner maps instead of failing the whole page.
 */
export const RemoteRevision = z.object({
  id: z.string(),
  version: z.string(),
  status: z.string(),
  remoteStatus: z.string().nullable(),
  digest: z.string().nullable(),
  latestUpstreamDigest: z.string().nullable(),
  size: ByteSize.nullable(),
});
export type RemoteRevision = z.infer<typeof RemoteRevision>;

const RevisionConnection = connection(RemoteRevision);
export type RemoteRevisionPage = z.infer<typeof RevisionConnection>;

export const RemoteArtifact = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  description: z.string().nullable(),
  availability: z.string(),
  extra: z.unknown().nullable(),
  source: SourceInfo,
  registry: SourceInfo,
  revisions: RevisionConnection.nullable(),
});
export type RemoteArtifact = z.infer<typeof RemoteArtifact>;

export const ARTIFACTS_QUERY = `
  query ReservoirArtifacts($first: Int!, $after: String, $filter: ArtifactFilter, $revisionsFirst: Int!) {
    artifacts(first: $first, after: $after, filter: $filter, orderBy: [{ field: NAME, direction: ASC }]) {
      pageInfo { hasNextPage endCursor }
      edges { node {
        id name type description availability extra
        source { name url }
        registry { name url }
        revisions(first: $revisionsFirst) { pageInfo { hasNextPage endCursor } edges { node { ${REVISION_FIELDS} } } }
      } }
    }
  }`;
export const ArtifactsData = z.object({ artifacts: connection(RemoteArtifact).nullable() });
export type RemoteArtifactPage = NonNullable<z.infer<typeof ArtifactsData>["artifacts"]>;

export const REVISIONS_QUERY = `
  query ReservoirRevisions($id: ID!, $first: Int!, $after: String) {
    artifact(id: $id) {
      revisions(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { ${REVISION_FIELDS} } } }
    }
  }`;
export const RevisionsData = z.object({ artifact: z.object({ revisions: RevisionConnection.nullable() }).nullable() });

export const RemoteFile = z.object({ path: z.string(), size: ByteSize, sha256: z.string().nullable() });
export type RemoteFile = z.infer<typeof RemoteFile>;

export const REVISION_DETAILS_QUERY = `
  query ReservoirRevisionDetails($id: ID!, $first: Int!, $after: String, $withReadme: Boolean!) {
    artifactRevision(id: $id) {
      readme @include(if: $withReadme)
      files(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { path size sha256 } } }
    }
  }`;
export const RevisionDetailsData = z.object({
  artifactRevision: z.object({ readme: z.string().nullish(), files: connection(RemoteFile) }).nullable(),
});

export const SCAN_ARTIFACTS_MUTATION = `
  mutation ReservoirScanArtifacts($input: ScanArtifactsInput!) {
    scanArtifacts(input: $input) { artifacts { id name type registry { name url } } }
  }`;
export const RemoteScannedArtifact = z.object({ id: z.string(), name: z.string(), type: z.string(), registry: SourceInfo });
export type RemoteScannedArtifact = z.infer<typeof RemoteScannedArtifact>;
export const ScanArtifactsData = z.object({ scanArtifacts: z.object({ artifacts: z.array(RemoteScannedArtifact) }).nullable() });

/** The subset of the remote's ArtifactFilter this client sends. */
export interface RemoteStringFilter {
  equals?: string;
  iContains?: string;
  in?: string[];
}
export interface RemoteArtifactFilter {
  type?: ArtifactType[];
  name?: RemoteStringFilter;
  registry?: RemoteStringFilter;
  availability?: ArtifactAvailability[];
  AND?: RemoteArtifactFilter[];
}

export interface RemoteScanInput {
  registryId: string;
  limit: number;
  artifactType?: ArtifactType | null;
  search?: string | null;
}

/*
 * Imports from a remote: finding the copy of one of our revisions there, asking it to import,
 * watching its status, and presigned URLs of its files.
 */

const REVISION_STATE_FIELDS = `id version status digest lastError`;

export const RemoteRevisionState = z.object({
  id: z.string(),
  version: z.string(),
  status: z.string(),
  digest: z.string().nullable(),
  lastError: z.string().nullable(),
});
export type RemoteRevisionState = z.infer<typeof RemoteRevisionState>;

/**
 * A few candidates, not one: the remote may have artifacts of the same name in several of its
 * registries, and only some may have the version.
 */
export const FIND_REVISION_QUERY = `
  query ReservoirFindRevision($filter: ArtifactFilter, $version: String!) {
    artifacts(first: 10, filter: $filter, orderBy: [{ field: NAME, direction: ASC }]) {
      edges { node {
        id name type registry { name url }
        revisions(first: 1, filter: { version: { equals: $version } }) { edges { node { ${REVISION_STATE_FIELDS} } } }
      } }
    }
  }`;
export const FindRevisionData = z.object({
  artifacts: z.object({
    edges: z.array(z.object({
      node: z.object({
        id: z.string(),
        name: z.string(),
        type: z.string(),
        registry: SourceInfo,
        revisions: z.object({ edges: z.array(z.object({ node: RemoteRevisionState })) }).nullable(),
      }),
    })),
  }).nullable(),
});

export const REVISION_STATE_QUERY = `
  query ReservoirRevisionState($id: ID!) { artifactRevision(id: $id) { ${REVISION_STATE_FIELDS} } }`;
export const RevisionStateData = z.object({ artifactRevision: RemoteRevisionState.nullable() });

export const IMPORT_ARTIFACTS_MUTATION = `
  mutation ReservoirImportArtifacts($input: ImportArtifactsInput!) {
    importArtifacts(input: $input) { tasks { taskId artifactRevision { ${REVISION_STATE_FIELDS} } } }
  }`;
export const RemoteImportTask = z.object({ taskId: z.string().nullable(), artifactRevision: RemoteRevisionState });
export type RemoteImportTask = z.infer<typeof RemoteImportTask>;
export const ImportArtifactsData = z.object({ importArtifacts: z.object({ tasks: z.array(RemoteImportTask) }).nullable() });

export const PRESIGNED_DOWNLOAD_URL_MUTATION = `
  mutation ReservoirPresignedDownloadUrl($input: GetPresignedDownloadURLInput!) {
    getPresignedDownloadUrl(input: $input) { presignedUrl }
  }`;
export const PresignedDownloadUrlData = z.object({ getPresignedDownloadUrl: z.object({ presignedUrl: z.string() }).nullable() });

export const STATUS_CHANGED_SUBSCRIPTION = `
  subscription ReservoirStatusChanged($input: ArtifactStatusChangedInput!) {
    artifactStatusChanged(input: $input) { artifactRevision { ${REVISION_STATE_FIELDS} } }
  }`;
export const StatusChangedData = z.object({ artifactStatusChanged: z.object({ artifactRevision: RemoteRevisionState }) });
