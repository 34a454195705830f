import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { GraphQLError, parse } from "graphql";

/*
 * A second, small subgraph that stands for the rest of Backend.AI in federation tests: the
 * manager's `groups` (projects) that the web UI's artifact detail page asks for next to the
 * artifact, and an entity of its own, ModelDeployment, that points at one of our
 * ArtifactRevisions by key. The gateway resolves `revision { ... }` through our `_entities`.
 */

export const BACKEND_AI_SUBGRAPH_NAME = "backend-ai";

export const BACKEND_AI_TYPE_DEFS = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

scalar UUID

type Query {
  "Projects (groups) of the caller's domain, as Backend.AI's manager lists them."
  groups(domain_name: String, is_active: Boolean, type: [String]): [Group]
  "Model services, each serving one imported artifact revision."
  modelDeployments(limit: Int): [ModelDeployment!]!
}

type Group {
  id: UUID
  name: String
  is_active: Boolean
  type: String
}

type ModelDeployment @key(fields: "id") {
  id: ID!
  name: String!
  revision: ArtifactRevision!
}

"Owned by the artifact registry subgraph; referenced here by key only."
type ArtifactRevision @key(fields: "id", resolvable: false) {
  id: ID!
}
`;

export interface BackendAiGroup { id: string; name: string; is_active: boolean; type: string }
export interface ModelDeployment { id: string; name: string; revisionId: string }

export interface BackendAiSubgraph {
  name: string;
  url: string;
  typeDefs: string;
  groups: BackendAiGroup[];
  /** What `modelDeployments` answers; tests replace it. */
  deployments: ModelDeployment[];
  /** The Authorization header of every request it served, in order (null when absent). */
  authorizations: (string | null)[];
  stop(): Promise<void>;
}

export const DEFAULT_GROUPS: BackendAiGroup[] = [
  { id: "2de2b969-1d04-48a6-af16-0bc8adb3c831", name: "model-store", is_active: true, type: "MODEL_STORE" },
  { id: "5f3a7a2e-0d4c-4b8a-9d8e-0f1c3d2b6a11", name: "default", is_active: true, type: "GENERAL" },
  { id: "9b1e4c55-7a3f-4e0a-8b6d-2c9f1e7d3a42", name: "archived-store", is_active: false, type: "MODEL_STORE" },
];

interface Context { authorization: string | null }

export async function startBackendAiSubgraph(): Promise<BackendAiSubgraph> {
  const state = {
    groups: DEFAULT_GROUPS.map((g) => ({ ...g })),
    deployments: [] as ModelDeployment[],
    authorizations: [] as (string | null)[],
  };
  const requireViewer = (ctx: Context) => {
    if (!ctx.authorization) throw new GraphQLError("Authentication required", { extensions: { code: "UNAUTHENTICATED" } });
  };
  const deploymentById = (id: string) => state.deployments.find((d) => d.id === id) ?? null;
  const resolvers = {
    Query: {
      groups: (_: unknown, args: { is_active?: boolean | null; type?: string[] | null }, ctx: Context) => {
        requireViewer(ctx);
        return state.groups.filter((g) => (args.is_active == null || g.is_active === args.is_active) && (!args.type || args.type.includes(g.type)));
      },
      modelDeployments: (_: unknown, args: { limit?: number | null }, ctx: Context) => {
        requireViewer(ctx);
        return args.limit == null ? state.deployments : state.deployments.slice(0, args.limit);
      },
    },
    ModelDeployment: {
      __resolveReference: (ref: { id: string }) => deploymentById(ref.id),
      revision: (deployment: ModelDeployment) => ({ __typename: "ArtifactRevision", id: deployment.revisionId }),
    },
  };
  const server = new ApolloServer<Context>({
    schema: buildSubgraphSchema([{ typeDefs: parse(BACKEND_AI_TYPE_DEFS), resolvers: resolvers as any }]),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: "127.0.0.1" },
    context: async ({ req }) => {
      const authorization = req.headers.authorization ?? null;
      state.authorizations.push(authorization);
      return { authorization };
    },
  });
  return {
    name: BACKEND_AI_SUBGRAPH_NAME,
    url,
    typeDefs: BACKEND_AI_TYPE_DEFS,
    get groups() { return state.groups; },
    get deployments() { return state.deployments; },
    set deployments(value) { state.deployments = value; },
    get authorizations() { return state.authorizations; },
    stop: () => server.stop(),
  };
}
