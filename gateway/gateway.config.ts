/*
 * GraphQL Hive Gateway configuration for this subgraph: what `docker compose up` serves, and
 * what test/federation/gateway.test.ts runs in-process, so the tested gateway is this one.
 *
 *   docker run -p 4001:4000 -v ./supergraph.graphql:/gateway/supergraph.graphql \
 *     -v ./gateway/gateway.config.ts:/gateway/gateway.config.ts ghcr.io/graphql-hive/gateway supergraph
 *
 * Only type imports, which the gateway's loader erases: the file must load inside the gateway's
 * image, where none of this project's packages are installed.
 */
import type { GatewayPlugin } from "@graphql-hive/gateway-runtime";

/** The subgraph's name in supergraph.graphql (`npm run supergraph`). */
export const SUBGRAPH_NAME = "artifact-registry";

/** The credential in graphql-ws connectionParams, under any case of `authorization`. */
function authorizationFromParams(params: Record<string, unknown> | undefined | null): string | undefined {
  const key = params ? Object.keys(params).find((k) => k.toLowerCase() === "authorization") : undefined;
  const value = key ? params![key] : undefined;
  return typeof value === "string" ? value : undefined;
}

/**
 * Puts the client's credential in the context as `clientAuthorization`: the Authorization header
 * of an HTTP request, or the `authorization` connection parameter of a graphql-ws connection.
 */
export const clientAuthorizationPlugin: GatewayPlugin = {
  onContextBuilding: ({ context, extendContext }) => {
    const { request, connectionParams } = context as { request?: Request; connectionParams?: Record<string, unknown> };
    extendContext({ clientAuthorization: request?.headers.get("authorization") ?? authorizationFromParams(connectionParams) });
  },
};

/** Where one subgraph answers: queries and mutations over HTTP, subscriptions over graphql-ws. */
export interface SubgraphEndpoint {
  url: string;
  /** graphql-ws endpoint; by default the same URL with ws(s). */
  wsUrl?: string;
}

/**
 * The gateway options that make the client's credential reach every subgraph: over HTTP as the
 * `authorization` header, over graphql-ws in the subgraph connection's connectionParams. The
 * subgraphs enforce roles; the gateway itself checks nothing.
 */
export function gatewayOptions(subgraphs: Record<string, SubgraphEndpoint>) {
  return {
    transportEntries: Object.fromEntries(Object.entries(subgraphs).map(([name, endpoint]) => [name, {
      location: endpoint.url,
      options: {
        subscriptions: {
          kind: "ws",
          location: endpoint.wsUrl ?? endpoint.url.replace(/^http/, "ws"),
          options: {
            connectionParams: { authorization: "{context.clientAuthorization}" },
            // The default (3 s) keeps an idle connection open past the gateway's dispose().
            lazyCloseTimeout: 0,
          },
        },
      },
    }])),
    plugins: () => [clientAuthorizationPlugin],
    propagateHeaders: {
      fromClientToSubgraphs: ({ context }: { context: unknown }) => {
        const { clientAuthorization } = context as { clientAuthorization?: string };
        return clientAuthorization ? { authorization: clientAuthorization } : {};
      },
    },
  };
}

/** The Hive Gateway CLI (and its Docker image) reads this export. */
export const gatewayConfig = {
  supergraph: process.env.SUPERGRAPH_PATH ?? "./supergraph.graphql",
  ...gatewayOptions({ [SUBGRAPH_NAME]: { url: process.env.ARTIFACT_REGISTRY_URL ?? "http://127.0.0.1:4000/graphql" } }),
};
