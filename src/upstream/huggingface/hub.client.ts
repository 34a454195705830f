import { DEFAULT_RETRY, type RetryPolicy } from "../../common/backoff";
import {
  UpstreamRequestError,
  describeNetworkError,
  discard,
  normalizeEtag,
  parseContentRange,
  parseLength,
  parseLinkHeader,
  readBody,
  requestWithRetry,
  streamBody,
  type RequestSpec,
  type UpstreamObserver,
  type UpstreamResponse,
} from "../http";
import type { EgressPolicy } from "../egress";
import { sanitizeUpstreamText } from "../sanitize";
import { HubError, type HubClient, type HubDownload, type HubModelInfo, type HubModelSummary, type HubRef, type HubRefs, type HubTreeEntry } from "./hub.port";

export interface HubClientOptions {
  /** The hub's base URL, e.g. https://huggingface.co (a path prefix is kept). */
  endpoint: string;
  token?: string;
  /** Deadline for response headers, and for each wait on body data. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  userAgent?: string;
  /** Where connections may go (DEFAULT_EGRESS when absent). */
  egress?: EgressPolicy;
  /** Pages one listing (a tree, the model list) may take: a hub whose `next` never ends is refused past it. */
  maxPages?: number;
  /** Files one tree may list. */
  maxTreeFiles?: number;
  /** Told how each request went (the metrics). */
  observe?: UpstreamObserver;
}

/** Largest JSON document (one page of a list or tree) we are willing to buffer. */
const MAX_JSON_BYTES = 32 * 1024 * 1024;
/** What JSON and text may come as (readBody decodes it); a download asks for the bytes as they are. */
const COMPRESSED = "gzip, deflate, br";
/** The hub's own page cap for the model list. */
const MAX_PAGE = 1000;
const DEFAULT_MAX_PAGES = 1000;
const DEFAULT_MAX_TREE_FILES = 100_000;
/**
 * Fields of the model list beyond the hub's default set; without them the list omits sha, author,
 * gated, lastModified. cardData too: a scan then needs no model info call per model.
 */
const LIST_EXPAND = ["author", "sha", "lastModified", "createdAt", "gated", "private", "tags", "pipeline_tag", "library_name", "downloads", "likes", "cardData"];

/**
 * The Hub client on undici's request (http.ts). Every call retries 429/5xx/connection errors/timeouts within
 * `retry`, and sends the token only to the endpoint's origin (LFS downloads redirect to a CDN).
 */
export function createHubClient(options: HubClientOptions): HubClient {
  return new HttpHubClient(options);
}

class HttpHubClient implements HubClient {
  private readonly base: string;
  private readonly origin: string;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly headers: Record<string, string>;
  private readonly credentials: RequestSpec["credentials"];
  private readonly egress: EgressPolicy | undefined;
  private readonly maxPages: number;
  private readonly maxTreeFiles: number;
  private readonly observe: UpstreamObserver | undefined;

  constructor(options: HubClientOptions) {
    const endpoint = new URL(options.endpoint);
    if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") throw new Error(`hub endpoint must be http(s): ${options.endpoint}`);
    endpoint.search = "";
    endpoint.hash = "";
    this.base = endpoint.toString().replace(/\/+$/, "");
    this.origin = endpoint.origin;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.retry.attempts = Math.max(1, Math.floor(this.retry.attempts));
    this.headers = { "user-agent": options.userAgent ?? "artifact-registry/0.1 (hub client)" };
    this.credentials = options.token ? { origin: this.origin, headers: { authorization: `Bearer ${options.token}` } } : undefined;
    this.egress = options.egress;
    this.maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
    this.maxTreeFiles = options.maxTreeFiles ?? DEFAULT_MAX_TREE_FILES;
    this.observe = options.observe;
  }

