/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type ArtifactAvailability =
  | 'ALIVE'
  | 'DELETED';

export type ArtifactFilter = {
  AND?: Array<ArtifactFilter> | null | undefined;
  NOT?: Array<ArtifactFilter> | null | undefined;
  OR?: Array<ArtifactFilter> | null | undefined;
  availability?: Array<ArtifactAvailability> | null | undefined;
  name?: StringFilter | null | undefined;
  registry?: StringFilter | null | undefined;
  source?: StringFilter | null | undefined;
  type?: Array<ArtifactType> | null | undefined;
};

export type ArtifactOrderBy = {
  direction?: OrderDirection;
  field: ArtifactOrderField;
};

export type ArtifactOrderField =
  | 'NAME'
  | 'SCANNED_AT'
  | 'SIZE'
  | 'TYPE'
  | 'UPDATED_AT';

export type ArtifactStatus =
  | 'AVAILABLE'
  | 'FAILED'
  | 'NEEDS_APPROVAL'
  | 'PULLED'
  | 'PULLING'
  | 'REJECTED'
  | 'SCANNED'
  | 'VERIFYING';

export type ArtifactType =
  | 'IMAGE'
  | 'MODEL'
  | 'PACKAGE';

export type CreateHuggingFaceRegistryInput = {
  name: string;
  token?: string | null | undefined;
  url: string;
};

export type CreateReservoirRegistryInput = {
  accessKey: string;
  apiVersion: string;
  endpoint: string;
  name: string;
  secretKey: string;
};

export type ModelTarget = {
  modelId: string;
  revision?: string | null | undefined;
};

export type OrderDirection =
  | 'ASC'
  | 'DESC';

export type ScanArtifactModelsInput = {
  models: Array<ModelTarget>;
  registryId?: string | null | undefined;
};

export type ScanArtifactsInput = {
  artifactType?: ArtifactType | null | undefined;
  limit: number;
  registryId?: string | number | null | undefined;
  search?: string | null | undefined;
};

export type StringFilter = {
  contains?: string | null | undefined;
  endsWith?: string | null | undefined;
  equals?: string | null | undefined;
  iContains?: string | null | undefined;
  iEndsWith?: string | null | undefined;
  iEquals?: string | null | undefined;
  iIn?: Array<string> | null | undefined;
  iNotContains?: string | null | undefined;
  iNotEndsWith?: string | null | undefined;
  iNotEquals?: string | null | undefined;
  iNotIn?: Array<string> | null | undefined;
  iNotStartsWith?: string | null | undefined;
  iStartsWith?: string | null | undefined;
  in?: Array<string> | null | undefined;
  notContains?: string | null | undefined;
  notEndsWith?: string | null | undefined;
  notEquals?: string | null | undefined;
  notIn?: Array<string> | null | undefined;
  notStartsWith?: string | null | undefined;
  startsWith?: string | null | undefined;
};

export type UpdateHuggingFaceRegistryInput = {
  id: string | number;
  name?: string | null | undefined;
  token?: string | null | undefined;
  url?: string | null | undefined;
};

export type UpdateReservoirRegistryInput = {
  accessKey?: string | null | undefined;
  apiVersion?: string | null | undefined;
  endpoint?: string | null | undefined;
  id: string | number;
  name?: string | null | undefined;
  secretKey?: string | null | undefined;
};

export type RevisionSummaryFragment = { id: string, version: string, status: ArtifactStatus, size: string | null, createdAt: string | null };

export type ArtifactListQueryVariables = Exact<{
  limit: number;
  offset: number;
  filter?: ArtifactFilter | null | undefined;
  orderBy?: Array<ArtifactOrderBy> | ArtifactOrderBy | null | undefined;
  revisions: number;
}>;


export type ArtifactListQuery = { artifacts: { count: number, edges: Array<{ node: { id: string, name: string, type: ArtifactType, availability: ArtifactAvailability, registry: { name: string | null, url: string | null }, revisions: { count: number, edges: Array<{ node: { id: string, version: string, status: ArtifactStatus, size: string | null, createdAt: string | null } }> } | null } }> } | null };

