import { unsafePathReason } from "../revision/safe-path";
import { HF_ERRORS } from "./hf.errors";

/*
 * What a request under /hf asks for, read from its raw (still percent-encoded) path, so that an
 * encoded slash is told from a real one. It belongs in a revision (`refs%2Fpr%2F1`), and in a file
 * or folder path it is a slash like the others (huggingface_hub asks for folders as `a%2Fb`); in
 * a repo id it is refused. Paths are checked once decoded and joined, so no spelling of `..`
 * gets through. Anything malformed is a 400 before the catalogue is asked anything.
 */

export type HfRoute =
  /** revision null: the default branch (`main`). */
  | { kind: "info"; repo: string; revision: string | null }
  | { kind: "tree"; repo: string; revision: string; path: string }
  | { kind: "paths-info"; repo: string; revision: string }
  /** raw: the Hub's `/raw/`, which answers an LFS file's pointer instead of its bytes. */
  | { kind: "file"; repo: string; revision: string; path: string; raw: boolean };

export interface HfTarget {
  /** The `{namespace}` of `/hf/namespaces/{namespace}/…`, decoded; null for the default namespace. */
  namespace: string | null;
  route: HfRoute;
}

const API_ACTIONS = new Set(["revision", "tree", "paths-info"]);
const FILE_ACTIONS = new Set(["resolve", "raw"]);
const MAX_REVISION_LENGTH = 512; // artifact_revisions.version

/** Parses the path below /hf (e.g. `/api/models/acme/tiny/tree/main`); throws an HfError. */
export function parseHfPath(rawPath: string): HfTarget {
  let raw = rawPath.split("/").slice(1);
  let namespace: string | null = null;
  if (raw[0] === "namespaces") {
    if (!raw[1]) throw HF_ERRORS.notFound();
    namespace = decode(raw[1]);
    if (hasControl(namespace)) throw HF_ERRORS.badRequest("Invalid storage namespace");
    raw = raw.slice(2);
  }
  const segments = raw.map(decode);
  const route = segments[0] === "api" ? apiRoute(segments) : fileRoute(segments);
  return { namespace, route };
}

/** `api/models/{repo}[/revision/{rev} | /tree/{rev}[/{path}] | /paths-info/{rev}]`, repo being `org/name` or a legacy `name`. */
function apiRoute(segments: string[]): HfRoute {
  if (segments[1] !== "models") throw HF_ERRORS.notFound();
  const rest = segments.slice(2);
  const split = rest.length <= 2 || API_ACTIONS.has(rest[2]) ? 2 : API_ACTIONS.has(rest[1]) ? 1 : 0;
  if (split === 0 || rest.length === 0) throw HF_ERRORS.notFound();
  const repo = repoId(rest.slice(0, split));
  const [action, revision, ...path] = rest.slice(split);
  if (action === undefined) return { kind: "info", repo, revision: null };
  if (revision === undefined) throw HF_ERRORS.notFound();
  if (action === "revision" && path.length === 0) return { kind: "info", repo, revision: checkRevision(revision) };
  if (action === "paths-info" && path.length === 0) return { kind: "paths-info", repo, revision: checkRevision(revision) };
  if (action === "tree") {
    // `tree/main/` and `tree/main` both list the root.
    const folder = path.length === 1 && path[0] === "" ? [] : path;
    return { kind: "tree", repo, revision: checkRevision(revision), path: folder.length ? filePath(folder) : "" };
  }
  throw HF_ERRORS.notFound();
}

/** `{repo}/resolve/{rev}/{path}` or `{repo}/raw/{rev}/{path}`. */
function fileRoute(segments: string[]): HfRoute {
  const split = segments.length >= 5 && FILE_ACTIONS.has(segments[2]) ? 2 : segments.length >= 4 && FILE_ACTIONS.has(segments[1]) ? 1 : 0;
  if (split === 0) throw HF_ERRORS.notFound();
  const [action, revision, ...path] = segments.slice(split);
  return { kind: "file", repo: repoId(segments.slice(0, split)), revision: checkRevision(revision), path: filePath(path), raw: action === "raw" };
}

/**
 * The Hub's rules for repo ids (huggingface_hub's validate_repo_id): letters, digits, '_', '-' and
 * '.', starting and ending with a letter, digit or '_', no '--' or '..', no '.git' at the end,
 * names of at most 96 characters. A decoded '/' inside a part (an encoded slash) breaks them too.
 */
export function repoId(parts: string[]): string {
  const repo = parts.join("/");
  const part = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;
  if (!parts.every((p) => part.test(p)) || repo.includes("--") || repo.includes("..") || repo.endsWith(".git")) {
    throw HF_ERRORS.badRequest(
      `Repo id must use alphanumeric chars, '-', '_' or '.', '--' and '..' are forbidden, '-' and '.' cannot start or end the name, max length is 96: ${JSON.stringify(repo)}`,
    );
  }
  return repo;
}

function checkRevision(revision: string): string {
  if (revision === "" || revision.length > MAX_REVISION_LENGTH || hasControl(revision)) {
    throw HF_ERRORS.badRequest(`Invalid revision: ${JSON.stringify(revision.slice(0, 100))}`);
  }
  return revision;
}

/** A file path from its decoded segments: '/'-separated, relative, no '.', '..' or empty segment. */
function filePath(segments: string[]): string {
  return checkPath(segments.join("/"));
}

export function checkPath(path: string): string {
  const unsafe = unsafePathReason(path);
  if (unsafe) throw HF_ERRORS.badRequest(`Invalid path ${JSON.stringify(path.slice(0, 200))}: ${unsafe}`);
  return path;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw HF_ERRORS.badRequest("Invalid URL encoding");
  }
}

function hasControl(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(text);
}

/** A boolean query parameter as the clients send it (`true`/`false`, Python's `True`, `1`/`0`); absent is false. */
export function flag(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value === "string") {
    const v = value.toLowerCase();
    if (v === "true" || v === "1") return true;
    if (v === "false" || v === "0" || v === "") return false;
  }
  throw HF_ERRORS.badRequest(`${name} must be true or false`);
}
