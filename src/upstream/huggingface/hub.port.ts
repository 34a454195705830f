import type { Readable } from "node:stream";

/** What the Hub's model list returns for one model (`GET /api/models`). */
export interface HubModelSummary {
  id: string;
  author?: string;
  sha?: string;
  lastModified?: string;
  createdAt?: string;
  gated?: false | "auto" | "manual";
  private?: boolean;
  tags?: string[];
  pipeline_tag?: string;
  library_name?: string;
  downloads?: number;
  likes?: number;
  /** The model card's metadata (license, …); in the list when asked for (`expand=cardData`). */
  cardData?: Record<string, unknown>;
}

/** `GET /api/models/{repo}` or `GET /api/models/{repo}/revision/{rev}`. */
export interface HubModelInfo extends HubModelSummary {
  sha: string;
}

export interface HubRef {
  name: string;
  ref: string;
  targetCommit: string;
}

export interface HubRefs {
  branches: HubRef[];
  tags: HubRef[];
}

/** One entry of `GET /api/models/{repo}/tree/{rev}?recursive=true`. */
export interface HubTreeEntry {
  type: "file" | "directory";
  path: string;
  size: number;
  /** The git blob SHA-1. */
  oid: string;
  /** For LFS files: `oid` is the SHA-256 of the content. */
  lfs?: { oid: string; size: number };
}

export interface HubDownload {
  status: 200 | 206;
  body: Readable;
  /** X-Repo-Commit: the commit the bytes come from. */
  commit: string | null;
  /** X-Linked-Etag for LFS files, else ETag, without quotes. */
  etag: string | null;
  /** X-Linked-Size for LFS files, else Content-Length. */
  size: number | null;
  contentLength: number | null;
  /** Content-Range of a 206. */
  contentRange: { start: number; end: number; total: number | null } | null;
}

/**
 * The Hugging Face Hub's HTTP API as this service uses it. Every call has a timeout, retries
 * 429/5xx/connection errors with backoff (honouring Retry-After) within a bound, and sends the
 * token to the hub's own origin only, never to a redirect's other host.
 */
export interface HubClient {
  /** Models in the order the hub returns them (sort=downloads, direction=-1), following Link paging, at most `limit`. */
  listModels(opts: { search?: string; author?: string; filter?: string; limit: number; signal?: AbortSignal }): AsyncIterable<HubModelSummary>;
  modelInfo(repo: string, revision?: string, opts?: { signal?: AbortSignal }): Promise<HubModelInfo>;
  refs(repo: string, opts?: { signal?: AbortSignal }): Promise<HubRefs>;
  /** Every entry (files and directories), recursively, following Link paging. */
  tree(repo: string, revision: string, opts?: { signal?: AbortSignal }): AsyncIterable<HubTreeEntry>;
  /** The content of one file at a revision (`/{repo}/resolve/{rev}/{path}`), following the CDN redirect. */
  download(repo: string, revision: string, path: string, opts?: { range?: { start: number; end?: number }; signal?: AbortSignal }): Promise<HubDownload>;
  /** A small text file (README.md) read up to maxBytes (the rest is cut); null when the file does not exist. */
  readText(repo: string, revision: string, path: string, maxBytes: number, opts?: { signal?: AbortSignal }): Promise<string | null>;
}

/** The hub said no, or could not be reached. `errorCode` is X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo). */
export class HubError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly errorCode: string | null,
    readonly retryable: boolean,
    readonly url: string,
  ) {
    super(message);
    this.name = "HubError";
  }

  get notFound(): boolean {
    return this.status === 404 || this.errorCode === "RepoNotFound" || this.errorCode === "RevisionNotFound" || this.errorCode === "EntryNotFound";
  }

  get denied(): boolean {
    return this.status === 401 || this.status === 403 || this.errorCode === "GatedRepo";
  }
}
