import { GraphQLScalarType, Kind } from "graphql";
import { DateTimeResolver, JSONResolver, UUIDResolver } from "graphql-scalars";

export const DateTimeScalar = DateTimeResolver;
export const JSONScalar = JSONResolver;
export const UUIDScalar = UUIDResolver;

const DIGITS = /^(0|[1-9][0-9]{0,19})$/;

function parseByteSize(value: unknown): string {
  const text = typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  if (typeof text !== "string" || !DIGITS.test(text)) {
    throw new TypeError(`ByteSize must be a string of decimal digits, got ${JSON.stringify(value)}`);
  }
  return text;
}

/** Sizes can pass 2^53, so they travel as strings of decimal digits ("4294967296"). */
export const ByteSizeScalar = new GraphQLScalarType<string, string>({
  name: "ByteSize",
  description: "A size in bytes, serialized as a string of decimal digits.",
  serialize: (value) => parseByteSize(typeof value === "bigint" ? value.toString() : value),
  parseValue: parseByteSize,
  parseLiteral: (ast) => {
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT) return parseByteSize(ast.kind === Kind.INT ? ast.value : ast.value);
    throw new TypeError("ByteSize must be a string of decimal digits");
  },
});
