import { createHash } from "node:crypto";

/*
 * A revision's files as the Hub shows them. The catalogue keeps each file's size, SHA-256 and
 * upstream git blob id; from those we tell LFS files (whose blob id is the git id of their
 * pointer file) from plain ones, and rebuild the git tree ids of the folders. A file without a
 * git blob id (a Reservoir import) is shown as an LFS file: its SHA-256 is what we know.
 */

/** A row of artifact_revision_files. */
export interface ManifestRow {
  path: string;
  size: string;
  sha256: string | null;
  upstream_oid: string | null;
  storage_key: string | null;
}

export interface HubFile {
  path: string;
  size: number;
  /** The git blob id: of the content, or of the LFS pointer for LFS files. */
  oid: string;
  lfs: { sha256: string; pointerSize: number } | null;
  /** The Hub's ETag value (unquoted): the SHA-256 of an LFS file, the git blob id of another. */
  etag: string;
  storageKey: string | null;
}

export interface TreeEntry {
  type: "file" | "directory";
  path: string;
  oid: string;
  size: number;
  file?: HubFile;
}

export function gitBlobOid(bytes: Buffer): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

/** The pointer git keeps in place of an LFS file. */
export function lfsPointer(sha256: string, size: number): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`, "utf8");
}

/** null for a row we cannot describe (neither SHA-256 nor git id: never the case once AVAILABLE). */
export function hubFile(row: ManifestRow): HubFile | null {
  const size = Number(row.size);
  const sha256 = row.sha256?.toLowerCase() ?? null;
  const upstream = row.upstream_oid?.toLowerCase() ?? null;
  const base = { path: row.path, size, storageKey: row.storage_key };
  if (sha256) {
    const pointer = lfsPointer(sha256, size);
    const pointerOid = gitBlobOid(pointer);
    if (upstream === null || upstream === pointerOid) {
      return { ...base, oid: pointerOid, lfs: { sha256, pointerSize: pointer.length }, etag: sha256 };
    }
  }
  return upstream ? { ...base, oid: upstream, lfs: null, etag: upstream } : null;
}

interface Folder {
  folders: Map<string, Folder>;
  files: Map<string, HubFile>;
}

/** Every file and folder of a revision, in the Hub's order: git order, each folder followed by its contents. */
export class RepoTree {
  readonly entries: TreeEntry[] = [];
  private readonly byPath = new Map<string, TreeEntry>();

  constructor(files: Iterable<HubFile>) {
    const root: Folder = { folders: new Map(), files: new Map() };
    for (const file of files) {
      const segments = file.path.split("/");
      let folder = root;
      for (const name of segments.slice(0, -1)) {
        let child = folder.folders.get(name);
        if (!child) folder.folders.set(name, (child = { folders: new Map(), files: new Map() }));
        folder = child;
      }
      folder.files.set(segments[segments.length - 1], file);
    }
    this.walk(root, "");
    for (const entry of this.entries) this.byPath.set(entry.path, entry);
  }

  file(path: string): HubFile | undefined {
    return this.byPath.get(path)?.file;
  }

  entry(path: string): TreeEntry | undefined {
    return this.byPath.get(path);
  }

  /** The entries inside a folder ("" for the root): its children, or everything below it. undefined when it is no folder. */
  list(folder: string, recursive: boolean): TreeEntry[] | undefined {
    if (folder !== "" && this.byPath.get(folder)?.type !== "directory") return undefined;
    const prefix = folder === "" ? "" : `${folder}/`;
    const depth = folder === "" ? 1 : folder.split("/").length + 1;
    return this.entries.filter((e) => e.path.startsWith(prefix) && (recursive || e.path.split("/").length === depth));
  }

  /** Appends the folder's entries and returns its git tree id (every file taken as mode 100644). */
  private walk(folder: Folder, prefix: string): string {
    const isFolder = (name: string) => folder.folders.has(name);
    // Git sorts a tree's entries bytewise, comparing a folder's name as if it ended in '/'.
    const names = [...folder.folders.keys(), ...folder.files.keys()].sort((a, b) =>
      Buffer.compare(Buffer.from(isFolder(a) ? `${a}/` : a), Buffer.from(isFolder(b) ? `${b}/` : b)));
    const parts: Buffer[] = [];
    for (const name of names) {
      const path = prefix ? `${prefix}/${name}` : name;
      const child = folder.folders.get(name);
      if (child) {
        const entry: TreeEntry = { type: "directory", path, oid: "", size: 0 };
        this.entries.push(entry);
        entry.oid = this.walk(child, path);
        parts.push(Buffer.from(`40000 ${name}\0`), Buffer.from(entry.oid, "hex"));
      } else {
        const file = folder.files.get(name)!;
        this.entries.push({ type: "file", path, oid: file.oid, size: file.size, file });
        parts.push(Buffer.from(`100644 ${name}\0`), Buffer.from(file.oid, "hex"));
      }
    }
    const body = Buffer.concat(parts);
    return createHash("sha1").update(`tree ${body.length}\0`).update(body).digest("hex");
  }
}

export interface LastCommit {
  id: string;
  title: string;
  date: string;
}

/** A tree or paths-info entry as the Hub writes it; `lastCommit` with expand. */
export function entryJson(entry: TreeEntry, lastCommit?: LastCommit): Record<string, unknown> {
  const json: Record<string, unknown> = { type: entry.type, oid: entry.oid, size: entry.size, path: entry.path };
  const lfs = entry.file?.lfs;
  if (lfs) json.lfs = { oid: lfs.sha256, size: entry.size, pointerSize: lfs.pointerSize };
  if (lastCommit && entry.type === "file") json.lastCommit = lastCommit;
  return json;
}

/** A model info sibling: `rfilename`, and with `?blobs=true` its blob id, size and LFS details. */
export function siblingJson(file: HubFile, blobs: boolean): Record<string, unknown> {
  if (!blobs) return { rfilename: file.path };
  const json: Record<string, unknown> = { rfilename: file.path, blobId: file.oid, size: file.size };
  if (file.lfs) json.lfs = { sha256: file.lfs.sha256, size: file.size, pointerSize: file.lfs.pointerSize };
  return json;
}

/** The Hub serves text files as UTF-8 text, everything else as bytes. */
export function contentType(path: string): string {
  return /\.(md|txt|json|ya?ml|py|gitattributes|jinja|csv)$/i.test(path) ? "text/plain; charset=utf-8" : "application/octet-stream";
}
