import { randomBytes } from "node:crypto";
import type { Client } from "graphql-ws";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { scrape, type Scrape } from "../support/prometheus";
import { startTestKit, type TestKit } from "../support/testkit";
import { cancelImport, FAST_IMPORTS, scanModel, startImport, waitFor, waitForStatus, wsClient, type ScannedRevision } from "../import/support";

/*
 * GET /metrics on a real server while it scans and imports from the fake hub: the counters an
 * operator's dashboards and alerts read move as the work does.
 */

const REPO = "acme/metered-lm";
const BROKEN = "acme/broken-lm";
const CANCELLED = "acme/cancelled-lm";
const WEIGHTS = { size: 1024 * 1024 + 321, seed: 31 };
const FILES = [
  { path: "README.md", content: "# Metered\n" },
  { path: "config.json", content: '{"hidden": 4}' },
  { path: "model.safetensors", content: WEIGHTS, lfs: true },
];
const MODEL_BYTES = FILES.reduce((sum, f) => sum + (typeof f.content === "string" ? Buffer.byteLength(f.content) : f.content.size), 0);
const TOKEN = randomBytes(24).toString("hex");
const STATUS = `subscription($input: ArtifactStatusChangedInput!) { artifactStatusChanged(input: $input) { artifactRevision { id status } } }`;

let hub: FakeHub;
let kit: TestKit;
let revision: ScannedRevision;
let client: Client | undefined;

const metrics = () => scrape(kit.url, TOKEN);
const get = (headers: Record<string, string> = {}) => fetch(`${kit.url}/metrics`, { headers });

/** Polls the endpoint until `check` holds, and returns that scrape. */
const metricsUntil = (what: string, check: (s: Scrape) => boolean) => waitFor(what, async () => {
  const now = await metrics();
  return check(now) ? now : undefined;
});

beforeAll(async () => {
  hub = await startFakeHub([
    { id: REPO, files: FILES },
    { id: BROKEN, files: [{ path: "model.safetensors", content: { size: 200_000, seed: 32 }, lfs: true }] },
    { id: CANCELLED, files: [{ path: "model.safetensors", content: { size: 200_000, seed: 33 }, lfs: true }] },
  ]);
  kit = await startTestKit({ HF_ENDPOINT: hub.url, METRICS_TOKEN: TOKEN, ...FAST_IMPORTS });
});
afterAll(async () => {
  await client?.dispose();
  await kit?.close();
  await hub?.stop();
});

