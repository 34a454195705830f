import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { ArtifactStatus } from "../../src/common/enums";
import { toGlobalId } from "../../src/common/relay";
import { applyTransition, type LifecycleAction } from "../../src/revision/lifecycle";
import { FAST_IMPORTS, isPartway, scanModel, startImport, waitFor, wsClient as adminClient } from "../import/support";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { Seed } from "../support/seed";
import { progressFence, statusFence, subscribeFenced } from "../support/subscriptions";
import { startTestKit, type TestKit } from "../support/testkit";

/**
 * Two server processes' worth of boot on one database, as two replicas behind a load balancer:
 * A runs the import worker, B serves the API only.
 */
let hub: FakeHub;
let a: TestKit;
let b: TestKit;
beforeAll(async () => {
  hub = await startFakeHub([{ id: "xproc/model", files: [{ path: "config.json", content: "{}" }, { path: "model.safetensors", content: { size: 3_000_000, seed: 7 }, lfs: true }] }]);
  a = await startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS });
  b = await startTestKit({ HF_ENDPOINT: hub.url, DATA_DIR: a.config.dataDir, IMPORT_WORKER: "false", ...FAST_IMPORTS }, { database: a.db });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
  await hub?.stop();
});

const STATUS = `subscription($input: ArtifactStatusChangedInput!) {
  artifactStatusChanged(input: $input) { artifactRevision { id status } }
}`;

function wsClient(kit: TestKit): Client {
  return createClient({
    url: `${kit.url.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${kit.token("user")}` },
    retryAttempts: 0,
  });
}

describe("events across server processes", () => {
  it("shows a subscriber on server B, in order and once each, the transitions server A applies", async () => {
    const seed = new Seed(a.ds);
    const { id: artifactId } = await seed.artifact((await seed.registry()).id);
    const revision = await seed.revision(artifactId, { status: ArtifactStatus.SCANNED });
    const other = await seed.revision(artifactId, { status: ArtifactStatus.SCANNED });

    const onB = wsClient(b);
    const onA = wsClient(a);
    // Markers published by A: on B they arrive only by way of the database, like A's transitions.
    const subscribe = async (client: Client) => {
      const fence = await statusFence(a, a);
      return subscribeFenced(client, { query: STATUS, variables: { input: { artifactRevisionIds: [revision.globalId, fence.revisionId] } } }, { fence });
    };
    const fromB = await subscribe(onB);
    const fromA = await subscribe(onA);
    try {
      await Promise.all([fromB.live, fromA.live]);

      await applyTransition(a.ds, other.id, "startImport", { actor: "import-worker" }, a.booted.events);
      for (const action of ["startImport", "pulled", "verify", "makeAvailable"] as LifecycleAction[]) {
        await applyTransition(a.ds, revision.id, action, { actor: "import-worker" }, a.booted.events);
      }

      // Everything committed so far, and a duplicate of any of it, arrives before a marker published now.
      const id = toGlobalId("ArtifactRevision", revision.id);
      const expected = ["PULLING", "PULLED", "VERIFYING", "AVAILABLE"].map((status) => ({ artifactStatusChanged: { artifactRevision: { id, status } } }));
      expect(await fromB.drain()).toEqual(expected);
      expect(await fromA.drain()).toEqual(expected);
    } finally {
      fromB.stop();
      fromA.stop();
      await onB.dispose();
      await onA.dispose();
    }
  });

  it("streams to a subscriber on server B every transition and the progress of an import that server A's worker runs", async () => {
    const revision = await scanModel(b, "xproc/model");
    const sha = (await hub.fileInfo("xproc/model", "main", "model.safetensors")).sha256;
    // Held mid-file until B's subscriber saw a progress reported while bytes are still coming.
    const held = hub.hold({ origin: "cdn", match: (r) => r.url.includes(sha), afterBytes: 1_000_000 });
    const client = adminClient(b);
    // Markers published by A reach B's subscribers only through the database.
    const fence = await statusFence(a, a);
    const statuses = subscribeFenced(client, { query: STATUS, variables: { input: { artifactRevisionIds: [revision.globalId, fence.revisionId] } } },
      { fence, until: (v: any) => v.artifactStatusChanged.artifactRevision.status === "AVAILABLE", timeoutMs: 30_000 });
    const progress = subscribeFenced(client, { query: `subscription($id: ID!) { artifactImportProgressUpdated(artifactRevisionId: $id) { artifactId progress } }`, variables: { id: revision.globalId } },
      { fence: progressFence(revision.id, a), until: (v: any) => v.artifactImportProgressUpdated.progress === 1, timeoutMs: 30_000 });
    try {
      await Promise.all([statuses.live, progress.live]);

      await startImport(b, revision);
      await held.reached;
      await waitFor("a progress between 0 and 1 on server B", async () => progress.results.some(isPartway));
      held.release();

      expect((await statuses.done).map((v: any) => v.artifactStatusChanged.artifactRevision.status)).toEqual(["PULLING", "PULLED", "VERIFYING", "AVAILABLE"]);
      expect((await progress.done).at(-1)).toMatchObject({ artifactImportProgressUpdated: { progress: 1 } });
      const [worker] = await a.ds.query(`SELECT actor FROM artifact_revision_status_history WHERE revision_id = $1 AND to_status = 'AVAILABLE'`, [revision.id]);
      expect(worker.actor).toBe("import-worker");
      expect(b.booted.imports.worker).toBeNull();
    } finally {
      statuses.stop();
      progress.stop();
      await client.dispose();
    }
  });
});
