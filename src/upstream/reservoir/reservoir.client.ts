import jwt from "jsonwebtoken";
import type { z } from "zod";
import {
  AttemptControl, DEFAULT_RETRY, backoffDelay, describeNetworkError, isRetryableStatus, parseRetryAfter, readBody, retryDelay, sleep,
  type RetryPolicy,
} from "../http";
import {
  ARTIFACTS_QUERY, ArtifactsData, REVISION_DETAILS_QUERY, REVISIONS_QUERY, RevisionDetailsData, RevisionsData, SCAN_ARTIFACTS_MUTATION,
  ScanArtifactsData,
  type RemoteArtifact, type RemoteArtifactFilter, type RemoteArtifactPage, type RemoteFile, type RemoteRevision,
  type RemoteRevisionPage, type RemoteScanInput, type RemoteScannedArtifact,
} from "./reservoir.documents";
import { ReservoirError } from "./reservoir.errors";

/** Our tokens live 5 minutes: well inside the remote's 10-minute ceiling, even with clock skew. */
export const CLIENT_TOKEN_LIFETIME_SECONDS = 300;
/** The remote refuses pages above 500 rows. */
const MAX_PAGE = 500;
const REVISIONS_PAGE = 100;
const FILES_PAGE = 500;
/**
 * Artifacts per listing page. Each brings its first 100 revisions, so the remote's cost estimate
 * is about 1,400 points per artifact: 20 stays well under the default limit of 50,000.
 */
const DEFAULT_ARTIFACT_PAGE = 20;

export interface ReservoirClientOptions {
  /** The remote's GraphQL URL. */
  endpoint: string;
  /** A key pair issued by the remote. */
  accessKey: string;
  secretKey: string;
  /** Per HTTP attempt. */
  timeoutMs: number;
  /** The remote's scanArtifacts talks to its own upstream before it answers: it gets longer. */
  scanTimeoutMs?: number;
  /** 5xx, 429 (honouring Retry-After), connection errors and timeouts of reads are retried within this. */
  retry?: Partial<RetryPolicy>;
  maxResponseBytes?: number;
  artifactPageSize?: number;
  /** A revision with more files than this is a protocol error: a runaway remote must not exhaust our memory. */
  maxFilesPerRevision?: number;
}

export interface RemoteArtifactWithRevisions {
  artifact: Omit<RemoteArtifact, "revisions">;
  revisions: RemoteRevision[];
}

export interface RemoteRevisionDetails {
  readme: string | null;
  files: RemoteFile[];
}

interface GraphQLErrorShape {
  message?: unknown;
  extensions?: { code?: unknown };
}

interface CallOptions {
  timeoutMs: number;
  /** Whether a timed-out attempt may be sent again; a mutation's may still be running remotely. */
  retryTimeouts: boolean;
}

/**
 * A GraphQL client for another instance of this service, authenticating with a key pair the
 * remote issued: every attempt carries a fresh HS256 token whose issuer is the access key.
 */
export class ReservoirClient {
  private readonly retry: RetryPolicy;
  private readonly maxResponseBytes: number;

  constructor(private readonly options: ReservoirClientOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.retry.attempts = Math.max(1, Math.floor(this.retry.attempts));
    this.maxResponseBytes = options.maxResponseBytes ?? 32 * 1024 * 1024;
  }

  get endpoint(): string {
    return this.options.endpoint;
  }

  /** One page of the remote's artifacts, each with its first page of revisions. */
  async artifactPage(filter: RemoteArtifactFilter, page: { first: number; after?: string | null }): Promise<RemoteArtifactPage> {
    const data = await this.query(ARTIFACTS_QUERY, {
      first: Math.min(Math.max(page.first, 1), MAX_PAGE), after: page.after ?? null, filter, revisionsFirst: REVISIONS_PAGE,
    }, ArtifactsData);
    if (!data.artifacts) throw new ReservoirError("protocol", "the remote answered artifacts with null");
    return data.artifacts;
  }

  async revisionPage(artifactId: string, after: string | null): Promise<RemoteRevisionPage> {
    const data = await this.query(REVISIONS_QUERY, { id: artifactId, first: REVISIONS_PAGE, after }, RevisionsData);
    if (!data.artifact?.revisions) throw new ReservoirError("protocol", `the remote no longer has artifact ${artifactId}`);
    return data.artifact.revisions;
  }