  async *listModels(opts: { search?: string; author?: string; filter?: string; limit: number; signal?: AbortSignal }): AsyncIterable<HubModelSummary> {
    let remaining = Math.floor(opts.limit);
    if (!(remaining > 0)) return;
    const query = new URLSearchParams();
    if (opts.search) query.set("search", opts.search);
    if (opts.author) query.set("author", opts.author);
    if (opts.filter) query.set("filter", opts.filter);
    query.set("sort", "downloads");
    query.set("direction", "-1");
    query.set("limit", String(Math.min(remaining, MAX_PAGE)));
    for (const field of LIST_EXPAND) query.append("expand", field);
    for await (const item of this.pages(`${this.base}/api/models?${query}`, opts.signal)) {
      const model = toSummary(item);
      if (!model) continue;
      yield model;
      if (--remaining <= 0) return;
    }
  }

  async modelInfo(repo: string, revision?: string, opts?: { signal?: AbortSignal }): Promise<HubModelInfo> {
    const url = revision == null ? this.apiUrl(repo) : `${this.apiUrl(repo)}/revision/${encodeRevision(revision)}`;
    const json = await this.getJson(url, opts?.signal);
    const summary = toSummary(json);
    if (!summary || typeof summary.sha !== "string") throw malformed(url, "model info without id or sha");
    return { ...summary, sha: summary.sha };
  }

  async refs(repo: string, opts?: { signal?: AbortSignal }): Promise<HubRefs> {
    const url = `${this.apiUrl(repo)}/refs`;
    const json = await this.getJson(url, opts?.signal);
    if (!isRecord(json)) throw malformed(url, "refs is not an object");
    return { branches: toRefs(json.branches), tags: toRefs(json.tags) };
  }

  async *tree(repo: string, revision: string, opts?: { signal?: AbortSignal }): AsyncIterable<HubTreeEntry> {
    // Without expand: the hub's pages then hold 1000 entries, not 50, and every field used here is in them.
    const url = `${this.apiUrl(repo)}/tree/${encodeRevision(revision)}?recursive=true`;
    let files = 0;
    for await (const item of this.pages(url, opts?.signal)) {
      const entry = toTreeEntry(item);
      if (!entry) continue;
      if (entry.type === "file" && ++files > this.maxTreeFiles) {
        throw new HubError(`the tree of ${repo}@${revision} lists more than ${this.maxTreeFiles} files (SCAN_MAX_FILES)`, null, null, false, safeUrl(url));
      }
      yield entry;
    }
  }

  async download(
    repo: string,
    revision: string,
    path: string,
    opts?: { range?: { start: number; end?: number }; signal?: AbortSignal },
  ): Promise<HubDownload> {
    const url = this.resolveUrl(repo, revision, path);
    const headers: Record<string, string> = {};
    if (opts?.range) headers.range = rangeHeader(opts.range);
    return this.call(this.spec(url, headers), opts?.signal, async (upstream) => {
      const { response } = upstream;
      if (response.status !== 200 && response.status !== 206) throw await errorFrom(upstream, this.origin);
      const fromHops = (name: string) => upstream.hops.map((hop) => hop.headers.get(name)).find((value) => value != null) ?? null;
      const contentLength = parseLength(response.headers.get("content-length"));
      const contentRange = response.status === 206 ? parseContentRange(response.headers.get("content-range")) : null;
      const linkedSize = parseLength(fromHops("x-linked-size") ?? response.headers.get("x-linked-size"));
      return {
        status: response.status,
        body: streamBody(upstream, (error, kind) => streamError(upstream, error, kind)),
        commit: response.headers.get("x-repo-commit") ?? fromHops("x-repo-commit"),
        etag: normalizeEtag(fromHops("x-linked-etag") ?? response.headers.get("x-linked-etag") ?? response.headers.get("etag") ?? fromHops("etag")),
        size: linkedSize ?? contentRange?.total ?? (response.status === 200 ? contentLength : null),
        contentLength,
        contentRange,
      };
    });
  }

