import path from "node:path";
import { z } from "zod";
import { parseDurationSeconds } from "../common/duration";
import { isNetwork } from "../upstream/egress";

const optionalString = z.string().trim().min(1).optional();
const flag = (fallback: boolean) =>
  z.string().trim().toLowerCase()
    .refine((v) => ["true", "false", "1", "0", "yes", "no"].includes(v), "must be true or false")
    .transform((v) => v === "true" || v === "1" || v === "yes")
    .default(fallback);
const url = (label: string) => z.string().trim().refine((v) => {
  try { const u = new URL(v); return u.protocol === "http:" || u.protocol === "https:"; } catch { return false; }
}, `${label} must be an http(s) URL`);

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().trim().min(1).default("127.0.0.1"),
  PUBLIC_URL: url("PUBLIC_URL").optional(),
  DATA_DIR: z.string().trim().min(1).default("./.data"),
  DATABASE_URL: z.string().trim().regex(/^postgres(ql)?:\/\//, "DATABASE_URL must start with postgres:// or postgresql://").optional(),
  S3_ENDPOINT: url("S3_ENDPOINT").optional(),
  S3_ACCESS_KEY: optionalString,
  S3_SECRET_KEY: optionalString,
  S3_REGION: z.string().trim().min(1).default("us-east-1"),
  S3_BUCKET: z.string().trim().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "S3_BUCKET must be a valid bucket name").default("artifacts"),
  HF_ENDPOINT: url("HF_ENDPOINT").default("https://huggingface.co"),
  HF_TOKEN: optionalString,
  HF_SERVE_ANONYMOUS: flag(false),
  AUTH_JWT_SECRET: z.string().min(32, "AUTH_JWT_SECRET must be at least 32 characters").optional(),
  AUTH_MAX_TOKEN_TTL: z.string().trim()
    .refine((v) => parseDurationSeconds(v) !== null, "must be a positive duration: seconds, or with a unit as in 90m, 12h, 30d, 2w")
    .transform((v) => parseDurationSeconds(v)!)
    .default(30 * 86_400),
  SECRETS_ENCRYPTION_KEYS: z.string().trim()
    .superRefine((v, ctx) => {
      const problem = secretKeysProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .transform(parseSecretKeys)
    .default([{ id: "auth", key: null }]),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  MAX_QUERY_DEPTH: z.coerce.number().int().min(2).max(50).default(12),
  MAX_QUERY_COST: z.coerce.number().int().min(100).default(50000),
  MAX_QUERY_TOKENS: z.coerce.number().int().min(100).default(5000),
  MAX_QUERY_ALIASES: z.coerce.number().int().min(0).default(30),
  MAX_QUERY_DIRECTIVES: z.coerce.number().int().min(0).default(50),
  MAX_INPUT_DEPTH: z.coerce.number().int().min(4).max(1000).default(32),
  MAX_REQUEST_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(15000),
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(300000),
  HTTP_KEEPALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  APOLLO_FEDERATION_TRACES: flag(false),
  METRICS_TOKEN: z.string().trim().min(16, "METRICS_TOKEN must be at least 16 characters").optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  PRESIGNED_URL_MAX_EXPIRY: z.coerce.number().int().min(1).default(86400),
  UPLOAD_MAX_BYTES: z.coerce.number().int().min(1).default(50 * 1024 ** 3),
  SCAN_DETAIL_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  SCAN_REQUEST_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(86400).default(120),
  SCAN_MAX_FILES: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
  SCAN_MAX_TREE_PAGES: z.coerce.number().int().min(1).max(100_000).default(1000),
  UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).default(30000),
  UPSTREAM_PRIVATE_NETWORKS: z.string().trim()
    .refine((v) => v === "allow" || v === "deny" || v.split(",").every(isNetwork), 'must be "allow", "deny", or a comma-separated list of networks (CIDRs or addresses) to allow')
    .transform((v): UpstreamConfig => (v === "allow" || v === "deny" ? { privateNetworks: v, allowedPrivateNetworks: [] } : { privateNetworks: "deny", allowedPrivateNetworks: v.split(",").map((n) => n.trim()) }))
    .default({ privateNetworks: "allow", allowedPrivateNetworks: [] }),
  IMPORT_WORKER: flag(true),
  IMPORT_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  IMPORT_FILE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  IMPORT_REQUIRE_APPROVAL: flag(false),
  IMPORT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  IMPORT_MAX_CRASHES: z.coerce.number().int().min(1).max(100).default(3),
  IMPORT_RETRY_DELAY_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  IMPORT_POLL_INTERVAL_SECONDS: z.coerce.number().min(0.5).max(60).default(2),
  IMPORT_RECOVERY_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  IMPORT_STALL_WINDOW_SECONDS: z.coerce.number().min(0.1).max(3600).default(60),
  IMPORT_STALL_MIN_BYTES: z.coerce.number().int().min(1).default(1024 * 1024),
  IMPORT_MAX_RECONNECTS_PER_FILE: z.coerce.number().int().min(0).max(10_000).default(20),
  IMPORT_PICKLE_POLICY: z.enum(["off", "warn", "reject"]).default("warn"),
  IMPORT_HASH_THREADS: z.string().trim().toLowerCase()
    .refine((v) => v === "auto" || (/^\d{1,2}$/.test(v) && Number(v) <= 16), 'must be "auto" or a whole number from 0 to 16')
    .transform((v): number | "auto" => (v === "auto" ? "auto" : Number(v)))
    .default("auto"),
});

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  databaseUrl?: string;
  s3?: { endpoint: string; accessKey: string; secretKey: string; region: string; bucket: string };
  huggingface: { endpoint: string; token?: string };
  /** The Hugging Face-compatible endpoint under /hf: whether clients without a token may read (a mirror in a closed cluster). */
  hfServe: { anonymous: boolean };
  jwtSecret?: string;
  /**
   * Keys that seal secrets at rest (registry tokens, Reservoir and S3 secret keys): the first
   * seals, the others still open. `key: null` is the key derived from the auth secret (id "auth").
   */
  secretKeys: ConfiguredSecretKey[];
  /** Tokens: the longest lifetime (exp - iat) accepted, in seconds. */
  auth: { maxTokenTtlSeconds: number };
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  limits: Limits;
  /** Slow clients: how long a request's headers, and the whole request, may take to arrive; how long an idle keep-alive connection stays open. */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number };
  /** Whether a gateway that asks (apollo-federation-include-trace) gets Apollo's inline traces (ftv1). */
  federationTraces: boolean;
  metrics: MetricsConfig;
  presignedUrlMaxExpiry: number;
  /** The largest file an upload link takes (the Hub's own per-file limit by default). */
  uploadMaxBytes: number;
  scan: ScanConfig;
  upstream: UpstreamConfig;
  import: ImportConfig;
}

