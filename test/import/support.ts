import { createHash } from "node:crypto";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { parseId } from "../../src/common/relay";
import type { StorageAdapter } from "../../src/storage/storage.port";
import type { TestKit } from "../support/testkit";

/** Settings that keep import tests quick: jobs picked up at once, short retry backoff. */
export const FAST_IMPORTS: Record<string, string> = {
  IMPORT_POLL_INTERVAL_SECONDS: "0.5",
  IMPORT_RETRY_DELAY_SECONDS: "1",
  IMPORT_RECOVERY_INTERVAL_SECONDS: "2",
};

const SCAN_MODEL = `mutation($input: ScanArtifactModelsInput!) { scanArtifactModels(input: $input) { artifactRevision { edges { node { id version status latestUpstreamDigest } } } } }`;
const IMPORT = `mutation($input: ImportArtifactsInput!) { importArtifacts(input: $input) { tasks { taskId artifactRevision { id status } } } }`;
const CANCEL = `mutation($id: ID!) { cancelImportArtifact(input: { artifactRevisionId: $id }) { artifactRevision { id status digest } } }`;

export interface ScannedRevision {
  id: string;
  globalId: string;
  commit: string;
}

/** A targeted scan of one model at one revision, as a client would start an import. */
export async function scanModel(kit: TestKit, modelId: string, revision = "main"): Promise<ScannedRevision> {
  const data = await kit.as("superadmin").ok(SCAN_MODEL, { input: { models: [{ modelId, revision }] } });
  const node = data.scanArtifactModels.artifactRevision.edges[0].node;
  return { id: parseId("ArtifactRevision", node.id), globalId: node.id, commit: node.latestUpstreamDigest };
}

export async function startImport(kit: TestKit, revision: { globalId: string }, opts: { force?: boolean } = {}): Promise<string> {
  const data = await kit.as("admin").ok(IMPORT, { input: { artifactRevisionIds: [revision.globalId], ...(opts.force ? { options: { force: true } } : {}) } });
  return data.importArtifacts.tasks[0].taskId;
}

export async function cancelImport(kit: TestKit, revision: { globalId: string }) {
  return (await kit.as("admin").ok(CANCEL, { id: revision.globalId })).cancelImportArtifact.artifactRevision;
}

export async function revisionRow(kit: TestKit, id: string): Promise<Record<string, any>> {
  const [row] = await kit.ds.query(`SELECT * FROM artifact_revisions WHERE id = $1`, [id]);
  return row;
}

/** Polls until `check` returns a value (not undefined/false), or fails naming what it waited for. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false | null>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    last = await check();
    if (last !== undefined && last !== false && last !== null) return last as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** An artifactImportProgressUpdated event from inside a transfer: neither its start nor its end. */
export const isPartway = (event: { artifactImportProgressUpdated: { progress: number } }) =>
  event.artifactImportProgressUpdated.progress > 0 && event.artifactImportProgressUpdated.progress < 1;

export async function waitForStatus(kit: TestKit, id: string, statuses: string[], timeoutMs = 20_000): Promise<Record<string, any>> {
  let seen = "";
  try {
    return await waitFor(`revision ${id} to reach ${statuses.join("/")}`, async () => {
      const row = await revisionRow(kit, id);
      seen = `${row?.status} (lastError: ${row?.last_error})`;
      return statuses.includes(row?.status) ? row : undefined;
    }, timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen ${seen}`, { cause: error });
  }
}

export async function objectBytes(adapter: StorageAdapter, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await adapter.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

export async function keysUnder(adapter: StorageAdapter, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of adapter.list(prefix)) keys.push(key);
  return keys.sort();
}

export async function defaultAdapter(kit: TestKit): Promise<StorageAdapter> {
  return kit.booted.storage.adapterFor(kit.booted.storage.defaultNamespaceId);
}

export function wsClient(kit: TestKit): Client {
  return createClient({
    url: `${kit.url.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${kit.token("admin")}` },
    retryAttempts: 0,
  });
}

/**
 * Makes the database refuse, once, the first note of the revision's working manifest that `when`
 * (SQL over NEW) matches, as a crash just before that note would leave it. `allowNotes` undoes it.
 */
export async function refuseNoteOnce(kit: TestKit, revisionId: string, when: string): Promise<void> {
  await kit.ds.query(`CREATE SEQUENCE refused_notes`);
  await kit.ds.query(`
    CREATE FUNCTION refuse_note_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.revision_id = '${revisionId}' AND ${when} AND nextval('refused_notes') = 1 THEN
        RAISE EXCEPTION 'injected: the note of % was refused', NEW.path;
      END IF;
      RETURN NEW;
    END $$`);
  await kit.ds.query(`CREATE TRIGGER refuse_note_once BEFORE UPDATE ON artifact_import_files FOR EACH ROW EXECUTE FUNCTION refuse_note_once()`);
}

export async function allowNotes(kit: TestKit): Promise<void> {
  await kit.ds.query(`DROP TRIGGER IF EXISTS refuse_note_once ON artifact_import_files`);
  await kit.ds.query(`DROP FUNCTION IF EXISTS refuse_note_once()`);
  await kit.ds.query(`DROP SEQUENCE IF EXISTS refused_notes`);
}
