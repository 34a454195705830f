import { createClient, type Client as WsClient } from "graphql-ws";
import jwt from "jsonwebtoken";
import WebSocket from "ws";
import type { z } from "zod";
import { DEFAULT_RETRY, backoffDelay, sleep, type RetryPolicy } from "../../common/backoff";
import {
  AttemptControl, answerOf, describeNetworkError, discard, isRetryableStatus, outcomeOfFailure, outcomeOfStatus, parseRetryAfter, readBody, retryDelay,
  type HeaderReader, type UpstreamObserver,
} from "../http";
import {
  ARTIFACTS_QUERY, ArtifactsData, FIND_REVISION_QUERY, FindRevisionData, IMPORT_ARTIFACTS_MUTATION, ImportArtifactsData,
  PRESIGNED_DOWNLOAD_URL_MUTATION, PresignedDownloadUrlData, REVISION_DETAILS_QUERY, REVISION_STATE_QUERY, REVISIONS_QUERY,
  RevisionDetailsData, RevisionStateData, RevisionsData, SCAN_ARTIFACTS_MUTATION, ScanArtifactsData, STATUS_CHANGED_SUBSCRIPTION,
  StatusChangedData,
  type RemoteArtifact, type RemoteArtifactFilter, type RemoteArtifactPage, type RemoteFile, type RemoteImportTask, type RemoteRevision,
  type RemoteRevisionPage, type RemoteRevisionState, type RemoteScanInput, type RemoteScannedArtifact,
} from "./reservoir.documents";
import { ReservoirError } from "./reservoir.errors";
import { systemClock, type Clock } from "../../common/clock";
import { DEFAULT_EGRESS, egressRefusal, type EgressPolicy } from "../egress";
import { sanitizeUpstreamText } from "../sanitize";

/** Our tokens live 5 minutes: well inside the remote's 10-minute ceiling, even with clock skew. */
export const CLIENT_TOKEN_LIFETIME_SECONDS = 300;
/**
 * The remote closes a socket (4401 "Token expired") when its token expires, and the watch goes on
 * with a fresh one; a socket that lived less than this before that counts as a quick expiry.
 */
const MIN_SOCKET_LIFETIME_MS = 10_000;
/** Quick expiries in a row after which the watch gives up: the clocks of the two servers disagree. */
const MAX_QUICK_EXPIRIES = 3;
/** The remote refuses pages above 500 rows. */
const MAX_PAGE = 500;
const REVISIONS_PAGE = 100;
const FILES_PAGE = 500;
/**
 * Artifacts per listing page. Each brings its first 100 revisions, so the remote's cost estimate
 * is about 1,400 points per artifact: 20 stays well under the default limit of 50,000.
 */
const DEFAULT_ARTIFACT_PAGE = 20;
const DEFAULT_MAX_PAGES = 1000;

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
  /** Where connections may go (DEFAULT_EGRESS when absent). */
  egress?: EgressPolicy;
  /** Pages one listing (an artifact's revisions, a revision's files) may take. */
  maxPages?: number;
  /** Stops every call (a scan's deadline): they reject with the signal's reason. */
  signal?: AbortSignal;
  /** Told how each request went (the metrics). */
  observe?: UpstreamObserver;
  /** Lifetime of our tokens (CLIENT_TOKEN_LIFETIME_SECONDS unless a test shortens it). */
  tokenLifetimeSeconds?: number;
  /** What tokens are dated by (the system clock unless a test moves one by hand). */
  clock?: Clock;
}

export interface RemoteArtifactWithRevisions {
  artifact: Omit<RemoteArtifact, "revisions">;
  revisions: RemoteRevision[];
}

/** Where the remote keeps its copy of one of our revisions. */
export interface RemoteRevisionMatch {
  artifactId: string;
  /** Which of the remote's registries holds it. */
  registryName: string | null;
  revision: RemoteRevisionState;
}

/** Receives a subscription's events; `error` ends it (after graphql-ws gave up reconnecting). */
export interface StatusWatcher {
  next(state: RemoteRevisionState): void;
  error(error: ReservoirError): void;
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
  private readonly egress: EgressPolicy;

  constructor(private readonly options: ReservoirClientOptions) {
    this.egress = options.egress ?? DEFAULT_EGRESS;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.retry.attempts = Math.max(1, Math.floor(this.retry.attempts));
    this.maxResponseBytes = options.maxResponseBytes ?? 32 * 1024 * 1024;
  }

  get endpoint(): string {
    return this.options.endpoint;
  }