  /** Up to `limit` artifacts matching `filter`, each with all its revisions. */
  async *artifacts(filter: RemoteArtifactFilter, limit: number): AsyncGenerator<RemoteArtifactWithRevisions> {
    const pageSize = this.options.artifactPageSize ?? DEFAULT_ARTIFACT_PAGE;
    let after: string | null = null;
    let yielded = 0;
    while (yielded < limit) {
      const page = await this.artifactPage(filter, { first: Math.min(pageSize, limit - yielded), after });
      for (const { node } of page.edges) {
        if (yielded >= limit) return;
        const { revisions: first, ...artifact } = node;
        const revisions = first ? first.edges.map((e) => e.node) : [];
        let pageInfo = first?.pageInfo ?? { hasNextPage: false, endCursor: null };
        while (pageInfo.hasNextPage) {
          const next = await this.revisionPage(artifact.id, pageInfo.endCursor);
          revisions.push(...next.edges.map((e) => e.node));
          pageInfo = next.pageInfo;
        }
        yielded++;
        yield { artifact, revisions };
      }
      if (!page.pageInfo.hasNextPage || page.edges.length === 0) return;
      after = page.pageInfo.endCursor;
    }
  }

  /** A revision's README and its whole file manifest. */
  async revisionDetails(revisionId: string): Promise<RemoteRevisionDetails> {
    const maxFiles = this.options.maxFilesPerRevision ?? 200_000;
    const files: RemoteFile[] = [];
    let readme: string | null = null;
    let after: string | null = null;
    for (let first = true; ; first = false) {
      const data: z.infer<typeof RevisionDetailsData> = await this.query(REVISION_DETAILS_QUERY, { id: revisionId, first: FILES_PAGE, after, withReadme: first }, RevisionDetailsData);
      if (!data.artifactRevision) throw new ReservoirError("protocol", `the remote no longer has revision ${revisionId}`);
      if (first) readme = data.artifactRevision.readme ?? null;
      const page = data.artifactRevision.files;
      files.push(...page.edges.map((e) => e.node));
      if (files.length > maxFiles) throw new ReservoirError("protocol", `revision ${revisionId} lists more than ${maxFiles} files`);
      if (!page.pageInfo.hasNextPage || page.edges.length === 0) return { readme, files };
      after = page.pageInfo.endCursor;
    }
  }

  /** Asks the remote to scan one of its own registries; returns what it scanned. */
  async scanArtifacts(input: RemoteScanInput): Promise<RemoteScannedArtifact[]> {
    const data = await this.call(SCAN_ARTIFACTS_MUTATION, { input }, ScanArtifactsData, {
      timeoutMs: this.options.scanTimeoutMs ?? Math.max(this.options.timeoutMs, 120_000),
      retryTimeouts: false,
    });
    if (!data.scanArtifacts) throw new ReservoirError("protocol", "the remote answered scanArtifacts with null");
    return data.scanArtifacts.artifacts;
  }

  private query<S extends z.ZodType>(document: string, variables: Record<string, unknown>, schema: S): Promise<z.infer<S>> {
    return this.call(document, variables, schema, { timeoutMs: this.options.timeoutMs, retryTimeouts: true });
  }