  async readText(repo: string, revision: string, path: string, maxBytes: number, opts?: { signal?: AbortSignal }): Promise<string | null> {
    const url = this.resolveUrl(repo, revision, path);
    // Text shown to every user comes from the hub itself: a redirect elsewhere (an internal
    // address, say) is not followed, and only a text body is taken.
    return this.call({ ...this.spec(url, { "accept-encoding": COMPRESSED }), sameOrigin: true }, opts?.signal, async (upstream) => {
      const { response } = upstream;
      if (response.status !== 200) {
        const error = await errorFrom(upstream, this.origin);
        // A missing repo or revision is a real problem; only a missing file means "no README".
        if (error.status === 404 && (error.errorCode === "EntryNotFound" || error.errorCode == null)) return null;
        throw error;
      }
      const type = response.headers.get("content-type");
      if (!isTextType(type)) {
        discard(response);
        throw new HubError(`the hub answered ${path} as ${sanitizeUpstreamText(type ?? "no content type", 80)}, not as text`, 200, null, false, safeUrl(upstream.url));
      }
      const { bytes, truncated } = await readBody(upstream, Math.max(0, Math.floor(maxBytes)));
      const decoder = new TextDecoder("utf-8");
      // When the cut falls inside a multi-byte character, drop the fragment rather than emit U+FFFD.
      return truncated ? decoder.decode(bytes, { stream: true }) : decoder.decode(bytes);
    });
  }

  // -------------------------------------------------------------------------------------------

  private apiUrl(repo: string): string {
    return `${this.base}/api/models/${encodeRepo(repo)}`;
  }

  private resolveUrl(repo: string, revision: string, path: string): string {
    return `${this.base}/${encodeRepo(repo)}/resolve/${encodeRevision(revision)}/${encodePath(path)}`;
  }

  private spec(url: string, headers: Record<string, string> = {}): RequestSpec {
    return { url, headers: { ...this.headers, ...headers }, credentials: this.credentials, maxRedirects: 5 };
  }

  private getJson(url: string, signal?: AbortSignal): Promise<unknown> {
    return this.request(url, signal, (upstream) => readJson(upstream)).then((page) => page.json);
  }

  /** The hub's API: only the hub answers it (a renamed repo's redirect stays on its origin), never a server it points at. */
  private request<T>(url: string, signal: AbortSignal | undefined, consume: (upstream: UpstreamResponse) => Promise<T>): Promise<T> {
    return this.call({ ...this.spec(url, { accept: "application/json", "accept-encoding": COMPRESSED }), sameOrigin: true }, signal, async (upstream) => {
      if (upstream.response.status !== 200) throw await errorFrom(upstream, this.origin);
      return consume(upstream);
    });
  }

  private call<T>(spec: RequestSpec, signal: AbortSignal | undefined, consume: (upstream: UpstreamResponse) => Promise<T>): Promise<T> {
    return requestWithRetry(spec, { timeoutMs: this.timeoutMs, retry: this.retry, signal, egress: this.egress, observe: this.observe }, consume).catch((error: unknown) => {
      throw toHubError(error, String(spec.url), signal);
    });
  }

