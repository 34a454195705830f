import type { Response } from "express";

/**
 * The Hub's error codes (X-Error-Code). huggingface_hub raises RepositoryNotFoundError,
 * RevisionNotFoundError, RemoteEntryNotFoundError and GatedRepoError from them; @huggingface/hub
 * reads the JSON body's `error`, and treats EntryNotFound on a download as "no such file".
 */
export type HfErrorCode = "RepoNotFound" | "RevisionNotFound" | "EntryNotFound" | "GatedRepo";

/** An answer the Hub would give: status, code and message, plus headers such as X-Repo-Commit. */
export class HfError extends Error {
  override readonly name = "HfError";
  constructor(
    readonly status: number,
    readonly code: HfErrorCode | null,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Added to the body's message only: X-Error-Message must stay the Hub's exact text. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** huggingface_hub tells a refused credential from a missing repo by this exact message. */
export const INVALID_CREDENTIALS = "Invalid credentials in Authorization header";

export const HF_ERRORS = {
  badRequest: (message: string) => new HfError(400, null, message),
  /** A missing token, answered as the Hub answers an anonymous client of a gated repo. */
  gated: (repo: string) =>
    new HfError(401, "GatedRepo", `Access to model ${repo} is restricted. You must have access to it and be authenticated to access it. Please log in.`),
  invalidCredentials: (detail: string) => new HfError(401, null, INVALID_CREDENTIALS, {}, detail),
  repoNotFound: (message: string) => new HfError(404, "RepoNotFound", message),
  revisionNotFound: (message: string) => new HfError(404, "RevisionNotFound", message),
  entryNotFound: (message: string, commit: string) => new HfError(404, "EntryNotFound", message, { "X-Repo-Commit": commit }),
  notFound: () => new HfError(404, null, "Not Found"),
  methodNotAllowed: (allow: string) => new HfError(405, null, "Method not allowed", { Allow: allow }),
  rangeNotSatisfiable: (size: number, commit: string) =>
    new HfError(416, null, "Range Not Satisfiable", { "Content-Range": `bytes */${size}`, "X-Repo-Commit": commit }),
};

/** Header values carry printable ASCII only; messages quote revisions and paths, which may not be. */
export function headerSafe(text: string, max = 500): string {
  const safe = text.replace(/[^\x20-\x7e]/g, "?");
  return safe.length > max ? `${safe.slice(0, max - 3)}...` : safe;
}

/** Sends an error as the Hub does: JSON `{"error": …}` with X-Error-Code and X-Error-Message. */
export function sendHfError(res: Response, error: HfError, method: string): void {
  const body = Buffer.from(JSON.stringify({ error: error.detail ? `${error.message}: ${error.detail}` : error.message }));
  res.status(error.status).set({
    ...Object.fromEntries(Object.entries(error.headers).map(([k, v]) => [k, headerSafe(v)])),
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(body.length),
    "X-Error-Message": headerSafe(error.message),
    ...(error.code ? { "X-Error-Code": error.code } : {}),
  });
  res.end(method === "HEAD" ? undefined : body);
}
