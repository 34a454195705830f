import type { DataSource } from "typeorm";
import { ArtifactStatus } from "../../common/enums";
import type { Logger } from "../../common/logger";
import type { ReservoirRegistryRecord } from "../../registry/registry.records";
import { statusIn, UNDER_WAY_STATUSES } from "../../revision/lifecycle";
import type { ManifestFile } from "../../revision/manifest";
import { manifestOf } from "../../upstream/reservoir/reservoir.mapping";
import { DEFAULT_RETRY, type RetryPolicy } from "../../common/backoff";
import {
  UpstreamRequestError, discard, normalizeEtag, parseContentRange, parseLength, readBody, requestWithRetry, streamBody, type RequestPolicy, type UpstreamResponse,
} from "../../upstream/http";
import type { EgressPolicy } from "../../upstream/egress";
import type { ReservoirClient, RemoteRevisionMatch } from "../../upstream/reservoir/reservoir.client";
import type { RemoteFile } from "../../upstream/reservoir/reservoir.documents";
import { ReservoirError } from "../../upstream/reservoir/reservoir.errors";
import { findRemoteCopy, importFailure, ReservoirImportError, waitForRemoteImports, type RemoteWaitOptions } from "./delegate";
import type { FileSource, ImportFile, OpenedFile } from "../import.ports";
import type { UpstreamMetrics, UpstreamOutcome } from "../../metrics/metrics.ports";

export interface ReservoirSourceDeps {
  ds: DataSource;
  /** RegistryService fits. */
  registries: { findReservoir(id: string): Promise<ReservoirRegistryRecord | null> };
  clients: (registry: ReservoirRegistryRecord) => ReservoirClient;
  logger: Logger;
  /** Deadline for the storage's response headers, and for each wait on body data. Default 30 s. */
  timeoutMs?: number;
  /** Retries of one storage GET (connection errors, timeouts, 5xx, 429). */
  retry?: Partial<RetryPolicy>;
  /** Where the presigned downloads may connect (DEFAULT_EGRESS when absent): the remote chooses those URLs. */
  egress?: EgressPolicy;
  /** Told how each download request went, under the registry's name. */
  metrics?: UpstreamMetrics;
  /** Lifetime asked of the remote for each presigned URL (it may clamp it). Default 1 hour. */
  urlLifetimeSeconds?: number;
  /**
   * When the remote has not imported the revision (SCANNED or FAILED there): ask it to, then
   * wait. Otherwise that is a permanent error. An import already under way there is always
   * waited for.
   */
  delegate?: boolean;
  /** How the wait for the remote's import behaves. */
  wait?: Omit<RemoteWaitOptions, "signal">;
}

/** The revision being imported, as the pipeline knows it. */
export interface ReservoirRevisionRef {
  id: string;
  artifactId: string;
  version: string;
  artifactName: string;
  registryId: string;
  /** Looked up when left out. */
  artifactType?: string;
}

export interface ReservoirFileSource extends FileSource {
  readonly kind: "reservoir";
  /** The remote's global ID of its copy. */
  readonly remoteRevisionId: string;
  /** The upstream commit the remote's copy holds. */
  readonly remoteDigest: string | null;
  /**
   * The remote copy's files (unsafe paths left out and named): the manifest at the pinned
   * commit, like the Hub source's tree. A forced re-import needs it, since the revision's own
   * rows are then the files it still serves, not the ones being fetched.
   */
  listFiles(signal?: AbortSignal): Promise<{ files: ManifestFile[]; skipped: string[] }>;
}

const DEFAULT_URL_LIFETIME_SECONDS = 3600;
const MAX_CACHED_URLS = 2000;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Reads a revision's files from the Reservoir remote it was mirrored from: each through a
 * presigned URL of the remote's own storage (S3, or its HMAC-signed filesystem links), so our
 * key pair's token goes only to the remote's GraphQL endpoint and the bytes may come from any
 * bucket or backend.
 *
 * Before it returns, the remote's copy is AVAILABLE (waited for, or delegated when
 * `deps.delegate`) and holds the commit pinned here. The revision's rows, while they are not
 * published files, are made to agree with the remote's manifest: SHA-256s they lacked are filled
 * in (the pipeline verifies against them), no rows at all get the remote's, and rows that differ
 * (other sizes or hashes) are a permanent error asking for a rescan.
 *
 * Failures are ReservoirImportError, whose `retryable` says whether another attempt may help.
 */