describe("GET /metrics", () => {
  it("refuses a scrape without the METRICS_TOKEN or with another one, as 401", async () => {
    const anonymous = await get();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await get({ authorization: `Bearer ${TOKEN.slice(0, -1)}x` })).status).toBe(401);
    expect((await get({ authorization: `Bearer ${TOKEN}${TOKEN}` })).status).toBe(401);
    expect((await get({ authorization: TOKEN })).status).toBe(401);
  });

  it("answers the Prometheus text format with the token: process metrics, and every metric dashboards rely on", async () => {
    const res = await get({ authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const family of [
      "process_cpu_user_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds",
      "artifact_registry_imports_total", "artifact_registry_imports_started_total", "artifact_registry_import_bytes_total",
      "artifact_registry_import_duration_seconds", "artifact_registry_imports_running", "artifact_registry_queue_jobs",
      "artifact_registry_upstream_requests_total", "artifact_registry_subscriptions_open", "artifact_registry_graphql_request_duration_seconds",
    ]) {
      expect(text).toMatch(new RegExp(`^# TYPE ${family} `, "m"));
    }
    const now = await metrics();
    // Every final status is there from the start: increase() over a new series misses its first step.
    for (const status of ["AVAILABLE", "NEEDS_APPROVAL", "FAILED", "CANCELLED"]) expect(now.has("artifact_registry_imports_total", { status })).toBe(true);
    expect(now.has("artifact_registry_queue_jobs", { state: "created" })).toBe(true);
  });

  it("times a GraphQL query over HTTP in the request histogram, under its transport and operation type", async () => {
    const series = { transport: "http", operation: "query" };
    const before = await metrics();
    await kit.as("admin").ok(`{ artifacts(first: 1) { edges { node { id } } } }`);
    const after = await metrics();
    expect(after.value("artifact_registry_graphql_request_duration_seconds_count", series)).toBe(before.value("artifact_registry_graphql_request_duration_seconds_count", series) + 1);
    expect(after.value("artifact_registry_graphql_request_duration_seconds_sum", series)).toBeGreaterThan(before.value("artifact_registry_graphql_request_duration_seconds_sum", series));
  });

  it("counts a 429 from the hub under the registry's name as rate_limited, and the retry that got through as ok", async () => {
    const limited = { registry: "huggingface", outcome: "rate_limited" };
    const ok = { registry: "huggingface", outcome: "ok" };
    const before = await metrics();
    const fault = hub.inject({ origin: "hub", match: `/api/models/${REPO}`, status: 429, headers: { "retry-after": "0" } });
    revision = await scanModel(kit, REPO);
    expect(fault.hits).toBe(1);
    const after = await metrics();
    expect(after.value("artifact_registry_upstream_requests_total", limited)).toBe(before.value("artifact_registry_upstream_requests_total", limited) + 1);
    expect(after.value("artifact_registry_upstream_requests_total", ok)).toBeGreaterThan(before.value("artifact_registry_upstream_requests_total", ok));
    // Labels name registries and outcomes, never URLs.
    for (const series of after.series("artifact_registry_upstream_requests_total")) expect(series).not.toMatch(/http|\//);
  });

  it("shows an import move: running while a transfer is held, then AVAILABLE once, with the model's bytes and a duration", async () => {
    const weights = await hub.fileInfo(REPO, revision.commit, "model.safetensors");
    const held = hub.hold({ origin: "cdn", match: (r) => r.url.includes(weights.sha256), afterBytes: 1000 });
    const before = await metrics();
    expect(before.value("artifact_registry_imports_running")).toBe(0);

    await startImport(kit, revision);
    await held.reached;
    const during = await metrics();
    expect(during.value("artifact_registry_imports_running")).toBe(1);
    expect(during.value("artifact_registry_imports_started_total")).toBe(before.value("artifact_registry_imports_started_total") + 1);
    expect(during.value("artifact_registry_queue_jobs", { state: "active" })).toBe(1);
    expect(during.value("artifact_registry_imports_total", { status: "AVAILABLE" })).toBe(before.value("artifact_registry_imports_total", { status: "AVAILABLE" }));

    held.release();
    await waitForStatus(kit, revision.id, ["AVAILABLE"]);
    const after = await metricsUntil("the import to be counted", (s) => s.value("artifact_registry_imports_running") === 0);
    const delta = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);
    expect(delta("artifact_registry_imports_total", { status: "AVAILABLE" })).toBe(1);
    expect(delta("artifact_registry_imports_total", { status: "FAILED" })).toBe(0);
    expect(delta("artifact_registry_import_bytes_total")).toBe(MODEL_BYTES);
    expect(delta("artifact_registry_import_duration_seconds_count", { status: "AVAILABLE" })).toBe(1);
    expect(delta("artifact_registry_import_duration_seconds_sum", { status: "AVAILABLE" })).toBeGreaterThan(0);
    expect(delta("artifact_registry_import_retries_total")).toBe(0);
  });

  it("counts an import that fails as FAILED once, with its duration, and one cancelled mid-transfer as CANCELLED", async () => {
    const failed = { status: "FAILED" };
    const cancelled = { status: "CANCELLED" };
    const before = await metrics();

    const broken = await scanModel(kit, BROKEN);
    const brokenSha = (await hub.fileInfo(BROKEN, broken.commit, "model.safetensors")).sha256;
    hub.inject({ origin: "cdn", match: (r) => r.url.includes(brokenSha), corrupt: 1000 });
    await startImport(kit, broken);
    await waitForStatus(kit, broken.id, ["FAILED"]);
    const afterFailure = await metricsUntil("the failure to be counted", (s) => s.value("artifact_registry_imports_running") === 0);
    expect(afterFailure.value("artifact_registry_imports_total", failed)).toBe(before.value("artifact_registry_imports_total", failed) + 1);
    expect(afterFailure.value("artifact_registry_import_duration_seconds_count", failed)).toBe(before.value("artifact_registry_import_duration_seconds_count", failed) + 1);

    const doomed = await scanModel(kit, CANCELLED);
    const doomedSha = (await hub.fileInfo(CANCELLED, doomed.commit, "model.safetensors")).sha256;
    const held = hub.hold({ origin: "cdn", match: (r) => r.url.includes(doomedSha), afterBytes: 1000 });
    await startImport(kit, doomed);
    await held.reached;
    await cancelImport(kit, doomed);
    held.release();
    const afterCancel = await metricsUntil("the cancel to be counted", (s) => s.value("artifact_registry_imports_total", cancelled) === before.value("artifact_registry_imports_total", cancelled) + 1);
    expect(afterCancel.value("artifact_registry_imports_running")).toBe(0);
    expect(afterCancel.value("artifact_registry_imports_total", failed)).toBe(before.value("artifact_registry_imports_total", failed) + 1);
  });

  it("counts a subscription open over graphql-ws until it ends, and times its set-up under ws", async () => {
    const series = { transport: "ws", operation: "subscription" };
    const before = await metrics();
    client = wsClient(kit);
    const events: unknown[] = [];
    client.subscribe({ query: STATUS, variables: { input: { artifactRevisionIds: [revision.globalId] } } }, { next: (v) => events.push(v), error: () => undefined, complete: () => undefined });
    const open = await metricsUntil("the subscription to be open", (s) => s.value("artifact_registry_subscriptions_open") === before.value("artifact_registry_subscriptions_open") + 1);
    expect(open.value("artifact_registry_graphql_request_duration_seconds_count", series)).toBe(before.value("artifact_registry_graphql_request_duration_seconds_count", series) + 1);

    await client.dispose();
    client = undefined;
    await metricsUntil("the subscription to be closed", (s) => s.value("artifact_registry_subscriptions_open") === before.value("artifact_registry_subscriptions_open"));
  });
});