export type RevisionDetailFragment = { id: string, version: string, status: ArtifactStatus, size: string | null, digest: string | null, latestUpstreamDigest: string | null, lastError: string | null, createdAt: string | null, updatedAt: string | null, importProgress: { totalFiles: number, completedFiles: number, totalBytes: string, downloadedBytes: string, bytesPerSecond: number | null, startedAt: string | null, updatedAt: string | null } | null };

export type ProgressFragment = { totalFiles: number, completedFiles: number, totalBytes: string, downloadedBytes: string, bytesPerSecond: number | null, startedAt: string | null, updatedAt: string | null };

export type ArtifactDetailQueryVariables = Exact<{
  id: string | number;
}>;


export type ArtifactDetailQuery = { artifact: { id: string, name: string, type: ArtifactType, description: string | null, availability: ArtifactAvailability, readonly: boolean, scannedAt: string, updatedAt: string, source: { name: string | null, url: string | null }, registry: { name: string | null, url: string | null }, revisions: { count: number, edges: Array<{ node: { id: string, version: string, status: ArtifactStatus, size: string | null, digest: string | null, latestUpstreamDigest: string | null, lastError: string | null, createdAt: string | null, updatedAt: string | null, importProgress: { totalFiles: number, completedFiles: number, totalBytes: string, downloadedBytes: string, bytesPerSecond: number | null, startedAt: string | null, updatedAt: string | null } | null } }> } | null } | null };

export type RevisionContentQueryVariables = Exact<{
  id: string | number;
  files: number;
  after?: string | null | undefined;
}>;


export type RevisionContentQuery = { artifactRevision: { id: string, readme: string | null, files: { count: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { path: string, size: string, sha256: string | null, downloadUrl: string | null } }> } } | null };

export type DeleteArtifactsMutationVariables = Exact<{
  ids: Array<string | number> | string | number;
}>;


export type DeleteArtifactsMutation = { deleteArtifacts: { artifacts: Array<{ id: string, availability: ArtifactAvailability }> } | null };

export type RestoreArtifactsMutationVariables = Exact<{
  ids: Array<string | number> | string | number;
}>;


export type RestoreArtifactsMutation = { restoreArtifacts: { artifacts: Array<{ id: string, availability: ArtifactAvailability }> } | null };

export type ImportRevisionMutationVariables = Exact<{
  id: string | number;
  force: boolean;
}>;


export type ImportRevisionMutation = { importArtifacts: { tasks: Array<{ taskId: string | null, artifactRevision: { id: string, version: string, status: ArtifactStatus, size: string | null, digest: string | null, latestUpstreamDigest: string | null, lastError: string | null, createdAt: string | null, updatedAt: string | null, importProgress: { totalFiles: number, completedFiles: number, totalBytes: string, downloadedBytes: string, bytesPerSecond: number | null, startedAt: string | null, updatedAt: string | null } | null } }> } | null };

export type CancelImportMutationVariables = Exact<{
  id: string | number;
}>;


export type CancelImportMutation = { cancelImportArtifact: { artifactRevision: { id: string, version: string, status: ArtifactStatus, size: string | null, digest: string | null, latestUpstreamDigest: string | null, lastError: string | null, createdAt: string | null, updatedAt: string | null, importProgress: { totalFiles: number, completedFiles: number, totalBytes: string, downloadedBytes: string, bytesPerSecond: number | null, startedAt: string | null, updatedAt: string | null } | null } } | null };

export type CleanupRevisionMutationVariables = Exact<{
  id: string | number;
}>;


export type CleanupRevisionMutation = { cleanupArtifactRevisions: { artifactRevisions: { edges: Array<{ node: { id: string, version: string, status: ArtifactStatus, size: string | null, digest: string | null, latestUpstreamDigest: string | null, lastError: string | null, createdAt: string | null, updatedAt: string | null, importProgress: { totalFiles: number, completedFiles: number, totalBytes: string, downloadedBytes: string, bytesPerSecond: number | null, startedAt: string | null, updatedAt: string | null } | null } }> } } | null };

export type ApproveRevisionMutationVariables = Exact<{
  id: string | number;
}>;


