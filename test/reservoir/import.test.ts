import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Readable } from "node:stream";
import { ArtifactStatus, Role } from "../../src/common/enums";
import { toGlobalId } from "../../src/common/relay";
import { applyTransition } from "../../src/revision/lifecycle";
import { delegateImport, ReservoirImportError, type ReservoirImportDeps } from "../../src/import/sources/delegate";
import { createReservoirFileSource, type ReservoirSourceDeps } from "../../src/import/sources/reservoir.source";
import type { ReservoirRegistryRecord } from "../../src/registry/registry.records";
import { ReservoirClient, reservoirClientFactory } from "../../src/upstream/reservoir/reservoir.client";
import { startFakeHub, type FakeHub, type FakeModel } from "../support/fake-hub";
import { startS3rver, type S3rverHandle } from "../support/s3rver";
import { Seed, uniqueName } from "../support/seed";
import { repeatUntil } from "../support/subscriptions";
import { startTestKit, type TestKit } from "../support/testkit";
import { createReservoir, issueKeypair, scannerOn } from "./support";

/*
 * Two instances on one PostgreSQL server with different storage backends: A keeps its files on
 * the filesystem (served as HMAC-signed links from its /storage/fs route), B in an S3 bucket on
 * s3rver (served as S3 presigned URLs). Each has a Reservoir registry pointing at the other, with
 * a key pair the other issued, so imports are tested in both directions.
 */

const MODELS: FakeModel[] = [
  {
    id: "org/tiny",
    files: [
      { path: "README.md", content: "# Tiny\nA tiny model.\n" },
      { path: "config.json", content: '{"layers": 2}' },
      { path: "weights/model.safetensors", content: { size: 700_000, seed: 11 }, lfs: true },
      { path: "weights/extra.bin", content: { size: 150_000, seed: 12 }, lfs: true },
    ],
  },
  { id: "org/corrupt", files: [{ path: "README.md", content: "corrupt" }, { path: "model.bin", content: { size: 200_000, seed: 21 }, lfs: true }] },
  { id: "org/later", files: [{ path: "README.md", content: "later" }, { path: "model.bin", content: { size: 300_000, seed: 31 }, lfs: true }] },
  { id: "org/lazy", files: [{ path: "config.json", content: '{"lazy": true}' }, { path: "model.bin", content: { size: 120_000, seed: 41 }, lfs: true }] },
  { id: "org/unlucky", files: [{ path: "model.bin", content: { size: 90_000, seed: 51 }, lfs: true }] },
  { id: "org/pending", files: [{ path: "model.bin", content: { size: 1000, seed: 61 }, lfs: true }] },
];

let s3: S3rverHandle;
let hub: FakeHub;
let a: TestKit;
let b: TestKit;
/** In front of A's presigned filesystem links (A's PUBLIC_URL), to break a download on purpose. */
let linkProxy: LinkProxy;
/** On B, pointing at A. */
let aOnB: ReservoirRegistryRecord;
/** On A, pointing at B. */
let bOnA: ReservoirRegistryRecord;

const clients = reservoirClientFactory({ timeoutMs: 5000, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 50 } });
const depsOn = (kit: TestKit, extra: Partial<ReservoirSourceDeps> = {}): ReservoirSourceDeps & ReservoirImportDeps => ({
  ds: kit.ds,
  registries: kit.booted.services.registries,
  clients,
  logger: kit.booted.logger,
  retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
  ...extra,
});

