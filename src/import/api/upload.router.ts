import { Router, type Request, type Response } from "express";
import type { Logger } from "../../common/logger";
import { UploadRefused, type UploadService } from "./upload.service";

/**
 * Serves upload links (`PUT /storage/uploads/<upload id>?exp=…&sig=…`) on either storage; the
 * app mounts it at /storage/uploads, before any body parser: the body streams into storage.
 * Answers 200 with the stored file's path, size and SHA-256 (also its ETag).
 */
export function createUploadRouter(uploads: UploadService, logger: Logger): Router {
  const router = Router();
  router.use(async (req: Request, res: Response) => {
    if (req.method !== "PUT") {
      res.set("Allow", "PUT");
      return fail(res, 405, "method not allowed");
    }
    const id = req.path.replace(/^\//, "");
    const abort = new AbortController();
    // A client that disconnects mid-body must not leave a truncated upload behind.
    res.once("close", () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      const length = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
      const received = await uploads.receive(id, { exp: req.query.exp, sig: req.query.sig }, req, abort.signal, length);
      res.status(200).set("ETag", `"${received.sha256}"`).json(received);
    } catch (error) {
      if (error instanceof UploadRefused) {
        // The rest of an oversized body is not read: the connection goes once the answer is sent.
        if (error.status === 413) res.set("Connection", "close");
        return fail(res, error.status, error.message);
      }
      if (abort.signal.aborted || res.headersSent) return void res.destroy();
      logger.warn(`upload ${JSON.stringify(id.slice(0, 64))} failed`, error);
      fail(res, 500, "the upload could not be stored");
    }
  });
  return router;
}

function fail(res: Response, status: number, error: string): void {
  res.status(status).json({ error });
}
