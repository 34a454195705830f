import { randomBytes } from "node:crypto";
import type { DataSource } from "typeorm";
import { toGlobalId } from "../../src/common/relay";

/*
 * Seed builders: plain SQL inserts with sensible defaults, so a test states only what it is
 * about. Multi-row helpers insert in one statement, so seeding thousands of rows stays fast.
 */

export interface SeededRegistry { id: string; name: string; url: string }
export interface SeededArtifact { id: string; globalId: string; name: string; registryId: string }
export interface SeededRevision { id: string; globalId: string; artifactId: string; version: string }

export interface ArtifactSeed {
  name?: string;
  type?: "MODEL" | "PACKAGE" | "IMAGE";
  description?: string | null;
  sourceName?: string | null;
  sourceUrl?: string | null;
  readonly?: boolean;
  extra?: Record<string, unknown> | null;
  availability?: "ALIVE" | "DELETED";
  scannedAt?: Date | string;
  updatedAt?: Date | string;
}

export interface RevisionSeed {
  version?: string;
  status?: string;
  remoteStatus?: string | null;
  size?: string | number | null;
  readme?: string | null;
  digest?: string | null;
  latestUpstreamDigest?: string | null;
  lastError?: string | null;
  verificationResult?: unknown;
  importProgress?: unknown;
  createdAt?: Date | string;
  updatedAt?: Date | string;
}

export interface FileSeed { path: string; size: string | number; sha256?: string | null }

export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

/** One multi-row INSERT ... RETURNING; columns come from the first row. */
async function insertRows(ds: DataSource, table: string, rows: Record<string, unknown>[]): Promise<Record<string, any>[]> {
  if (rows.length === 0) return [];
  const columns = Object.keys(rows[0]);
  const values: unknown[] = [];
  const tuples = rows.map((row) => `(${columns.map((c) => {
    const v = row[c];
    values.push(v !== null && typeof v === "object" && !(v instanceof Date) ? JSON.stringify(v) : v);
    return `$${values.length}`;
  }).join(", ")})`);
  return ds.query(`INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(", ")}) VALUES ${tuples.join(", ")} RETURNING *`, values);
}

function defined(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined));
}

export class Seed {
  constructor(readonly ds: DataSource) {}

  async registry(opts: { name?: string; type?: "HUGGINGFACE" | "RESERVOIR"; url?: string } = {}): Promise<SeededRegistry> {
    const [row] = await insertRows(this.ds, "artifact_registries", [{
      name: opts.name ?? uniqueName("registry"),
      type: opts.type ?? "HUGGINGFACE",
      url: opts.url ?? "https://hub.example.com",
    }]);
    return { id: row.id, name: row.name, url: row.url };
  }

  async artifact(registryId: string, opts: ArtifactSeed = {}): Promise<SeededArtifact> {
    return (await this.artifacts(registryId, [opts]))[0];
  }

  /** All rows need the same keys set (one INSERT); unset keys take the table's defaults. */
  async artifacts(registryId: string, list: ArtifactSeed[]): Promise<SeededArtifact[]> {
    const rows = list.map((o) => defined({
      registry_id: registryId,
      name: o.name ?? uniqueName("org/model"),
      type: o.type ?? "MODEL",
      description: o.description,
      source_name: o.sourceName,
      source_url: o.sourceUrl,
      readonly: o.readonly,
      extra: o.extra,
      availability: o.availability,
      deleted_at: o.availability === "DELETED" ? new Date() : undefined,
      scanned_at: o.scannedAt,
      updated_at: o.updatedAt,
    }));
    const inserted = await this.insertUniform("artifacts", rows);
    return inserted.map((r) => ({ id: r.id, globalId: toGlobalId("Artifact", r.id), name: r.name, registryId: r.registry_id }));
  }

  async revision(artifactId: string, opts: RevisionSeed = {}): Promise<SeededRevision> {
    return (await this.revisions(artifactId, [opts]))[0];
  }

  async revisions(artifactId: string, list: RevisionSeed[]): Promise<SeededRevision[]> {
    const rows = list.map((o) => defined({
      artifact_id: artifactId,
      version: o.version ?? uniqueName("v"),
      status: o.status,
      remote_status: o.remoteStatus,
      size: o.size == null ? o.size : String(o.size),
      readme: o.readme,
      digest: o.digest,
      latest_upstream_digest: o.latestUpstreamDigest,
      last_error: o.lastError,
      verification_result: o.verificationResult,
      import_progress: o.importProgress,
      created_at: o.createdAt,
      updated_at: o.updatedAt,
    }));
    const inserted = await this.insertUniform("artifact_revisions", rows);
    return inserted.map((r) => ({ id: r.id, globalId: toGlobalId("ArtifactRevision", r.id), artifactId: r.artifact_id, version: r.version }));
  }

  async files(revisionId: string, list: FileSeed[]): Promise<void> {
    await insertRows(this.ds, "artifact_revision_files", list.map((f) => ({
      revision_id: revisionId, path: f.path, size: String(f.size), sha256: f.sha256 ?? null,
    })));
  }

  /** Rows with different key sets go in separate statements, in order. */
  private async insertUniform(table: string, rows: Record<string, unknown>[]): Promise<Record<string, any>[]> {
    const out: Record<string, any>[] = [];
    let batch: Record<string, unknown>[] = [];
    let shape = "";
    const flush = async () => {
      out.push(...(await insertRows(this.ds, table, batch)));
      batch = [];
    };
    for (const row of rows) {
      const rowShape = Object.keys(row).join(",");
      if (batch.length && rowShape !== shape) await flush();
      shape = rowShape;
      batch.push(row);
    }
    if (batch.length) await flush();
    return out;
  }
}
