import { Readable, pipeline } from "node:stream";
import zlib from "node:zlib";
import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import { backoffDelay, sleep, type RetryPolicy } from "../common/backoff";
import { DEFAULT_EGRESS, egressRefusal, type EgressPolicy } from "./egress";
import type { UpstreamOutcome } from "../metrics/metrics.ports";

/**
 * Shared HTTP plumbing for upstream clients (Hugging Face Hub, Reservoir): deadlines, retries
 * with backoff that honours Retry-After, and redirects followed by hand so credentials stay on
 * their own origin. Domain clients turn the outcomes into their own error types.
 */

/**
 * A server that asks for a wait this many times longer than maxDelayMs is not going to accept
 * us after a capped wait either: give up at once instead of burning the remaining attempts.
 */
const GIVE_UP_FACTOR = 3;

export class UpstreamTimeoutError extends Error {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
    readonly phase: "response" | "body",
  ) {
    super(phase === "response" ? `no response within ${timeoutMs} ms` : `no data for ${timeoutMs} ms while reading the body`);
    this.name = "UpstreamTimeoutError";
  }
}

/**
 * The request could not be completed: network failures or timeouts on every attempt, a bad
 * redirect, or a connection the egress policy refused.
 */
export class UpstreamRequestError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly kind: "network" | "timeout" | "redirect" | "egress",
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "UpstreamRequestError";
  }

  get retryable(): boolean {
    return this.kind === "network" || this.kind === "timeout";
  }
}

// ---------------------------------------------------------------------------------------------
// Header parsing

/** Response headers read as the Fetch API's `Headers` reads them (a `Headers` is one). */
export interface HeaderReader {
  get(name: string): string | null;
}

