import { createServer, type IncomingMessage } from "node:http";
import { createGatewayRuntime, getGraphQLWSOptions, type GatewayRuntime } from "@graphql-hive/gateway-runtime";
import httpTransport from "@graphql-mesh/transport-http";
import wsTransport from "@graphql-mesh/transport-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { gatewayOptions } from "../../gateway/gateway.config";
import { closeServer, listenOnLoopback } from "./loopback";

/*
 * GraphQL Hive Gateway, in-process, served on a loopback port over HTTP and graphql-ws, so a
 * test's client talks to it as the web UI would. Subscriptions go to the subgraphs over
 * graphql-ws; everything else over HTTP.
 */

export interface GatewaySubgraph {
  name: string;
  /** Where the gateway sends queries and mutations (may be a recording proxy in front of the subgraph). */
  url: string;
  /** graphql-ws endpoint for subscriptions; by default the same URL with ws. */
  wsUrl?: string;
}

export interface RunningGateway {
  url: string;
  runtime: GatewayRuntime;
  stop(): Promise<void>;
}

/**
 * Hive Gateway with the options of gateway/gateway.config.ts (the one docker compose serves),
 * pointed at the given subgraphs.
 */
export async function startGateway(supergraphSdl: string, subgraphs: GatewaySubgraph[]): Promise<RunningGateway> {
  const runtime = createGatewayRuntime({
    supergraph: () => supergraphSdl,
    logging: process.env.TEST_LOG_LEVEL === "debug" ? "debug" : false,
    landingPage: false,
    graphiql: false,
    transports: { http: httpTransport, ws: wsTransport },
    ...gatewayOptions(Object.fromEntries(subgraphs.map((s) => [s.name, { url: s.url, wsUrl: s.wsUrl }]))),
  });

  // The supergraph loads on the first HTTP request; an operation arriving over graphql-ws first
  // would meet no schema at all ("Expected null to be a GraphQL schema").
  await runtime.getSchema();
  const server = createServer(runtime);
  const wsServer = new WebSocketServer({ server, path: "/graphql" });
  const wsCleanup = useServer(
    {
      ...getGraphQLWSOptions<Record<string, any>, { request: IncomingMessage }>(runtime, (ctx) => ({
        req: ctx.extra.request,
        connectionParams: ctx.connectionParams,
      })),
    },
    wsServer,
  );
  const url = await listenOnLoopback(server);
  return {
    url,
    runtime,
    stop: async () => {
      await wsCleanup.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      await closeServer(server);
      await runtime.dispose();
    },
  };
}
