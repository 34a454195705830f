import { buildSubgraphSchema } from "@apollo/subgraph";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { parse, type DefinitionNode, type DocumentNode, type GraphQLSchema } from "graphql";
import { buildSchema, createResolversMap, getMetadataStorage, type PubSub } from "type-graphql";
import { AuthChecker } from "../auth/auth-checker";
import { ByteSizeScalar, DateTimeScalar } from "../common/scalars";
import { shareArgumentValuesPerExecution } from "./argument-values";
import { directFieldResolvers } from "./direct-field-resolvers";
import { RESOLVERS } from "./resolvers";
import { REFERENCE_RESOLVERS } from "./reference-resolvers";

export const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])';

/**
 * type-graphql builds the schema from the decorated classes; Apollo's buildSubgraphSchema then
 * adds the federation fields (_service, _entities) and each entity's __resolveReference.
 */
export async function buildFederatedSchema(pubSub: PubSub): Promise<GraphQLSchema> {
  shareArgumentValuesPerExecution();
  const validate = false;
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    authChecker: AuthChecker,
    pubSub,
    validate,
    skipCheck: true,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    emitSchemaFile: false,
  });
  const resolvers: Record<string, any> = withoutPassThroughResolvers(createResolversMap(schema));
  directFieldResolvers(resolvers, { validate });
  for (const [typeName, reference] of Object.entries(REFERENCE_RESOLVERS)) {
    resolvers[typeName] = { ...resolvers[typeName], __resolveReference: reference };
  }
  resolvers.ByteSize = ByteSizeScalar;
  const typeDefs = sortedDefinitions(parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(schema)}`));
  return buildSubgraphSchema([{ typeDefs, resolvers }]);
}

/**
 * type-graphql gives every plain field of an object type a resolver that runs its middlewares and
 * then reads the property: with none (no @Authorized, no @UseMiddleware, no global middlewares in
 * buildSchema above) that is graphql-js's default resolver plus an allocation per field and row.
 * Such fields get the default resolver; a field with roles or middlewares keeps type-graphql's.
 */
function withoutPassThroughResolvers(resolvers: Record<string, any>): Record<string, any> {
  const storage = getMetadataStorage();
  for (const type of storage.objectTypes) {
    const own = resolvers[type.name];
    if (!own) continue;
    const interfaceFields = storage.interfaceTypes.filter((i) => type.interfaceClasses?.includes(i.target)).flatMap((i) => i.fields ?? []);
    // As type-graphql merges them: the type's own field wins over an interface's of the same name.
    const fields = new Map([...interfaceFields, ...(type.fields ?? [])].map((field) => [field.schemaName, field]));
    for (const field of fields.values()) {
      const passThrough = field.roles === undefined && !field.middlewares?.length && field.name === field.schemaName
        && !storage.fieldResolvers.some((r) => r.getObjectType?.() === field.target && r.methodName === field.name);
      if (passThrough) delete own[field.schemaName];
    }
  }
  return resolvers;
}

/**
 * type-graphql lists types in the order their modules were loaded, which differs by entry point
 * (main.js, print.js, a test): the served SDL is printed in this order, so it is made one order,
 * the schema first and then directives and types by name.
 */
function sortedDefinitions(document: DocumentNode): DocumentNode {
  const nameOf = (definition: DefinitionNode) => ("name" in definition && definition.name ? definition.name.value : "");
  const rank = (definition: DefinitionNode) => (nameOf(definition) ? (definition.kind === "DirectiveDefinition" ? 1 : 2) : 0);
  const definitions = [...document.definitions].sort((a, b) => rank(a) - rank(b) || (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0));
  return { ...document, definitions };
}
