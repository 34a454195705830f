// Writes supergraph.graphql: this subgraph composed by @apollo/composition into a Federation 2
// supergraph that a gateway (Hive Gateway, Apollo Router) can serve. No database is needed.
//
//   npm run supergraph [-- --url http://artifact-registry:4000/graphql] [--out supergraph.graphql]
import "reflect-metadata";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { SUBGRAPH_NAME } from "../gateway/gateway.config";
import { buildSdl } from "../src/schema/print";

export { SUBGRAPH_NAME };

export const DEFAULT_SUBGRAPH_URL = "http://127.0.0.1:4000/graphql";

export interface SubgraphSource {
  name: string;
  url: string;
  sdl: string;
}

/**
 * Composes subgraphs with @apollo/composition. Errors throw; hints are returned, since a
 * supergraph with hints is still valid (the tests insist there are none).
 */
export function composeSupergraph(subgraphs: SubgraphSource[]): { supergraphSdl: string; hints: string[] } {
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  if (result.errors?.length || !result.supergraphSdl) {
    throw new Error(`composition failed:\n${(result.errors ?? []).map((e) => `- ${e.message}`).join("\n")}`);
  }
  return {
    supergraphSdl: `${result.supergraphSdl.trim()}\n`,
    hints: (result.hints ?? []).map((h) => `${h.definition.code}: ${h.message}`),
  };
}

/** This subgraph alone, as `_service { sdl }` serves it, reachable at `url`. */
export async function buildSupergraph(url = DEFAULT_SUBGRAPH_URL): Promise<{ supergraphSdl: string; hints: string[] }> {
  return composeSupergraph([{ name: SUBGRAPH_NAME, url, sdl: await buildSdl() }]);
}

async function main() {
  const { values } = parseArgs({
    options: {
      url: { type: "string", default: DEFAULT_SUBGRAPH_URL },
      out: { type: "string", default: "supergraph.graphql" },
    },
  });
  const target = path.resolve(values.out);
  const { supergraphSdl, hints } = await buildSupergraph(values.url);
  for (const hint of hints) console.warn(`hint: ${hint}`);
  await writeFile(target, supergraphSdl);
  console.log(`wrote ${target} (subgraph ${SUBGRAPH_NAME} at ${values.url})`);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