/** GET /metrics (Prometheus): who may scrape it, and where a worker process serves it. */
export interface MetricsConfig {
  /** When set, a scrape must send it as a bearer token. */
  token?: string;
  /** Where `npm run worker` serves /metrics (on HOST); unset, a worker serves none. The server serves /metrics on PORT. */
  workerPort?: number;
}

/** What one GraphQL request may ask for; each is checked before it runs (src/server/limits.ts). */
export interface Limits {
  maxDepth: number;
  /** Nodes the request may return, counted the way GitHub's API counts them (page sizes multiplied down the connections). */
  maxCost: number;
  maxPageSize: number;
  defaultPageSize: number;
  maxTokens: number;
  maxAliases: number;
  maxDirectives: number;
  /** How deeply lists and input objects may nest in arguments and variables (filters nest through AND/OR/NOT). */
  maxInputDepth: number;
  /** An HTTP body or a graphql-ws message. */
  maxRequestBytes: number;
}

export interface ScanConfig {
  detailConcurrency: number;
  upstreamTimeoutMs: number;
  /** Deadline of one scan request, and of each background detail job (a README and manifest). */
  requestTimeoutMs: number;
  /** Files one revision's manifest may list; more is an error (a tree that never ends). */
  maxFiles: number;
  /** Pages one upstream listing (a tree, the model list) may take. */
  maxPages: number;
}

