import { HF_ERRORS } from "../hf.errors";
import { entryJson, RepoTree, type LastCommit } from "../hf.files";
import { flag, type HfRoute } from "../hf.request";
import { requestUrl, revisionOf, sendJson, type HfContext } from "../hf.context";
import type { ServedRevision } from "../hf.catalog";

const MAX_PAGE = 1000;

/**
 * `GET /api/models/{repo}/tree/{revision}[/{path}]`: a folder's entries (`recursive`: everything
 * below it), `expand` adding each file's last commit, in pages of `limit` (at most 1000) linked
 * by an absolute `Link: <…>; rel="next"` as on the Hub.
 */
export async function tree(ctx: HfContext, route: Extract<HfRoute, { kind: "tree" }>): Promise<void> {
  const { query } = ctx.req;
  const recursive = flag(query.recursive, "recursive");
  const expand = flag(query.expand, "expand");
  const limit = pageSize(query.limit);
  const offset = readCursor(query.cursor);
  const revision = await revisionOf(ctx, route.repo, route.revision);
  const entries = new RepoTree(await ctx.catalog.files(revision.id)).list(route.path, recursive);
  if (!entries) throw HF_ERRORS.entryNotFound(`${route.path} does not exist on "${route.revision}"`, revision.commit);
  const headers: Record<string, string> = { "X-Repo-Commit": revision.commit };
  if (offset + limit < entries.length) {
    const next = requestUrl(ctx);
    next.searchParams.set("cursor", Buffer.from(JSON.stringify({ offset: offset + limit })).toString("base64url"));
    headers.Link = `<${next.toString()}>; rel="next"`;
  }
  const commit = expand ? lastCommit(revision) : undefined;
  sendJson(ctx, entries.slice(offset, offset + limit).map((entry) => entryJson(entry, commit)), headers);
}

/** What the catalogue knows of a file's last commit: the revision's commit, and when it became AVAILABLE here. */
export function lastCommit(revision: ServedRevision): LastCommit {
  return { id: revision.commit, title: "", date: revision.lastModified.toISOString() };
}

function pageSize(value: unknown): number {
  if (value === undefined) return MAX_PAGE;
  const n = typeof value === "string" && /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_PAGE)) throw HF_ERRORS.badRequest(`limit must be a whole number from 1 to ${MAX_PAGE}`);
  return n;
}

function readCursor(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value === "string") {
    try {
      const { offset } = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as { offset?: unknown };
      if (Number.isSafeInteger(offset) && (offset as number) >= 0) return offset as number;
    } catch {
      // answered below
    }
  }
  throw HF_ERRORS.badRequest("Invalid cursor");
}
