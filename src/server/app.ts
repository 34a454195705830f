import { createServer, type Server } from "node:http";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginInlineTrace } from "@apollo/server/plugin/inlineTrace";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import type { GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import type { DataSource } from "typeorm";
import { authenticate, authorizationFromParams, type Authentication, type Verifiers } from "../auth/authenticate";
import type { TokenRevocations } from "../auth/revocation.service";
import { systemClock, type Clock } from "../common/clock";
import { ERRORS } from "../common/errors";
import { describePid, tcpListener } from "../common/processes";
import { StartupError } from "../common/startup-error";
import type { Logger } from "../common/logger";
import type { Config } from "../config/config";
import type { EventBus } from "../events/event-bus";
import type { AppContext } from "../schema/context";
import { formatError } from "./errors";
import { createLoaders } from "../schema/loaders";
import { isAnonymousReadable, limitRules, prepareOperation, requestLimitsPlugin, type RequestLimits } from "./limits";
import { SocketCredentials } from "./socket-credentials";
import type { Services } from "../boot/services";
import type { Metrics } from "../metrics/metrics";
import { metricsHandler } from "../metrics/metrics.endpoint";
import { apolloMetricsPlugin, graphqlWsMetrics } from "../metrics/graphql.metrics";
import { execute, type ExecutionArgs, type ExecutionResult } from "graphql";
import { subscribeSharedPerEvent } from "../events/event-scope";

export interface AppDeps {
  config: Config;
  ds: DataSource;
  schema: GraphQLSchema;
  services: Services;
  events: EventBus;
  /** What accepts a bearer token (user tokens, key pairs, revocations). */
  verifiers: Verifiers;
  revocations: Pick<TokenRevocations, "refusal" | "onRevoked">;
  /** When sockets' tokens expire (the system clock unless a test moves one by hand). */
  clock?: Clock;
  logger: Logger;
  /** This process's metrics, served at /metrics and told of every GraphQL request. */
  metrics: Metrics;
  /** Extra express routes mounted before /graphql (health checks, signed storage links). */
  mount?: (app: express.Express) => void;
  ready?: () => Promise<void>;
}

export interface RunningApp {
  httpServer: Server;
  url: string;
  close(): Promise<void>;
}

type RequestContext = AppContext & { auth: Authentication };

/**
 * Until a socket's credential is accepted, all it sends may add up to this: enough for
 * connection_init with a token, and for being told UNAUTHENTICATED a few times.
 */
const UNAUTHENTICATED_SOCKET_BYTES = 64 * 1024;

function partialErrorsPlugin(format: ReturnType<typeof formatError>): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          if (!contextValue.partialErrors?.length || response.body.kind !== "single") return;
          const result = response.body.singleResult;
          result.errors = [...(result.errors ?? []), ...contextValue.partialErrors.map((e) => format(e.toJSON(), e))];
        },
      };
    },
  };
}

/** Answers over HTTP are per caller: no cache may keep them. */
const noStorePlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set("cache-control", "no-store");
      },
    };
  },
};

/**
 * Authenticates an HTTP request before Apollo sees it, and refuses one without a valid credential
 * right after parsing, unless it is the gateway's SDL read: nothing else (validation, the limits)
 * runs for an anonymous caller. A request with nothing to run goes on, for Apollo's own answer.
 */
function authenticateRequest(authenticateWith: (authorization: unknown) => Promise<Authentication>, maxTokens: number, format: ReturnType<typeof formatError>): express.RequestHandler {
  return async (req, res, next) => {
    let auth: Authentication;
    try {
      auth = await authenticateWith(req.headers.authorization);
    } catch (error) {
      // A key pair could not be looked up (the database): the server's failure, masked and logged.
      res.status(500).json({ errors: [format({ message: String(error) }, error)] });
      return;
    }
    res.locals.auth = auth;
    const params = (req.method === "GET" ? req.query : req.body) as { query?: unknown; extensions?: unknown } | undefined;
    const nothingToRun = params?.query === undefined && params?.extensions === undefined;
    if (auth.viewer || nothingToRun || (!auth.error && isAnonymousReadable(params?.query, maxTokens))) return next();
    const error = auth.error ?? ERRORS.unauthenticated();
    res.status(401).json({ errors: [format(error.toJSON(), error)] });
  };
}

/** A body that is too large or not JSON is refused as Apollo refuses a bad request: JSON with a code. */
function refuseBadBodies(maxBytes: number): express.ErrorRequestHandler {
  return (error: { status?: number; type?: string }, _req, res, next) => {
    if (typeof error.status !== "number" || error.status >= 500) return next(error);
    const message = error.type === "entity.too.large" ? `The request body is larger than the limit of ${maxBytes} bytes` : "The request body is not valid JSON";
    res.status(error.status).json({ errors: [{ message, extensions: { code: "BAD_REQUEST" } }] });
  };
}

