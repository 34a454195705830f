import { readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parse, print, separateOperations } from "graphql";
import { DIST, type Server } from "./harness";

/** The web UI's list page, ReservoirPageQuery, with only the fragments it uses, as the web UI sends it. */
export function listQuery(): string {
  const file = path.join(DIST, "..", "test", "compat", "webui-operations.graphql");
  const operation = separateOperations(parse(readFileSync(file, "utf8"))).ReservoirPageQuery;
  if (!operation) throw new Error(`${file} has no ReservoirPageQuery`);
  return print(operation);
}

/**
 * A client of the list page: each call asks for the next page of `pageSize` rows (rotating
 * through `artifacts` seeded rows) and answers its latency, and an error unless it got that page.
 */
export function listPageClient(server: Server, query: string, s: { artifacts: number; pageSize: number }) {
  const pages = Math.max(1, Math.ceil(s.artifacts / s.pageSize));
  let request = 0;
  return async (): Promise<{ ms: number; error?: string }> => {
    const offset = (request++ % pages) * s.pageSize;
    const variables = { order: [{ field: "NAME", direction: "ASC" }], limit: s.pageSize, offset, filter: null };
    const started = performance.now();
    try {
      const res = await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${server.token}` },
        body: JSON.stringify({ query, variables, operationName: "ReservoirPageQuery" }),
      });
      const body = (await res.json()) as { data?: { artifacts?: { edges: unknown[] } }; errors?: unknown[] };
      const ms = performance.now() - started;
      if (res.status !== 200 || body.errors?.length || body.data?.artifacts?.edges.length !== Math.min(s.pageSize, s.artifacts - offset)) {
        return { ms, error: `${res.status} ${JSON.stringify(body.errors ?? body).slice(0, 500)}` };
      }
      return { ms };
    } catch (error) {
      return { ms: performance.now() - started, error: String(error) };
    }
  };
}
