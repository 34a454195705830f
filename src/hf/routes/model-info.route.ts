import { HF_ERRORS } from "../hf.errors";
import { siblingJson } from "../hf.files";
import { flag, type HfRoute } from "../hf.request";
import { revisionOf, sendJson, type HfContext } from "../hf.context";
import type { ServedRevision } from "../hf.catalog";
import type { HubFile } from "../hf.files";

/** The fields `expand` may ask for (the Hub's list); those we know nothing of are left out of the answer. */
const EXPANDABLE = new Set([
  "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled", "downloads", "downloadsAllTime",
  "gated", "gguf", "inference", "inferenceProviderMapping", "lastModified", "library_name", "likes", "mask_token", "model-index",
  "pipeline_tag", "private", "resourceGroup", "safetensors", "sha", "siblings", "spaces", "tags", "transformersInfo",
  "trendingScore", "usedStorage", "widgetData", "xetEnabled",
]);

/**
 * `GET /api/models/{repo}[/revision/{revision}]`: the Hub's model info, from the catalogue (the
 * scan's metadata, the revision's commit and files). `?blobs=true` adds each file's size and LFS
 * details; `expand=…` keeps only the fields named (and `_id`, `id`), as the Hub does.
 */
export async function modelInfo(ctx: HfContext, route: Extract<HfRoute, { kind: "info" }>): Promise<void> {
  const blobs = flag(ctx.req.query.blobs, "blobs");
  const expand = expandOf(ctx.req.query.expand);
  const revision = await revisionOf(ctx, route.repo, route.revision ?? "main");
  const info = infoJson(revision, await ctx.catalog.files(revision.id), blobs);
  if (!expand) return sendJson(ctx, info);
  sendJson(ctx, Object.fromEntries(Object.entries(info).filter(([key]) => key === "_id" || key === "id" || expand.has(key))));
}

function expandOf(value: unknown): Set<string> | null {
  if (value === undefined) return null;
  const fields = (Array.isArray(value) ? value : [value]).flatMap((v) => (typeof v === "string" ? v.split(",") : [v]));
  for (const field of fields) {
    if (typeof field !== "string" || !EXPANDABLE.has(field)) {
      throw HF_ERRORS.badRequest(`"expand" must be one of ${[...EXPANDABLE].join(", ")}; got ${JSON.stringify(field)}`);
    }
  }
  return new Set(fields as string[]);
}

const text = (value: unknown) => (typeof value === "string" ? value : undefined);
const count = (value: unknown) => (typeof value === "number" ? value : 0);

function infoJson(revision: ServedRevision, files: HubFile[], blobs: boolean): Record<string, unknown> {
  const { extra, repo } = revision;
  const license = text(extra.license);
  const json: Record<string, unknown> = {
    // The Hub's ids are 24 hex digits (MongoDB ObjectIds): the artifact's UUID gives as many.
    _id: revision.artifactId.replace(/-/g, "").slice(0, 24),
    id: repo,
    modelId: repo,
    author: repo.includes("/") ? repo.split("/")[0] : undefined,
    sha: revision.commit,
    lastModified: revision.lastModified.toISOString(),
    private: false,
    gated: false,
    disabled: false,
    downloads: count(extra.downloads),
    likes: count(extra.likes),
    tags: Array.isArray(extra.tags) ? extra.tags.filter((t) => typeof t === "string") : [],
    pipeline_tag: text(extra.pipelineTag),
    library_name: text(extra.libraryName),
    createdAt: text(extra.createdAt) ?? revision.artifactCreatedAt.toISOString(),
    cardData: license ? { license } : undefined,
    siblings: files.map((file) => siblingJson(file, blobs)),
    spaces: [],
    usedStorage: files.reduce((sum, file) => sum + file.size, 0),
  };
  return Object.fromEntries(Object.entries(json).filter(([, value]) => value !== undefined));
}
