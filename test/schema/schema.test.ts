import { readFileSync } from "node:fs";
import path from "node:path";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { buildSdl } from "../../src/schema/print";

const committed = readFileSync(path.join(__dirname, "../../schema.graphql"), "utf8");

describe("the subgraph schema", () => {
  let sdl: string;
  beforeAll(async () => {
    sdl = await buildSdl();
  });

  it("is committed exactly as _service { sdl } serves it (run `npm run schema:print` when this fails)", () => {
    expect(committed).toBe(sdl);
  });

  it("links Federation v2.7 and declares each entity with @key(fields: \"id\")", () => {
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.7"');
    for (const entity of ["Artifact", "ArtifactRevision", "HuggingFaceRegistry", "ReservoirRegistry"]) {
      expect(sdl).toMatch(new RegExp(`type ${entity} implements Node\\s+@key\\(fields: "id"\\)`));
    }
  });

  it("composes into a supergraph with @apollo/composition without errors", () => {
    const result = composeServices([{ name: "artifact-registry", url: "http://127.0.0.1:4000/graphql", typeDefs: parse(sdl) }]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.supergraphSdl).toContain("join__Graph");
  });
});
