import { createRequire } from "node:module";
import path from "node:path";
import type { GraphQLFieldResolver } from "graphql";
import { getMetadataStorage } from "type-graphql";

type Metadata = ReturnType<typeof getMetadataStorage>;
type FieldResolverMetadata = Metadata["fieldResolvers"][number];
type ParamMetadata = NonNullable<FieldResolverMetadata["params"]>[number];

/**
 * type-graphql's own conversion of GraphQL arguments into its input classes, which its package
 * does not export: the same function its resolvers call, so a field's parameters stay what they were.
 */
const load = createRequire(__filename);
const convertArgs = load(path.join(path.dirname(load.resolve("type-graphql")), "resolvers", "convert-args.js")) as {
  convertArgToInstance(param: ParamMetadata, args: Record<string, unknown>): unknown;
  convertArgsToInstance(param: ParamMetadata, args: Record<string, unknown>): unknown;
};

/**
 * type-graphql calls a field resolver's method after sorting its parameter list, converting its
 * arguments into input class instances and passing each through an async validation step
 * (a promise per argument, then Promise.all), for every row of a list. For a field resolver
 * without roles and middlewares, and with validation off (buildSchema's `validate`), this
 * calls the method directly; the converted arguments are kept per arguments object, which
 * graphql-js hands every row of a field in one execution (argument-values.ts), so the rows share
 * them. Other field resolvers keep type-graphql's.
 */
export function directFieldResolvers(resolvers: Record<string, Record<string, unknown>>, options: { validate: boolean }): void {
  if (options.validate) return;
  const storage = getMetadataStorage();
  const instances = new Map<object, Record<string, (...params: unknown[]) => unknown>>();
  for (const metadata of storage.fieldResolvers) {
    if (metadata.kind !== "external" || metadata.roles !== undefined || metadata.middlewares?.length) continue;
    const params = [...(metadata.params ?? [])].sort((a, b) => a.index - b.index);
    if (!params.every(isDirect)) continue;
    const objectType = metadata.getObjectType?.();
    const typeName = storage.objectTypes.find((t) => t.target === objectType)?.name;
    const own = typeName ? resolvers[typeName] : undefined;
    if (!own || typeof own[metadata.schemaName] !== "function") continue;
    const target = metadata.target as new () => Record<string, (...params: unknown[]) => unknown>;
    // type-graphql's default container keeps one instance per resolver class: so does this.
    const instance = instances.get(target) ?? instances.set(target, new target()).get(target)!;
    own[metadata.schemaName] = directResolver(own[metadata.schemaName] as GraphQLFieldResolver<unknown, unknown>, instance, metadata.methodName, params);
  }
}

function isDirect(param: ParamMetadata): boolean {
  switch (param.kind) {
    case "root":
      return param.propertyName === undefined;
    case "context":
    case "info":
      return true;
    case "arg":
    case "args":
      return param.validateSettings === undefined && param.validateFn === undefined;
    default:
      return false;
  }
}

/**
 * type-graphql converts a root that is not an instance of the @Root() parameter's class into one;
 * the mappers hand instances, and any other root goes through type-graphql's resolver (`original`).
 */
function directResolver(
  original: GraphQLFieldResolver<unknown, unknown>,
  instance: Record<string, (...params: unknown[]) => unknown>,
  methodName: string,
  params: ParamMetadata[],
): GraphQLFieldResolver<unknown, unknown> {
  const rootTypes = params.flatMap((param) => (param.kind === "root" && param.getType ? [param.getType()] : []));
  const converted = new WeakMap<object, unknown[]>();
  const convert = (args: Record<string, unknown>) => params.map((param) => {
    if (param.kind === "arg") return convertArgs.convertArgToInstance(param, args);
    if (param.kind === "args") return convertArgs.convertArgsToInstance(param, args);
    return undefined;
  });
  return (root, args, context, info) => {
    if (!rootTypes.every((type) => typeof type === "function" && root instanceof type)) return original(root, args, context, info);
    let values = converted.get(args);
    if (!values) converted.set(args, (values = convert(args)));
    const call = params.map((param, i) => {
      switch (param.kind) {
        case "root":
          return root;
        case "context":
          return param.propertyName ? (context as Record<string, unknown>)[param.propertyName] : context;
        case "info":
          return info;
        default:
          return values[i];
      }
    });
    return instance[methodName](...call);
  };
}