export async function createReservoirFileSource(
  deps: ReservoirSourceDeps,
  revision: ReservoirRevisionRef,
  options: { signal?: AbortSignal } = {},
): Promise<ReservoirFileSource> {
  const label = `${revision.artifactName}@${revision.version}`;
  const registry = await deps.registries.findReservoir(revision.registryId);
  if (!registry) throw new ReservoirImportError(`${label} comes from registry ${revision.registryId}, which is not a Reservoir registry (or no longer exists)`, false);
  const client = deps.clients(registry);
  const where = `Reservoir registry ${JSON.stringify(registry.name)} (${registry.endpoint})`;

  const [local]: Array<{ artifact_type: string; import_commit: string | null; latest_upstream_digest: string | null }> = await deps.ds.query(
    `SELECT a.type AS artifact_type, r.import_commit, r.latest_upstream_digest FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE r.id = $1`,
    [revision.id],
  );
  if (!local) throw new ReservoirImportError(`${label} (${revision.id}) no longer exists here`, false);

  let match: RemoteRevisionMatch | null;
  try {
    match = await findRemoteCopy(client, { artifactType: revision.artifactType ?? local.artifact_type, artifactName: revision.artifactName, version: revision.version });
  } catch (error) {
    throw importFailure(registry, error, `could not look up ${label}`);
  }
  if (!match) throw new ReservoirImportError(`${where} no longer has ${label}: rescan it`, false);

  let state = match.revision;
  if (state.status !== ArtifactStatus.AVAILABLE) {
    const underWay = statusIn(UNDER_WAY_STATUSES, state.status);
    if (!underWay && !(deps.delegate && (state.status === ArtifactStatus.SCANNED || state.status === ArtifactStatus.FAILED))) {
      const why = state.status === ArtifactStatus.REJECTED ? "it was REJECTED there" : `it is ${state.status} there${state.lastError ? ` (${state.lastError})` : ""}`;
      throw new ReservoirImportError(`${where} has not imported ${label}: ${why}. Import it there first, or use delegateImportArtifacts`, false);
    }
    if (!underWay) {
      try {
        await client.importArtifacts([state.id], { force: false });
      } catch (error) {
        throw importFailure(registry, error, `refused to import ${label}`);
      }
      deps.logger.info(`${where}: asked it to import ${label}; waiting for its copy`);
    }
    const states = await waitForRemoteImports(client, registry, [{ remoteRevisionId: state.id, label }], { ...deps.wait, signal: options.signal, logger: deps.logger });
    state = states.get(state.id) ?? state;
  }

  const pinned = local.import_commit ?? local.latest_upstream_digest;
  if (pinned && state.digest && pinned !== state.digest) {
    throw new ReservoirImportError(`${where} holds ${label} at commit ${state.digest}, not ${pinned} that was scanned here: rescan it and import again`, false);
  }

  let remoteFiles: RemoteFile[];
  try {
    remoteFiles = (await client.revisionDetails(state.id)).files;
  } catch (error) {
    throw importFailure(registry, error, `could not list the files of ${label}`);
  }
  await reconcileManifest(deps.ds, revision.id, remoteFiles, `${where}'s copy of ${label}`);

  const urls = new PresignedUrls(client, registry, state.id, deps.urlLifetimeSeconds ?? DEFAULT_URL_LIFETIME_SECONDS);
  const metrics = deps.metrics;
  const policy = {
    timeoutMs: deps.timeoutMs ?? 30_000, retry: { ...DEFAULT_RETRY, ...deps.retry }, egress: deps.egress,
    observe: metrics && ((outcome: UpstreamOutcome) => metrics.request(registry.name, outcome)),
  };
  const listed = manifestOf(remoteFiles);
  return {
    kind: "reservoir",
    remoteRevisionId: state.id,
    remoteDigest: state.digest,
    listFiles: async () => listed,
    open: (file, opts) => openFile(urls, policy, file, opts, where),
  };
}

/**
 * Makes our manifest of the revision agree with the remote's copy, or refuses: without
 * `listFiles`, the pipeline fetches and verifies what our rows say. Rows of files already
 * stored (a forced re-import) are left alone: they describe what the revision still serves.
 */
