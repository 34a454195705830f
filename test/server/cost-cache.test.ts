import { getOperationAST, parse } from "graphql";
import type { PubSub } from "type-graphql";
import { loadConfig } from "../../src/config/config";
import { createEventBus } from "../../src/events/event-bus";
import { buildFederatedSchema } from "../../src/schema/build-schema";
import { checkOperation, OperationChecks } from "../../src/server/limits";

/*
 * The cost of a document is kept per set of variable values; an anonymous `{ _service { sdl } }`
 * with a megabyte of variables it never uses must not pin that megabyte in the cache.
 */

let schema: Awaited<ReturnType<typeof buildFederatedSchema>>;
const limits = loadConfig({}).limits;
beforeAll(async () => {
  schema = await buildFederatedSchema(createEventBus() as unknown as PubSub);
});

const junk = (i: number) => ({ [`unused${i}`]: "x".repeat(10_000) + i });

describe("the cost cache", () => {
  it("keeps one entry for a document without variables, whatever unused variables 300 requests carry", () => {
    const seen = new OperationChecks();
    const document = parse("{ _service { sdl } }");
    for (let i = 0; i < 300; i++) checkOperation(schema, document, getOperationAST(document)!, junk(i), limits, seen);
    expect(seen.cachedCosts(document)).toBe(1);
  });

  it("keys a document on its declared variables only: unused ones neither add entries nor cost it again", () => {
    const seen = new OperationChecks();
    const document = parse("query($n: Int) { artifacts(first: $n) { count } }");
    const operation = getOperationAST(document)!;
    let computed = 0;
    for (let i = 0; i < 300; i++) {
      expect(seen.cost(document, operation, { n: 5, ...junk(i) }, () => ++computed)).toBe(1);
    }
    expect(computed).toBe(1);
    expect(seen.cachedCosts(document)).toBe(1);
    seen.cost(document, operation, { n: 6 }, () => ++computed);
    seen.cost(document, operation, { n: null }, () => ++computed);
    seen.cost(document, operation, {}, () => ++computed);
    expect(computed).toBe(4);
    expect(seen.cachedCosts(document)).toBe(4);
  });

  it("costs a document whose declared variables are large each time and keeps nothing of them", () => {
    const seen = new OperationChecks();
    const document = parse("query($r: [_Any!]!) { _entities(representations: $r) { __typename } }");
    const representations = Array.from({ length: 100 }, (_, i) => ({ __typename: "Artifact", id: `${"a".repeat(100)}${i}` }));
    for (let i = 0; i < 3; i++) checkOperation(schema, document, getOperationAST(document)!, { r: representations }, limits, seen);
    expect(seen.cachedCosts(document)).toBe(0);
  });
});
