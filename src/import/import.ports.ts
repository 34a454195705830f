import type { Readable } from "node:stream";

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

/** Where an import reads a revision's files from: the Hugging Face Hub, or a Reservoir peer. */
export interface FileSource {
  readonly kind: "huggingface" | "reservoir";
  open(file: ImportFile, opts: { range?: { start: number }; signal: AbortSignal }): Promise<OpenedFile>;
}

/**
 * The durable queue of imports. One job per revision at a time, across every process; its id
 * is the `taskId` clients see.
 */
export interface ImportQueue {
  /** Enqueues the revision's import, or returns the id of the job already queued or running. */
  enqueue(revisionId: string): Promise<string>;
  /** The id of the revision's queued or running job, if any. */
  activeJobId(revisionId: string): Promise<string | null>;
  /**
   * Stops the revision's job: drops it if queued, aborts its transfers if it runs here. A job
   * running in another process notices the status change (it checks at every progress tick).
   */
  cancel(revisionId: string): Promise<void>;
}