beforeAll(async () => {
  s3 = await startS3rver();
  hub = await startFakeHub(MODELS, { pageSize: 50, treePageSize: 100 });
  // A's port is known once A listens; the proxy forwards nothing before A makes links.
  let aPort = 0;
  linkProxy = await startLinkProxy(() => aPort);
  [a, b] = await Promise.all([
    startTestKit({ HF_ENDPOINT: hub.url, PUBLIC_URL: linkProxy.url }).then((kit) => {
      aPort = Number(new URL(kit.url).port);
      return kit;
    }),
    startTestKit({ HF_ENDPOINT: hub.url, S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_REGION: s3.region, S3_BUCKET: "b-artifacts" }),
  ]);
  // ADMIN: delegation asks the remote to import, which is an admin's mutation there.
  aOnB = await createReservoir(b, a.url, await issueKeypair(a, "ADMIN"), uniqueName("a"));
  bOnA = await createReservoir(a, b.url, await issueKeypair(b, "ADMIN"), uniqueName("b"));
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await Promise.all([hub?.stop(), s3?.stop(), linkProxy?.stop()]);
});

interface LinkProxy {
  url: string;
  /** GETs that went through, with their Range and Authorization headers. */
  gets: Array<{ path: string; range: string | undefined; authorization: string | undefined }>;
  /** Cuts the connection of the next GET whose path ends with `suffix`, after `bytes` bytes of body. */
  breakNext(suffix: string, bytes: number): void;
  stop(): Promise<void>;
}

async function startLinkProxy(targetPort: () => number): Promise<LinkProxy> {
  const gets: LinkProxy["gets"] = [];
  let armed: { suffix: string; bytes: number } | null = null;
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    if (req.method === "GET") gets.push({ path: path.split("?")[0], range: req.headers.range, authorization: req.headers.authorization });
    const cut = req.method === "GET" && armed && path.split("?")[0].endsWith(armed.suffix) ? armed : null;
    if (cut) armed = null;
    const upstream = request({ host: "127.0.0.1", port: targetPort(), path, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (!cut) return void answer.pipe(res);
      let sent = 0;
      answer.on("data", (chunk: Buffer) => {
        if (sent >= cut.bytes) return;
        const room = cut.bytes - sent;
        res.write(chunk.subarray(0, room));
        sent += Math.min(room, chunk.length);
        if (sent >= cut.bytes) {
          answer.destroy();
          res.destroy();
        }
      });
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    gets,
    breakNext: (suffix, bytes) => {
      armed = { suffix, bytes };
    },
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const SCAN = `mutation($input: ScanArtifactsInput!) { scanArtifacts(input: $input) { artifacts { id name } } }`;
const IMPORT = `mutation($input: ImportArtifactsInput!) { importArtifacts(input: $input) { tasks { taskId artifactRevision { id status } } } }`;
const SETTLED = ["AVAILABLE", "FAILED", "NEEDS_APPROVAL", "REJECTED", "SCANNED"];

interface RevisionRow { id: string; status: string; digest: string | null; last_error: string | null; remote_status: string | null; artifact_id: string }

async function revisionOn(kit: TestKit, registryId: string, name: string, version = "main"): Promise<RevisionRow> {
  const [row] = await kit.ds.query(
    `SELECT r.* FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE a.registry_id = $1 AND a.name = $2 AND r.version = $3`,
    [registryId, name, version],
  );
  if (!row) throw new Error(`no revision ${name}@${version} of registry ${registryId}`);
  return row;
}

async function huggingfaceRegistryOf(kit: TestKit): Promise<string> {
  const [row] = await kit.ds.query(`SELECT id FROM artifact_registries WHERE type = 'HUGGINGFACE' ORDER BY created_at LIMIT 1`);
  return row.id;
}

/** Scans `name` from the fake hub on A and waits for its manifest. */
async function scanHubOnA(name: string): Promise<RevisionRow> {
  await a.as("superadmin").ok(SCAN, { input: { limit: 1, search: name } });
  await a.booted.services.scans.idle();
  return revisionOn(a, await huggingfaceRegistryOf(a), name);
}

/** Starts an import through the GraphQL API and waits until the revision settles. */
async function importAndSettle(kit: TestKit, revisionId: string, force = false, timeoutMs = 30_000): Promise<RevisionRow> {
  await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [toGlobalId("ArtifactRevision", revisionId)], options: { force } } });
  return settle(kit, revisionId, timeoutMs);
}