  /** The items of every page, following `Link: <…>; rel="next"` within the hub's origin. */
  private async *pages(first: string, signal?: AbortSignal): AsyncIterable<unknown> {
    const seen = new Set<string>();
    for (let url: string | undefined = first; url; ) {
      if (seen.size >= this.maxPages) throw new HubError(`the hub's listing goes on past ${this.maxPages} pages (SCAN_MAX_TREE_PAGES)`, null, null, false, safeUrl(first));
      seen.add(url);
      const page: JsonPage = await this.request(url, signal, (upstream) => readJson(upstream));
      if (!Array.isArray(page.json)) throw malformed(url, "a page is not a JSON array");
      yield* page.json;
      const next: string | undefined = parseLinkHeader(page.link, page.url).next;
      if (next == null) return;
      if (new URL(next).origin !== this.origin) throw new HubError(`refusing a next page on another origin: ${new URL(next).origin}`, null, null, false, url);
      if (seen.has(next)) throw malformed(url, "the next page link loops");
      url = next;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding. Dot segments would be normalised away by the URL parser (even as %2E), and an empty
// segment changes the route, so such names are refused instead of sent.

function checkSegment(segment: string, what: string, value: string): void {
  if (segment === "" || segment === "." || segment === ".." || /^(%2e|\.){1,2}$/i.test(segment)) {
    throw new HubError(`invalid ${what}: ${JSON.stringify(value)}`, null, null, false, "");
  }
}

export function encodeRepo(repo: string): string {
  const segments = repo.split("/");
  if (segments.length > 2) throw new HubError(`invalid repository id: ${JSON.stringify(repo)}`, null, null, false, "");
  for (const segment of segments) checkSegment(segment, "repository id", repo);
  return segments.map(encodeURIComponent).join("/");
}

/** A revision is one path segment: `refs/pr/1` travels as `refs%2Fpr%2F1`. */
export function encodeRevision(revision: string): string {
  checkSegment(revision, "revision", revision);
  return encodeURIComponent(revision);
}

export function encodePath(path: string): string {
  const segments = path.split("/");
  for (const segment of segments) checkSegment(segment, "file path", path);
  return segments.map(encodeURIComponent).join("/");
}

function rangeHeader(range: { start: number; end?: number }): string {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end != null && (!Number.isSafeInteger(end) || end < start))) {
    throw new HubError(`invalid range ${JSON.stringify(range)}`, null, null, false, "");
  }
  return `bytes=${start}-${end ?? ""}`;
}

// ---------------------------------------------------------------------------------------------
// Responses and errors

interface JsonPage {
  json: unknown;
  link: string | null;
  url: URL;
}

async function readJson(upstream: UpstreamResponse): Promise<JsonPage> {
  const { bytes, truncated } = await readBody(upstream, MAX_JSON_BYTES);
  const url = upstream.url.toString();
  if (truncated) throw malformed(url, `response larger than ${MAX_JSON_BYTES} bytes`);
  try {
    return { json: JSON.parse(bytes.toString("utf8")), link: upstream.response.headers.get("link"), url: upstream.url };
  } catch {
    throw malformed(url, "response is not JSON");
  }
}

function malformed(url: string, what: string): HubError {
  return new HubError(`unexpected hub response: ${what}`, null, null, false, safeUrl(url));
}

/** A signed CDN URL is a short-lived credential of its own: keep its query out of errors and logs. */
function safeUrl(url: string | URL): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return String(url);
  }
}

/**
 * The hub's refusal as a HubError: the status, and the hub's own error code and message when the
 * hub itself answered (X-Error-Code, X-Error-Message, or a JSON `error`), cleaned and cut short.
 * A body from anywhere a redirect led (a CDN, or an internal service a hostile hub points at) is
 * never read: it may be anything, and the message ends up where users read it.
 */
async function errorFrom(upstream: UpstreamResponse, hubOrigin: string): Promise<HubError> {
  const { response } = upstream;
  const status = response.status;
  const fromHub = upstream.url.origin === hubOrigin;
  const code = fromHub ? errorCodeOf(response.headers.get("x-error-code")) : null;
  let message: string | null = null;
  const header = fromHub ? response.headers.get("x-error-message") : null;
  if (header) message = sanitizeUpstreamText(header);
  else if (fromHub && (response.headers.get("content-type") ?? "").toLowerCase().includes("json")) {
    message = await readBody(upstream, 4096)
      .then(({ bytes }) => {
        const parsed: unknown = JSON.parse(bytes.toString("utf8"));
        return isRecord(parsed) && typeof parsed.error === "string" ? sanitizeUpstreamText(parsed.error) : null;
      })
      .catch(() => null);
  }
  discard(response);
  const retryable = status === 408 || status === 429 || status >= 500;
  const retryAfter = sanitizeUpstreamText(response.headers.get("retry-after") ?? "", 40);
  const where = fromHub ? "hub" : `server at ${upstream.url.origin} (where the hub redirected)`;
  const text = `${status}${code ? ` ${code}` : ""}${message ? `: ${message}` : ""}${retryAfter ? ` (Retry-After: ${retryAfter})` : ""}`;
  return new HubError(`${where} answered ${text}`, status, code, retryable, safeUrl(upstream.url));
}

