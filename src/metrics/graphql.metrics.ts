import { performance } from "node:perf_hooks";
import type { ApolloServerPlugin } from "@apollo/server";
import { getOperationAST, type ExecutionArgs, type GraphQLError } from "graphql";
import { secondsSince } from "./metrics";
import type { OperationKind, RequestMetrics } from "./metrics.ports";

/** Times every GraphQL request over HTTP, from its arrival at Apollo to its response, by operation type. */
export function apolloMetricsPlugin(metrics: RequestMetrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const start = performance.now();
      return {
        async willSendResponse({ operation }) {
          metrics.request("http", operation?.operation ?? "unknown", secondsSince(start));
        },
      };
    },
  };
}

interface Pending {
  start: number;
  open: boolean;
}

/**
 * The same over graphql-ws, through the server's hooks: each operation from its subscribe
 * message until its result (for a subscription, until its stream is set up), and the
 * subscriptions open until they complete, whichever side ends them.
 */
export function graphqlWsMetrics(metrics: RequestMetrics) {
  // Per connection: graphql-ws hands every hook the connection's context and the operation's id.
  const operations = new WeakMap<object, Map<string, Pending>>();
  const of = (ctx: object) => {
    let map = operations.get(ctx);
    if (!map) operations.set(ctx, (map = new Map()));
    return map;
  };
  return {
    /** Wraps onSubscribe: an operation refused there (parse, validation, limits) is timed as it is refused. */
    subscribed<R extends ExecutionArgs | readonly GraphQLError[]>(ctx: object, id: string, prepare: () => R): R {
      const start = performance.now();
      const prepared = prepare();
      if (Array.isArray(prepared)) metrics.request("ws", "unknown", secondsSince(start));
      else of(ctx).set(id, { start, open: false });
      return prepared;
    },
    /** For onOperation: the result (a stream for a subscription) is ready. */
    operated(ctx: object, id: string, args: ExecutionArgs, result: unknown): void {
      const pending = operations.get(ctx)?.get(id);
      if (!pending) return;
      const kind: OperationKind = getOperationAST(args.document, args.operationName)?.operation ?? "unknown";
      metrics.request("ws", kind, secondsSince(pending.start));
      if (result != null && typeof result === "object" && Symbol.asyncIterator in result) {
        pending.open = true;
        metrics.subscriptionOpened();
      } else {
        operations.get(ctx)?.delete(id);
      }
    },
    /** For onComplete: the client completed it, the server ended it, or the socket closed. */
    completed(ctx: object, id: string): void {
      const pending = operations.get(ctx)?.get(id);
      if (!pending) return;
      operations.get(ctx)?.delete(id);
      if (pending.open) metrics.subscriptionClosed();
    },
  };
}