  /** The same client, its calls stopped when `signal` aborts. */
  withSignal(signal: AbortSignal): ReservoirClient {
    return new ReservoirClient({ ...this.options, signal: this.options.signal ? AbortSignal.any([this.options.signal, signal]) : signal });
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
        for (let pages = 1; pageInfo.hasNextPage; pages++) {
          this.checkPages(pages, `the revisions of artifact ${artifact.id}`);
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
    for (let first = true, pages = 0; ; first = false) {
      this.checkPages(pages++, `the files of revision ${revisionId}`);
      const data: z.infer<typeof RevisionDetailsData> = await this.query(REVISION_DETAILS_QUERY, { id: revisionId, first: FILES_PAGE, after, withReadme: first }, RevisionDetailsData);
      if (!data.artifactRevision) throw new ReservoirError("protocol", `the remote no longer has revision ${revisionId}`);
      if (first) readme = data.artifactRevision.readme ?? null;
      const page = data.artifactRevision.files;
      files.push(...page.edges.map((e) => e.node));
      if (files.length > maxFiles) throw new ReservoirError("protocol", `revision ${revisionId} lists more than ${maxFiles} files (SCAN_MAX_FILES)`);
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

  /**
   * The remote's revisions `version` of its ALIVE artifacts `name` of `type`, in the remote's
   * name order: one per registry of the remote that holds that name (at most ten).
   */
  async findRevisions(ref: { artifactType: string; artifactName: string; version: string }): Promise<RemoteRevisionMatch[]> {
    const filter = { name: { equals: ref.artifactName }, type: [ref.artifactType], availability: ["ALIVE"] };
    const data = await this.query(FIND_REVISION_QUERY, { filter, version: ref.version }, FindRevisionData);
    if (!data.artifacts) throw new ReservoirError("protocol", "the remote answered artifacts with null");
    const matches: RemoteRevisionMatch[] = [];
    for (const { node } of data.artifacts.edges) {
      // A remote whose filter does not know `equals` would answer with near matches; never take one.
      if (node.name !== ref.artifactName) continue;
      const revision = node.revisions?.edges.find((e) => e.node.version === ref.version)?.node;
      if (revision) matches.push({ artifactId: node.id, registryName: node.registry.name, revision });
    }
    return matches;
  }

  /** The remote revision's status now; null when the remote no longer has it. */
  async revisionState(remoteRevisionId: string): Promise<RemoteRevisionState | null> {
    const data = await this.query(REVISION_STATE_QUERY, { id: remoteRevisionId }, RevisionStateData);
    return data.artifactRevision;
  }

  /**
   * Asks the remote to import its revisions; returns its tasks. A revision it is importing
   * already comes back with its running task, so an unforced request is safe to repeat after a
   * timeout; a forced one is not (it would start another re-import).
   */
  async importArtifacts(remoteRevisionIds: readonly string[], opts: { force: boolean }): Promise<RemoteImportTask[]> {
    const data = await this.call(IMPORT_ARTIFACTS_MUTATION, {
      input: { artifactRevisionIds: remoteRevisionIds, options: { force: opts.force } },
    }, ImportArtifactsData, { timeoutMs: this.options.timeoutMs, retryTimeouts: !opts.force });
    if (!data.importArtifacts) throw new ReservoirError("protocol", "the remote answered importArtifacts with null");
    return data.importArtifacts.tasks;
  }

  /**
   * A presigned GET of one file (by path) of the remote's AVAILABLE revision. The URL carries its
   * own authorization: it is fetched without our token. The remote clamps `expirationSeconds` to
   * its own maximum.
   */
  async presignedDownloadUrl(remoteRevisionId: string, key: string, expirationSeconds: number): Promise<string> {
    const data = await this.call(PRESIGNED_DOWNLOAD_URL_MUTATION, {
      input: { artifactRevisionId: remoteRevisionId, key, expiration: expirationSeconds },
    }, PresignedDownloadUrlData, { timeoutMs: this.options.timeoutMs, retryTimeouts: true });
    if (!data.getPresignedDownloadUrl) throw new ReservoirError("protocol", "the remote answered getPresignedDownloadUrl with null");
    return data.getPresignedDownloadUrl.presignedUrl;
  }

  /**
   * Follows the remote's `artifactStatusChanged` for these revisions over graphql-ws. Every
   * (re)connection authenticates with a fresh token, so a watch may outlive one token; a dropped
   * connection is retried by graphql-ws, and events sent while it was down are lost: callers
   * that must not miss a transition also poll `revisionState`. Returns the function that stops it.
   */
  watchStatuses(remoteRevisionIds: readonly string[], watcher: StatusWatcher): () => void {
    const url = websocketUrl(this.options.endpoint);
    const refused = this.egress.refusalOfUrl(new URL(url));
    if (refused) {
      queueMicrotask(() => watcher.error(new ReservoirError("network", `cannot reach the remote's WebSocket: ${refused.message}`, { cause: refused })));
      return () => {};
    }
    const lookup = this.egress.lookup;
    // ws resolves names with the policy's lookup, so a name is checked as it is resolved, as fetch's are.
    const webSocketImpl = class extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols, { lookup });
      }
    };
    let stopped = false;
    let current: { ws: WsClient; unsubscribe: () => void } | null = null;
    let quickExpiries = 0;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      current?.unsubscribe();
      void current?.ws.dispose();
    };
    const fail = (error: ReservoirError) => {
      if (stopped) return;
      stop();
      watcher.error(error);
    };
    const clock = this.options.clock ?? systemClock;
    const connect = (): { ws: WsClient; unsubscribe: () => void } => {
      let connectedAt: number | null = null;
      const ws: WsClient = createClient({
        url,
        webSocketImpl,
        connectionParams: () => ({ authorization: `Bearer ${this.token()}` }),
        lazy: true,
        keepAlive: 15_000,
        retryAttempts: 8,
        on: { connected: () => (connectedAt = clock.now()) },
      });
      const unsubscribe = ws.subscribe({ query: STATUS_CHANGED_SUBSCRIPTION, variables: { input: { artifactRevisionIds: remoteRevisionIds } } }, {
        next: (value) => {
          if (stopped) return;
          const failure = graphQLFailure(value, null);
          if (failure) return fail(failure);
          const parsed = StatusChangedData.safeParse(value.data);
          if (!parsed.success) return fail(new ReservoirError("protocol", "the remote's artifactStatusChanged event is not what this client expects"));
          watcher.next(parsed.data.artifactStatusChanged.artifactRevision);
        },
        error: (error) => {
          if (stopped) return;
          if (!isTokenExpiryClose(error)) return fail(subscriptionFailure(error));
          // Our token's exp passed and the remote closed the socket, as it should: go on with a fresh token.
          const lived = connectedAt === null ? 0 : clock.now() - connectedAt;
          quickExpiries = lived < MIN_SOCKET_LIFETIME_MS ? quickExpiries + 1 : 0;
          if (quickExpiries >= MAX_QUICK_EXPIRIES) {
            return fail(new ReservoirError("refused", `the remote closed its WebSocket ${quickExpiries} times in a row as our token expired right after connecting (close code 4401); are the two servers' clocks apart?`));
          }
          void ws.dispose();
          current = connect();
        },
        complete: () => fail(new ReservoirError("protocol", "the remote ended the artifactStatusChanged subscription")),
      });
      return { ws, unsubscribe };
    };
    current = connect();
    return stop;
  }

  private checkPages(pages: number, what: string): void {
    const max = this.options.maxPages ?? DEFAULT_MAX_PAGES;
    if (pages >= max) throw new ReservoirError("protocol", `${what} go on past ${max} pages (SCAN_MAX_TREE_PAGES)`);
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
    const { signal } = this.options;
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      const control = new AttemptControl(opts.timeoutMs, signal);
      control.url = endpoint;
      let answered = false;
      let answer: { status: number; headers: HeaderReader; bytes: Buffer };
      try {
        control.arm("response");
        // undici's request never follows a redirect: following one would hand our token to another host.
        const response = answerOf(await this.egress.request(endpoint, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/graphql-response+json, application/json",
            authorization: `Bearer ${this.token()}`,
          },
          body,
          signal: control.signal,
        }));
        control.disarm();
        const { status, headers } = response;
        answered = true;
        this.options.observe?.(outcomeOfStatus(status));
        if (status >= 300 && status < 400) {
          discard(response);
          throw new ReservoirError("http", `the remote answered HTTP ${status}, a redirect${redirectTarget(headers.get("location"), endpoint)}; check the endpoint`, { status });
        }
        if (isRetryableStatus(status) && attempt < this.retry.attempts) {
          const decision = retryDelay(attempt, this.retry, headers);
          if (decision.retry) {
            discard(response);
            await sleep(decision.delayMs, signal);
            continue;
          }
        }
        const read = await readBody({ response, url: new URL(endpoint), hops: [], attempt, control }, this.maxResponseBytes);
        if (read.truncated) throw new ReservoirError("protocol", `the remote's answer is larger than ${this.maxResponseBytes} bytes`, { status });
        answer = { status, headers, bytes: read.bytes };
      } catch (error) {
        control.disarm();
        if (error instanceof ReservoirError) throw error;
        // Only failures before an answer: one that came was counted by its status.
        if (!answered) this.options.observe?.(outcomeOfFailure(error, control.classify(error)));
        const refused = egressRefusal(error);
        if (refused) throw new ReservoirError("network", `cannot reach the remote: ${refused.message}`, { cause: refused });
        const kind = control.classify(error);
        if (kind === "aborted") throw signal!.reason;
        const final = kind === "other" || attempt >= this.retry.attempts || (kind === "timeout" && !opts.retryTimeouts);
        if (final) {
          const tries = attempt > 1 ? ` (after ${attempt} attempts)` : "";
          throw kind === "timeout"
            ? new ReservoirError("timeout", `no answer within ${opts.timeoutMs} ms${tries}`, { cause: error })
            : new ReservoirError("network", `cannot reach the remote: ${describeNetworkError(error)}${tries}`, { cause: error });
        }
        await sleep(backoffDelay(attempt, this.retry), signal);
        continue;
      }
      return this.interpret(answer, schema, attempt);
    }
  }

  private interpret<S extends z.ZodType>(answer: { status: number; headers: HeaderReader; bytes: Buffer }, schema: S, attempts: number): z.infer<S> {
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
    const iat = Math.floor((this.options.clock ?? systemClock).now() / 1000);
    const exp = iat + (this.options.tokenLifetimeSeconds ?? CLIENT_TOKEN_LIFETIME_SECONDS);
    return jwt.sign({ iat, exp }, secretKey, { algorithm: "HS256", issuer: accessKey, subject: accessKey });
  }
}

