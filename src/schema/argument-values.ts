import type { FieldNode, GraphQLField, GraphQLDirective } from "graphql";
import * as values from "graphql/execution/values";

type GetArgumentValues = (def: GraphQLField<unknown, unknown> | GraphQLDirective, node: FieldNode, variableValues?: object | null) => Record<string, unknown>;

const byExecution = new WeakMap<object, Map<FieldNode, Map<object, Record<string, unknown>>>>();
let installed = false;

/**
 * graphql-js works out a field's arguments (two fresh dictionaries, literals converted again)
 * each time it resolves the field: for every row of a list, although they depend only on the
 * field's definition, its node and the execution's variables. This keeps the answer per execution
 * (keyed by its coerced variables, a new object each time) so rows share it. Errors are not kept.
 * graphql-js's executor calls the function through its module's exports, so replacing the export
 * is enough; if a later graphql-js binds it otherwise, execution is as before, only slower.
 */
export function shareArgumentValuesPerExecution(): void {
  if (installed) return;
  installed = true;
  const original = values.getArgumentValues as unknown as GetArgumentValues;
  const shared: GetArgumentValues = (def, node, variableValues) => {
    if (!variableValues) return original(def, node, variableValues);
    let nodes = byExecution.get(variableValues);
    if (!nodes) byExecution.set(variableValues, (nodes = new Map()));
    let defs = nodes.get(node);
    if (!defs) nodes.set(node, (defs = new Map()));
    let args = defs.get(def);
    if (!args) defs.set(def, (args = original(def, node, variableValues)));
    return args;
  };
  (values as { getArgumentValues: unknown }).getArgumentValues = shared;
}
