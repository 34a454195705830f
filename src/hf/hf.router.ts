import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from "express";
import type { DataSource } from "typeorm";
import { authenticate, type Verifiers } from "../auth/authenticate";
import { fromHfAuthorization } from "../auth/hf-token";
import { AppError } from "../common/errors";
import type { Logger } from "../common/logger";
import type { Config } from "../config/config";
import type { StorageManager } from "../storage/storage-manager";
import { HfCatalog } from "./hf.catalog";
import type { HfContext } from "./hf.context";
import { HF_ERRORS, HfError, sendHfError } from "./hf.errors";
import { parseHfPath, type HfRoute } from "./hf.request";
import { modelInfo } from "./routes/model-info.route";
import { pathsInfo } from "./routes/paths-info.route";
import { resolveFile } from "./routes/resolve.route";
import { tree } from "./routes/tree.route";

export interface HfRouterDeps {
  ds: DataSource;
  storage: StorageManager;
  config: Pick<Config, "hfServe" | "publicUrl" | "presignedUrlMaxExpiry">;
  verifiers: Verifiers;
  logger: Logger;
}

/** S3 downloads are redirected to URLs this short-lived (or PRESIGNED_URL_MAX_EXPIRY, if shorter). */
const REDIRECT_SECONDS = 15 * 60;

type Handler<K extends HfRoute["kind"]> = (ctx: HfContext, route: Extract<HfRoute, { kind: K }>) => Promise<void>;
const ROUTES: { [K in HfRoute["kind"]]: { methods: string[]; handle: Handler<K> } } = {
  info: { methods: ["GET", "HEAD"], handle: modelInfo },
  tree: { methods: ["GET", "HEAD"], handle: tree },
  "paths-info": { methods: ["POST"], handle: pathsInfo },
  file: { methods: ["GET", "HEAD"], handle: resolveFile },
};

const BODY_LIMIT = "1mb";
const parseBody = [express.json({ limit: BODY_LIMIT }), express.urlencoded({ extended: false, limit: BODY_LIMIT })];

/**
 * The Hugging Face Hub-compatible read API over the catalogue, mounted at /hf: the AVAILABLE
 * revisions of the default storage namespace, and of others under /hf/namespaces/{namespace}.
 * Read-only: no route writes. A plain middleware rather than express routes: paths are parsed
 * raw (see parseHfPath), so an encoded slash is never taken for a real one.
 */
export function createHfRouter(deps: HfRouterDeps): Router {
  const catalog = new HfCatalog(deps.ds, deps.storage.defaultNamespaceId);
  const redirectSeconds = Math.min(REDIRECT_SECONDS, deps.config.presignedUrlMaxExpiry);
  const router = Router();
  router.use(async (req: Request, res: Response) => {
    try {
      const { namespace, route } = parseHfPath(req.path);
      const { methods, handle } = ROUTES[route.kind] as { methods: string[]; handle: Handler<HfRoute["kind"]> };
      if (!methods.includes(req.method)) throw HF_ERRORS.methodNotAllowed(methods.join(", "));
      if (req.method === "POST") await run(parseBody, req, res);

      const auth = await authenticate(fromHfAuthorization(req.headers.authorization), deps.verifiers);
      if (auth.error) throw HF_ERRORS.invalidCredentials(auth.error.message);
      if (!auth.viewer && !deps.config.hfServe.anonymous) throw HF_ERRORS.gated(route.repo);

      const namespaceId = await catalog.namespace(namespace);
      const ctx: HfContext = { req, res, viewer: auth.viewer, namespaceId, catalog, storage: deps.storage, publicUrl: deps.config.publicUrl, redirectSeconds };
      await handle(ctx, route);
    } catch (error) {
      fail(error, req, res, deps.logger);
    }
  });
  return router;
}

function fail(error: unknown, req: Request, res: Response, logger: Logger): void {
  if (res.headersSent) {
    // Mid-body: a client that went away, or storage failing under the stream. Cutting the
    // connection is the only way left to tell the client its copy is incomplete.
    if (!res.writableEnded) logger.debug(`/hf ${req.method} ${req.path} ended mid-body: ${(error as Error)?.message}`);
    res.destroy();
    return;
  }
  // A route may have set the success headers (Content-Range, ETag…) before it failed.
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  if (error instanceof HfError) return sendHfError(res, error, req.method);
  // A namespace unregistered while the request ran, as storage-manager reports it.
  if (error instanceof AppError && error.code === "NOT_FOUND") return sendHfError(res, HF_ERRORS.repoNotFound(error.message), req.method);
  const status = (error as { status?: unknown; type?: unknown }).status;
  if (typeof status === "number" && status >= 400 && status < 500 && typeof (error as { type?: unknown }).type === "string") {
    // body-parser's own errors (malformed JSON, a body over the limit) are the client's.
    return sendHfError(res, new HfError(status, null, (error as Error).message), req.method);
  }
  logger.error(`unexpected error while serving /hf ${req.method} ${req.path}`, error);
  sendHfError(res, new HfError(500, null, "Internal server error"), req.method);
}

/** Runs express middlewares (the body parsers) inside this one. */
async function run(middlewares: RequestHandler[], req: Request, res: Response): Promise<void> {
  for (const middleware of middlewares) {
    await new Promise<void>((resolve, reject) => {
      const next: NextFunction = (error?: unknown) => (error ? reject(error) : resolve());
      void middleware(req, res, next);
    });
  }
}