/** The first GraphQL error of a response, as a ReservoirError naming the remote's code; null when there is none. */
export function graphQLFailure(payload: unknown, status: number | null): ReservoirError | null {
  const errors = (payload as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return null;
  const first = errors[0] as GraphQLErrorShape;
  const remoteMessage = typeof first.message === "string" ? sanitizeUpstreamText(first.message, 500) : "unknown error";
  const remoteCode = typeof first.extensions?.code === "string" && /^[A-Z][A-Z0-9_]{0,63}$/.test(first.extensions.code) ? first.extensions.code : null;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error(s))` : "";
  if (remoteCode === "UNAUTHENTICATED") {
    return new ReservoirError("refused", `the remote refused the key pair: ${remoteMessage}`, { status, remoteCode, remoteMessage });
  }
  if (remoteCode === "FORBIDDEN") {
    return new ReservoirError("forbidden", `the remote's key pair may not do this: ${remoteMessage}`, { status, remoteCode, remoteMessage });
  }
  return new ReservoirError("remote", `the remote reported ${remoteCode ?? "an error"}: ${remoteMessage}${more}`, { status, remoteCode, remoteMessage });
}

/** Where a redirect pointed, as far as an operator needs it: the origin only, never the remote's whole Location. */
function redirectTarget(location: string | null, base: string): string {
  if (!location) return " without a Location";
  try {
    return ` to ${sanitizeUpstreamText(new URL(location, base).origin, 120)}`;
  } catch {
    return " to an invalid URL";
  }
}

