import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { parseId } from "../../src/common/relay";
import { uploadKey } from "../../src/import/uploads";
import type { StorageAdapter } from "../../src/storage/storage.port";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { startS3rver, type S3rverHandle } from "../support/s3rver";
import { describeChange } from "../support/snapshot";
import { startTestKit, type TestKit } from "../support/testkit";
import { defaultAdapter, FAST_IMPORTS, keysUnder, objectBytes, sha256, startImport, waitFor, waitForStatus, type ScannedRevision } from "./support";

/*
 * Uploads never change a verified file. A link uploads once, through the service, into a
 * revision that holds no verified files; its bytes are hashed as they arrive and wait apart;
 * only an import publishes them, hashing them again. Each case runs on the filesystem and on S3.
 */

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
/** UPLOAD_MAX_BYTES of these tests: the largest upload below takes 10 MiB and 5 bytes. */
const UPLOAD_MAX = 11 * MiB;
const UPLOAD = `mutation($id: ID!, $key: String!) { getPresignedUploadUrl(input: { artifactRevisionId: $id, key: $key }) { presignedUrl fields } }`;
const IMPORT = `mutation($ids: [ID!]!) { importArtifacts(input: { artifactRevisionIds: $ids }) { tasks { taskId artifactRevision { id status } } } }`;
const CLEANUP = `mutation($ids: [ID!]!) { cleanupArtifactRevisions(input: { artifactRevisionIds: $ids }) { artifactRevisions { count edges { node { id status } } } } }`;
const WRITABLE = `mutation($id: ID!, $readonly: Boolean!) { updateArtifact(input: { artifactId: $id, readonly: $readonly }) { artifact { id readonly } } }`;
const FILES = `query($id: ID!) { artifactRevision(id: $id) { status digest files { edges { node { path size sha256 } } } } }`;

/** The upstream model whose copies the tests upload into, or import as they are. */
const upstream = (id: string) => ({ id, files: [{ path: "config.json", content: '{"upstream": true}' }, { path: "README.md", content: "# upstream" }] });

const backends: Array<[string, boolean]> = [["the filesystem", false], ["S3", true]];