async function settle(kit: TestKit, revisionId: string, timeoutMs = 30_000): Promise<RevisionRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await kit.ds.query(`SELECT * FROM artifact_revisions WHERE id = $1`, [revisionId]);
    if (SETTLED.includes(row.status) && row.status !== "SCANNED") return row;
    if (Date.now() > deadline) throw new Error(`revision ${revisionId} is still ${row.status} after ${timeoutMs} ms (lastError: ${row.last_error})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function filesOf(kit: TestKit, revisionId: string): Promise<Array<{ path: string; size: string; sha256: string | null; storage_key: string | null }>> {
  return kit.ds.query(`SELECT path, size, sha256, storage_key FROM artifact_revision_files WHERE revision_id = $1 ORDER BY path`, [revisionId]);
}

/** What each file of a hub model hashes to. */
async function hubDigests(name: string): Promise<Record<string, string>> {
  const model = MODELS.find((m) => m.id === name)!;
  const out: Record<string, string> = {};
  for (const file of model.files!) out[file.path] = (await hub.fileInfo(name, "main", file.path)).sha256;
  return out;
}

/** The bytes of every file of an imported revision, hashed from the kit's own storage. */
async function storedDigests(kit: TestKit, revisionId: string): Promise<Record<string, string>> {
  const [{ namespace_id }] = await kit.ds.query(`SELECT namespace_id FROM artifact_revision_namespaces WHERE revision_id = $1`, [revisionId]);
  const adapter = await kit.booted.storage.adapterFor(namespace_id);
  const out: Record<string, string> = {};
  for (const file of await filesOf(kit, revisionId)) out[file.path] = await sha256Of(await adapter.get(file.storage_key!));
  return out;
}

/** Puts files on `kit` by hand: rows AVAILABLE with SHA-256 and storage keys, bytes in its default namespace. */
async function seedAvailable(kit: TestKit, name: string, files: Array<{ path: string; bytes: Buffer }>, status = "AVAILABLE"): Promise<RevisionRow> {
  const seed = new Seed(kit.ds);
  const registryId = await huggingfaceRegistryOf(kit);
  const artifact = await seed.artifact(registryId, { name });
  const revision = await seed.revision(artifact.id, { version: "main", status, digest: status === "AVAILABLE" ? "5eed0001" : null, latestUpstreamDigest: "5eed0001" });
  const adapter = await kit.booted.storage.defaultAdapter();
  for (const file of files) {
    const key = `${name}/main/${file.path}`;
    if (status === "AVAILABLE") await adapter.put(key, Readable.from([file.bytes]));
    await kit.ds.query(
      `INSERT INTO artifact_revision_files (revision_id, path, size, sha256, storage_key) VALUES ($1, $2, $3, $4, $5)`,
      [revision.id, file.path, file.bytes.length, createHash("sha256").update(file.bytes).digest("hex"), status === "AVAILABLE" ? key : null],
    );
  }
  await kit.ds.query(`UPDATE artifact_revisions SET size = $2 WHERE id = $1`, [revision.id, files.reduce((n, f) => n + f.bytes.length, 0)]);
  if (status === "AVAILABLE") await kit.ds.query(`INSERT INTO artifact_revision_namespaces (revision_id, namespace_id) VALUES ($1, $2)`, [revision.id, kit.booted.storage.defaultNamespaceId]);
  return revisionOn(kit, registryId, name);
}

async function mirrorOnB(search: string): Promise<void> {
  await scannerOn(b).scan(aOnB, { limit: 10, search });
}

function refOf(kit: TestKit, registry: ReservoirRegistryRecord, name: string) {
  return revisionOn(kit, registry.id, name).then(async (row) => {
    const [artifact] = await kit.ds.query(`SELECT artifact_id FROM artifact_revisions WHERE id = $1`, [row.id]);
    return { id: row.id, artifactId: artifact.artifact_id, version: "main", artifactName: name, registryId: registry.id };
  });
}

describe("the Reservoir file source", () => {
  const WEIGHTS = Buffer.alloc(700_000);
  for (let i = 0; i < WEIGHTS.length; i++) WEIGHTS[i] = (i * 7919 + (i >> 8)) & 0xff;
  const FILES = [{ path: "weights.bin", bytes: WEIGHTS }, { path: "config.json", bytes: Buffer.from('{"seeded": true}') }];
  const signal = new AbortController().signal;

  beforeAll(async () => {
    // The same revision on both sides, so each can be the other's remote.
    await Promise.all([seedAvailable(a, "org/seeded", FILES), seedAvailable(b, "org/seeded", FILES)]);
    await Promise.all([scannerOn(b).scan(aOnB, { limit: 10, search: "seeded" }), scannerOn(a).scan(bOnA, { limit: 10, search: "seeded" })]);
  });

  async function fileOf(kit: TestKit, registry: ReservoirRegistryRecord, name: string, filePath: string) {
    const [row] = await kit.ds.query(
      `SELECT f.id, f.path, f.size, f.sha256 FROM artifact_revision_files f JOIN artifact_revisions r ON r.id = f.revision_id
        JOIN artifacts a ON a.id = r.artifact_id WHERE a.registry_id = $1 AND a.name = $2 AND f.path = $3`,
      [registry.id, name, filePath],
    );
    return { id: row.id as string, path: row.path as string, size: row.size as string, sha256: row.sha256 as string | null, upstreamOid: null };
  }

  it.each([
    ["a remote on the filesystem (HMAC-signed links)", () => ({ kit: b, registry: aOnB })],
    ["a remote on S3 (S3 presigned URLs)", () => ({ kit: a, registry: bOnA })],
  ])("reads a file from %s, and resumes it with a Range request under the same ETag", async (_name, which) => {
    const { kit, registry } = which();
    const source = await createReservoirFileSource(depsOn(kit), await refOf(kit, registry, "org/seeded"));
    const file = await fileOf(kit, registry, "org/seeded", "weights.bin");

    const whole = await source.open(file, { signal });
    expect(whole).toMatchObject({ status: 200, contentLength: WEIGHTS.length });
    expect(whole.etag).toBeTruthy();
    expect(Buffer.concat(await whole.body.toArray()).equals(WEIGHTS)).toBe(true);

    const tail = await source.open(file, { range: { start: 123_457 }, signal });
    expect(tail).toMatchObject({ status: 206, contentLength: WEIGHTS.length - 123_457, etag: whole.etag });
    expect(Buffer.concat(await tail.body.toArray()).equals(WEIGHTS.subarray(123_457))).toBe(true);
  });

  it("asks the remote for a fresh URL once when its storage refuses a link, and reuses URLs otherwise", async () => {
    const asked: string[] = [];
    const spoiling = (registry: ReservoirRegistryRecord) => {
      const client = clients(registry);
      const original = client.presignedDownloadUrl.bind(client);
      client.presignedDownloadUrl = async (...args: Parameters<ReservoirClient["presignedDownloadUrl"]>) => {
        const url = await original(...args);
        asked.push(args[1]);
        // The first link is spoiled, as if the remote had rotated its secret since handing it out.
        return asked.length === 1 ? url.replace(/sig=([0-9a-f])/, (_m, c: string) => `sig=${c === "0" ? "1" : "0"}`) : url;
      };
      return client;
    };
    const source = await createReservoirFileSource(depsOn(b, { clients: spoiling }), await refOf(b, aOnB, "org/seeded"));
    const file = await fileOf(b, aOnB, "org/seeded", "config.json");
    for (let i = 0; i < 2; i++) expect(Buffer.concat(await (await source.open(file, { signal })).body.toArray()).toString()).toBe('{"seeded": true}');
    expect(asked).toEqual(["config.json", "config.json"]);
  });

  it("passes the storage's 404 on as a permanent error naming the file", async () => {
    const source = await createReservoirFileSource(depsOn(b), await refOf(b, aOnB, "org/seeded"));
    const file = await fileOf(b, aOnB, "org/seeded", "config.json");
    await (await a.booted.storage.defaultAdapter()).delete("org/seeded/main/config.json");
    try {
      await expect(source.open(file, { signal })).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/"config\.json".*HTTP 404/) });
    } finally {
      await (await a.booted.storage.defaultAdapter()).put("org/seeded/main/config.json", Readable.from([FILES[1].bytes]));
    }
  });

  it("fills in SHA-256s the local manifest lacks from the remote's, which the pipeline then verifies", async () => {
    const onB = await revisionOn(b, aOnB.id, "org/seeded");
    await b.ds.query(`UPDATE artifact_revision_files SET sha256 = NULL WHERE revision_id = $1`, [onB.id]);
    await createReservoirFileSource(depsOn(b), await refOf(b, aOnB, "org/seeded"));
    expect((await filesOf(b, onB.id)).map((f) => [f.path, f.sha256])).toEqual([
      ["config.json", createHash("sha256").update(FILES[1].bytes).digest("hex")],
      ["weights.bin", createHash("sha256").update(WEIGHTS).digest("hex")],
    ]);
  });

  it("lists the remote copy's files, the manifest a forced re-import fetches", async () => {
    const source = await createReservoirFileSource(depsOn(b), await refOf(b, aOnB, "org/seeded"));
    expect(await source.listFiles()).toEqual({
      files: [
        { path: "config.json", size: String(FILES[1].bytes.length), sha256: createHash("sha256").update(FILES[1].bytes).digest("hex"), upstreamOid: null },
        { path: "weights.bin", size: String(WEIGHTS.length), sha256: createHash("sha256").update(WEIGHTS).digest("hex"), upstreamOid: null },
      ],
      skipped: [],
    });
  });

  it("refuses, permanently, a remote copy that differs from the manifest scanned here", async () => {
    const onB = await revisionOn(b, aOnB.id, "org/seeded");
    await b.ds.query(`UPDATE artifact_revision_files SET size = size + 1 WHERE revision_id = $1 AND path = 'weights.bin'`, [onB.id]);
    try {
      await expect(createReservoirFileSource(depsOn(b), await refOf(b, aOnB, "org/seeded"))).rejects.toMatchObject({
        retryable: false, message: expect.stringMatching(/"weights\.bin" is 700000 bytes there, 700001 here.*rescan/),
      });
    } finally {
      await b.ds.query(`UPDATE artifact_revision_files SET size = size - 1 WHERE revision_id = $1 AND path = 'weights.bin'`, [onB.id]);
    }
  });

  it("refuses, permanently, a revision the remote has not imported", async () => {
    await seedAvailable(a, "org/not-yet", FILES, "SCANNED");
    await mirrorOnB("not-yet");
    const attempt = createReservoirFileSource(depsOn(b), await refOf(b, aOnB, "org/not-yet"));
    await expect(attempt).rejects.toBeInstanceOf(ReservoirImportError);
    await expect(attempt).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/has not imported org\/not-yet@main: it is SCANNED there.*delegateImportArtifacts/) });
  });

  it("refuses a revision the remote no longer has", async () => {
    await seedAvailable(a, "org/vanishing", FILES);
    await mirrorOnB("vanishing");
    await a.ds.query(`DELETE FROM artifacts WHERE name = 'org/vanishing'`);
    await expect(createReservoirFileSource(depsOn(b), await refOf(b, aOnB, "org/vanishing"))).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/no longer has org\/vanishing@main/) });
  });

  it("reports an unreachable remote as retryable", async () => {
    const down = { ...aOnB, endpoint: "http://127.0.0.1:9/graphql" };
    const deps = depsOn(b, { registries: { findReservoir: async () => down } });
    await expect(createReservoirFileSource(deps, await refOf(b, aOnB, "org/seeded"))).rejects.toMatchObject({ retryable: true });
  });
});

describe("importing from a Reservoir remote", () => {
  it("copies A's filesystem-stored revision into B's S3 bucket, verifying every file's SHA-256", async () => {
    const onA = await scanHubOnA("org/tiny");
    expect(await importAndSettle(a, onA.id)).toMatchObject({ status: "AVAILABLE" });

    await mirrorOnB("tiny");
    const onB = await revisionOn(b, aOnB.id, "org/tiny");
    expect(onB).toMatchObject({ status: "SCANNED", remote_status: "AVAILABLE" });
    const settled = await importAndSettle(b, onB.id);
    expect(settled).toMatchObject({ status: "AVAILABLE", last_error: null, digest: hub.resolveRevision("org/tiny", "main") });

    const expected = await hubDigests("org/tiny");
    // Small files have no SHA-256 upstream (only a git blob id): B got them from A's manifest.
    expect(Object.fromEntries((await filesOf(b, onB.id)).map((f) => [f.path, f.sha256]))).toEqual(expected);
    expect(await storedDigests(b, onB.id)).toEqual(expected);
    const [{ namespace_id }] = await b.ds.query(`SELECT namespace_id FROM artifact_revision_namespaces WHERE revision_id = $1`, [onB.id]);
    expect((await b.booted.storage.adapterFor(namespace_id)).kind).toBe("s3");
  }, 60_000);

  it("copies B's S3-stored revision back into A's filesystem through S3 presigned URLs", async () => {
    await scannerOn(a).scan(bOnA, { limit: 10, search: "tiny" });
    const onA = await revisionOn(a, bOnA.id, "org/tiny");
    expect(onA.remote_status).toBe("AVAILABLE");
    expect(await importAndSettle(a, onA.id)).toMatchObject({ status: "AVAILABLE", last_error: null });
    expect(await storedDigests(a, onA.id)).toEqual(await hubDigests("org/tiny"));
  }, 60_000);

  it("fails B's import on the checksum when A's stored bytes were changed", async () => {
    const onA = await scanHubOnA("org/corrupt");
    expect(await importAndSettle(a, onA.id)).toMatchObject({ status: "AVAILABLE" });
    const [stored] = await a.ds.query(`SELECT storage_key FROM artifact_revision_files WHERE revision_id = $1 AND path = 'model.bin'`, [onA.id]);
    const file = path.join(a.dataDir, "objects", "default", ...stored.storage_key.split("/"));
    const bytes = await readFile(file);
    bytes[1000] ^= 0xff;
    await writeFile(file, bytes);

    await mirrorOnB("corrupt");
    const onB = await revisionOn(b, aOnB.id, "org/corrupt");
    const settled = await importAndSettle(b, onB.id);
    expect(settled.status).toBe("FAILED");
    expect(settled.last_error).toMatch(/sha-?256|checksum/i);
    expect(settled.last_error).toMatch(/model\.bin/);
  }, 60_000);

  it("resumes a file whose download from A's storage broke off, with a Range request for the rest", async () => {
    const bytes = Buffer.alloc(600_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 10)) & 0xff;
    await seedAvailable(a, "org/flaky", [{ path: "big.bin", bytes }]);
    await mirrorOnB("flaky");
    const onB = await revisionOn(b, aOnB.id, "org/flaky");
    linkProxy.breakNext("/org/flaky/main/big.bin", 200_000);

    expect(await importAndSettle(b, onB.id)).toMatchObject({ status: "AVAILABLE", last_error: null });
    const gets = linkProxy.gets.filter((g) => g.path.endsWith("/org/flaky/main/big.bin"));
    expect(gets[0].range).toBeUndefined();
    expect(gets[1].range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(gets[1].range!)![0])).toBeGreaterThan(0);
    expect((await storedDigests(b, onB.id))["big.bin"]).toBe(createHash("sha256").update(bytes).digest("hex"));
    // The links are presigned: B's key pair token goes to A's GraphQL endpoint only.
    expect(linkProxy.gets.filter((g) => g.authorization !== undefined)).toEqual([]);
  }, 60_000);

  it("works from rows and files put on A by hand, too", async () => {
    const bytes = Buffer.from("hand-made weights ".repeat(1000));
    await seedAvailable(a, "org/handmade", [{ path: "w.bin", bytes }, { path: "notes.txt", bytes: Buffer.from("notes") }]);
    await mirrorOnB("handmade");
    const onB = await revisionOn(b, aOnB.id, "org/handmade");
    expect(await importAndSettle(b, onB.id)).toMatchObject({ status: "AVAILABLE", digest: "5eed0001" });
    expect((await storedDigests(b, onB.id))["w.bin"]).toBe(createHash("sha256").update(bytes).digest("hex"));
  }, 60_000);
});

describe("delegated imports", () => {
  it("wait for an import under way on the remote, woken by the remote's subscription", async () => {
    const onA = await seedAvailable(a, "org/under-way", [{ path: "w.bin", bytes: Buffer.from("under way") }]);
    await a.ds.query(`UPDATE artifact_revisions SET status = 'PULLING', digest = NULL WHERE id = $1`, [onA.id]);
    await mirrorOnB("under-way");

    let polled!: () => void;
    const firstPoll = new Promise<void>((resolve) => (polled = resolve));
    let heard!: () => void;
    const firstEvent = new Promise<void>((resolve) => (heard = resolve));
    const watching = (registry: ReservoirRegistryRecord) => {
      const client = clients(registry);
      const original = client.revisionState.bind(client);
      client.revisionState = async (id) => {
        const state = await original(id);
        polled();
        return state;
      };
      // Taps what the subscription hands the waiting source, to know when it is live on A.
      const watch = client.watchStatuses.bind(client);
      client.watchStatuses = (ids, watcher) => watch(ids, {
        next: (state) => {
          heard();
          watcher.next(state);
        },
        error: (error) => watcher.error(error),
      });
      return client;
    };
    // Polling is pushed far out: only the subscription can end this wait in time.
    const source = createReservoirFileSource(depsOn(b, { clients: watching, wait: { pollIntervalMs: 600_000, timeoutMs: 20_000 } }), await refOf(b, aOnB, "org/under-way"));
    await firstPoll;
    // graphql-ws does not acknowledge a subscription: A publishes the revision's current status
    // (PULLING, which the source keeps waiting through) until one reaches the source.
    await repeatUntil("B's subscription to A to deliver an event", () => a.booted.events.publish("revision.status", {
      revisionId: onA.id, artifactId: onA.artifact_id, from: ArtifactStatus.PULLING, to: ArtifactStatus.PULLING, at: new Date().toISOString(), actor: "test fence",
    }), firstEvent);
    for (const action of ["pulled", "verify", "makeAvailable"] as const) {
      await applyTransition(a.ds, onA.id, action, { actor: "test", patch: action === "makeAvailable" ? { digest: "5eed0001" } : {} }, a.booted.events);
    }
    await expect(source).resolves.toMatchObject({ kind: "reservoir", remoteDigest: "5eed0001" });
  });

  it("ask A to import a revision it only scanned, wait for it through A's subscription, then import it on B", async () => {
    const onA = await scanHubOnA("org/later");
    expect(onA.status).toBe("SCANNED");
    await mirrorOnB("later");
    const onB = await revisionOn(b, aOnB.id, "org/later");
    expect(onB.remote_status).toBe("SCANNED");

    // Polling is pushed far out: only the subscription can end this wait in time.
    const result = await delegateImport(depsOn(b), [onB.id], { force: false, wait: true, pollIntervalMs: 600_000, timeoutMs: 30_000 });
    expect(result.revisions).toEqual([expect.objectContaining({ revisionId: onB.id, remoteTaskId: expect.any(String), remoteStatus: "AVAILABLE" })]);
    expect(result.remoteTaskIds).toEqual([result.revisions[0].remoteTaskId]);
    expect((await revisionOn(a, await huggingfaceRegistryOf(a), "org/later")).status).toBe("AVAILABLE");

    expect(await importAndSettle(b, onB.id)).toMatchObject({ status: "AVAILABLE" });
    expect(await storedDigests(b, onB.id)).toEqual(await hubDigests("org/later"));
  }, 60_000);

  it("leave a revision A already has alone unless forced", async () => {
    const onB = await revisionOn(b, aOnB.id, "org/later");
    const result = await delegateImport(depsOn(b), [onB.id], { force: false });
    expect(result).toEqual({ revisions: [expect.objectContaining({ remoteTaskId: null, remoteStatus: "AVAILABLE" })], remoteTaskIds: [] });
  });

  it("let the file source delegate by itself and take A's manifest when B scanned none", async () => {
    await scanHubOnA("org/lazy");
    await mirrorOnB("lazy");
    const onB = await revisionOn(b, aOnB.id, "org/lazy");
    // As if B had scanned A before A read the hub's manifest.
    await b.ds.query(`DELETE FROM artifact_revision_files WHERE revision_id = $1`, [onB.id]);

    const source = await createReservoirFileSource(depsOn(b, { delegate: true, wait: { pollIntervalMs: 200, timeoutMs: 30_000 } }), await refOf(b, aOnB, "org/lazy"));
    expect(source.kind).toBe("reservoir");
    expect(Object.fromEntries((await filesOf(b, onB.id)).map((f) => [f.path, f.sha256]))).toEqual(await hubDigests("org/lazy"));
  }, 60_000);

  it("let a delegated import's job ask A itself when A's copy is not imported by the time the job runs", async () => {
    await scanHubOnA("org/pending");
    await mirrorOnB("pending");
    const onB = await revisionOn(b, aOnB.id, "org/pending");
    const admin = { sub: "test-admin", role: Role.ADMIN };

    // A plain import meets A's SCANNED copy and fails, pointing at delegation.
    await b.booted.services.imports.importArtifacts([onB.id], { force: false }, admin);
    expect(await settle(b, onB.id)).toMatchObject({ status: "FAILED", last_error: expect.stringContaining("use delegateImportArtifacts") });

    // A delegated one (as delegateImportArtifacts starts it, should A's copy fail or vanish before
    // the job runs) lets the job ask A, wait for A's copy, and import it.
    await b.booted.services.imports.importArtifacts([onB.id], { force: false, delegate: true }, admin);
    expect(await settle(b, onB.id)).toMatchObject({ status: "AVAILABLE", last_error: null });
    expect((await revisionOn(a, await huggingfaceRegistryOf(a), "org/pending")).status).toBe("AVAILABLE");
    expect(await storedDigests(b, onB.id)).toEqual(await hubDigests("org/pending"));
  }, 60_000);

  it("end the wait with A's error when A's own import fails", async () => {
    await scanHubOnA("org/unlucky");
    await mirrorOnB("unlucky");
    const onB = await revisionOn(b, aOnB.id, "org/unlucky");
    const { sha256 } = await hub.fileInfo("org/unlucky", "main", "model.bin");
    // LFS bytes come from the hub's CDN, addressed by their SHA-256: every attempt of A's gets a flipped byte.
    hub.inject({ match: (req) => req.url.includes(sha256), origin: "cdn", corrupt: true, times: Infinity });
    try {
      const attempt = delegateImport(depsOn(b), [onB.id], { force: false, wait: true, pollIntervalMs: 500, timeoutMs: 30_000 });
      await expect(attempt).rejects.toMatchObject({ extensions: { code: "UPSTREAM_ERROR" }, message: expect.stringMatching(/org\/unlucky@main .*ended FAILED/) });
    } finally {
      hub.clearFaults();
    }
  }, 60_000);

  it("refuse revisions that do not come from a Reservoir registry", async () => {
    const onA = await revisionOn(a, await huggingfaceRegistryOf(a), "org/tiny");
    await expect(delegateImport(depsOn(a), [onA.id], { force: false })).rejects.toMatchObject({ extensions: { code: "BAD_USER_INPUT" } });
  });
});