export interface UpstreamConfig {
  /**
   * Whether upstream connections may go to loopback and private networks (local mirrors,
   * Reservoir peers); with "deny", only to `allowedPrivateNetworks` among them. Link-local and
   * cloud metadata addresses are refused either way.
   */
  privateNetworks: "allow" | "deny";
  allowedPrivateNetworks: string[];
}

export interface ImportConfig {
  /** Whether this process runs import jobs (API-only replicas set IMPORT_WORKER=false). */
  worker: boolean;
  /** Revisions imported at once by this process. */
  concurrency: number;
  /** Files transferred at once per revision. */
  fileConcurrency: number;
  requireApproval: boolean;
  /** Attempts of one import (the first included) before a transient failure becomes FAILED. */
  maxAttempts: number;
  /** Process crashes in a row, with no file verified in between, after which an import is FAILED. */
  maxCrashes: number;
  /** Base of the exponential backoff between attempts. */
  retryDelaySeconds: number;
  /** How often an idle worker looks for new jobs (jobs enqueued in this process wake it at once). */
  pollIntervalSeconds: number;
  /** How often revisions mid-import are checked for a live job. */
  recoveryIntervalSeconds: number;
  /** A transfer that brings fewer than `minBytes` over `windowSeconds` of waiting is dropped and asked for again. */
  stall: { windowSeconds: number; minBytes: number };
  /** Requests after the first that one file may take in an attempt, whatever its progress. */
  maxReconnectsPerFile: number;
  /** Pickle files next to a safetensors twin: ignored, reported, or refused. */
  picklePolicy: "off" | "warn" | "reject";
  /** Threads that hash large files beside the event loop; "auto" decides by cores, SHA speed and storage (see autoHashThreads). */
  hashThreads: number | "auto";
}

export interface ConfiguredSecretKey {
  id: string;
  key: Buffer | null;
}

/** `id:base64 of 32 bytes` or `auth`, comma-separated, the current key first. */
function secretKeysProblem(text: string): string | null {
  const ids = new Set<string>();
  for (const [index, entry] of text.split(",").map((e) => e.trim()).entries()) {
    // An entry without "id:" may be a bare key: it is named by its position, never printed.
    if (entry !== "auth" && !entry.includes(":")) return `entry ${index + 1} has no key id: entries are id:base64-key or auth`;
    const [id, key] = entry === "auth" ? ["auth", null] : entry.split(/:(.*)/s);
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) return `entry ${index + 1}: "${id}" is not a key id (letters, digits, - and _, at most 32): entries are id:base64-key or auth`;
    if (ids.has(id)) return `key id "${id}" is listed twice`;
    ids.add(id);
    if (key !== null && Buffer.from(key, "base64").length !== 32) return `key "${id}" must be 32 bytes, base64-encoded (openssl rand -base64 32)`;
  }
  return null;
}