/** undici's header record (lower-case names; a repeated header as an array) as a HeaderReader. */
export function headerReader(raw: IncomingHttpHeaders): HeaderReader {
  return {
    get(name) {
      const value = raw[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(", ") : value;
    },
  };
}

/** Retry-After as milliseconds: delta-seconds or an HTTP-date. Null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (value == null) return null;
  const text = value.trim();
  if (text === "") return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/**
 * The reset of a `RateLimit` header as milliseconds. Understands the IETF draft's structured
 * form the Hub sends (`"api";r=0;t=55`) and the older `limit=100, remaining=0, reset=55`.
 */
export function parseRateLimitReset(value: string | null | undefined): number | null {
  if (value == null) return null;
  const match = /(?:^|[;,\s])(?:t|reset)\s*=\s*(\d+)/i.exec(value);
  return match ? Number(match[1]) * 1000 : null;
}

/** What the server asked us to wait, from Retry-After and RateLimit, whichever is longer. */
export function serverRetryDelay(headers: HeaderReader, now = Date.now()): number | null {
  const retryAfter = parseRetryAfter(headers.get("retry-after"), now);
  const reset = parseRateLimitReset(headers.get("ratelimit"));
  if (retryAfter == null) return reset;
  if (reset == null) return retryAfter;
  return Math.max(retryAfter, reset);
}

/** `Link` header relations (`<url>; rel="next"`), each URL resolved against `base`. */
export function parseLinkHeader(value: string | null | undefined, base?: string | URL): Record<string, string> {
  const links: Record<string, string> = {};
  if (!value) return links;
  const pattern = /<([^>]*)>((?:\s*;\s*[^;,]*)*)/g;
  for (let match = pattern.exec(value); match; match = pattern.exec(value)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(match[2]);
    if (!rel) continue;
    let target: string;
    try {
      target = new URL(match[1], base).toString();
    } catch {
      continue;
    }
    for (const name of (rel[1] ?? rel[2]).split(/\s+/)) if (name && !(name in links)) links[name.toLowerCase()] = target;
  }
  return links;
}

/** Strips `W/` and the quotes from an entity tag. */
export function normalizeEtag(value: string | null | undefined): string | null {
  if (!value) return null;
  const tag = value.trim().replace(/^W\//i, "").replace(/^"(.*)"$/, "$1");
  return tag === "" ? null : tag;
}

export function parseContentRange(value: string | null | undefined): { start: number; end: number; total: number | null } | null {
  if (!value) return null;
  const match = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value);
  if (!match) return null;
  return { start: Number(match[1]), end: Number(match[2]), total: match[3] === "*" ? null : Number(match[3]) };
}

export function parseLength(value: string | null | undefined): number | null {
  if (value == null || !/^\s*\d+\s*$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

// ---------------------------------------------------------------------------------------------
// Backoff

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; suggestedMs: number };

/** How long to wait before the next try after a retryable response, or whether to give up now. */
export function retryDelay(attempt: number, policy: RetryPolicy, headers?: HeaderReader, now = Date.now()): RetryDecision {
  const suggested = headers ? serverRetryDelay(headers, now) : null;
  if (suggested == null) return { retry: true, delayMs: backoffDelay(attempt, policy) };
  if (suggested > policy.maxDelayMs * GIVE_UP_FACTOR) return { retry: false, suggestedMs: suggested };
  return { retry: true, delayMs: Math.min(suggested, policy.maxDelayMs) };
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "ENETRESET",
  "EHOSTUNREACH",
]);

interface ErrorLike {
  name?: unknown;
  message: string;
  code?: unknown;
  cause?: unknown;
}

/**
 * The error and its causes. Checked by shape, not `instanceof`: undici's errors come from
 * Node's own realm, which differs from the caller's under Jest and other VM sandboxes.
 */
function* errorChain(error: unknown): Generator<ErrorLike> {
  for (let e: unknown = error, depth = 0; depth < 5 && typeof e === "object" && e !== null && typeof (e as ErrorLike).message === "string"; depth++) {
    yield e as ErrorLike;
    e = (e as ErrorLike).cause;
  }
}

/** undici's errors about the request we made, not the connection: another try would fail the same way. */
const OUR_MISTAKES = new Set(["UND_ERR_INVALID_ARG", "UND_ERR_INVALID_RETURN_VALUE", "UND_ERR_NOT_SUPPORTED"]);

/** Connection failures worth another try: resets, refused connections, undici socket errors. */
export function isTransientNetworkError(error: unknown): boolean {
  // A refused connection fails like any other (fetch: "fetch failed"): the cause tells them apart.
  if (egressRefusal(error)) return false;
  for (const e of errorChain(error)) {
    if (typeof e.code === "string" && OUR_MISTAKES.has(e.code)) return false;
    if (typeof e.code === "string" && (TRANSIENT_CODES.has(e.code) || e.code.startsWith("UND_ERR_"))) return true;
    // undici reports every failure to connect or to read as a bare TypeError with these messages.
    if (e.name === "TypeError" && (e.message === "fetch failed" || e.message === "terminated")) return true;
    if (/socket hang up|other side closed/i.test(e.message)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Outcomes, for the metrics

/** Told how each attempt went: once per request sent (redirects followed), by its answer or why there was none. */
export type UpstreamObserver = (outcome: UpstreamOutcome) => void;

export function outcomeOfStatus(status: number): UpstreamOutcome {
  if (status === 429) return "rate_limited";
  if (status >= 500) return "server_error";
  if (status >= 400) return "client_error";
  return "ok";
}

/** Why an attempt got no answer; `kind` is AttemptControl.classify's verdict. */
export function outcomeOfFailure(error: unknown, kind: "aborted" | "timeout" | "network" | "other"): UpstreamOutcome {
  if (kind === "aborted") return "cancelled";
  if (kind === "timeout") return "timeout";
  if (egressRefusal(error) || (error instanceof UpstreamRequestError && (error.kind === "egress" || error.kind === "redirect"))) return "refused";
  return "network_error";
}

// ---------------------------------------------------------------------------------------------
// One attempt

/**
 * The abort controller of one attempt. It is armed while we wait on the network (for response
 * headers, then for each body chunk) and disarmed while the consumer is busy, so a slow consumer
 * is never mistaken for a stalled server.
 */
export class AttemptControl {
  private readonly controller = new AbortController();
  readonly signal: AbortSignal;
  private timer: NodeJS.Timeout | undefined;
  timeout: UpstreamTimeoutError | null = null;
  url = "";

  constructor(
    readonly timeoutMs: number,
    readonly outer?: AbortSignal,
  ) {
    this.signal = outer ? AbortSignal.any([this.controller.signal, outer]) : this.controller.signal;
  }

  arm(phase: "response" | "body"): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timeout = new UpstreamTimeoutError(this.url, this.timeoutMs, phase);
      this.controller.abort(this.timeout);
    }, this.timeoutMs);
  }

  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  abort(reason?: unknown): void {
    this.disarm();
    this.controller.abort(reason);
  }

  /** Why a call under this control failed. Errors of the caller's own making (a 404 it turned into an error) are "other". */
  classify(error: unknown): "aborted" | "timeout" | "network" | "other" {
    if (this.outer?.aborted) return "aborted";
    if (error instanceof UpstreamTimeoutError) return "timeout";
    if (isTransientNetworkError(error)) return "network";
    if (this.timeout && (error as { name?: unknown } | null)?.name === "AbortError") return "timeout";
    return "other";
  }
}

export interface RedirectHop {
  url: URL;
  status: number;
  headers: HeaderReader;
}

/** One answer: its status, headers and body, a Node stream that `discard` (or reading it to its end) closes. */
export interface UpstreamAnswer {
  status: number;
  headers: HeaderReader;
  body: Readable;
}

export interface UpstreamResponse {
  response: UpstreamAnswer;
  /** The URL that answered, after redirects. */
  url: URL;
  /** The redirect responses on the way, first first. */
  hops: RedirectHop[];
  attempt: number;
  control: AttemptControl;
}

export interface RequestSpec {
  url: string | URL;
  method?: "GET" | "HEAD";
  headers?: Record<string, string>;
  /** Headers (Authorization) sent only to this origin; once a redirect leaves it they are never sent again. */
  credentials?: { origin: string; headers: Record<string, string> };
  maxRedirects?: number;
  /** Follow redirects only within the first URL's origin (what must come from the server itself, not from where it points). */
  sameOrigin?: boolean;
}

export interface RequestPolicy {
  /** Deadline for response headers, and for each wait on body data. */
  timeoutMs: number;
  retry: RetryPolicy;
  signal?: AbortSignal;
  /** Where connections may go; every redirect hop is checked again. DEFAULT_EGRESS when absent. */
  egress?: EgressPolicy;
  observe?: UpstreamObserver;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** undici's response data as an UpstreamAnswer. */
export function answerOf(data: Dispatcher.ResponseData): UpstreamAnswer {
  // A body nobody reads yet must not take the process down when its connection fails: readers attach their own listeners.
  return { status: data.statusCode, headers: headerReader(data.headers), body: data.body.on("error", () => undefined) };
}

/** Closes an answer whose body nobody reads (its connection is not reused). */
export function discard(response: UpstreamAnswer): void {
  response.body.destroy();
}

async function requestFollowingRedirects(spec: RequestSpec, control: AttemptControl, attempt: number, egress: EgressPolicy): Promise<UpstreamResponse> {
  const maxRedirects = spec.maxRedirects ?? 5;
  let url = new URL(spec.url);
  const origin = url.origin;
  let method = spec.method ?? "GET";
  let withCredentials = true;
  const hops: RedirectHop[] = [];
  for (;;) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(spec.headers ?? {})) headers[name.toLowerCase()] = value;
    withCredentials &&= spec.credentials != null && url.origin === spec.credentials.origin;
    if (withCredentials && spec.credentials) for (const [name, value] of Object.entries(spec.credentials.headers)) headers[name.toLowerCase()] = value;
    control.url = url.toString();
    control.arm("response");
    const answer = await egress.request(url, { method, headers, signal: control.signal }).catch((error: unknown) => {
      const refused = egressRefusal(error);
      if (refused) throw new UpstreamRequestError(refused.message, url.toString(), "egress", attempt, { cause: refused });
      throw error;
    });
    control.disarm();
    const response = answerOf(answer);
    if (!REDIRECT_STATUSES.has(response.status)) return { response, url, hops, attempt, control };

    const location = response.headers.get("location");
    discard(response);
    hops.push({ url, status: response.status, headers: response.headers });
    if (!location) throw new UpstreamRequestError(`redirect ${response.status} without Location`, url.toString(), "redirect", attempt);
    if (hops.length > maxRedirects) throw new UpstreamRequestError(`more than ${maxRedirects} redirects`, url.toString(), "redirect", attempt);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new UpstreamRequestError(`redirect to an invalid URL`, url.toString(), "redirect", attempt);
    }
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      throw new UpstreamRequestError(`redirect to a ${next.protocol} URL`, url.toString(), "redirect", attempt);
    }
    if (spec.sameOrigin && next.origin !== origin) {
      throw new UpstreamRequestError(`redirect to another origin (${next.origin})`, url.toString(), "redirect", attempt);
    }
    if (response.status === 303 && method !== "HEAD") method = "GET";
    url = next;
  }
}

