import { backoffDelay } from "../../src/common/backoff";
import {
  isRetryableStatus,
  isTransientNetworkError,
  normalizeEtag,
  parseContentRange,
  parseLinkHeader,
  parseRateLimitReset,
  parseRetryAfter,
  retryDelay,
} from "../../src/upstream/http";

const policy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 10_000 };

describe("upstream HTTP helpers", () => {
  it("reads Retry-After as seconds or as an HTTP-date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("1", now)).toBe(1000);
    expect(parseRetryAfter(" 120 ", now)).toBe(120_000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it("reads the reset of a RateLimit header in the draft's and the older form", () => {
    expect(parseRateLimitReset('"api";r=0;t=55')).toBe(55_000);
    expect(parseRateLimitReset("limit=100, remaining=0, reset=7")).toBe(7_000);
    expect(parseRateLimitReset("limit=100")).toBeNull();
  });

  it("waits what the server asks within the cap, and gives up when it asks for far more", () => {
    const headers = (h: Record<string, string>) => new Headers(h);
    expect(retryDelay(1, policy, headers({ "retry-after": "2" }))).toEqual({ retry: true, delayMs: 2_000 });
    expect(retryDelay(1, policy, headers({ "retry-after": "1", ratelimit: '"api";r=0;t=4' }))).toEqual({ retry: true, delayMs: 4_000 });
    expect(retryDelay(1, policy, headers({ "retry-after": "25" }))).toEqual({ retry: true, delayMs: 10_000 });
    expect(retryDelay(1, policy, headers({ "retry-after": "3600" }))).toEqual({ retry: false, suggestedMs: 3_600_000 });
  });

  it("backs off exponentially with jitter, never beyond the cap", () => {
    expect(backoffDelay(1, policy, () => 0)).toBe(125);
    expect(backoffDelay(1, policy, () => 1)).toBe(250);
    expect(backoffDelay(3, policy, () => 1)).toBe(1_000);
    expect(backoffDelay(20, policy, () => 1)).toBe(10_000);
    expect(backoffDelay(20, policy, () => 0)).toBe(5_000);
  });

  it("retries 408, 429 and 5xx but not other statuses", () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 416, 501].some(isRetryableStatus)).toBe(false);
  });

  it("recognises connection failures by code or by undici's messages", () => {
    expect(isTransientNetworkError(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }))).toBe(true);
    expect(isTransientNetworkError(new TypeError("fetch failed", { cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) }))).toBe(true);
    expect(isTransientNetworkError(new TypeError("terminated"))).toBe(true);
    expect(isTransientNetworkError(new Error("socket hang up"))).toBe(true);
    expect(isTransientNetworkError(new Error("Unexpected token"))).toBe(false);
    expect(isTransientNetworkError("fetch failed")).toBe(false);
    // A header value undici will not send fails the same way every time.
    expect(isTransientNetworkError(Object.assign(new Error("invalid authorization header"), { code: "UND_ERR_INVALID_ARG" }))).toBe(false);
  });

  it("parses Link relations and resolves relative targets", () => {
    const links = parseLinkHeader('<https://hub.example/api/models?cursor=abc>; rel="next", </api/models?cursor=0>; rel=first', "https://hub.example/api/models");
    expect(links).toEqual({ next: "https://hub.example/api/models?cursor=abc", first: "https://hub.example/api/models?cursor=0" });
    expect(parseLinkHeader(null)).toEqual({});
  });

  it("normalises entity tags and parses Content-Range", () => {
    expect(normalizeEtag('W/"abc"')).toBe("abc");
    expect(normalizeEtag('"abc"')).toBe("abc");
    expect(normalizeEtag(null)).toBeNull();
    expect(parseContentRange("bytes 0-9/100")).toEqual({ start: 0, end: 9, total: 100 });
    expect(parseContentRange("bytes 0-9/*")).toEqual({ start: 0, end: 9, total: null });
    expect(parseContentRange("bytes */100")).toBeNull();
  });
});
