import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DataSource } from "typeorm";
import { toGlobalId } from "../../src/common/relay";
import { createDataSource } from "../../src/db/data-source";
import { ENTITIES } from "../../src/db/entities";
import { MIGRATIONS } from "../../src/db/migrations";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { startTestKit } from "../support/testkit";

/*
 * The migrations, as a deployment meets them: all of them on an empty database, each reverted
 * in turn and run again; and an upgrade of a database that holds data from the first one.
 */

jest.setTimeout(60_000);

/** A DataSource that knows only the first `count` migrations: the schema as a release that shipped them left it. */
function releaseWith(url: string, count: number): DataSource {
  return new DataSource({ type: "postgres", url, entities: ENTITIES, migrations: MIGRATIONS.slice(0, count), extra: { max: 2 } });
}

/** Tables, columns, constraints and indexes of the public schema, as text; TypeORM's own bookkeeping left out. */
async function schemaOf(ds: DataSource): Promise<string[]> {
  const columns = await ds.query(`
    SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name, data_type || coalesce('(' || character_maximum_length || ')', ''), is_nullable, column_default) AS line
      FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'migrations'`);
  const constraints = await ds.query(`
    SELECT format('constraint %s.%s %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)) AS line
      FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
     WHERE n.nspname = 'public' AND c.conrelid::regclass::text <> 'migrations'`);
  const indexes = await ds.query(`SELECT format('index %s', indexdef) AS line FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'migrations'`);
  return [...columns, ...constraints, ...indexes].map((r: { line: string }) => r.line).sort();
}

const applied = async (ds: DataSource) => (await ds.query(`SELECT name FROM migrations ORDER BY id`)).map((r: { name: string }) => r.name);
const NAMES = MIGRATIONS.map((m) => m.name);

