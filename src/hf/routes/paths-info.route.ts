import { HF_ERRORS } from "../hf.errors";
import { entryJson, RepoTree } from "../hf.files";
import { checkPath, flag, type HfRoute } from "../hf.request";
import { revisionOf, sendJson, type HfContext } from "../hf.context";
import { lastCommit } from "./tree.route";

const MAX_PATHS = 1000;

/**
 * `POST /api/models/{repo}/paths-info/{revision}` with `paths` (and `expand`) as JSON or as a form,
 * as @huggingface/hub and huggingface_hub send them: the entry of each path that exists, file or
 * folder; the others are left out, as on the Hub.
 */
export async function pathsInfo(ctx: HfContext, route: Extract<HfRoute, { kind: "paths-info" }>): Promise<void> {
  const body = (ctx.req.body ?? {}) as Record<string, unknown>;
  const paths = pathsOf(body.paths);
  const expand = typeof body.expand === "boolean" ? body.expand : flag(body.expand, "expand");
  const revision = await revisionOf(ctx, route.repo, route.revision);
  const tree = new RepoTree(await ctx.catalog.files(revision.id));
  const commit = expand ? lastCommit(revision) : undefined;
  const found = paths.map((path) => tree.entry(path)).filter((entry) => entry !== undefined);
  sendJson(ctx, found.map((entry) => entryJson(entry, commit)), { "X-Repo-Commit": revision.commit });
}

function pathsOf(value: unknown): string[] {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((p) => typeof p === "string")) {
    throw HF_ERRORS.badRequest("paths must be a non-empty list of file paths");
  }
  if (list.length > MAX_PATHS) throw HF_ERRORS.badRequest(`paths may list at most ${MAX_PATHS} paths`);
  return [...new Set(list as string[])].map(checkPath);
}
