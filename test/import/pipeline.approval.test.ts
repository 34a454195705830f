import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";
import { FAST_IMPORTS, scanModel, startImport, waitForStatus } from "./support";

/* With approval required and the pickle policy refusing: verified imports wait for an administrator, and pickles with a safe twin never pass. */

// A pickle (protocol 4) header, then filler: enough for the verifier to recognise it.
const PICKLE = Buffer.concat([Buffer.from([0x80, 0x04, 0x95]), Buffer.alloc(2000, 7)]);

let hub: FakeHub;
let kit: TestKit;

beforeAll(async () => {
  hub = await startFakeHub([
    { id: "review/clean", files: [{ path: "config.json", content: "{}" }, { path: "model.safetensors", content: { size: 50_000, seed: 1 }, lfs: true }] },
    { id: "review/pickled", files: [{ path: "model.safetensors", content: { size: 50_000, seed: 2 }, lfs: true }, { path: "pytorch_model.bin", content: PICKLE, lfs: true }] },
    { id: "review/pickle-only", files: [{ path: "pytorch_model.bin", content: PICKLE, lfs: true }] },
  ]);
  kit = await startTestKit({ HF_ENDPOINT: hub.url, IMPORT_REQUIRE_APPROVAL: "true", IMPORT_PICKLE_POLICY: "reject", ...FAST_IMPORTS });
});
afterAll(async () => {
  await kit?.close();
  await hub?.stop();
});

const APPROVE = `mutation($id: ID!) { approveArtifactRevision(input: { artifactRevisionId: $id }) { artifactRevision { status digest } } }`;

describe("approval and verifiers", () => {
  it("holds a verified import at NEEDS_APPROVAL with its digest, and approval makes it AVAILABLE", async () => {
    const revision = await scanModel(kit, "review/clean");
    await startImport(kit, revision);
    const row = await waitForStatus(kit, revision.id, ["NEEDS_APPROVAL", "AVAILABLE", "FAILED"]);
    expect(row).toMatchObject({ status: "NEEDS_APPROVAL", digest: revision.commit, import_task_id: null });
    expect(row.verification_result.verifiers).toEqual([
      expect.objectContaining({ name: "pickle-policy", result: expect.objectContaining({ success: true, infectedCount: 0, scannedCount: 0 }) }),
    ]);

    const approved = await kit.as("admin").ok(APPROVE, { id: revision.globalId });
    expect(approved.approveArtifactRevision.artifactRevision).toMatchObject({ status: "AVAILABLE", digest: revision.commit });
  });

  it("fails a revision whose pickle weights have a safetensors twin, naming the file", async () => {
    const revision = await scanModel(kit, "review/pickled");
    await startImport(kit, revision);
    const row = await waitForStatus(kit, revision.id, ["NEEDS_APPROVAL", "AVAILABLE", "FAILED"]);
    expect(row.status).toBe("FAILED");
    expect(row.last_error).toContain("pickle-policy");
    expect(row.last_error).toContain("pytorch_model.bin");
    const [report] = row.verification_result.verifiers;
    expect(report.result).toMatchObject({ success: false, infectedCount: 1, scannedCount: 1 });
    expect(report.result.metadata.entries).toContainEqual(expect.objectContaining({ key: "pytorch_model.bin" }));
  });

  it("lets a pickle through when it is the only form of the weights", async () => {
    const revision = await scanModel(kit, "review/pickle-only");
    await startImport(kit, revision);
    const row = await waitForStatus(kit, revision.id, ["NEEDS_APPROVAL", "AVAILABLE", "FAILED"]);
    expect(row.status).toBe("NEEDS_APPROVAL");
  });
});
