import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { DataSource } from "typeorm";

/**
 * What a refused operation must leave as it was: rows of the service's tables and the files
 * under its storage folders. A snapshot is plain text per row and per file, so a difference
 * prints as the rows and files that appeared or went away.
 */
export interface SnapshotScope {
  /** Tables to compare (schema-qualified where not in public); default: every table of the public schema and pg-boss's jobs. */
  tables?: string[];
  /** Folders whose files (path, size, SHA-256) are compared; the kit's data directory is always one. */
  folders?: string[];
}

export interface Snapshot {
  rows: Record<string, string[]>;
  files: Record<string, string[]>;
}

/** pg-boss's jobs: a refused import must not have enqueued one. Its other tables change on their own (maintenance). */
const QUEUE_TABLES = ["pgboss.job"];

async function defaultTables(ds: DataSource): Promise<string[]> {
  const rows: Array<{ name: string }> = await ds.query(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`);
  const [queue] = await ds.query(`SELECT to_regclass('pgboss.job') IS NOT NULL AS present`);
  return [...rows.map((r) => r.name), ...(queue.present ? QUEUE_TABLES : [])];
}

const quoted = (table: string) => table.split(".").map((part) => `"${part.replace(/"/g, '""')}"`).join(".");

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const listed = await Promise.all(entries.map(async (entry) => {
    const full = path.join(entry.parentPath, entry.name);
    const relative = path.relative(root, full);
    if (entry.isDirectory()) return `${relative}/`;
    if (!entry.isFile()) return `${relative} (${entry.isSymbolicLink() ? "symlink" : "special"})`;
    const bytes = await readFile(full);
    return `${relative} ${bytes.length} ${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}`;
  }));
  return listed.sort();
}

export async function takeSnapshot(ds: DataSource, scope: SnapshotScope = {}): Promise<Snapshot> {
  const rows: Record<string, string[]> = {};
  for (const table of scope.tables ?? (await defaultTables(ds))) {
    const result: Array<{ row: string }> = await ds.query(`SELECT to_jsonb(t)::text AS row FROM ${quoted(table)} t ORDER BY 1`);
    rows[table] = result.map((r) => r.row);
  }
  const files: Record<string, string[]> = {};
  for (const folder of scope.folders ?? []) files[folder] = await listFiles(folder);
  return { rows, files };
}

function differences(kind: string, before: Record<string, string[]>, after: Record<string, string[]>): string[] {
  const lines: string[] = [];
  for (const name of Object.keys(before)) {
    const was = new Set(before[name]);
    const is = new Set(after[name] ?? []);
    const gone = before[name].filter((row) => !is.has(row));
    const added = (after[name] ?? []).filter((row) => !was.has(row));
    if (!gone.length && !added.length) continue;
    lines.push(`${kind} ${name}:`, ...gone.map((row) => `  - ${row}`), ...added.map((row) => `  + ${row}`));
  }
  return lines;
}

/** What changed between two snapshots of the same scope, as `- gone` / `+ new` lines; null when nothing did. */
export function describeChange(before: Snapshot, after: Snapshot): string | null {
  const lines = [...differences("table", before.rows, after.rows), ...differences("folder", before.files, after.files)];
  return lines.length ? lines.join("\n") : null;
}