/**
 * Sockets whose credential has not been accepted may send only UNAUTHENTICATED_SOCKET_BYTES in
 * all: ws's maxPayload is one figure for the whole server, so the bytes are counted as they
 * arrive and an overrun closes the socket (1009, message too big) before a large frame is read.
 */
function limitUnauthenticatedSockets(wsServer: WebSocketServer): { trust(socket: WebSocket): void } {
  const counters = new WeakMap<WebSocket, () => void>();
  wsServer.on("connection", (socket, request) => {
    let received = 0;
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= UNAUTHENTICATED_SOCKET_BYTES) return;
      request.socket.off("data", count);
      socket.pause();
      socket.close(1009, "Message too big before authentication");
      setTimeout(() => socket.terminate(), 1000).unref();
    };
    request.socket.on("data", count);
    counters.set(socket, () => request.socket.off("data", count));
  });
  return { trust: (socket) => counters.get(socket)?.() };
}

/** Runs an operation over graphql-ws only for a caller with a valid credential; others get a result with the error. */
function refuseAnonymous<R>(run: (args: ExecutionArgs) => R): (args: ExecutionArgs) => R | ExecutionResult {
  return (args) => {
    const { auth } = args.contextValue as RequestContext;
    return auth.viewer ? run(args) : { errors: [auth.error ?? ERRORS.unauthenticated()] };
  };
}

