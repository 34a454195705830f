import {
  execute, GraphQLInt, GraphQLInterfaceType, GraphQLList, GraphQLObjectType, GraphQLSchema, GraphQLString, parse,
} from "graphql";
import { shareArgumentValuesPerExecution } from "../../src/schema/argument-values";

// A schema of graphql-js's own: what each resolver received, as graphql-js executes it.
const received: Record<string, unknown>[] = [];
const echo = (_: unknown, args: Record<string, unknown>) => {
  received.push(args);
  return JSON.stringify(args);
};
const Shape = new GraphQLInterfaceType({ name: "Shape", fields: { label: { type: GraphQLString, args: { size: { type: GraphQLInt } } } } });
const shapeType = (name: string, defaultSize: number) => new GraphQLObjectType({
  name,
  interfaces: [Shape],
  isTypeOf: (value: { kind: string }) => value.kind === name,
  fields: { label: { type: GraphQLString, args: { size: { type: GraphQLInt, defaultValue: defaultSize } }, resolve: echo } },
});
const Square = shapeType("Square", 1);
const Circle = shapeType("Circle", 2);
const Row = new GraphQLObjectType({
  name: "Row",
  fields: { label: { type: GraphQLString, args: { size: { type: GraphQLInt }, unit: { type: GraphQLString, defaultValue: "px" } }, resolve: echo } },
});
const schema = new GraphQLSchema({
  types: [Square, Circle],
  query: new GraphQLObjectType({
    name: "Query",
    fields: {
      rows: { type: new GraphQLList(Row), resolve: () => [{}, {}, {}] },
      shapes: { type: new GraphQLList(Shape), resolve: () => [{ kind: "Square" }, { kind: "Circle" }] },
    },
  }),
});

beforeAll(() => shareArgumentValuesPerExecution());
beforeEach(() => {
  received.length = 0;
});

const run = (query: string, variableValues?: Record<string, unknown>) => execute({ schema, document: parse(query), variableValues }) as Promise<unknown>;

describe("field arguments worked out once per execution", () => {
  it("gives every row of a list the arguments of its field, defaults included", async () => {
    const result = await run("query($size: Int) { rows { label(size: $size) other: label(size: 3, unit: \"em\") } }", { size: 7 });
    const label = JSON.stringify({ size: 7, unit: "px" });
    const other = JSON.stringify({ size: 3, unit: "em" });
    expect(result).toEqual({ data: { rows: [{ label, other }, { label, other }, { label, other }] } });
  });

  it("gives each execution of one document the arguments of its own variables", async () => {
    const query = "query($size: Int) { rows { label(size: $size) } }";
    const [a, b] = await Promise.all([run(query, { size: 1 }), run(query, { size: 2 })]);
    expect(a).toEqual({ data: { rows: Array(3).fill({ label: JSON.stringify({ size: 1, unit: "px" }) }) } });
    expect(b).toEqual({ data: { rows: Array(3).fill({ label: JSON.stringify({ size: 2, unit: "px" }) }) } });
  });

  it("gives one field node resolved on two types each type's own default", async () => {
    const result = await run("{ shapes { label } }");
    expect(result).toEqual({ data: { shapes: [{ label: JSON.stringify({ size: 1 }) }, { label: JSON.stringify({ size: 2 }) }] } });
  });

  it("hands the rows of one field the same arguments object", async () => {
    await run("{ rows { label(size: 4) } }");
    expect(received).toHaveLength(3);
    expect(received[1]).toBe(received[0]);
    expect(received[2]).toBe(received[0]);
  });
});
