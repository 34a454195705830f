import { createHash } from "node:crypto";
import { FakeBlob, gitBlobOid, lfsPointer, type FakeContent } from "./content";

export interface FakeFile {
  /** Any string: hostile paths (`../evil`, `/abs`, `a\u0000b`) are listed as they are. */
  path: string;
  content: FakeContent;
  /** Stored in LFS: the tree shows the pointer's blob oid plus `lfs`, and resolve redirects to the CDN. */
  lfs?: boolean;
}

export interface FakeCommit {
  /** 40 hex digits; derived from the repo and declaration order when left out. */
  sha?: string;
  files: FakeFile[];
  /** ISO date; the hub's lastModified for this revision. */
  date?: string;
  title?: string;
}

/** A commit given inline, or the sha of one declared earlier (or the name of a branch declared earlier). */
export type FakeTarget = FakeCommit | string;

export interface FakeModelMeta {
  author?: string;
  gated?: false | "auto" | "manual";
  private?: boolean;
  tags?: string[];
  pipeline_tag?: string;
  library_name?: string;
  downloads?: number;
  likes?: number;
  cardData?: Record<string, unknown>;
  createdAt?: string;
  /** Overrides the default branch's commit date in model info and the list. */
  lastModified?: string;
}

export interface FakeModel extends FakeModelMeta {
  /** "org/name" (or a legacy single-segment "name"). */
  id: string;
  /** Shorthand for `refs: { branches: { main: { files } } }`. */
  files?: FakeFile[];
  refs?: {
    branches?: Record<string, FakeTarget>;
    tags?: Record<string, FakeTarget>;
    /** `refs/pr/<n>`. */
    pullRequests?: Record<number, FakeTarget>;
  };
  /** Commits reachable by sha only (or referenced by sha from `refs`). */
  commits?: FakeCommit[];
  defaultBranch?: string;
  /** Old ids that answer with a same-origin 307 to this one, like a renamed repo on the hub. */
  renamedFrom?: string[];
}

export interface StoredFile {
  path: string;
  blob: FakeBlob;
  lfs: boolean;
}

export interface StoredCommit {
  sha: string;
  date: string;
  title: string;
  files: Map<string, StoredFile>;
}

export interface TreeEntry {
  type: "file" | "directory";
  path: string;
  oid: string;
  size: number;
  lfs?: { oid: string; size: number; pointerSize: number };
}

export interface FileInfo {
  path: string;
  size: number;
  lfs: boolean;
  /** The tree's `oid`: git blob SHA-1 of the content, or of the pointer for LFS files. */
  oid: string;
  /** Git blob SHA-1 of the content itself. */
  contentOid: string;
  sha256: string;
  /** LFS pointer file, for LFS files. */
  pointer?: Buffer;
}

export class StoredRepo {
  readonly commits = new Map<string, StoredCommit>();
  readonly branches = new Map<string, string>();
  readonly tags = new Map<string, string>();
  readonly pullRequests = new Map<number, string>();
  private readonly trees = new Map<string, Promise<TreeEntry[]>>();
  meta: FakeModelMeta;
  defaultBranch: string;
  aliases: string[];

  constructor(
    readonly id: string,
    private readonly clock: { next(): number },
    model: FakeModel,
  ) {
    const { files, refs, commits, defaultBranch, renamedFrom, id: _id, ...meta } = model;
    this.meta = meta;
    this.defaultBranch = defaultBranch ?? "main";
    this.aliases = renamedFrom ?? [];
    for (const commit of commits ?? []) this.addCommit(commit);
    if (files) this.branches.set(this.defaultBranch, this.addCommit({ files }));
    for (const [name, target] of Object.entries(refs?.branches ?? {})) this.branches.set(name, this.target(target));
    for (const [name, target] of Object.entries(refs?.tags ?? {})) this.tags.set(name, this.target(target));
    for (const [n, target] of Object.entries(refs?.pullRequests ?? {})) this.pullRequests.set(Number(n), this.target(target));
  }

  get owner(): string {
    return this.meta.author ?? (this.id.includes("/") ? this.id.split("/")[0] : this.id);
  }

  addCommit(commit: FakeCommit): string {
    const tick = this.clock.next();
    const sha = commit.sha ?? createHash("sha1").update(`fake-commit\0${this.id}\0${tick}`).digest("hex");
    if (!/^[0-9a-f]{40}$/.test(sha)) throw new Error(`commit sha must be 40 lowercase hex digits: ${sha}`);
    const files = new Map<string, StoredFile>();
    for (const file of commit.files) files.set(file.path, { path: file.path, blob: new FakeBlob(file.content), lfs: file.lfs ?? false });
    const date = commit.date ?? new Date(Date.UTC(2024, 0, 1) + tick * 3_600_000).toISOString();
    this.commits.set(sha, { sha, date, title: commit.title ?? `Commit ${tick}`, files });
    return sha;
  }