/**
 * Sends a request, retrying timeouts, connection errors and retryable statuses (429, 5xx) with
 * backoff within `policy.retry.attempts`. `consume` runs inside the attempt: a connection error
 * or timeout while it reads the body retries the whole attempt, anything else it throws
 * propagates. A retryable status left after the last attempt (or one whose Retry-After is far
 * beyond the cap) is handed to `consume` like any other response, to report in its own terms.
 * `consume` owns the body: it must read it, discard it, or hand it on (see `streamBody`); a body
 * it leaves when it throws is discarded.
 */
export async function requestWithRetry<T>(
  spec: RequestSpec,
  policy: RequestPolicy,
  consume: (upstream: UpstreamResponse) => Promise<T>,
): Promise<T> {
  const { attempts } = policy.retry;
  for (let attempt = 1; ; attempt++) {
    if (policy.signal?.aborted) throw policy.signal.reason;
    const control = new AttemptControl(policy.timeoutMs, policy.signal);
    let upstream: UpstreamResponse;
    try {
      upstream = await requestFollowingRedirects(spec, control, attempt, policy.egress ?? DEFAULT_EGRESS);
    } catch (error) {
      control.disarm();
      policy.observe?.(outcomeOfFailure(error, control.classify(error)));
      await failedAttempt(error, control, attempt, policy);
      continue;
    }

    const { response } = upstream;
    policy.observe?.(outcomeOfStatus(response.status));
    if (isRetryableStatus(response.status) && attempt < attempts) {
      const decision = retryDelay(attempt, policy.retry, response.headers);
      if (decision.retry) {
        discard(response);
        await sleep(decision.delayMs, policy.signal);
        continue;
      }
    }

    try {
      return await consume(upstream);
    } catch (error) {
      control.disarm();
      discard(response);
      if (!(error instanceof UpstreamRequestError)) {
        await failedAttempt(error, control, attempt, policy);
        continue;
      }
      throw error;
    }
  }
}

