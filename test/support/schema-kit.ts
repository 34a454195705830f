import { graphql, print, type DocumentNode, type GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import type { DataSource } from "typeorm";
import { createArtifactLoaders } from "../../src/artifact/artifact.loader";
import { ArtifactResolver } from "../../src/artifact/artifact.resolver";
import { ArtifactService } from "../../src/artifact/artifact.service";
import { AuthChecker } from "../../src/auth/auth-checker";
import { Role } from "../../src/common/enums";
import { createLogger } from "../../src/common/logger";
import { DateTimeScalar } from "../../src/common/scalars";
import { loadConfig } from "../../src/config/config";
import { createDataSource } from "../../src/db/data-source";
import { QueryObserver } from "../../src/db/query-observer";
import { createRevisionLoaders } from "../../src/revision/revision.loader";
import { ArtifactFileResolver, RevisionResolver } from "../../src/revision/revision.resolver";
import { RevisionService } from "../../src/revision/revision.service";
import { createTestDatabase, type TestDatabase } from "./database";
import type { GraphQLResponse, RoleName } from "./testkit";

/*
 * Runs operations against the artifact and revision resolvers alone (no HTTP server, no other
 * domain): the same client API as testkit.ts, for the domain's tests while the rest of the
 * server is still being assembled. It counts every SQL statement, like testkit's countQueries.
 */

type Operation = string | DocumentNode;
const text = (op: Operation) => (typeof op === "string" ? op : print(op));
const describe = (op: Operation, variables: unknown, response: unknown) =>
  `Operation:\n${text(op)}\nVariables: ${JSON.stringify(variables, null, 2)}\nResponse: ${JSON.stringify(response, null, 2)}`;

export interface DomainClient {
  execute<T = any>(op: Operation, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  ok<T = any>(op: Operation, variables?: Record<string, unknown>): Promise<T>;
  fails(op: Operation, variables: Record<string, unknown>, code: string): Promise<{ message: string; extensions?: Record<string, any> }>;
}

export interface DomainKit {
  ds: DataSource;
  as(role: RoleName): DomainClient;
  countQueries(fn: () => Promise<unknown>): Promise<{ count: number; statements: string[] }>;
  close(): Promise<void>;
}

let schemaPromise: Promise<GraphQLSchema> | null = null;
function schema(): Promise<GraphQLSchema> {
  schemaPromise ??= buildSchema({
    resolvers: [ArtifactResolver, RevisionResolver, ArtifactFileResolver],
    authChecker: AuthChecker,
    validate: false,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
  });
  return schemaPromise;
}

export async function startDomainKit(): Promise<DomainKit> {
  const db: TestDatabase = await createTestDatabase();
  let recording: string[] | null = null;
  const ds = createDataSource({ url: db.url, poolSize: 4, logger: new QueryObserver(createLogger("silent"), (sql) => recording?.push(sql)) });
  await ds.initialize();
  await ds.runMigrations({ transaction: "all" });
  const config = loadConfig({ DATA_DIR: "/tmp/ar-domain-kit", LOG_LEVEL: "silent" });
  const services = { artifacts: new ArtifactService(ds), revisions: new RevisionService(ds) };
  const built = await schema();

  const client = (role: RoleName): DomainClient => {
    const execute = async <T>(op: Operation, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> => {
      const contextValue = {
        viewer: { sub: `test-${role}`, role: role as Role },
        ds,
        config,
        services,
        loaders: { ...createArtifactLoaders(ds), ...createRevisionLoaders(ds) },
      };
      const result = await graphql({ schema: built, source: text(op), variableValues: variables, contextValue });
      const response = JSON.parse(JSON.stringify(result)) as GraphQLResponse<T>;
      for (const error of result.errors ?? []) {
        if (!(error.extensions as { code?: string })?.code && error.originalError) console.error(error.originalError);
      }
      return response;
    };
    return {
      execute,
      ok: async <T>(op: Operation, variables: Record<string, unknown> = {}) => {
        const response = await execute<T>(op, variables);
        if (response.errors?.length || !response.data) throw new Error(`Expected no GraphQL errors.\n${describe(op, variables, response)}`);
        return response.data;
      },
      fails: async (op, variables, code) => {
        const response = await execute(op, variables);
        const error = response.errors?.find((e) => e.extensions?.code === code);
        if (!error) throw new Error(`Expected an error with extensions.code ${code}.\n${describe(op, variables, response)}`);
        return error;
      },
    };
  };

  return {
    ds,
    as: client,
    countQueries: async (fn) => {
      recording = [];
      try {
        await fn();
        return { count: recording.length, statements: recording };
      } finally {
        recording = null;
      }
    },
    close: async () => {
      if (ds.isInitialized) await ds.destroy();
      await db.drop();
    },
  };
}