  target(target: FakeTarget): string {
    if (typeof target !== "string") return this.addCommit(target);
    if (this.commits.has(target)) return target;
    const branch = this.branches.get(target);
    if (branch) return branch;
    throw new Error(`fake hub: ${this.id} has no commit or branch ${JSON.stringify(target)}`);
  }

  /** A branch, tag, `refs/heads|tags/…`, `refs/pr/<n>` or full sha, as the hub resolves revisions. */
  resolve(revision: string): StoredCommit | null {
    let sha = this.branches.get(revision) ?? this.tags.get(revision);
    if (!sha) {
      const ref = /^refs\/(heads|tags|pr)\/(.+)$/.exec(revision);
      if (ref?.[1] === "heads") sha = this.branches.get(ref[2]);
      else if (ref?.[1] === "tags") sha = this.tags.get(ref[2]);
      else if (ref?.[1] === "pr" && /^\d+$/.test(ref[2])) sha = this.pullRequests.get(Number(ref[2]));
      else if (/^[0-9a-f]{40}$/.test(revision) && this.commits.has(revision)) sha = revision;
    }
    return sha ? (this.commits.get(sha) ?? null) : null;
  }

  headCommit(): StoredCommit | null {
    return this.resolve(this.defaultBranch);
  }

  lastModified(commit: StoredCommit | null): string | undefined {
    return this.meta.lastModified ?? commit?.date;
  }

  /** Every entry of a commit, directories first then their contents, in git order; hostile paths last, never as directories. */
  tree(commit: StoredCommit): Promise<TreeEntry[]> {
    let tree = this.trees.get(commit.sha);
    if (!tree) {
      tree = buildTree(commit);
      this.trees.set(commit.sha, tree);
    }
    return tree;
  }
}

export function isNormalPath(path: string): boolean {
  return path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== ".." && !segment.includes("\0"));
}

export async function fileInfo(file: StoredFile): Promise<FileInfo> {
  const { gitOid, sha256 } = await file.blob.digests();
  if (!file.lfs) return { path: file.path, size: file.blob.size, lfs: false, oid: gitOid, contentOid: gitOid, sha256 };
  const pointer = lfsPointer(sha256, file.blob.size);
  return { path: file.path, size: file.blob.size, lfs: true, oid: gitBlobOid(pointer), contentOid: gitOid, sha256, pointer };
}

interface DirNode {
  dirs: Map<string, DirNode>;
  files: Map<string, FileInfo>;
}

async function buildTree(commit: StoredCommit): Promise<TreeEntry[]> {
  const root: DirNode = { dirs: new Map(), files: new Map() };
  const hostile: FileInfo[] = [];
  for (const file of commit.files.values()) {
    const info = await fileInfo(file);
    if (!isNormalPath(file.path)) {
      hostile.push(info);
      continue;
    }
    const segments = file.path.split("/");
    let node = root;
    for (const segment of segments.slice(0, -1)) {
      let child = node.dirs.get(segment);
      if (!child) {
        child = { dirs: new Map(), files: new Map() };
        node.dirs.set(segment, child);
      }
      node = child;
    }
    node.files.set(segments[segments.length - 1], info);
  }

  const entries: TreeEntry[] = [];
  // Returns the git tree oid of `node` and appends its entries under `prefix`.
  const walk = (node: DirNode, prefix: string): string => {
    const names = [...node.dirs.keys(), ...node.files.keys()].sort((a, b) => gitOrder(a, node.dirs.has(a), b, node.dirs.has(b)));
    const objectParts: Buffer[] = [];
    for (const name of names) {
      const path = prefix ? `${prefix}/${name}` : name;
      const dir = node.dirs.get(name);
      if (dir) {
        const at = entries.push({ type: "directory", path, oid: "", size: 0 }) - 1;
        const oid = walk(dir, path);
        entries[at].oid = oid;
        objectParts.push(Buffer.from(`40000 ${name}\0`), Buffer.from(oid, "hex"));
      } else {
        const info = node.files.get(name) as FileInfo;
        entries.push(treeFileEntry(info, path));
        objectParts.push(Buffer.from(`100644 ${name}\0`), Buffer.from(info.oid, "hex"));
      }
    }
    const body = Buffer.concat(objectParts);
    return createHash("sha1").update(`tree ${body.length}\0`).update(body).digest("hex");
  };
  walk(root, "");
  for (const info of hostile) entries.push(treeFileEntry(info, info.path));
  return entries;
}

function treeFileEntry(info: FileInfo, path: string): TreeEntry {
  const entry: TreeEntry = { type: "file", oid: info.oid, size: info.size, path };
  if (info.lfs && info.pointer) entry.lfs = { oid: info.sha256, size: info.size, pointerSize: info.pointer.length };
  return entry;
}

/** Git sorts tree entries bytewise, comparing a directory as if its name ended in "/". */
function gitOrder(a: string, aDir: boolean, b: string, bDir: boolean): number {
  return Buffer.compare(Buffer.from(aDir ? `${a}/` : a), Buffer.from(bDir ? `${b}/` : b));
}