/** Returns when the failure deserves another attempt (after the backoff), else throws. */
async function failedAttempt(error: unknown, control: AttemptControl, attempt: number, policy: RequestPolicy): Promise<void> {
  const kind = control.classify(error);
  if (kind === "aborted") throw policy.signal?.reason ?? error;
  if (kind === "other") throw error;
  if (attempt >= policy.retry.attempts) {
    const what = kind === "timeout" ? (control.timeout?.message ?? "timed out") : describeNetworkError(error);
    throw new UpstreamRequestError(`${what} (after ${attempt} attempts)`, control.url, kind, attempt, { cause: error });
  }
  await sleep(backoffDelay(attempt, policy.retry), policy.signal);
}

export function describeNetworkError(error: unknown): string {
  const parts: string[] = [];
  for (const e of errorChain(error)) parts.push(typeof e.code === "string" && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message);
  return parts.join(": ") || String(error);
}

// ---------------------------------------------------------------------------------------------
// Bodies

/** Content codings a body read whole may come in, when the request's Accept-Encoding asked for them. */
const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: () => zlib.createGunzip(),
  "x-gzip": () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/** The body, decoded when it came gzip-, deflate- or brotli-encoded. */
function decodedBody(response: UpstreamAnswer): AsyncIterable<Buffer> {
  const coding = (response.headers.get("content-encoding") ?? "").trim().toLowerCase();
  const decoder = Object.hasOwn(DECODERS, coding) ? DECODERS[coding]() : null;
  if (!decoder) return response.body;
  // pipeline hands a failure of either side (a timeout, a reset, a corrupt stream) to the decoder's reader.
  return pipeline(response.body, decoder, () => undefined) as unknown as AsyncIterable<Buffer>;
}