  /*
   * The attempt loop of http.ts's requestWithRetry, which sends GET and HEAD only; its parts
   * (deadlines, Retry-After, backoff, error classification) are shared.
   */
  private async call<S extends z.ZodType>(document: string, variables: Record<string, unknown>, schema: S, opts: CallOptions): Promise<z.infer<S>> {
    const body = JSON.stringify({ query: document, variables });
    const endpoint = this.options.endpoint;
    for (let attempt = 1; ; attempt++) {
      const control = new AttemptControl(opts.timeoutMs);
      control.url = endpoint;
      let answer: { status: number; headers: Headers; bytes: Buffer };
      try {
        control.arm("response");
        const response = await fetch(endpoint, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/graphql-response+json, application/json",
            authorization: `Bearer ${this.token()}`,
          },
          body,
          // A GraphQL endpoint does not redirect; following one would hand our token to another host.
          redirect: "manual",
          signal: control.signal,
        });
        control.disarm();
        const { status, headers } = response;
        if (status >= 300 && status < 400) {
          await response.body?.cancel().catch(() => undefined);
          throw new ReservoirError("http", `the remote answered HTTP ${status}, a redirect to ${headers.get("location") ?? "nowhere"}; check the endpoint`, { status });
        }
        if (isRetryableStatus(status) && attempt < this.retry.attempts) {
          const decision = retryDelay(attempt, this.retry, headers);
          if (decision.retry) {
            await response.body?.cancel().catch(() => undefined);
            await sleep(decision.delayMs);
            continue;
          }
        }
        const read = await readBody({ response, url: new URL(endpoint), hops: [], attempt, control }, this.maxResponseBytes);
        if (read.truncated) throw new ReservoirError("protocol", `the remote's answer is larger than ${this.maxResponseBytes} bytes`, { status });
        answer = { status, headers, bytes: read.bytes };
      } catch (error) {
        control.disarm();
        if (error instanceof ReservoirError) throw error;
        const kind = control.classify(error);
        const final = kind === "other" || attempt >= this.retry.attempts || (kind === "timeout" && !opts.retryTimeouts);
        if (final) {
          const tries = attempt > 1 ? ` (after ${attempt} attempts)` : "";
          throw kind === "timeout"
            ? new ReservoirError("timeout", `no answer within ${opts.timeoutMs} ms${tries}`, { cause: error })
            : new ReservoirError("network", `cannot reach the remote: ${describeNetworkError(error)}${tries}`, { cause: error });
        }
        await sleep(backoffDelay(attempt, this.retry));
        continue;
      }
      return this.interpret(answer, schema, attempt);
    }
  }

  private interpret<S extends z.ZodType>(answer: { status: number; headers: Headers; bytes: Buffer }, schema: S, attempts: number): z.infer<S> {
    const { status, headers } = answer;
    let payload: unknown;
    try {
      payload = JSON.parse(answer.bytes.toString("utf8"));
    } catch {
      payload = undefined;
    }
    const failure = graphQLFailure(payload, status);
    if (failure) throw failure;
    if (status < 200 || status >= 300) {
      const tries = attempts > 1 ? ` (after ${attempts} attempts)` : "";
      const wait = status === 429 ? parseRetryAfter(headers.get("retry-after")) : null;
      const detail = status === 429 ? `rate limited${wait !== null ? `, asked to retry after ${Math.ceil(wait / 1000)} s` : ""}` : "";
      throw new ReservoirError("http", `the remote answered HTTP ${status}${detail ? ` (${detail})` : ""}${tries}`, { status });
    }
    const parsed = schema.safeParse((payload as { data?: unknown } | undefined)?.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ReservoirError("protocol", `the remote's answer is not what this client expects (${issue.path.join(".") || "data"}: ${issue.message}); is it the same service and version?`, { status });
    }
    return parsed.data;
  }

  private token(): string {
    const { accessKey, secretKey } = this.options;
    return jwt.sign({}, secretKey, { algorithm: "HS256", issuer: accessKey, subject: accessKey, expiresIn: CLIENT_TOKEN_LIFETIME_SECONDS });
  }
}

/** The first GraphQL error of a response, as a ReservoirError naming the remote's code; null when there is none. */
export function graphQLFailure(payload: unknown, status: number | null): ReservoirError | null {
  const errors = (payload as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return null;
  const first = errors[0] as GraphQLErrorShape;
  const remoteMessage = typeof first.message === "string" ? first.message.slice(0, 1000) : "unknown error";
  const remoteCode = typeof first.extensions?.code === "string" ? first.extensions.code.slice(0, 64) : null;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error(s))` : "";
  if (remoteCode === "UNAUTHENTICATED") {
    return new ReservoirError("refused", `the remote refused the key pair: ${remoteMessage}`, { status, remoteCode, remoteMessage });
  }
  if (remoteCode === "FORBIDDEN") {
    return new ReservoirError("forbidden", `the remote's key pair may not do this: ${remoteMessage}`, { status, remoteCode, remoteMessage });
  }
  return new ReservoirError("remote", `the remote reported ${remoteCode ?? "an error"}: ${remoteMessage}${more}`, { status, remoteCode, remoteMessage });
}

/** The key pair and endpoint of one Reservoir registry. */
export interface ReservoirConnection {
  endpoint: string;
  accessKey: string;
  secretKey: string;
}

/** A client per registry, sharing the server's upstream settings (timeouts, retries). */
export function reservoirClientFactory(defaults: Omit<ReservoirClientOptions, keyof ReservoirConnection>): (registry: ReservoirConnection) => ReservoirClient {
  return (registry) => new ReservoirClient({ ...defaults, endpoint: registry.endpoint, accessKey: registry.accessKey, secretKey: registry.secretKey });
}
