import { toGlobalId } from "../../src/common/relay";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { startS3rver, type S3rverHandle } from "../support/s3rver";
import { startTestKit, type TestKit } from "../support/testkit";
import { createReservoir, issueKeypair } from "../reservoir/support";
import { defaultAdapter, FAST_IMPORTS, keysUnder, objectBytes, scanModel, sha256, startImport, waitForStatus } from "./support";

/*
 * The pipeline with the Reservoir source: instance A (filesystem) imports from the hub, then
 * instance B (S3) mirrors A as a Reservoir registry and imports the same revision from A's
 * presigned links, verifying every SHA-256 on the way.
 */

const REPO = "mirror/tiny";
const PATHS = ["config.json", "weights/model.safetensors"];

let s3: S3rverHandle;
let hub: FakeHub;
let a: TestKit;
let b: TestKit;

beforeAll(async () => {
  s3 = await startS3rver();
  hub = await startFakeHub([{
    id: REPO,
    files: [{ path: "config.json", content: '{"mirror": true}' }, { path: "weights/model.safetensors", content: { size: 400_000, seed: 31 }, lfs: true }],
  }]);
  a = await startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS });
  b = await startTestKit({ S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_BUCKET: "mirror", ...FAST_IMPORTS });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
  await hub?.stop();
  await s3?.stop();
});

describe("an import from a Reservoir peer", () => {
  it("copies an AVAILABLE revision of the peer into another storage backend, byte for byte", async () => {
    const upstream = await scanModel(a, REPO);
    await startImport(a, upstream);
    expect((await waitForStatus(a, upstream.id, ["AVAILABLE", "FAILED"])).status).toBe("AVAILABLE");

    const reservoir = await createReservoir(b, a.url, await issueKeypair(a));
    await b.as("superadmin").ok(`mutation($id: ID!) { scanArtifacts(input: { registryId: $id, limit: 10 }) { artifacts { id } } }`, { id: toGlobalId("ReservoirRegistry", reservoir.id) });
    await b.booted.services.scans.idle();
    const [mirrored] = await b.ds.query(
      `SELECT r.id FROM artifact_revisions r JOIN artifacts x ON x.id = r.artifact_id WHERE x.registry_id = $1 AND x.name = $2 AND r.version = 'main'`,
      [reservoir.id, REPO],
    );
    await startImport(b, { globalId: toGlobalId("ArtifactRevision", mirrored.id) });

    const row = await waitForStatus(b, mirrored.id, ["AVAILABLE", "FAILED"]);
    expect(row).toMatchObject({ status: "AVAILABLE", digest: upstream.commit });
    const adapter = await defaultAdapter(b);
    expect(adapter.kind).toBe("s3");
    for (const path of PATHS) {
      expect(sha256(await objectBytes(adapter, `${REPO}/main/${path}`))).toBe((await hub.fileInfo(REPO, "main", path)).sha256);
    }
    expect(await keysUnder(adapter, ".staging/")).toEqual([]);
  });
});