function parseSecretKeys(text: string): ConfiguredSecretKey[] {
  return text.split(",").map((e) => e.trim()).map((entry) => {
    if (entry === "auth") return { id: "auth", key: null };
    const [id, key] = entry.split(/:(.*)/s);
    return { id, key: Buffer.from(key, "base64") };
  });
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** Parses the environment once, at start-up; every bad variable is reported together. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const blankAsUnset = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(blankAsUnset);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".") || "environment"}: ${i.message}`);
  const s3Keys = ["S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY"] as const;
  if (s3Keys.some((k) => blankAsUnset[k])) {
    for (const key of s3Keys) if (!blankAsUnset[key]) problems.push(`${key}: required when any of ${s3Keys.join(", ")} is set`);
  }
  if (parsed.success && parsed.data.HTTP_HEADERS_TIMEOUT_MS > parsed.data.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push("HTTP_HEADERS_TIMEOUT_MS: may not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)");
  }
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://${e.HOST.includes(":") ? `[${e.HOST}]` : e.HOST}:${e.PORT}`).replace(/\/+$/, ""),
    dataDir,
    databaseUrl: e.DATABASE_URL,
    s3: e.S3_ENDPOINT && e.S3_ACCESS_KEY && e.S3_SECRET_KEY
      ? { endpoint: e.S3_ENDPOINT, accessKey: e.S3_ACCESS_KEY, secretKey: e.S3_SECRET_KEY, region: e.S3_REGION, bucket: e.S3_BUCKET }
      : undefined,
    huggingface: { endpoint: e.HF_ENDPOINT.replace(/\/+$/, ""), token: e.HF_TOKEN },
    hfServe: { anonymous: e.HF_SERVE_ANONYMOUS },
    jwtSecret: e.AUTH_JWT_SECRET,
    auth: { maxTokenTtlSeconds: e.AUTH_MAX_TOKEN_TTL },
    secretKeys: e.SECRETS_ENCRYPTION_KEYS,
    logLevel: e.LOG_LEVEL,
    limits: {
      maxDepth: e.MAX_QUERY_DEPTH,
      maxCost: e.MAX_QUERY_COST,
      maxPageSize: 500,
      defaultPageSize: 100,
      maxTokens: e.MAX_QUERY_TOKENS,
      maxAliases: e.MAX_QUERY_ALIASES,
      maxDirectives: e.MAX_QUERY_DIRECTIVES,
      maxInputDepth: e.MAX_INPUT_DEPTH,
      maxRequestBytes: e.MAX_REQUEST_BYTES,
    },
    http: { headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS, requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS, keepAliveTimeoutMs: e.HTTP_KEEPALIVE_TIMEOUT_MS },
    federationTraces: e.APOLLO_FEDERATION_TRACES,
    metrics: { token: e.METRICS_TOKEN, workerPort: e.METRICS_PORT },
    presignedUrlMaxExpiry: e.PRESIGNED_URL_MAX_EXPIRY,
    uploadMaxBytes: e.UPLOAD_MAX_BYTES,
    scan: {
      detailConcurrency: e.SCAN_DETAIL_CONCURRENCY,
      upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
      requestTimeoutMs: Math.round(e.SCAN_REQUEST_TIMEOUT_SECONDS * 1000),
      maxFiles: e.SCAN_MAX_FILES,
      maxPages: e.SCAN_MAX_TREE_PAGES,
    },
    upstream: e.UPSTREAM_PRIVATE_NETWORKS,
    import: {
      worker: e.IMPORT_WORKER,
      concurrency: e.IMPORT_CONCURRENCY,
      fileConcurrency: e.IMPORT_FILE_CONCURRENCY,
      requireApproval: e.IMPORT_REQUIRE_APPROVAL,
      maxAttempts: e.IMPORT_MAX_ATTEMPTS,
      maxCrashes: e.IMPORT_MAX_CRASHES,
      retryDelaySeconds: e.IMPORT_RETRY_DELAY_SECONDS,
      pollIntervalSeconds: e.IMPORT_POLL_INTERVAL_SECONDS,
      recoveryIntervalSeconds: e.IMPORT_RECOVERY_INTERVAL_SECONDS,
      stall: { windowSeconds: e.IMPORT_STALL_WINDOW_SECONDS, minBytes: e.IMPORT_STALL_MIN_BYTES },
      maxReconnectsPerFile: e.IMPORT_MAX_RECONNECTS_PER_FILE,
      picklePolicy: e.IMPORT_PICKLE_POLICY,
      hashThreads: e.IMPORT_HASH_THREADS,
    },
  };
}
