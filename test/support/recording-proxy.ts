import { createServer, type IncomingHttpHeaders } from "node:http";
import { closeServer, listenOnLoopback } from "./loopback";

/**
 * An HTTP proxy in front of a subgraph that logs every request reaching it, so a test can say
 * what the gateway sent: how many requests, which operations, with which headers.
 */
export interface RecordedRequest {
  method: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (GraphQL over HTTP: query, variables, operationName). */
  body: { query?: string; variables?: Record<string, unknown>; operationName?: string } | null;
}

export interface RecordingProxy {
  /** Same path as the target: `${proxy.url}/graphql` forwards to `${target}/graphql`. */
  url: string;
  requests: RecordedRequest[];
  clear(): void;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"]);

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const raw = Buffer.concat(chunks);
      let body: RecordedRequest["body"] = null;
      try {
        body = raw.length ? JSON.parse(raw.toString("utf8")) : null;
      } catch {
        body = null;
      }
      requests.push({ method: req.method ?? "GET", headers: req.headers, body });
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k, v]) => !HOP_BY_HOP.has(k) && typeof v === "string")) as Record<string, string>;
      const upstream = await fetch(new URL(req.url ?? "/", target), {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : raw,
      });
      const out = Buffer.from(await upstream.arrayBuffer());
      const responseHeaders = Object.fromEntries([...upstream.headers].filter(([k]) => !HOP_BY_HOP.has(k) && k !== "content-encoding"));
      res.writeHead(upstream.status, { ...responseHeaders, "content-length": String(out.length) });
      res.end(out);
    } catch (error) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(String(error));
    }
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    requests,
    clear: () => {
      requests.length = 0;
    },
    stop: async () => {
      await closeServer(server);
    },
  };
}