export async function startApp(deps: AppDeps): Promise<RunningApp> {
  const { config, ds, services } = deps;
  const limits = config.limits;
  const app = express();
  app.disable("x-powered-by");
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = config.http;
  const httpServer = createServer({
    headersTimeout: headersTimeoutMs,
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    // Node checks both timeouts only this often (30 s by default), whatever they are.
    connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
  }, app);
  const authenticateWith = (authorization: unknown) => authenticate(authorization, deps.verifiers);
  const makeContext = (auth: Authentication): RequestContext => ({
    auth,
    viewer: auth.viewer,
    ds,
    config,
    services,
    events: deps.events,
    loaders: createLoaders(ds),
    newLoaders: () => createLoaders(ds),
    partialErrors: [],
  });

  const wsServer = new WebSocketServer({ server: httpServer, path: "/graphql", maxPayload: limits.maxRequestBytes });
  const credentials = new SocketCredentials(deps.clock ?? systemClock, deps.revocations);
  const subscriptions = serveSubscriptions(wsServer, deps.schema, limits, makeContext, authenticateWith, credentials, graphqlWsMetrics(deps.metrics.requests));
  const apollo = createApollo(deps, httpServer, limits, async () => {
    credentials.dispose();
    await subscriptions.dispose();
  });
  await apollo.start();

  mountHealthChecks(app, deps);
  app.get("/metrics", metricsHandler(deps.metrics, { token: config.metrics.token, logger: deps.logger }));
  deps.mount?.(app);
  app.use(
    "/graphql",
    express.json({ limit: limits.maxRequestBytes }),
    refuseBadBodies(limits.maxRequestBytes),
    authenticateRequest(authenticateWith, limits.maxTokens, formatError(deps.logger)),
    expressMiddleware(apollo, { context: async ({ res }) => makeContext(res.locals.auth as Authentication) }),
  );

  const url = await listen(httpServer, config.port, config.host);
  return {
    httpServer,
    url,
    close: async () => {
      await apollo.stop();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}

/** GraphQL over graphql-ws on the HTTP server's /graphql, with the same credentials and limits as over HTTP. */
function serveSubscriptions(
  wsServer: WebSocketServer,
  schema: GraphQLSchema,
  limits: RequestLimits,
  makeContext: (auth: Authentication) => RequestContext,
  authenticateWith: (authorization: unknown) => Promise<Authentication>,
  credentials: SocketCredentials,
  metrics: ReturnType<typeof graphqlWsMetrics>,
) {
  const sockets = limitUnauthenticatedSockets(wsServer);
  return useServer<Record<string, unknown>, { auth?: Authentication }>(
    {
      schema,
      // Every connection is acknowledged, and each operation of one without a valid credential
      // answers a result with UNAUTHENTICATED, as over HTTP. Refusing the connection instead (4403)
      // makes graphql-ws clients retry with backoff, and a gateway relaying a subscription ends it
      // silently: either way the subscriber is never told why.
      onConnect: async (ctx) => {
        ctx.extra.auth = await authenticateWith(authorizationFromParams(ctx.connectionParams));
        if (ctx.extra.auth.viewer) sockets.trust(ctx.extra.socket);
        // The socket closes (4401) when its token expires or is revoked, ending its subscriptions.
        if (ctx.extra.auth.credential) credentials.watch(ctx.extra.socket, ctx.extra.auth.credential);
        return true;
      },
      // One context per operation; each subscription event is answered once per operation and role (event-scope.ts).
      context: (ctx) => makeContext(ctx.extra.auth!),
      execute: refuseAnonymous(execute),
      subscribe: refuseAnonymous(subscribeSharedPerEvent),
      // Parsing, the anonymous gate, validation and the limits, as over HTTP.
      onSubscribe: (ctx, id, payload) => metrics.subscribed(ctx, id, () => {
        const { credential } = ctx.extra.auth!;
        // The token was good at connection_init; each operation checks it is still.
        const refused = credential ? credentials.refusal(credential) : null;
        if (refused) {
          setImmediate(() => credentials.end(ctx.extra.socket, refused));
          return [ERRORS.unauthenticated(`Invalid token: ${refused.toLowerCase()}`)];
        }
        return prepareOperation(schema, payload, ctx.extra.auth!, limits);
      }),
      onOperation: (ctx, id, _payload, args, result) => {
        metrics.operated(ctx, id, args, result);
      },
      onComplete: (ctx, id) => {
        metrics.completed(ctx, id);
      },
    },
    wsServer,
  );
}

/** Apollo over HTTP; draining it also disposes of the graphql-ws server. */
function createApollo(deps: AppDeps, httpServer: Server, limits: RequestLimits, disposeSubscriptions: () => Promise<void> | void): ApolloServer<RequestContext> {
  const { logger } = deps;
  return new ApolloServer<RequestContext>({
    schema: deps.schema,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // The token limit applies as the document is parsed; suggestions ("Did you mean …?") are never sent.
    parseOptions: { maxTokens: limits.maxTokens },
    validationRules: limitRules(limits),
    validationOptions: { hideSuggestions: true },
    hideSchemaDetailsFromClientErrors: true,
    // main.ts owns the signals: a second handler racing it leaves apollo.stop() waiting forever.
    stopOnTerminationSignals: false,
    logger,
    formatError: formatError(logger),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Apollo's landing page loads its explorer from a CDN an air-gapped cluster cannot reach:
      // browsers get the bundled GraphiQL instead (console/server.ts, mounted before /graphql).
      ApolloServerPluginLandingPageDisabled(),
      { async serverWillStart() { return { async drainServer() { await disposeSubscriptions(); } }; } },
      partialErrorsPlugin(formatError(logger)),
      requestLimitsPlugin(limits),
      apolloMetricsPlugin(deps.metrics.requests),
      // Apollo's cache-control plugin wraps every field's resolver to compute a policy that is
      // always "no-store" here (no @cacheControl hints, authenticated answers): say so directly.
      ApolloServerPluginCacheControlDisabled(),
      noStorePlugin,
      // Traces (ftv1) show resolver timings and paths to whoever asks for them with a header.
      deps.config.federationTraces ? ApolloServerPluginInlineTrace() : ApolloServerPluginInlineTraceDisabled(),
    ],
  });
}

/** /healthz answers while the process runs; /readyz once the database (and whatever `ready` checks) answers. */
function mountHealthChecks(app: express.Express, deps: AppDeps): void {
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    try {
      await deps.ds.query("SELECT 1");
      await deps.ready?.();
      res.json({ status: "ready" });
    } catch (error) {
      deps.logger.warn("readiness check failed", error);
      res.status(503).json({ status: "unavailable", error: (error as Error).message });
    }
  });
}

/** Listens on host:port and answers the URL the server is reachable at (the port the OS chose, for port 0). */
async function listen(httpServer: Server, port: number, host: string): Promise<string> {
  await listenOn(httpServer, port, host);
  const address = httpServer.address();
  const bound = typeof address === "object" && address ? address.port : port;
  return `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;
}

/**
 * Fails at once, before anything starts, when host:port is taken: otherwise that shows only
 * after the database is up and the migrations ran.
 */
export async function checkPortFree(port: number, host: string): Promise<void> {
  const probe = createServer();
  await listenOn(probe, port, host);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

/** server.listen as a promise; a taken port is a StartupError naming who holds it. */
async function listenOn(server: Server, port: number, host: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    const holder = await tcpListener(port);
    const by = holder === null ? "" : ` by ${await describePid(holder)}`;
    throw new StartupError(`port ${port} on ${host} is in use${by}: stop it, or set PORT to another port`, { cause: error });
  }
}