/** X-Error-Code is a word like RepoNotFound; anything else is not the hub's. */
function errorCodeOf(value: string | null): string | null {
  return value && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(value) ? value : null;
}

function isTextType(value: string | null): boolean {
  const type = (value ?? "").split(";")[0].trim().toLowerCase();
  return type === "text/plain" || type === "text/markdown" || type === "text/x-markdown";
}

function toHubError(error: unknown, url: string, signal?: AbortSignal): unknown {
  if (error instanceof HubError) return error;
  if (signal?.aborted && error === signal.reason) return error;
  if (error instanceof UpstreamRequestError) return new HubError(error.message, null, null, error.retryable, safeUrl(error.url || url));
  return error;
}

function streamError(upstream: UpstreamResponse, error: unknown, kind: "aborted" | "timeout" | "network" | "other"): Error {
  // The caller's own abort reason, passed through untouched (it may come from another realm).
  if (kind === "aborted") return error as Error;
  const what = kind === "timeout" && error instanceof Error ? error.message : describeNetworkError(error);
  const hubError = new HubError(`download interrupted: ${what}`, null, null, kind !== "other", safeUrl(upstream.url));
  return Object.assign(hubError, { cause: error });
}

// ---------------------------------------------------------------------------------------------
// Untrusted JSON to port types: keep what has the expected type, drop the rest.

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined);

function toSummary(value: unknown): HubModelSummary | null {
  if (!isRecord(value)) return null;
  const id = str(value.id) ?? str(value.modelId);
  if (!id) return null;
  const summary: HubModelSummary = { id };
  const author = str(value.author);
  if (author !== undefined) summary.author = author;
  const sha = str(value.sha);
  if (sha !== undefined) summary.sha = sha;
  const lastModified = str(value.lastModified);
  if (lastModified !== undefined) summary.lastModified = lastModified;
  const createdAt = str(value.createdAt);
  if (createdAt !== undefined) summary.createdAt = createdAt;
  if (value.gated === false || value.gated === "auto" || value.gated === "manual") summary.gated = value.gated;
  else if (value.gated === true) summary.gated = "manual";
  if (typeof value.private === "boolean") summary.private = value.private;
  if (Array.isArray(value.tags)) summary.tags = value.tags.filter((tag): tag is string => typeof tag === "string");
  const pipelineTag = str(value.pipeline_tag);
  if (pipelineTag !== undefined) summary.pipeline_tag = pipelineTag;
  const library = str(value.library_name);
  if (library !== undefined) summary.library_name = library;
  const downloads = num(value.downloads);
  if (downloads !== undefined) summary.downloads = downloads;
  const likes = num(value.likes);
  if (likes !== undefined) summary.likes = likes;
  if (isRecord(value.cardData)) summary.cardData = value.cardData;
  return summary;
}

function toRefs(value: unknown): HubRef[] {
  if (!Array.isArray(value)) return [];
  const refs: HubRef[] = [];
  for (const item of value) {
    if (!isRecord(item)) continue;
    const name = str(item.name);
    const targetCommit = str(item.targetCommit);
    if (!name || !targetCommit) continue;
    refs.push({ name, ref: str(item.ref) ?? name, targetCommit });
  }
  return refs;
}

function toTreeEntry(value: unknown): HubTreeEntry | null {
  if (!isRecord(value)) return null;
  const type = value.type;
  const path = str(value.path);
  const oid = str(value.oid);
  if ((type !== "file" && type !== "directory") || path === undefined || oid === undefined) return null;
  const entry: HubTreeEntry = { type, path, size: num(value.size) ?? 0, oid };
  if (isRecord(value.lfs)) {
    const lfsOid = str(value.lfs.oid);
    const lfsSize = num(value.lfs.size);
    if (lfsOid !== undefined && lfsSize !== undefined) entry.lfs = { oid: lfsOid, size: lfsSize };
  }
  return entry;
}