describe("the migrations", () => {
  let db: TestDatabase;
  const sources: DataSource[] = [];
  const open = async (ds: DataSource) => {
    sources.push(ds);
    return ds.initialize();
  };
  beforeEach(async () => {
    db = await createTestDatabase("ar_migrations");
  });
  afterEach(async () => {
    for (const ds of sources.splice(0)) if (ds.isInitialized) await ds.destroy();
    await db.drop();
  });

  it("run one by one in order on an empty database, revert each in reverse order to the schema before it, and run again", async () => {
    // The schema after each release: schemas[k] has the first k migrations.
    const schemas: string[][] = [];
    const empty = await open(releaseWith(db.url, 0));
    schemas.push(await schemaOf(empty));
    expect(schemas[0]).toEqual([]);
    for (let k = 1; k <= MIGRATIONS.length; k++) {
      const release = await open(releaseWith(db.url, k));
      expect((await release.runMigrations({ transaction: "each" })).map((m) => m.name)).toEqual([NAMES[k - 1]]);
      schemas.push(await schemaOf(release));
      expect(schemas[k]).not.toEqual(schemas[k - 1]);
    }

    const current = await open(createDataSource({ url: db.url, poolSize: 2 }));
    expect(await applied(current)).toEqual(NAMES);
    for (let k = MIGRATIONS.length - 1; k >= 0; k--) {
      await current.undoLastMigration({ transaction: "each" });
      expect(await applied(current)).toEqual(NAMES.slice(0, k));
      expect([NAMES[k], await schemaOf(current)]).toEqual([NAMES[k], schemas[k]]);
    }

    expect((await current.runMigrations({ transaction: "all" })).map((m) => m.name)).toEqual(NAMES);
    expect(await schemaOf(current)).toEqual(schemas[MIGRATIONS.length]);
  });

  it("leave the schema the entities describe: TypeORM finds nothing to synchronise", async () => {
    const ds = await open(createDataSource({ url: db.url, poolSize: 2 }));
    await ds.runMigrations({ transaction: "all" });
    const pending = await ds.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it("upgrade a database that holds data from the first release, which the server then reads and serves", async () => {
    const first = await open(releaseWith(db.url, 1));
    await first.runMigrations({ transaction: "all" });
    expect(await applied(first)).toEqual([NAMES[0]]);

    // Rows as the first release wrote them, and a stored file the AVAILABLE revision names.
    const storageRoot = await mkdtemp(path.join(os.tmpdir(), "ar-upgrade-"));
    const content = Buffer.from("weights of the first release");
    const sha = createHash("sha256").update(content).digest("hex");
    await mkdir(path.join(storageRoot, "models", "org/kept-model/main"), { recursive: true });
    await writeFile(path.join(storageRoot, "models", "org/kept-model/main/model.bin"), content);
    const [[registry], [vfs]] = await Promise.all([
      first.query(`INSERT INTO artifact_registries (name, type, url) VALUES ('old-hub', 'HUGGINGFACE', 'https://hub.example.com') RETURNING id`),
      first.query(`INSERT INTO vfs_storages (name, host, base_path) VALUES ('old-vfs', 'local', $1) RETURNING id`, [storageRoot]),
      first.query(`INSERT INTO object_storages (name, host, access_key, secret_key, endpoint, region) VALUES ('old-s3', 'minio', 'ak', 'old-secret-1234', 'http://127.0.0.1:9', 'us-east-1') RETURNING id`),
    ]);
    await first.query(`INSERT INTO huggingface_registries (id, url, token) VALUES ($1, 'https://hub.example.com', 'hf_old_token_5678')`, [registry.id]);
    // A secret in clear that looks sealed, with the key id the server uses: sealed like the others.
    const lookalike = `v2:auth:${randomBytes(40).toString("base64url")}`;
    const [lookalikeStorage] = await first.query(`INSERT INTO object_storages (name, host, access_key, secret_key, endpoint, region) VALUES ('old-s3-v2', 'minio', 'ak', $1, 'http://127.0.0.1:9', 'us-east-1') RETURNING id`, [lookalike]);
    const [namespace] = await first.query(`INSERT INTO storage_namespaces (vfs_storage_id, namespace) VALUES ($1, 'models') RETURNING id`, [vfs.id]);
    const [artifact] = await first.query(
      `INSERT INTO artifacts (name, type, description, registry_id, source_name, source_url, extra) VALUES ('org/kept-model', 'MODEL', 'from the first release', $1, 'huggingface', 'https://hub.example.com', '{"tags": ["old"]}') RETURNING id`,
      [registry.id]);
    const [available] = await first.query(
      `INSERT INTO artifact_revisions (artifact_id, version, status, digest, latest_upstream_digest, size, readme) VALUES ($1, 'main', 'AVAILABLE', $2, $2, $3, '# Kept') RETURNING id`,
      [artifact.id, "a".repeat(40), content.length]);
    const [scanned] = await first.query(`INSERT INTO artifact_revisions (artifact_id, version, latest_upstream_digest) VALUES ($1, 'v2', $2) RETURNING id`, [artifact.id, "b".repeat(40)]);
    await first.query(`INSERT INTO artifact_revision_files (revision_id, path, size, sha256, storage_key) VALUES ($1, 'model.bin', $2, $3, 'org/kept-model/main/model.bin')`, [available.id, content.length, sha]);
    await first.query(`INSERT INTO artifact_revision_namespaces (revision_id, namespace_id) VALUES ($1, $2)`, [available.id, namespace.id]);
    await first.query(
      `INSERT INTO artifact_revision_status_history (revision_id, from_status, to_status, actor) VALUES ($1, NULL, 'SCANNED', 'scanner'), ($1, 'SCANNED', 'AVAILABLE', 'import-worker'), ($2, NULL, 'SCANNED', 'scanner')`,
      [available.id, scanned.id]);
    const before = await first.query(`SELECT id, artifact_id, version, status, digest, size, readme, created_at FROM artifact_revisions ORDER BY version`);
    await first.destroy();

    // The server migrates at start-up.
    const kit = await startTestKit({ IMPORT_WORKER: "false" }, { database: db });
    try {
      expect(await applied(kit.ds)).toEqual(NAMES);
      expect(await kit.ds.query(`SELECT id, artifact_id, version, status, digest, size, readme, created_at FROM artifact_revisions ORDER BY version`)).toEqual(before);
      // New columns take their defaults on old rows.
      expect(await kit.ds.query(`SELECT import_delegate, import_crashes, import_task_id FROM artifact_revisions WHERE id = $1`, [available.id]))
        .toEqual([{ import_delegate: false, import_crashes: 0, import_task_id: null }]);

      const data = await kit.as("admin").ok(`query($id: ID!) {
        artifact(id: $id) { name description extra registry { name url } revisions(first: 5, orderBy: [{ field: VERSION, direction: ASC }]) { count edges { node {
          version status digest size readme files(first: 5) { edges { node { path size sha256 downloadUrl } } }
        } } } }
        huggingfaceRegistries(first: 5) { edges { node { name token } } }
        objectStorages(first: 5) { edges { node { name secretKey } } }
        vfsStorages(first: 5) { edges { node { name basePath } } }
      }`, { id: toGlobalId("Artifact", artifact.id) });
      expect(data.artifact).toMatchObject({ name: "org/kept-model", description: "from the first release", extra: { tags: ["old"] }, registry: { name: "old-hub" } });
      const [main, v2] = data.artifact.revisions.edges.map((e: any) => e.node);
      expect(main).toMatchObject({ version: "main", status: "AVAILABLE", digest: "a".repeat(40), size: String(content.length), readme: "# Kept" });
      expect(v2).toMatchObject({ version: "v2", status: "SCANNED", files: { edges: [] } });
      const [file] = main.files.edges.map((e: any) => e.node);
      expect(file).toMatchObject({ path: "model.bin", size: String(content.length), sha256: sha });
      // The file stored by the first release is served through a link the upgraded server signs.
      expect(Buffer.from(await (await fetch(file.downloadUrl)).arrayBuffer())).toEqual(content);

      expect(data.huggingfaceRegistries.edges.map((e: any) => e.node)).toContainEqual({ name: "old-hub", token: "****5678" });
      expect(data.objectStorages.edges.map((e: any) => e.node)).toContainEqual({ name: "old-s3", secretKey: "****1234" });
      expect(data.vfsStorages.edges.map((e: any) => e.node)).toContainEqual({ name: "old-vfs", basePath: storageRoot });
      expect((await kit.booted.services.storages.findObjectStorage(lookalikeStorage.id))!.secretKey).toBe(lookalike);
      const [{ secret_key: sealed }] = await kit.ds.query(`SELECT secret_key FROM object_storages WHERE id = $1`, [lookalikeStorage.id]);
      expect(sealed).not.toBe(lookalike);
    } finally {
      await kit.close();
      await rm(storageRoot, { recursive: true, force: true });
    }
  });
});
