import { createServer, type Server } from "node:http";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import { Kind, type GraphQLSchema, type OperationDefinitionNode } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { DataSource } from "typeorm";
import { authenticate, authorizationFromParams, type Authentication } from "../auth/authenticate";
import { ERRORS } from "../common/errors";
import { describePid, tcpListener } from "../common/processes";
import { StartupError } from "../common/startup-error";
import type { Logger } from "../common/logger";
import type { Config } from "../config/config";
import type { EventBus } from "../events/event-bus";
import type { AppContext } from "../schema/context";
import { formatError } from "./errors";
import { createLoaders } from "../schema/loaders";
import { costLimitPlugin, depthRule, costOf, type RequestLimits } from "./limits";
import type { Services } from "../boot/services";
import { execute, parse, specifiedRules, subscribe, validate, type ExecutionArgs, type ExecutionResult } from "graphql";

export interface AppDeps {
  config: Config;
  ds: DataSource;
  schema: GraphQLSchema;
  services: Services;
  events: EventBus;
  authSecret: string;
  logger: Logger;
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

/** Only the federation SDL may be read without a token: gateways fetch it to compose. */
function isAnonymousAllowed(operation: OperationDefinitionNode | null | undefined): boolean {
  if (!operation || operation.operation !== "query") return false;
  return operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && (s.name.value === "_service" || s.name.value === "__typename"));
}

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

function authPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation }) {
          if (contextValue.auth.error) throw contextValue.auth.error;
          if (!contextValue.viewer && !isAnonymousAllowed(operation)) throw ERRORS.unauthenticated();
        },
      };
    },
  };
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
  const limits = { maxDepth: config.limits.maxDepth, maxCost: config.limits.maxCost, defaultPageSize: config.limits.defaultPageSize };
  const app = express();
  app.disable("x-powered-by");
  const httpServer = createServer(app);
  const authenticateWith = (authorization: unknown) => authenticate(authorization, { userSecret: deps.authSecret, keypairs: services.keypairs });
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

  const wsServer = new WebSocketServer({ server: httpServer, path: "/graphql" });
  const subscriptions = serveSubscriptions(wsServer, deps.schema, limits, makeContext, authenticateWith);
  const apollo = createApollo(deps, httpServer, limits, () => subscriptions.dispose());
  await apollo.start();

  mountHealthChecks(app, deps);
  deps.mount?.(app);
  app.use(
    "/graphql",
    express.json({ limit: "1mb" }),
    expressMiddleware(apollo, { context: async ({ req }) => makeContext(await authenticateWith(req.headers.authorization)) }),
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
) {
  return useServer<Record<string, unknown>, { auth?: Authentication }>(
    {
      schema,
      // Every connection is acknowledged, and each operation of one without a valid credential
      // answers a result with UNAUTHENTICATED, as over HTTP. Refusing the connection instead (4403)
      // makes graphql-ws clients retry with backoff, and a gateway relaying a subscription ends it
      // silently: either way the subscriber is never told why.
      onConnect: async (ctx) => {
        ctx.extra.auth = await authenticateWith(authorizationFromParams(ctx.connectionParams));
        return true;
      },
      // A fresh context (and fresh DataLoaders) for every execution, including each event.
      context: (ctx) => makeContext(ctx.extra.auth!),
      execute: refuseAnonymous(execute),
      subscribe: refuseAnonymous(subscribe),
      onSubscribe: (_ctx, _id, payload) => {
        const document = parse(payload.query);
        const errors = validate(schema, document, [...specifiedRules, depthRule(limits)]);
        if (errors.length) return errors;
        const cost = costOf(schema, document, payload.variables ?? {}, limits, payload.operationName ?? undefined);
        if (cost > limits.maxCost) return [ERRORS.badInput(`Query cost ${cost} exceeds the limit of ${limits.maxCost}`)];
        return undefined;
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
    // main.ts owns the signals: a second handler racing it leaves apollo.stop() waiting forever.
    stopOnTerminationSignals: false,
    logger,
    validationRules: [depthRule(limits)],
    formatError: formatError(logger),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Apollo's landing page loads its explorer from a CDN an air-gapped cluster cannot reach:
      // browsers get the bundled GraphiQL instead (console/server.ts, mounted before /graphql).
      ApolloServerPluginLandingPageDisabled(),
      { async serverWillStart() { return { async drainServer() { await disposeSubscriptions(); } }; } },
      authPlugin(),
      partialErrorsPlugin(formatError(logger)),
      costLimitPlugin(limits),
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
