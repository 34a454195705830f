import { CancelImportMutationDocument, CleanupVersionMutationDocument, ImportArtifactsMutationDocument, ReservoirArtifactDetailPageQueryDocument } from "../generated/graphql";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";
import { FAST_IMPORTS, keysUnder, defaultAdapter, scanModel, waitForStatus } from "../import/support";

/** The Backend.AI web UI's import, cleanup and cancel mutations and its detail page, unchanged, against live imports. */

let hub: FakeHub;
let kit: TestKit;

beforeAll(async () => {
  hub = await startFakeHub([
    { id: "webui/quick", files: [{ path: "README.md", content: "# quick" }, { path: "model.safetensors", content: { size: 64 * 1024, seed: 7 }, lfs: true }] },
    { id: "webui/slow", files: [{ path: "big.safetensors", content: { size: 4 * 1024 * 1024, seed: 8 }, lfs: true }] },
  ]);
  kit = await startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS });
});
afterAll(async () => {
  await kit?.close();
  await hub?.stop();
});

describe("the web UI against live imports", () => {
  it("ImportArtifactsMutation imports a revision to AVAILABLE, and CleanupVersionMutation removes its files", async () => {
    const revision = await scanModel(kit, "webui/quick");
    const data = await kit.as("admin").ok(ImportArtifactsMutationDocument, { input: { artifactRevisionIds: [revision.globalId] } });
    expect(data.importArtifacts?.tasks[0]).toMatchObject({ taskId: expect.any(String), artifactRevision: { id: revision.globalId, version: "main" } });
    expect(data.importArtifacts?.artifactRevisions.edges[0].node.status).toBe("PULLING");
    await waitForStatus(kit, revision.id, ["AVAILABLE"]);
    const adapter = await defaultAdapter(kit);
    expect(await keysUnder(adapter, "webui/quick/main/")).toEqual(["webui/quick/main/README.md", "webui/quick/main/model.safetensors"]);

    const cleaned = await kit.as("admin").ok(CleanupVersionMutationDocument, { input: { artifactRevisionIds: [revision.globalId] } });
    expect(cleaned.cleanupArtifactRevisions?.artifactRevisions.edges[0].node).toEqual({ id: revision.globalId, status: "SCANNED" });
    expect(await keysUnder(adapter, "webui/quick/main/")).toEqual([]);
  });

  it("shows a running import in the detail page's PULLING list, and CancelImportMutation stops it", async () => {
    const revision = await scanModel(kit, "webui/slow");
    hub.hold({ match: () => true, origin: "cdn", afterBytes: 1024, times: Infinity });
    try {
      await kit.as("admin").ok(ImportArtifactsMutationDocument, { input: { artifactRevisionIds: [revision.globalId] } });
      const [row] = await kit.ds.query(`SELECT artifact_id FROM artifact_revisions WHERE id = $1`, [revision.id]);
      const artifactId = Buffer.from(`Artifact:${row.artifact_id}`).toString("base64");
      const page = await kit.as("user").ok(ReservoirArtifactDetailPageQueryDocument, { id: artifactId, offset: 0, limit: 10, filter: {} });
      expect(page.artifact?.pullingArtifactRevisions?.count).toBe(1);
      expect(page.artifact?.pullingArtifactRevisions?.edges[0].node).toEqual({ id: revision.globalId, status: "PULLING", version: "main", __typename: "ArtifactRevision" });

      const cancelled = await kit.as("admin").ok(CancelImportMutationDocument, { input: { artifactRevisionId: revision.globalId } });
      expect(cancelled.cancelImportArtifact?.artifactRevision).toEqual({ id: revision.globalId, status: "SCANNED" });
      const after = await kit.as("user").ok(ReservoirArtifactDetailPageQueryDocument, { id: artifactId, offset: 0, limit: 10, filter: {} });
      expect(after.artifact?.pullingArtifactRevisions?.count).toBe(0);
      const adapter = await defaultAdapter(kit);
      await waitForStatus(kit, revision.id, ["SCANNED"]);
      expect(await keysUnder(adapter, `.staging/${revision.id}/`)).toEqual([]);
    } finally {
      hub.clearFaults();
    }
  });
});