export type ApproveRevisionMutation = { approveArtifactRevision: { artifactRevision: { id: string, version: string, status: ArtifactStatus, size: string | null, digest: string | null, latestUpstreamDigest: string | null, lastError: string | null, createdAt: string | null, updatedAt: string | null, importProgress: { totalFiles: number, completedFiles: number, totalBytes: string, downloadedBytes: string, bytesPerSecond: number | null, startedAt: string | null, updatedAt: string | null } | null } } | null };

export type RejectRevisionMutationVariables = Exact<{
  id: string | number;
}>;


export type RejectRevisionMutation = { rejectArtifactRevision: { artifactRevision: { id: string, version: string, status: ArtifactStatus, size: string | null, digest: string | null, latestUpstreamDigest: string | null, lastError: string | null, createdAt: string | null, updatedAt: string | null, importProgress: { totalFiles: number, completedFiles: number, totalBytes: string, downloadedBytes: string, bytesPerSecond: number | null, startedAt: string | null, updatedAt: string | null } | null } } | null };

export type RevisionStatusSubscriptionVariables = Exact<{
  ids: Array<string | number> | string | number;
}>;


export type RevisionStatusSubscription = { artifactStatusChanged: { artifactRevision: { id: string, version: string, status: ArtifactStatus, size: string | null, digest: string | null, latestUpstreamDigest: string | null, lastError: string | null, createdAt: string | null, updatedAt: string | null, importProgress: { totalFiles: number, completedFiles: number, totalBytes: string, downloadedBytes: string, bytesPerSecond: number | null, startedAt: string | null, updatedAt: string | null } | null } } };

export type ImportProgressSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type ImportProgressSubscription = { artifactImportProgressUpdated: { artifactRevisionId: string, status: ArtifactStatus, progress: number, importProgress: { totalFiles: number, completedFiles: number, totalBytes: string, downloadedBytes: string, bytesPerSecond: number | null, startedAt: string | null, updatedAt: string | null } } };

export type RegistriesQueryVariables = Exact<{
  admin: boolean;
}>;


export type RegistriesQuery = { huggingfaceRegistries: { edges: Array<{ node: { id: string, name: string, url: string, token: string | null } }> } | null, reservoirRegistries: { edges: Array<{ node: { id: string, name: string, endpoint: string, accessKey?: string, apiVersion: string } }> } | null };

export type CreateHuggingFaceRegistryMutationVariables = Exact<{
  input: CreateHuggingFaceRegistryInput;
}>;


export type CreateHuggingFaceRegistryMutation = { createHuggingfaceRegistry: { huggingfaceRegistry: { id: string } } | null };

export type UpdateHuggingFaceRegistryMutationVariables = Exact<{
  input: UpdateHuggingFaceRegistryInput;
}>;


export type UpdateHuggingFaceRegistryMutation = { updateHuggingfaceRegistry: { huggingfaceRegistry: { id: string } } | null };

export type CreateReservoirRegistryMutationVariables = Exact<{
  input: CreateReservoirRegistryInput;
}>;


export type CreateReservoirRegistryMutation = { createReservoirRegistry: { reservoir: { id: string } } | null };

export type UpdateReservoirRegistryMutationVariables = Exact<{
  input: UpdateReservoirRegistryInput;
}>;


export type UpdateReservoirRegistryMutation = { updateReservoirRegistry: { reservoir: { id: string } } | null };

export type ScanRegistryMutationVariables = Exact<{
  input: ScanArtifactsInput;
}>;


export type ScanRegistryMutation = { scanArtifacts: { artifacts: Array<{ id: string, name: string, type: ArtifactType }> } | null };

export type ScanModelsMutationVariables = Exact<{
  input: ScanArtifactModelsInput;
}>;


export type ScanModelsMutation = { scanArtifactModels: { artifactRevision: { edges: Array<{ node: { id: string, version: string, status: ArtifactStatus, artifact: { id: string, name: string } | null } }> } } | null };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const RevisionSummaryFragmentDoc = new TypedDocumentString(`
    fragment RevisionSummary on ArtifactRevision {
  id
  version
  status
  size
  createdAt
}
    `, {"fragmentName":"RevisionSummary"}) as unknown as TypedDocumentString<RevisionSummaryFragment, unknown>;
