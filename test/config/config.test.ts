import path from "node:path";
import { ConfigError, loadConfig } from "../../src/config/config";

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe("configuration", () => {
  it("starts on embedded defaults when nothing is set", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: "127.0.0.1",
      publicUrl: "http://127.0.0.1:4000",
      dataDir: path.resolve(".data"),
      databaseUrl: undefined,
      s3: undefined,
      huggingface: { endpoint: "https://huggingface.co", token: undefined },
      jwtSecret: undefined,
    });
  });

  it("serves /hf only to clients with a token unless HF_SERVE_ANONYMOUS is true", () => {
    expect(loadConfig({}).hfServe).toEqual({ anonymous: false });
    expect(loadConfig({ HF_SERVE_ANONYMOUS: "true" }).hfServe).toEqual({ anonymous: true });
    expect(problemsOf({ HF_SERVE_ANONYMOUS: "sometimes" })).toEqual(["HF_SERVE_ANONYMOUS: must be true or false"]);
  });

  it("serves /metrics to anyone unless METRICS_TOKEN is set, and on a worker only with METRICS_PORT", () => {
    expect(loadConfig({}).metrics).toEqual({ token: undefined, workerPort: undefined });
    expect(loadConfig({ METRICS_TOKEN: "a-scrape-token-of-some-length", METRICS_PORT: "9464" }).metrics).toEqual({ token: "a-scrape-token-of-some-length", workerPort: 9464 });
    expect(problemsOf({ METRICS_TOKEN: "short", METRICS_PORT: "http" }).map((p) => p.split(":")[0])).toEqual(["METRICS_TOKEN", "METRICS_PORT"]);
  });

  it("allows upstream connections to private networks unless UPSTREAM_PRIVATE_NETWORKS denies them, or lists the ones allowed", () => {
    expect(loadConfig({}).upstream).toEqual({ privateNetworks: "allow", allowedPrivateNetworks: [] });
    expect(loadConfig({ UPSTREAM_PRIVATE_NETWORKS: "deny" }).upstream).toEqual({ privateNetworks: "deny", allowedPrivateNetworks: [] });
    expect(loadConfig({ UPSTREAM_PRIVATE_NETWORKS: "10.1.0.0/16, fd12::/64,192.168.1.7" }).upstream)
      .toEqual({ privateNetworks: "deny", allowedPrivateNetworks: ["10.1.0.0/16", "fd12::/64", "192.168.1.7"] });
    expect(problemsOf({ UPSTREAM_PRIVATE_NETWORKS: "some" })[0]).toMatch(/^UPSTREAM_PRIVATE_NETWORKS: must be "allow", "deny", or a comma-separated list/);
    expect(problemsOf({ UPSTREAM_PRIVATE_NETWORKS: "10.0.0.0/33" })).toHaveLength(1);
  });

  it("bounds scans by a deadline, files and pages, with the documented defaults", () => {
    expect(loadConfig({}).scan).toEqual({ detailConcurrency: 4, upstreamTimeoutMs: 30000, requestTimeoutMs: 120_000, maxFiles: 100_000, maxPages: 1000 });
    expect(loadConfig({ SCAN_REQUEST_TIMEOUT_SECONDS: "2.5", SCAN_MAX_FILES: "10", SCAN_MAX_TREE_PAGES: "3" }).scan).toMatchObject({ requestTimeoutMs: 2500, maxFiles: 10, maxPages: 3 });
    expect(problemsOf({ SCAN_REQUEST_TIMEOUT_SECONDS: "0", SCAN_MAX_FILES: "many", SCAN_MAX_TREE_PAGES: "0" }).map((p) => p.split(":")[0]))
      .toEqual(["SCAN_REQUEST_TIMEOUT_SECONDS", "SCAN_MAX_FILES", "SCAN_MAX_TREE_PAGES"]);
  });

  it("caps token lifetimes at AUTH_MAX_TOKEN_TTL, 30 days unless set, in seconds or with a unit", () => {
    expect(loadConfig({}).auth).toEqual({ maxTokenTtlSeconds: 30 * 86_400 });
    expect(loadConfig({ AUTH_MAX_TOKEN_TTL: "12h" }).auth).toEqual({ maxTokenTtlSeconds: 12 * 3600 });
    expect(loadConfig({ AUTH_MAX_TOKEN_TTL: "900" }).auth).toEqual({ maxTokenTtlSeconds: 900 });
    expect(problemsOf({ AUTH_MAX_TOKEN_TTL: "forever" })[0]).toMatch(/^AUTH_MAX_TOKEN_TTL: must be a positive duration/);
    expect(problemsOf({ AUTH_MAX_TOKEN_TTL: "0" })).toHaveLength(1);
  });

  it("seals secrets at rest with SECRETS_ENCRYPTION_KEYS, the first key current, or with the key derived from the auth secret", () => {
    expect(loadConfig({}).secretKeys).toEqual([{ id: "auth", key: null }]);
    const k1 = Buffer.alloc(32, 1);
    expect(loadConfig({ SECRETS_ENCRYPTION_KEYS: `k1:${k1.toString("base64")}, auth` }).secretKeys).toEqual([{ id: "k1", key: k1 }, { id: "auth", key: null }]);
    expect(problemsOf({ SECRETS_ENCRYPTION_KEYS: "k1:c2hvcnQ=" })).toEqual(['SECRETS_ENCRYPTION_KEYS: key "k1" must be 32 bytes, base64-encoded (openssl rand -base64 32)']);
    expect(problemsOf({ SECRETS_ENCRYPTION_KEYS: "auth,auth" })).toEqual(['SECRETS_ENCRYPTION_KEYS: key id "auth" is listed twice']);
    expect(problemsOf({ SECRETS_ENCRYPTION_KEYS: "bad id:x" })[0]).toMatch(/^SECRETS_ENCRYPTION_KEYS: entry 1: "bad id" is not a key id/);
  });

  it("names a SECRETS_ENCRYPTION_KEYS entry without an id by its position, never printing the key", () => {
    const bare = Buffer.alloc(32, 7).toString("base64");
    const hex = Buffer.alloc(16, 9).toString("hex");
    for (const key of [bare, hex]) {
      const problems = problemsOf({ SECRETS_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString("base64")},${key}` });
      expect(problems).toEqual(["SECRETS_ENCRYPTION_KEYS: entry 2 has no key id: entries are id:base64-key or auth"]);
      expect(problems.join("\n")).not.toContain(key);
    }
  });

  it("uses S3 storage when the endpoint and keys are set, with region and bucket defaults", () => {
    const config = loadConfig({ S3_ENDPOINT: "http://127.0.0.1:9000", S3_ACCESS_KEY: "ak", S3_SECRET_KEY: "sk" });
    expect(config.s3).toEqual({ endpoint: "http://127.0.0.1:9000", accessKey: "ak", secretKey: "sk", region: "us-east-1", bucket: "artifacts" });
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", S3_ENDPOINT: "" })).toMatchObject({ databaseUrl: undefined, s3: undefined });
  });

  it("names every bad variable at once", () => {
    const problems = problemsOf({
      PORT: "eighty",
      PUBLIC_URL: "not a url",
      DATABASE_URL: "mysql://x",
      S3_ENDPOINT: "http://127.0.0.1:9000",
      S3_BUCKET: "Bad_Bucket",
      AUTH_JWT_SECRET: "short",
    });
    const named = problems.map((p) => p.split(":")[0]);
    expect(named).toEqual(expect.arrayContaining(["PORT", "PUBLIC_URL", "DATABASE_URL", "S3_BUCKET", "AUTH_JWT_SECRET", "S3_ACCESS_KEY", "S3_SECRET_KEY"]));
  });

  it("limits requests with defaults, each settable, and refuses a headers timeout longer than the request timeout", () => {
    expect(loadConfig({}).limits).toMatchObject({ maxTokens: 5000, maxAliases: 30, maxDirectives: 50, maxInputDepth: 32, maxRequestBytes: 1024 * 1024 });
    expect(loadConfig({}).http).toEqual({ headersTimeoutMs: 15000, requestTimeoutMs: 300000, keepAliveTimeoutMs: 5000 });
    expect(loadConfig({}).federationTraces).toBe(false);
    expect(loadConfig({ MAX_REQUEST_BYTES: "4096", APOLLO_FEDERATION_TRACES: "true" })).toMatchObject({ limits: { maxRequestBytes: 4096 }, federationTraces: true });
    expect(problemsOf({ HTTP_HEADERS_TIMEOUT_MS: "20000", HTTP_REQUEST_TIMEOUT_MS: "10000" })).toEqual([
      "HTTP_HEADERS_TIMEOUT_MS: may not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)",
    ]);
    expect(problemsOf({ MAX_QUERY_TOKENS: "10" }).map((p) => p.split(":")[0])).toEqual(["MAX_QUERY_TOKENS"]);
  });

  it("caps an upload at 50 GiB unless UPLOAD_MAX_BYTES says otherwise", () => {
    expect(loadConfig({}).uploadMaxBytes).toBe(50 * 1024 ** 3);
    expect(loadConfig({ UPLOAD_MAX_BYTES: "1024" }).uploadMaxBytes).toBe(1024);
    expect(problemsOf({ UPLOAD_MAX_BYTES: "0" }).map((p) => p.split(":")[0])).toEqual(["UPLOAD_MAX_BYTES"]);
  });

  it("hashes where auto decides unless IMPORT_HASH_THREADS names a count from 0 to 16", () => {
    expect(loadConfig({}).import.hashThreads).toBe("auto");
    expect(loadConfig({ IMPORT_HASH_THREADS: "auto" }).import.hashThreads).toBe("auto");
    expect(loadConfig({ IMPORT_HASH_THREADS: "0" }).import.hashThreads).toBe(0);
    expect(loadConfig({ IMPORT_HASH_THREADS: "2" }).import.hashThreads).toBe(2);
    for (const bad of ["many", "-1", "17", "1.5"]) {
      expect(problemsOf({ IMPORT_HASH_THREADS: bad })).toEqual([expect.stringMatching(/^IMPORT_HASH_THREADS: must be "auto" or a whole number from 0 to 16/)]);
    }
  });

  it("derives the public URL from host and port, and strips a trailing slash from an explicit one", () => {
    expect(loadConfig({ HOST: "0.0.0.0", PORT: "8080" }).publicUrl).toBe("http://0.0.0.0:8080");
    expect(loadConfig({ PUBLIC_URL: "https://registry.example.com/" }).publicUrl).toBe("https://registry.example.com");
  });
});
