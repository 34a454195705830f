import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { ArtifactStatus } from "../../src/common/enums";
import { toGlobalId } from "../../src/common/relay";
import { applyTransition, type LifecycleAction } from "../../src/revision/lifecycle";
import { collect, FAST_IMPORTS, scanModel, startImport, wsClient as adminClient } from "../import/support";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { Seed } from "../support/seed";
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

/**
 * Subscribes and resolves with every result that arrived once `count` are in and 300 ms passed
 * without another (so a duplicate would show), or rejects after a deadline. `subscribed` resolves
 * when the server has set up the subscription, judged by its acknowledgement plus a moment.
 */
function subscribe(client: Client, revisionIds: string[], count: number) {
  const results: any[] = [];
  let ready!: () => void;
  const subscribed = new Promise<void>((resolve) => (ready = resolve));
  const done = new Promise<any[]>((resolve, reject) => {
    let settle: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => finish(new Error(`got ${results.length} of ${count} events within 10 s: ${JSON.stringify(results)}`)), 10_000);
    const finish = (error?: Error) => {
      clearTimeout(deadline);
      clearTimeout(settle);
      dispose();
      if (error) reject(error);
      else resolve(results);
    };
    const dispose = client.subscribe({ query: STATUS, variables: { input: { artifactRevisionIds: revisionIds } } }, {
      next: (value) => {
        if (value.errors) return finish(new Error(JSON.stringify(value.errors)));
        results.push(value.data);
        if (results.length >= count) {
          clearTimeout(settle);
          settle = setTimeout(() => finish(), 300);
        }
      },
      error: (error) => finish(error instanceof Error ? error : new Error(JSON.stringify(error))),
      complete: () => undefined,
    });
  });
  client.on("connected", () => setTimeout(ready, 300));
  return { subscribed, done };
}

describe("events across server processes", () => {
  it("shows a subscriber on server B, in order and once each, the transitions server A applies", async () => {
    const seed = new Seed(a.ds);
    const { id: artifactId } = await seed.artifact((await seed.registry()).id);
    const revision = await seed.revision(artifactId, { status: ArtifactStatus.SCANNED });
    const other = await seed.revision(artifactId, { status: ArtifactStatus.SCANNED });

    const onB = wsClient(b);
    const onA = wsClient(a);
    try {
      const steps: LifecycleAction[] = ["startImport", "pulled", "verify", "makeAvailable"];
      const fromB = subscribe(onB, [revision.globalId], steps.length);
      const fromA = subscribe(onA, [revision.globalId], steps.length);
      await Promise.all([fromB.subscribed, fromA.subscribed]);

      await applyTransition(a.ds, other.id, "startImport", { actor: "import-worker" }, a.booted.events);
      for (const action of steps) await applyTransition(a.ds, revision.id, action, { actor: "import-worker" }, a.booted.events);

      const id = toGlobalId("ArtifactRevision", revision.id);
      const expected = ["PULLING", "PULLED", "VERIFYING", "AVAILABLE"].map((status) => ({ artifactStatusChanged: { artifactRevision: { id, status } } }));
      expect(await fromB.done).toEqual(expected);
      expect(await fromA.done).toEqual(expected);
    } finally {
      await onB.dispose();
      await onA.dispose();
    }
  });

  it("streams to a subscriber on server B every transition and the progress of an import that server A's worker runs", async () => {
    const revision = await scanModel(b, "xproc/model");
    const sha = (await hub.fileInfo("xproc/model", "main", "model.safetensors")).sha256;
    // A pause mid-file, so progress is reported while bytes are still coming.
    hub.inject({ origin: "cdn", match: (r) => r.url.includes(sha), stallAfterBytes: 1_000_000, stallMs: 2_500 });
    const client = adminClient(b);
    try {
      const statuses = collect(client, STATUS, { input: { artifactRevisionIds: [revision.globalId] } }, (v: any) => v.artifactStatusChanged.artifactRevision.status === "AVAILABLE", 30_000);
      const progress = collect(client, `subscription($id: ID!) { artifactImportProgressUpdated(artifactRevisionId: $id) { progress } }`, { id: revision.globalId }, (v: any) => v.artifactImportProgressUpdated.progress === 1, 30_000);
      await Promise.all([statuses.ready, progress.ready]);

      await startImport(b, revision);

      expect((await statuses.done).map((v: any) => v.artifactStatusChanged.artifactRevision.status)).toEqual(["PULLING", "PULLED", "VERIFYING", "AVAILABLE"]);
      const fractions = (await progress.done).map((v: any) => v.artifactImportProgressUpdated.progress);
      expect(fractions.some((f: number) => f > 0 && f < 1)).toBe(true);
      const [worker] = await a.ds.query(`SELECT actor FROM artifact_revision_status_history WHERE revision_id = $1 AND to_status = 'AVAILABLE'`, [revision.id]);
      expect(worker.actor).toBe("import-worker");
      expect(b.booted.imports.worker).toBeNull();
    } finally {
      await client.dispose();
    }
  });
});