/** The graphql-ws URL of a GraphQL endpoint: the same path, ws(s) for http(s). */
export function websocketUrl(endpoint: string): string {
  const url = new URL(endpoint);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

/** The remote closed the socket because our token's exp passed (src/server/socket-credentials.ts). */
function isTokenExpiryClose(error: unknown): boolean {
  const close = error as { code?: unknown; reason?: unknown } | null;
  return close?.code === 4401 && close.reason === "Token expired";
}

/** What graphql-ws hands the error sink: GraphQL errors of the subscribe step, a close event, or an Error. */
function subscriptionFailure(error: unknown): ReservoirError {
  if (Array.isArray(error)) return graphQLFailure({ errors: error }, null) ?? new ReservoirError("remote", "the remote refused the subscription");
  const close = error as { code?: unknown; reason?: unknown } | null;
  if (close && typeof close.code === "number") {
    const reason = typeof close.reason === "string" && close.reason ? `: ${sanitizeUpstreamText(close.reason)}` : "";
    // 4401/4403: graphql-ws closes this way when onConnect refuses the connectionParams.
    if (close.code === 4401 || close.code === 4403) return new ReservoirError("refused", `the remote refused the key pair on its WebSocket (close code ${close.code}${reason})`);
    return new ReservoirError("network", `the remote's WebSocket closed (code ${close.code}${reason})`);
  }
  return new ReservoirError("network", `cannot reach the remote's WebSocket: ${describeNetworkError(error)}`, { cause: error });
}

/** The key pair and endpoint of one Reservoir registry. */
export interface ReservoirConnection {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  observe?: UpstreamObserver;
}

/** A client per registry, sharing the server's upstream settings (timeouts, retries). */
export function reservoirClientFactory(defaults: Omit<ReservoirClientOptions, keyof ReservoirConnection>): (registry: ReservoirConnection) => ReservoirClient {
  return (registry) => new ReservoirClient({ ...defaults, endpoint: registry.endpoint, accessKey: registry.accessKey, secretKey: registry.secretKey, observe: registry.observe });
}
