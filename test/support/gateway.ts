import { createServer, type IncomingMessage } from "node:http";
import { createGatewayRuntime, getGraphQLWSOptions, type GatewayPlugin, type GatewayRuntime } from "@graphql-hive/gateway-runtime";
import httpTransport from "@graphql-mesh/transport-http";
import wsTransport from "@graphql-mesh/transport-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { authorizationFromParams } from "../../src/auth/authenticate";
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
  /** graphql-ws endpoint for subscriptions; without it the subgraph gets no subscription transport. */
  wsUrl?: string;
}

export interface RunningGateway {
  url: string;
  runtime: GatewayRuntime;
  stop(): Promise<void>;
}

/** The credential in graphql-ws connectionParams, read as the subgraph reads it (any case of the key). */
const authorizationOf = (params: Record<string, unknown> | undefined | null): string | undefined => {
  const authorization = authorizationFromParams(params);
  return typeof authorization === "string" ? authorization : undefined;
};

/** Puts the client's credential in the context as `clientAuthorization`, whichever way it came. */
const clientAuthorizationPlugin: GatewayPlugin = {
  onContextBuilding: ({ context, extendContext }) => {
    const { request, connectionParams } = context as { request?: Request; connectionParams?: Record<string, unknown> };
    extendContext({ clientAuthorization: request?.headers.get("authorization") ?? authorizationOf(connectionParams) });
  },
};

/**
 * The client's credential reaches every subgraph: over HTTP as the `authorization` header, over
 * graphql-ws in the subgraph connection's connectionParams. It is the header the client sent,
 * or, for an operation that came over graphql-ws, the one in its connectionParams.
 */
export async function startGateway(supergraphSdl: string, subgraphs: GatewaySubgraph[]): Promise<RunningGateway> {
  const runtime = createGatewayRuntime({
    supergraph: () => supergraphSdl,
    logging: process.env.TEST_LOG_LEVEL === "debug" ? "debug" : false,
    landingPage: false,
    graphiql: false,
    transports: { http: httpTransport, ws: wsTransport },
    transportEntries: Object.fromEntries(subgraphs.map((s) => [s.name, {
      location: s.url,
      ...(s.wsUrl ? {
        options: {
          subscriptions: {
            kind: "ws",
            location: s.wsUrl,
            options: {
              connectionParams: { authorization: "{context.clientAuthorization}" },
              // The default (3 s) keeps an idle connection open past runtime.dispose().
              lazyCloseTimeout: 0,
            },
          },
        },
      } : {}),
    }])),
    plugins: () => [clientAuthorizationPlugin],
    propagateHeaders: {
      fromClientToSubgraphs: ({ context }) => {
        const { clientAuthorization } = context as { clientAuthorization?: string };
        return clientAuthorization ? { authorization: clientAuthorization } : {};
      },
    },
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