async function reconcileManifest(ds: DataSource, revisionId: string, remoteFiles: RemoteFile[], what: string): Promise<void> {
  const stale = (detail: string) => new ReservoirImportError(`${what} differs from the manifest scanned here (${detail}): rescan it and import again`, false);
  const remote = new Map(remoteFiles.map((f) => [f.path, f]));
  await ds.transaction(async (em) => {
    const rows: Array<{ id: string; path: string; size: string; sha256: string | null; storage_key: string | null }> = await em.query(
      `SELECT id, path, size, sha256, storage_key FROM artifact_revision_files WHERE revision_id = $1 FOR UPDATE`,
      [revisionId],
    );
    if (rows.some((row) => row.storage_key !== null)) return;
    if (rows.length === 0) {
      // The scan ran before the remote knew the files (it reads them in the background, or imports them on delegation).
      const { files } = manifestOf(remoteFiles);
      if (files.length === 0) return;
      await em.query(
        `INSERT INTO artifact_revision_files (revision_id, path, size, sha256)
         SELECT $1, f.path, f.size, f.sha256 FROM unnest($2::text[], $3::bigint[], $4::text[]) AS f(path, size, sha256)`,
        [revisionId, files.map((f) => f.path), files.map((f) => f.size), files.map((f) => f.sha256)],
      );
      await em.query(`UPDATE artifact_revisions SET size = (SELECT sum(size) FROM artifact_revision_files WHERE revision_id = $1), updated_at = now() WHERE id = $1`, [revisionId]);
      return;
    }
    const fill: Array<{ id: string; sha256: string }> = [];
    for (const row of rows) {
      const theirs = remote.get(row.path);
      if (!theirs) throw stale(`it has no file ${JSON.stringify(row.path)}`);
      if (theirs.size !== String(row.size)) throw stale(`${JSON.stringify(row.path)} is ${theirs.size} bytes there, ${row.size} here`);
      const sha = theirs.sha256?.toLowerCase() ?? null;
      if (sha && !SHA256.test(sha)) throw stale(`${JSON.stringify(row.path)} has an invalid SHA-256 there`);
      if (row.sha256 && sha && row.sha256 !== sha) throw stale(`${JSON.stringify(row.path)} has SHA-256 ${sha} there, ${row.sha256} here`);
      if (!row.sha256 && sha) fill.push({ id: row.id, sha256: sha });
    }
    if (fill.length) {
      await em.query(
        `UPDATE artifact_revision_files f SET sha256 = v.sha256 FROM unnest($1::uuid[], $2::text[]) AS v(id, sha256) WHERE f.id = v.id`,
        [fill.map((f) => f.id), fill.map((f) => f.sha256)],
      );
    }
  });
}

/**
 * Presigned URLs by file path, reused until shortly before they expire. The expiry is read from
 * the URL when it says (S3's X-Amz-Date + X-Amz-Expires, our filesystem links' `exp`), since the
 * remote may have clamped the lifetime we asked for.
 */
class PresignedUrls {
  private readonly cache = new Map<string, Promise<{ url: string; expiresAt: number }>>();

  constructor(
    private readonly client: ReservoirClient,
    private readonly registry: ReservoirRegistryRecord,
    private readonly remoteRevisionId: string,
    private readonly lifetimeSeconds: number,
  ) {}

  async get(path: string, fresh: boolean): Promise<string> {
    const cached = fresh ? undefined : this.cache.get(path);
    if (cached) {
      const { url, expiresAt } = await cached.catch(() => ({ url: "", expiresAt: 0 }));
      if (url && Date.now() < expiresAt - margin(this.lifetimeSeconds)) return url;
    }
    this.cache.delete(path);
    if (this.cache.size >= MAX_CACHED_URLS) this.cache.delete(this.cache.keys().next().value!);
    const requested = Date.now();
    const pending = this.client.presignedDownloadUrl(this.remoteRevisionId, path, this.lifetimeSeconds).then(
      (url) => ({ url, expiresAt: urlExpiry(url, requested + this.lifetimeSeconds * 1000) }),
      (error) => {
        throw presignFailure(this.registry, path, error);
      },
    );
    this.cache.set(path, pending);
    pending.catch(() => {
      if (this.cache.get(path) === pending) this.cache.delete(path);
    });
    return (await pending).url;
  }

  forget(path: string): void {
    this.cache.delete(path);
  }
}

/** Renew a link a minute before it expires, or at three quarters of a short lifetime. */
const margin = (lifetimeSeconds: number) => Math.min(60_000, lifetimeSeconds * 250);

