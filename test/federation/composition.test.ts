import { readFileSync } from "node:fs";
import path from "node:path";
import { composeServices as composeWithApollo } from "@apollo/composition";
import { composeServices as composeWithGuild } from "@theguild/federation-composition";
import { buildSchema, lexicographicSortSchema, parse, printSchema, type GraphQLSchema } from "graphql";
import { buildSdl } from "../../src/schema/print";
import { buildSupergraph, DEFAULT_SUBGRAPH_URL, SUBGRAPH_NAME } from "../../scripts/supergraph";
import { BACKEND_AI_SUBGRAPH_NAME, BACKEND_AI_TYPE_DEFS } from "../support/backend-ai-subgraph";

/*
 * Composition as gateways do it: @apollo/composition (Apollo Router, `npm run supergraph`) and
 * @theguild/federation-composition (Hive Gateway), for this subgraph alone and together with a
 * stand-in for the rest of Backend.AI.
 */

let sdl: string;
beforeAll(async () => {
  sdl = await buildSdl();
});

const ours = () => ({ name: SUBGRAPH_NAME, url: DEFAULT_SUBGRAPH_URL, typeDefs: parse(sdl) });
const backendAi = () => ({ name: BACKEND_AI_SUBGRAPH_NAME, url: "http://127.0.0.1:4001/graphql", typeDefs: parse(BACKEND_AI_TYPE_DEFS) });
const SETS = {
  "this subgraph alone": () => [ours()],
  "this subgraph with Backend.AI's": () => [ours(), backendAi()],
};

/** The client-facing schema, sorted, so two composers' results compare as text. */
const sorted = (schema: GraphQLSchema) => printSchema(lexicographicSortSchema(schema));

describe.each(Object.entries(SETS))("composing %s", (_name, services) => {
  it("succeeds with @apollo/composition without errors or hints", () => {
    const result = composeWithApollo(services());
    expect({ errors: result.errors?.map((e) => e.message) ?? [], hints: result.hints?.map((h) => `${h.definition.code}: ${h.message}`) ?? [] })
      .toEqual({ errors: [], hints: [] });
  });

  it("succeeds with @theguild/federation-composition without errors", () => {
    const result = composeWithGuild(services());
    expect(result.errors?.map((e) => e.message) ?? []).toEqual([]);
  });

  it("gives the same client-facing schema with either library", () => {
    const apollo = composeWithApollo(services());
    const guild = composeWithGuild(services());
    expect(sorted(buildSchema(guild.publicSdl!))).toBe(sorted(apollo.schema!.toAPISchema().toGraphQLJSSchema()));
  });
});

describe("the supergraph with Backend.AI's subgraph", () => {
  it("joins ModelDeployment.revision to this subgraph's ArtifactRevision by its id", () => {
    const { supergraphSdl } = composeWithApollo([ours(), backendAi()]);
    expect(supergraphSdl).toMatch(/type ArtifactRevision implements Node\s+@join__implements\(graph: ARTIFACT_REGISTRY, interface: "Node"\)\s+@join__type\(graph: ARTIFACT_REGISTRY, key: "id"\)\s+@join__type\(graph: BACKEND_AI, key: "id", resolvable: false\)/);
    expect(supergraphSdl).toMatch(/type ModelDeployment\s+@join__type\(graph: BACKEND_AI, key: "id"\)/);
    expect(supergraphSdl).toMatch(/groups\(domain_name: String, is_active: Boolean, type: \[String\]\): \[Group\] @join__field\(graph: BACKEND_AI\)/);
  });
});

describe("supergraph.graphql", () => {
  it("is committed exactly as `npm run supergraph` writes it (run it when this fails)", async () => {
    const committed = readFileSync(path.join(__dirname, "../../supergraph.graphql"), "utf8");
    const { supergraphSdl, hints } = await buildSupergraph();
    expect(hints).toEqual([]);
    expect(committed).toBe(supergraphSdl);
  });
});
