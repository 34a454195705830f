import type { Readable } from "node:stream";
import type { ArtifactRegistryType, ArtifactStatus } from "../common/enums";
import type { ImportProgressData } from "../revision/revision.entity";
import type { ManifestFile } from "../revision/manifest";

/** One file of a revision's manifest, as an import fetches and verifies it. */
export interface ImportFile {
  id: string;
  path: string;
  size: string;
  /** SHA-256 known from upstream (LFS oid, or a Reservoir peer's record); verified in-stream when set. */
  sha256: string | null;
  /** Git blob SHA-1 of a small Hugging Face file; verified in-stream when set and sha256 is not. */
  upstreamOid: string | null;
}

export interface OpenedFile {
  status: 200 | 206;
  body: Readable;
  /** Identifies these exact bytes upstream: a resumed request must see the same one. */
  etag: string | null;
  /** Bytes this response carries. */
  contentLength: number | null;
}

/** Where an import reads a revision's files from: the Hugging Face Hub, a Reservoir peer, or the revision's uploads. */
export interface FileSource {
  readonly kind: "huggingface" | "reservoir" | "upload";
  open(file: ImportFile, opts: { range?: { start: number }; signal: AbortSignal }): Promise<OpenedFile>;
}

/** A revision as its import sees it: what to fetch (the pinned commit), and where to put it. */
export interface ImportRevision {
  id: string;
  artifactId: string;
  artifactName: string;
  artifactType: string;
  version: string;
  registryId: string;
  registryType: ArtifactRegistryType;
  status: ArtifactStatus;
  /** The upstream commit pinned when the import started. */
  commit: string | null;
  namespaceId: string | null;
  /** A delegated import: a Reservoir remote that has not imported its copy is asked to. */
  delegate: boolean;
  /** The import publishes the revision's uploads (verified again as they are copied), not upstream's files. */
  fromUploads: boolean;
  /** Process crashes in a row during this import with no more bytes kept in between. */
  crashes: number;
  /** Bytes the import had kept when its latest run started; null before the first. */
  crashMark: bigint | null;
  importProgress: ImportProgressData | null;
}

export interface PreparedSource {
  source: FileSource;
  /**
   * The files at the pinned commit, for sources that can list them (the Hub's tree). Without
   * it, the revision's file rows are the manifest (a Reservoir source reconciles them first).
   */
  listFiles?: (signal: AbortSignal) => Promise<{ files: ManifestFile[]; skipped: string[] }>;
}

/** Picks and prepares the source of a revision's bytes by its registry's type. */
export type FileSourceFactory = (revision: ImportRevision, signal: AbortSignal) => Promise<PreparedSource>;

/** What runs SQL inside a transaction: TypeORM's EntityManager has this shape. */
export interface SqlExecutor {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * The durable queue of imports. One job per revision at a time, across every process; its id
 * is the `taskId` clients see.
 */
export interface ImportQueue {
  /**
   * Enqueues the revision's import, or returns the id of the job already queued or running. With
   * `tx`, the job is written in that transaction (it exists if and only if the transaction
   * commits); call `notifyEnqueued` after the commit so this process's workers fetch it at once.
   */
  enqueue(revisionId: string, tx?: SqlExecutor): Promise<string>;
  notifyEnqueued(): void;
  /** The id of the revision's queued or running job, if any. */
  activeJobId(revisionId: string): Promise<string | null>;
  /**
   * Stops the revision's job: drops it if queued, aborts its transfers if it runs here. A job
   * running in another process notices the status change (it checks at every progress tick).
   */
  cancel(revisionId: string): Promise<void>;
}