/**
 * Reads the body up to `maxBytes` (decoded, when it came compressed) under the attempt's idle
 * deadline, then closes the rest. A timeout surfaces as the attempt's UpstreamTimeoutError.
 */
export async function readBody(upstream: UpstreamResponse, maxBytes = Number.POSITIVE_INFINITY): Promise<{ bytes: Buffer; truncated: boolean }> {
  const { control, response } = upstream;
  const chunks = decodedBody(response)[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let length = 0;
  const next = async () => {
    control.arm("body");
    const step = await chunks.next();
    control.disarm();
    return step;
  };
  try {
    for (;;) {
      const { done, value: chunk } = await next();
      if (done) return { bytes: Buffer.concat(parts, length), truncated: false };
      if (length + chunk.length >= maxBytes) {
        const room = maxBytes - length;
        parts.push(chunk.subarray(0, room));
        length += room;
        // A body exactly maxBytes long is complete only if the server has nothing more to send.
        let rest = false;
        if (room === chunk.length) {
          for (let step = await next(); ; step = await next()) {
            if (step.done) rest = true;
            if (step.done || step.value.length > 0) break;
          }
        }
        if (!rest) discard(response);
        return { bytes: Buffer.concat(parts, length), truncated: !rest };
      }
      parts.push(chunk);
      length += chunk.length;
    }
  } catch (error) {
    control.disarm();
    discard(response);
    throw control.timeout ?? error;
  }
}

/**
 * The body as a Node stream under the attempt's idle deadline: it fails when the server sends
 * nothing for `timeoutMs` while the reader waits, and destroying it aborts the download.
 * `mapError` turns failures into the caller's error type. undici's body passes its chunks as
 * they are; this stream only adds the deadline and the error mapping.
 */
export function streamBody(
  upstream: UpstreamResponse,
  mapError: (error: unknown, kind: "aborted" | "timeout" | "network" | "other") => Error = (e) => e as Error,
): Readable {
  const { control } = upstream;
  const { body } = upstream.response;
  let finished = false;
  const stream = new Readable({
    read() {
      control.arm("body");
      body.resume();
    },
    destroy(error, callback) {
      control.disarm();
      if (!finished) {
        finished = true;
        discard(upstream.response);
        control.abort();
      }
      callback(error);
    },
  });
  body.on("data", (chunk: Buffer) => {
    control.disarm();
    if (!stream.push(chunk)) body.pause();
  });
  body.on("end", () => {
    control.disarm();
    finished = true;
    stream.push(null);
  });
  body.on("error", (error) => {
    control.disarm();
    finished = true;
    const cause = control.timeout ?? error;
    stream.destroy(mapError(cause, control.classify(cause)));
  });
  body.pause();
  return stream;
}
