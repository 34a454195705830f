import type { NonEmptyArray } from "type-graphql";

/** Every resolver class of the schema. Each domain adds its own here. */
export const RESOLVERS: NonEmptyArray<Function> = [
];