describe.each(backends)("uploads on %s", (_backend, onS3) => {
  let hub: FakeHub;
  let s3: S3rverHandle | undefined;
  let kit: TestKit;
  let adapter: StorageAdapter;
  let secondRegistry: string;
  let n = 0;
  const model = () => `up/model-${onS3 ? "s3" : "fs"}-${++n}`;

  beforeAll(async () => {
    hub = await startFakeHub(Array.from({ length: 12 }, (_, i) => upstream(`up/model-${onS3 ? "s3" : "fs"}-${i + 1}`)));
    if (onS3) s3 = await startS3rver();
    kit = await startTestKit({
      HF_ENDPOINT: hub.url,
      ...FAST_IMPORTS,
      UPLOAD_MAX_BYTES: String(UPLOAD_MAX),
      ...(s3 ? { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_BUCKET: "uploads" } : {}),
    });
    adapter = await defaultAdapter(kit);
    const created = await kit.as("superadmin").ok(
      `mutation($i: CreateHuggingFaceRegistryInput!) { createHuggingfaceRegistry(input: $i) { huggingfaceRegistry { id } } }`,
      { i: { name: `mirror-${onS3 ? "s3" : "fs"}`, url: hub.url } },
    );
    secondRegistry = parseId("HuggingFaceRegistry", created.createHuggingfaceRegistry.huggingfaceRegistry.id);
  });
  afterAll(async () => {
    await kit?.close();
    await hub?.stop();
    await s3?.stop();
  });

  /** Rows, and files in the data directory and the bucket, before and after `act`: it must change none. */
  async function changesNothing(act: () => Promise<void>): Promise<void> {
    const scope = { folders: s3 ? [s3.directory] : [] };
    const before = await kit.snapshot(scope);
    await act();
    const change = describeChange(before, await kit.snapshot(scope));
    if (change) throw new Error(`Expected nothing to change, but:\n${change}`);
  }

  async function scanned(modelId: string, registryId?: string): Promise<ScannedRevision & { artifactId: string }> {
    const data = await kit.as("superadmin").ok(
      `mutation($input: ScanArtifactModelsInput!) { scanArtifactModels(input: $input) { artifactRevision { edges { node { id latestUpstreamDigest artifact { id } } } } } }`,
      { input: { models: [{ modelId }], ...(registryId ? { registryId } : {}) } },
    );
    const node = data.scanArtifactModels.artifactRevision.edges[0].node;
    return { id: parseId("ArtifactRevision", node.id), globalId: node.id, commit: node.latestUpstreamDigest, artifactId: node.artifact.id };
  }

  async function writable(modelId: string, registryId?: string) {
    const revision = await scanned(modelId, registryId);
    await kit.as("superadmin").ok(WRITABLE, { id: revision.artifactId, readonly: false });
    return revision;
  }

  const linkFor = async (revision: { globalId: string }, key: string): Promise<string> =>
    (await kit.as("admin").ok(UPLOAD, { id: revision.globalId, key })).getPresignedUploadUrl.presignedUrl;

  const put = (url: string, body: Buffer | string) => fetch(url, { method: "PUT", body: typeof body === "string" ? body : new Uint8Array(body) });

  async function upload(revision: { globalId: string }, key: string, body: Buffer | string) {
    const res = await put(await linkFor(revision, key), body);
    const answer = await res.json();
    expect([res.status, answer]).toEqual([200, { path: key, size: Buffer.byteLength(body), sha256: sha256(body) }]);
    return answer;
  }

  const finalKeys = (modelId: string) => keysUnder(adapter, `${modelId}/`);

  it("publishes uploads only through an import: hashed as they arrive, kept apart, verified again, then AVAILABLE", async () => {
    const name = model();
    const revision = await writable(name);
    const weights = randomBytes(10 * MiB + 5);
    await upload(revision, "config.json", '{"uploaded": true}');
    await upload(revision, "weights/model.bin", weights);

    // Waiting: nothing at the revision's folder, nothing served, the scan's manifest untouched.
    expect(await finalKeys(name)).toEqual([]);
    expect(await keysUnder(adapter, `.uploads/${revision.id}/`)).toHaveLength(2);

    await kit.as("admin").ok(IMPORT, { ids: [revision.globalId] });
    await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"]);
    const listing = [["config.json", '{"uploaded": true}'], ["weights/model.bin", weights]].map(([path, bytes]) => `${sha256(bytes)}  ${path}\n`).join("");
    const data = await kit.as("admin").ok(FILES, { id: revision.globalId });
    expect(data.artifactRevision).toMatchObject({ status: "AVAILABLE", digest: `sha256:${sha256(listing)}` });
    expect(data.artifactRevision.files.edges.map((e: any) => e.node).sort((a: any, b: any) => a.path.localeCompare(b.path))).toEqual([
      { path: "config.json", size: "18", sha256: sha256('{"uploaded": true}') },
      { path: "weights/model.bin", size: String(weights.length), sha256: sha256(weights) },
    ]);
    expect(await finalKeys(name)).toEqual([`${name}/main/config.json`, `${name}/main/weights/model.bin`]);
    expect(sha256(await objectBytes(adapter, `${name}/main/weights/model.bin`))).toBe(sha256(weights));
    // The uploads are consumed, staging is empty, and no multipart upload is left pending.
    expect(await keysUnder(adapter, ".uploads/")).toEqual([]);
    expect(await keysUnder(adapter, ".staging/")).toEqual([]);
    expect(await kit.ds.query(`SELECT id FROM artifact_revision_uploads WHERE revision_id = $1`, [revision.id])).toEqual([]);
    if (s3) expect(await s3.pendingUploads("uploads")).toEqual([]);

    // And its files never change again.
    await kit.as("admin").refuses(UPLOAD, { id: revision.globalId, key: "config.json" }, "CONFLICT", { folders: s3 ? [s3.directory] : [] });
  });

  it("refuses to upload into an AVAILABLE revision, and a link given before its import writes nothing once it is", async () => {
    const name = model();
    const revision = await writable(name);
    const early = await linkFor(revision, "config.json");
    await startImport(kit, revision);
    await waitForStatus(kit, revision.id, ["AVAILABLE"]);
    const verified = await objectBytes(adapter, `${name}/main/config.json`);

    await changesNothing(async () => {
      const res = await put(early, '{"evil": true}');
      expect([res.status, await res.json()]).toEqual([404, { error: "no such upload: its revision was imported or cleaned up since the link was made" }]);
    });
    const refused = await kit.as("admin").refuses(UPLOAD, { id: revision.globalId, key: "config.json" }, "CONFLICT", { folders: s3 ? [s3.directory] : [] });
    expect(refused.extensions).toMatchObject({ currentStatus: "AVAILABLE" });
    expect(await objectBytes(adapter, `${name}/main/config.json`)).toEqual(verified);
  });

  it("uploads once per link: of two PUTs at once one is refused, and a later one changes nothing", async () => {
    const revision = await writable(model());
    const url = await linkFor(revision, "notes.txt");
    const both = await Promise.all([put(url, "first"), put(url, "other")]);
    expect(both.map((res) => res.status).sort()).toEqual([200, 409]);
    const kept = await both.find((res) => res.status === 200)!.json();
    await changesNothing(async () => {
      const again = await put(url, "second");
      expect([again.status, await again.json()]).toEqual([409, { error: "this upload link was used already: ask for another" }]);
    });
    const rows = await kit.ds.query(`SELECT path, size::int AS size, sha256 FROM artifact_revision_uploads WHERE revision_id = $1`, [revision.id]);
    expect(rows).toEqual([{ path: "notes.txt", size: 5, sha256: kept.sha256 }]);
    expect(await keysUnder(adapter, `.uploads/${revision.id}/`)).toHaveLength(1);
  });

  it("keeps no upload that was still arriving when the revision's import started", async () => {
    const name = model();
    const revision = await writable(name);
    await upload(revision, "config.json", "{}");
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode("late "));
        await held;
        controller.enqueue(new TextEncoder().encode("bytes"));
        controller.close();
      },
    });
    const late = fetch(await linkFor(revision, "late.txt"), { method: "PUT", body, duplex: "half" } as RequestInit);
    await waitFor("the late upload to be claimed", async () => (await kit.ds.query(`SELECT 1 FROM artifact_revision_uploads WHERE revision_id = $1 AND path = 'late.txt' AND started_at IS NOT NULL`, [revision.id])).length > 0);

    await kit.as("admin").ok(IMPORT, { ids: [revision.globalId] });
    release();
    const res = await late;
    expect(res.status).toBe(409);
    expect((await res.json()).error).toMatch(/the upload was not kept/);
    await waitForStatus(kit, revision.id, ["AVAILABLE"]);
    expect(await finalKeys(name)).toEqual([`${name}/main/config.json`]);
    expect(await keysUnder(adapter, `.uploads/${revision.id}/`)).toEqual([]);
  });

  it("refuses a tampered, expired or readonly artifact's link before it stores a byte", async () => {
    const revision = await writable(model());
    const url = await linkFor(revision, "a.txt");
    await changesNothing(async () => {
      const tampered = url.replace(/sig=([0-9a-f])/, (_m, c: string) => `sig=${c === "0" ? "1" : "0"}`);
      expect((await put(tampered, "x")).status).toBe(403);
      expect((await put(url.replace(/exp=\d+/, (m) => `exp=${Number(m.slice(4)) + 60}`), "x")).status).toBe(403);
      expect((await fetch(url)).status).toBe(405);
    });

    await kit.as("superadmin").ok(WRITABLE, { id: revision.artifactId, readonly: true });
    await changesNothing(async () => {
      const res = await put(url, "x");
      expect(res.status).toBe(409);
      expect((await res.json()).error).toMatch(/is readonly/);
    });
    await kit.as("superadmin").ok(WRITABLE, { id: revision.artifactId, readonly: false });

    await kit.ds.query(`UPDATE artifact_revision_uploads SET expires_at = now() - interval '1 second' WHERE revision_id = $1`, [revision.id]);
    await changesNothing(async () => {
      const res = await put(url, "x");
      expect([res.status, await res.json()]).toEqual([403, { error: "link expired" }]);
    });
  });

  it("never writes into a folder another registry's copy of the model holds: readonly holds for every revision sharing it", async () => {
    const name = model();
    const hubCopy = await scanned(name);
    const mirror = await writable(name, secondRegistry);
    // A link given before the hub's copy was imported still only uploads apart.
    await upload(mirror, "config.json", '{"mirror": true}');
    await startImport(kit, hubCopy);
    await waitForStatus(kit, hubCopy.id, ["AVAILABLE"]);
    const verified = await objectBytes(adapter, `${name}/main/config.json`);

    const refused = await kit.as("admin").refuses(UPLOAD, { id: mirror.globalId, key: "config.json" }, "CONFLICT", { folders: s3 ? [s3.directory] : [] });
    expect(refused.extensions).toMatchObject({ conflictingArtifactRevisionId: hubCopy.globalId });
    const importRefused = await kit.as("admin").refuses(IMPORT, { ids: [mirror.globalId] }, "CONFLICT", { folders: s3 ? [s3.directory] : [] });
    expect(importRefused.extensions).toMatchObject({ conflictingArtifactRevisionId: hubCopy.globalId });
    expect(await objectBytes(adapter, `${name}/main/config.json`)).toEqual(verified);
    expect(sha256(verified)).toBe(sha256('{"upstream": true}'));
  });

  it("fails the import, placing nothing, when an upload's bytes changed after they were recorded", async () => {
    const name = model();
    const revision = await writable(name);
    await upload(revision, "config.json", '{"uploaded": true}');
    const [{ id }] = await kit.ds.query(`SELECT id FROM artifact_revision_uploads WHERE revision_id = $1`, [revision.id]);
    // Behind the service's back, as someone with the storage's own keys could: same length, one byte other.
    await adapter.put(uploadKey(revision.id, id), Readable.from([Buffer.from('{"uploaded": TRUE}')]));

    await kit.as("admin").ok(IMPORT, { ids: [revision.globalId] });
    const row = await waitForStatus(kit, revision.id, ["AVAILABLE", "FAILED"]);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toMatch(/Checksum mismatch for config\.json/);
    expect(await finalKeys(name)).toEqual([]);
  });

  it("keeps the latest upload of a path, and discards every upload when a SCANNED revision is cleaned up", async () => {
    const revision = await writable(model());
    await upload(revision, "config.json", "one");
    await upload(revision, "config.json", "two");
    expect(await kit.ds.query(`SELECT sha256 FROM artifact_revision_uploads WHERE revision_id = $1 AND completed_at IS NOT NULL`, [revision.id])).toEqual([{ sha256: sha256("two") }]);
    expect(await keysUnder(adapter, `.uploads/${revision.id}/`)).toHaveLength(1);
    const unused = await linkFor(revision, "later.txt");

    const data = await kit.as("admin").ok(CLEANUP, { ids: [revision.globalId] });
    expect(data.cleanupArtifactRevisions.artifactRevisions.edges[0].node.status).toBe("SCANNED");
    expect(await keysUnder(adapter, `.uploads/${revision.id}/`)).toEqual([]);
    expect(await kit.ds.query(`SELECT id FROM artifact_revision_uploads WHERE revision_id = $1`, [revision.id])).toEqual([]);
    expect((await put(unused, "x")).status).toBe(404);
  });

  it("refuses a file over UPLOAD_MAX_BYTES with 413: a declared length before the link is used, a streamed one keeping nothing", async () => {
    const revision = await writable(model());
    const url = await linkFor(revision, "big.bin");
    await changesNothing(async () => {
      const res = await put(url, Buffer.alloc(UPLOAD_MAX + 1));
      expect([res.status, await res.json()]).toEqual([413, { error: `a file may be at most ${UPLOAD_MAX} bytes (UPLOAD_MAX_BYTES)` }]);
    });
    // Without a Content-Length the cap holds as the bytes arrive; the link is used up then.
    const chunks = [Buffer.alloc(8 * MiB), Buffer.alloc(4 * MiB)];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(new Uint8Array(next));
        else controller.close();
      },
    });
    const res = await fetch(url, { method: "PUT", body, duplex: "half" } as RequestInit).catch((error: Error) => error);
    // The server answers 413 and closes; a client still sending may see the reset instead.
    if (!(res instanceof Error)) expect(res.status).toBe(413);
    expect(await kit.ds.query(`SELECT path FROM artifact_revision_uploads WHERE revision_id = $1 AND completed_at IS NOT NULL`, [revision.id])).toEqual([]);
    expect(await keysUnder(adapter, `.uploads/${revision.id}/`)).toEqual([]);
    await upload(revision, "big.bin", Buffer.alloc(UPLOAD_MAX));
  });

  it("answers a link's PUT only under /storage/uploads: the download links write nothing", async () => {
    const name = model();
    const revision = await scanned(name);
    await startImport(kit, revision);
    await waitForStatus(kit, revision.id, ["AVAILABLE"]);
    const { getPresignedDownloadUrl } = await kit.as("admin").ok(
      `mutation($id: ID!) { getPresignedDownloadUrl(input: { artifactRevisionId: $id, key: "config.json" }) { presignedUrl } }`,
      { id: revision.globalId },
    );
    await changesNothing(async () => {
      expect((await put(getPresignedDownloadUrl.presignedUrl, '{"evil": true}')).status).toBeGreaterThanOrEqual(400);
    });
    expect(await (await fetch(getPresignedDownloadUrl.presignedUrl)).text()).toBe('{"upstream": true}');
  });
});
