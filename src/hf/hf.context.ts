import type { Request, Response } from "express";
import type { Viewer } from "../auth/viewer";
import type { StorageManager } from "../storage/storage-manager";
import type { HfCatalog, ServedRevision } from "./hf.catalog";

/** What every /hf route handler gets: the request, who asks, and where to read. */
export interface HfContext {
  req: Request;
  res: Response;
  viewer: Viewer | null;
  namespaceId: string;
  catalog: HfCatalog;
  storage: StorageManager;
  /** Origin for absolute URLs (Link headers), when the request names no Host. */
  publicUrl: string;
  /** Lifetime of the presigned URLs S3 downloads are redirected to. */
  redirectSeconds: number;
}

export function revisionOf(ctx: HfContext, repo: string, revision: string): Promise<ServedRevision> {
  return ctx.catalog.revision(ctx.namespaceId, repo, revision, ctx.viewer);
}

export function sendJson(ctx: HfContext, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body));
  ctx.res.status(200).set({ ...headers, "Content-Type": "application/json; charset=utf-8", "Content-Length": String(bytes.length) });
  ctx.res.end(ctx.req.method === "HEAD" ? undefined : bytes);
}

/** The request's own URL, absolute: the Hub's Link headers are, and @huggingface/hub follows only those. */
export function requestUrl(ctx: HfContext): URL {
  const host = ctx.req.get("host");
  const origin = host && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? `${ctx.req.protocol}://${host}` : ctx.publicUrl;
  return new URL(ctx.req.originalUrl, origin);
}