export function urlExpiry(url: string, fallback: number): number {
  let expiresAt = fallback;
  try {
    const params = new URL(url).searchParams;
    const exp = params.get("exp");
    if (exp && /^\d{1,12}$/.test(exp)) expiresAt = Math.min(expiresAt, Number(exp) * 1000);
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(params.get("X-Amz-Date") ?? "");
    const seconds = params.get("X-Amz-Expires");
    if (date && seconds && /^\d{1,9}$/.test(seconds)) {
      const signedAt = Date.UTC(+date[1], +date[2] - 1, +date[3], +date[4], +date[5], +date[6]);
      expiresAt = Math.min(expiresAt, signedAt + Number(seconds) * 1000);
    }
  } catch {
    // Not a URL we can read: the lifetime we asked for stands.
  }
  return expiresAt;
}

function presignFailure(registry: ReservoirRegistryRecord, path: string, error: unknown): Error {
  if (error instanceof ReservoirError && error.kind === "remote" && error.remoteCode === "NOT_FOUND") {
    return new ReservoirImportError(`Reservoir registry ${JSON.stringify(registry.name)} has no file ${JSON.stringify(path)} in its copy: ${error.remoteMessage ?? error.message}`, false, { cause: error });
  }
  return importFailure(registry, error, `would not give a download URL for ${JSON.stringify(path)}`);
}

type Opened = { kind: "opened"; file: OpenedFile } | { kind: "refresh"; status: number };

async function openFile(
  urls: PresignedUrls,
  policy: Omit<RequestPolicy, "signal">,
  file: ImportFile,
  opts: { range?: { start: number }; signal: AbortSignal },
  where: string,
): Promise<OpenedFile> {
  const start = opts.range?.start ?? 0;
  const what = `${JSON.stringify(file.path)} from ${where}'s storage`;
  // An expired or revoked link (a remote restarted with a new secret) gets one fresh URL.
  for (let fresh = false; ; fresh = true) {
    const url = await urls.get(file.path, fresh);
    let outcome: Opened;
    try {
      outcome = await requestWithRetry({ url, headers: start > 0 ? { range: `bytes=${start}-` } : {} }, { ...policy, signal: opts.signal }, async (upstream) => {
        const { status, headers } = upstream.response;
        if (status === 200 || (status === 206 && start > 0)) {
          if (status === 206) {
            const range = parseContentRange(headers.get("content-range"));
            if (!range || range.start !== start) {
              discard(upstream.response);
              throw new ReservoirImportError(`${what}: asked for bytes from ${start}, got ${headers.get("content-range") ?? "no Content-Range"}`, true);
            }
          }
          return {
            kind: "opened",
            file: {
              status,
              body: streamBody(upstream, (error, kind) => bodyFailure(error, kind, what)),
              etag: normalizeEtag(headers.get("etag")),
              contentLength: parseLength(headers.get("content-length")),
            },
          };
        }
        if ((status === 401 || status === 403) && !fresh) {
          discard(upstream.response);
          return { kind: "refresh", status };
        }
        throw await statusFailure(upstream, what);
      });
    } catch (error) {
      if (error instanceof UpstreamRequestError) {
        throw new ReservoirImportError(`Could not read ${what}: ${error.message}`, error.retryable, { cause: error });
      }
      throw error;
    }
    if (outcome.kind === "opened") return outcome.file;
    urls.forget(file.path);
  }
}

async function statusFailure(upstream: UpstreamResponse, what: string): Promise<ReservoirImportError> {
  const { status } = upstream.response;
  // Of the body, only an S3 error code: the rest may be anything the URL's server chose to say.
  const body = (await readBody(upstream, 512).catch(() => ({ bytes: Buffer.alloc(0) }))).bytes.toString("utf8");
  const code = /<Code>([A-Za-z]{1,64})<\/Code>/.exec(body)?.[1];
  const said = code ? ` ${code}` : "";
  if (status === 404) return new ReservoirImportError(`${what}: the file is missing there (HTTP 404${said})`, false);
  if (status === 401 || status === 403) return new ReservoirImportError(`${what}: the storage refused a fresh presigned URL (HTTP ${status}${said})`, false);
  if (status === 416) return new ReservoirImportError(`${what}: the file there is shorter than the manifest says (HTTP 416)`, false);
  const transient = status === 408 || status === 429 || status >= 500;
  return new ReservoirImportError(`${what}: HTTP ${status}${said}`, transient);
}

function bodyFailure(error: unknown, kind: "aborted" | "timeout" | "network" | "other", what: string): Error {
  if (kind === "timeout" || kind === "network") {
    return new ReservoirImportError(`The download of ${what} broke off: ${(error as Error).message ?? String(error)}`, true, { cause: error });
  }
  return error as Error;
}
