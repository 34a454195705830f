import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "../common/logger";
import type { Metrics } from "./metrics";

export interface MetricsEndpointOptions {
  /** METRICS_TOKEN: when set, a scrape must send `Authorization: Bearer <token>`. */
  token?: string;
  logger: Logger;
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Whether the Authorization header carries the token; the digests compare in constant time whatever the lengths. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return timingSafeEqual(digest(match?.[1] ?? ""), digest(token)) && match !== null;
}

/** GET /metrics for a plain Node request: the server mounts it on express, the worker on its own listener. */
export function metricsHandler(metrics: Metrics, options: MetricsEndpointOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    if (options.token && !bearerMatches(req.headers.authorization, options.token)) {
      res.writeHead(401, { "content-type": "text/plain; charset=utf-8", "www-authenticate": 'Bearer realm="metrics"' });
      res.end("A valid bearer token (METRICS_TOKEN) is required\n");
      return;
    }
    try {
      const { contentType, body } = await metrics.scrape();
      res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
      res.end(body);
    } catch (error) {
      options.logger.error("metrics: scrape failed", error);
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end("The metrics could not be collected\n");
    }
  };
}

/**
 * A listener serving only /metrics, for a process without HTTP of its own (`npm run worker`
 * with METRICS_PORT). Resolves once it listens, with its URL.
 */
export async function serveMetrics(metrics: Metrics, options: MetricsEndpointOptions & { port: number; host: string }): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const handle = metricsHandler(metrics, options);
  const server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path === "/metrics" && (req.method === "GET" || req.method === "HEAD")) {
      void handle(req, res);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end("Only /metrics is served here\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;
  return {
    server,
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
