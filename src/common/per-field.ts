import type { FieldNode, GraphQLResolveInfo } from "graphql";

const byExecution = new WeakMap<object, WeakMap<FieldNode, unknown>>();

/**
 * What a field's arguments come to, worked out once per execution: graphql-js computes a field's
 * arguments from its node and the execution's variables alone, so a field resolved for each row
 * of a page gets the same arguments every time. `work` must depend on nothing else (the field's
 * arguments and the request's settings); when it throws, nothing is kept and the next row runs it
 * again. The execution's variableValues object (new for each execution) keys the cache.
 */
export function oncePerField<T>(info: GraphQLResolveInfo, work: () => T): T {
  let known = byExecution.get(info.variableValues);
  if (!known) {
    known = new WeakMap();
    byExecution.set(info.variableValues, known);
  }
  const node = info.fieldNodes[0];
  if (known.has(node)) return known.get(node) as T;
  const value = work();
  known.set(node, value);
  return value;
}