export const ProgressFragmentDoc = new TypedDocumentString(`
    fragment Progress on ArtifactImportProgress {
  totalFiles
  completedFiles
  totalBytes
  downloadedBytes
  bytesPerSecond
  startedAt
  updatedAt
}
    `, {"fragmentName":"Progress"}) as unknown as TypedDocumentString<ProgressFragment, unknown>;
export const RevisionDetailFragmentDoc = new TypedDocumentString(`
    fragment RevisionDetail on ArtifactRevision {
  id
  version
  status
  size
  digest
  latestUpstreamDigest
  lastError
  createdAt
  updatedAt
  importProgress {
    ...Progress
  }
}
    fragment Progress on ArtifactImportProgress {
  totalFiles
  completedFiles
  totalBytes
  downloadedBytes
  bytesPerSecond
  startedAt
  updatedAt
}`, {"fragmentName":"RevisionDetail"}) as unknown as TypedDocumentString<RevisionDetailFragment, unknown>;
export const ArtifactListDocument = new TypedDocumentString(`
    query ArtifactList($limit: Int!, $offset: Int!, $filter: ArtifactFilter, $orderBy: [ArtifactOrderBy!], $revisions: Int!) {
  artifacts(limit: $limit, offset: $offset, filter: $filter, orderBy: $orderBy) {
    count
    edges {
      node {
        id
        name
        type
        availability
        registry {
          name
          url
        }
        revisions(first: $revisions, orderBy: [{field: CREATED_AT, direction: DESC}]) {
          count
          edges {
            node {
              ...RevisionSummary
            }
          }
        }
      }
    }
  }
}
    fragment RevisionSummary on ArtifactRevision {
  id
  version
  status
  size
  createdAt
}`) as unknown as TypedDocumentString<ArtifactListQuery, ArtifactListQueryVariables>;
export const ArtifactDetailDocument = new TypedDocumentString(`
    query ArtifactDetail($id: ID!) {
  artifact(id: $id) {
    id
    name
    type
    description
    availability
    readonly
    scannedAt
    updatedAt
    source {
      name
      url
    }
    registry {
      name
      url
    }
    revisions(first: 200, orderBy: [{field: CREATED_AT, direction: DESC}]) {
      count
      edges {
        node {
          ...RevisionDetail
        }
      }
    }
  }
}
    fragment RevisionDetail on ArtifactRevision {
  id
  version
  status
  size
  digest
  latestUpstreamDigest
  lastError
  createdAt
  updatedAt
  importProgress {
    ...Progress
  }
}
fragment Progress on ArtifactImportProgress {
  totalFiles
  completedFiles
  totalBytes
  downloadedBytes
  bytesPerSecond
  startedAt
  updatedAt
}`) as unknown as TypedDocumentString<ArtifactDetailQuery, ArtifactDetailQueryVariables>;
export const RevisionContentDocument = new TypedDocumentString(`
    query RevisionContent($id: ID!, $files: Int!, $after: String) {
  artifactRevision(id: $id) {
    id
    readme
    files(first: $files, after: $after) {
      count
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          path
          size
          sha256
          downloadUrl
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<RevisionContentQuery, RevisionContentQueryVariables>;
export const DeleteArtifactsDocument = new TypedDocumentString(`
    mutation DeleteArtifacts($ids: [ID!]!) {
  deleteArtifacts(input: {artifactIds: $ids}) {
    artifacts {
      id
      availability
    }
  }
}
    `) as unknown as TypedDocumentString<DeleteArtifactsMutation, DeleteArtifactsMutationVariables>;
export const RestoreArtifactsDocument = new TypedDocumentString(`
    mutation RestoreArtifacts($ids: [ID!]!) {
  restoreArtifacts(input: {artifactIds: $ids}) {
    artifacts {
      id
      availability
    }
  }
}
    `) as unknown as TypedDocumentString<RestoreArtifactsMutation, RestoreArtifactsMutationVariables>;
export const ImportRevisionDocument = new TypedDocumentString(`
    mutation ImportRevision($id: ID!, $force: Boolean!) {
  importArtifacts(input: {artifactRevisionIds: [$id], options: {force: $force}}) {
    tasks {
      taskId
      artifactRevision {
        ...RevisionDetail
      }
    }
  }
}
    fragment RevisionDetail on ArtifactRevision {
  id
  version
  status
  size
  digest
  latestUpstreamDigest
  lastError
  createdAt
  updatedAt
  importProgress {
    ...Progress
  }
}
fragment Progress on ArtifactImportProgress {
  totalFiles
  completedFiles
  totalBytes
  downloadedBytes
  bytesPerSecond
  startedAt
  updatedAt
}`) as unknown as TypedDocumentString<ImportRevisionMutation, ImportRevisionMutationVariables>;
export const CancelImportDocument = new TypedDocumentString(`
    mutation CancelImport($id: ID!) {
  cancelImportArtifact(input: {artifactRevisionId: $id}) {
    artifactRevision {
      ...RevisionDetail
    }
  }
}
    fragment RevisionDetail on ArtifactRevision {
  id
  version
  status
  size
  digest
  latestUpstreamDigest
  lastError
  createdAt
  updatedAt
  importProgress {
    ...Progress
  }
}
fragment Progress on ArtifactImportProgress {
  totalFiles
  completedFiles
  totalBytes
  downloadedBytes
  bytesPerSecond
  startedAt
  updatedAt
}`) as unknown as TypedDocumentString<CancelImportMutation, CancelImportMutationVariables>;
export const CleanupRevisionDocument = new TypedDocumentString(`
    mutation CleanupRevision($id: ID!) {
  cleanupArtifactRevisions(input: {artifactRevisionIds: [$id]}) {
    artifactRevisions {
      edges {
        node {
          ...RevisionDetail
        }
      }
    }
  }
}
    fragment RevisionDetail on ArtifactRevision {
  id
  version
  status
  size
  digest
  latestUpstreamDigest
  lastError
  createdAt
  updatedAt
  importProgress {
    ...Progress
  }
}
fragment Progress on ArtifactImportProgress {
  totalFiles
  completedFiles
  totalBytes
  downloadedBytes
  bytesPerSecond
  startedAt
  updatedAt
}`) as unknown as TypedDocumentString<CleanupRevisionMutation, CleanupRevisionMutationVariables>;
export const ApproveRevisionDocument = new TypedDocumentString(`
    mutation ApproveRevision($id: ID!) {
  approveArtifactRevision(input: {artifactRevisionId: $id}) {
    artifactRevision {
      ...RevisionDetail
    }
  }
}
    fragment RevisionDetail on ArtifactRevision {
  id
  version
  status
  size
  digest
  latestUpstreamDigest
  lastError
  createdAt
  updatedAt
  importProgress {
    ...Progress
  }
}
fragment Progress on ArtifactImportProgress {
  totalFiles
  completedFiles
  totalBytes
  downloadedBytes
  bytesPerSecond
  startedAt
  updatedAt
}`) as unknown as TypedDocumentString<ApproveRevisionMutation, ApproveRevisionMutationVariables>;
export const RejectRevisionDocument = new TypedDocumentString(`
    mutation RejectRevision($id: ID!) {
  rejectArtifactRevision(input: {artifactRevisionId: $id}) {
    artifactRevision {
      ...RevisionDetail
    }
  }
}
    fragment RevisionDetail on ArtifactRevision {
  id
  version
  status
  size
  digest
  latestUpstreamDigest
  lastError
  createdAt
  updatedAt
  importProgress {
    ...Progress
  }
}
fragment Progress on ArtifactImportProgress {
  totalFiles
  completedFiles
  totalBytes
  downloadedBytes
  bytesPerSecond
  startedAt
  updatedAt
}`) as unknown as TypedDocumentString<RejectRevisionMutation, RejectRevisionMutationVariables>;
export const RevisionStatusDocument = new TypedDocumentString(`
    subscription RevisionStatus($ids: [ID!]!) {
  artifactStatusChanged(input: {artifactRevisionIds: $ids}) {
    artifactRevision {
      ...RevisionDetail
    }
  }
}
    fragment RevisionDetail on ArtifactRevision {
  id
  version
  status
  size
  digest
  latestUpstreamDigest
  lastError
  createdAt
  updatedAt
  importProgress {
    ...Progress
  }
}
fragment Progress on ArtifactImportProgress {
  totalFiles
  completedFiles
  totalBytes
  downloadedBytes
  bytesPerSecond
  startedAt
  updatedAt
}`) as unknown as TypedDocumentString<RevisionStatusSubscription, RevisionStatusSubscriptionVariables>;
export const ImportProgressDocument = new TypedDocumentString(`
    subscription ImportProgress($id: ID!) {
  artifactImportProgressUpdated(artifactRevisionId: $id) {
    artifactRevisionId
    status
    progress
    importProgress {
      ...Progress
    }
  }
}
    fragment Progress on ArtifactImportProgress {
  totalFiles
  completedFiles
  totalBytes
  downloadedBytes
  bytesPerSecond
  startedAt
  updatedAt
}`) as unknown as TypedDocumentString<ImportProgressSubscription, ImportProgressSubscriptionVariables>;
export const RegistriesDocument = new TypedDocumentString(`
    query Registries($admin: Boolean!) {
  huggingfaceRegistries(first: 100) {
    edges {
      node {
        id
        name
        url
        token
      }
    }
  }
  reservoirRegistries(first: 100) {
    edges {
      node {
        id
        name
        endpoint
        accessKey @include(if: $admin)
        apiVersion
      }
    }
  }
}
    `) as unknown as TypedDocumentString<RegistriesQuery, RegistriesQueryVariables>;
export const CreateHuggingFaceRegistryDocument = new TypedDocumentString(`
    mutation CreateHuggingFaceRegistry($input: CreateHuggingFaceRegistryInput!) {
  createHuggingfaceRegistry(input: $input) {
    huggingfaceRegistry {
      id
    }
  }
}
    `) as unknown as TypedDocumentString<CreateHuggingFaceRegistryMutation, CreateHuggingFaceRegistryMutationVariables>;
export const UpdateHuggingFaceRegistryDocument = new TypedDocumentString(`
    mutation UpdateHuggingFaceRegistry($input: UpdateHuggingFaceRegistryInput!) {
  updateHuggingfaceRegistry(input: $input) {
    huggingfaceRegistry {
      id
    }
  }
}
    `) as unknown as TypedDocumentString<UpdateHuggingFaceRegistryMutation, UpdateHuggingFaceRegistryMutationVariables>;
export const CreateReservoirRegistryDocument = new TypedDocumentString(`
    mutation CreateReservoirRegistry($input: CreateReservoirRegistryInput!) {
  createReservoirRegistry(input: $input) {
    reservoir {
      id
    }
  }
}
    `) as unknown as TypedDocumentString<CreateReservoirRegistryMutation, CreateReservoirRegistryMutationVariables>;
export const UpdateReservoirRegistryDocument = new TypedDocumentString(`
    mutation UpdateReservoirRegistry($input: UpdateReservoirRegistryInput!) {
  updateReservoirRegistry(input: $input) {
    reservoir {
      id
    }
  }
}
    `) as unknown as TypedDocumentString<UpdateReservoirRegistryMutation, UpdateReservoirRegistryMutationVariables>;
export const ScanRegistryDocument = new TypedDocumentString(`
    mutation ScanRegistry($input: ScanArtifactsInput!) {
  scanArtifacts(input: $input) {
    artifacts {
      id
      name
      type
    }
  }
}
    `) as unknown as TypedDocumentString<ScanRegistryMutation, ScanRegistryMutationVariables>;
export const ScanModelsDocument = new TypedDocumentString(`
    mutation ScanModels($input: ScanArtifactModelsInput!) {
  scanArtifactModels(input: $input) {
    artifactRevision {
      edges {
        node {
          id
          version
          status
          artifact {
            id
            name
          }
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ScanModelsMutation, ScanModelsMutationVariables>;