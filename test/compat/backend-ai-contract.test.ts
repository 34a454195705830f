import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "graphql";
import { contractProblems, operationProblems } from "./contract";

/*
 * The Backend.AI web UI and federation gateway work against this subgraph unchanged only while
 * the schema keeps the Backend.AI names: backend-ai-contract.graphql pins them (with this
 * project's extensions), webui-operations.graphql holds what the web UI sends.
 */

const read = (file: string) => readFileSync(path.join(__dirname, file), "utf8");
const schema = read("../../schema.graphql");
const contract = read("backend-ai-contract.graphql");
const operations = read("webui-operations.graphql");

describe("Backend.AI compatibility of schema.graphql", () => {
  it("has every type, field, argument and enum value of the contract, with compatible types", () => {
    expect(contractProblems(contract, schema)).toEqual([]);
  });

  it("validates every operation the web UI sends", () => {
    expect(operationProblems(schema, operations)).toEqual([]);
  });

  it("would notice a renamed field, a missing enum value and a stricter argument", () => {
    const broken = schema
      .replace(/\blatestUpstreamDigest\b/, "upstreamDigest")
      .replace(/enum ArtifactStatus \{([^}]*)\bREJECTED\b/, "enum ArtifactStatus {$1")
      .replace(/(\bartifacts\([^)]*?\blimit: )Int\b/, "$1Int!");
    expect(broken).not.toBe(schema);
    expect(contractProblems(contract, broken)).toEqual(expect.arrayContaining([
      "missing field ArtifactRevision.latestUpstreamDigest",
      "enum ArtifactStatus lacks value REJECTED",
      expect.stringMatching(/^argument Query\.artifacts\(limit\) is Int!, the contract has Int$/),
    ]));
  });

  it("names each web UI operation once, so codegen and the tests address them unambiguously", () => {
    const names = parse(operations).definitions.flatMap((d) => ("name" in d && d.name ? [d.name.value] : []));
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(["ReservoirPageQuery", "ImportArtifactsMutation", "ArtifactStatusChangedSubscription"]));
  });
});
