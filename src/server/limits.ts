import type { ApolloServerPlugin } from "@apollo/server";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import {
  getOperationAST,
  GraphQLError,
  isUnionType,
  Kind,
  parse,
  specifiedRules,
  validate,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "graphql";
import { getArgumentValues, getVariableValues } from "graphql/execution/values";
import { getComplexity, type ComplexityEstimator } from "graphql-query-complexity";
import type { Authentication } from "../auth/authenticate";
import { ERRORS } from "../common/errors";
import type { Limits } from "../config/config";

export type RequestLimits = Pick<Limits, "maxDepth" | "maxCost" | "defaultPageSize" | "maxTokens" | "maxAliases" | "maxDirectives" | "maxInputDepth">;

/*
 * Every check here is linear in the size of the request: fragments are walked once each (Armor's
 * rules remember what a fragment spread came to), and nothing expands a fragment per use. They
 * run in this order: parse with the token limit; refuse anyone without a credential unless it is
 * the gateway's SDL read; validate (graphql-js's rules and the limits below); then the inputs and
 * the cost, before anything executes.
 */

/** Armor reports a limit as a thrown "Syntax Error"; reported instead, it is a coded 400 validation error. */
const reportToValidation = {
  exposeLimits: true,
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, "")))],
};

/** Federation fields whose answer a gateway needs once: aliasing them only multiplies a response (the SDL is ~40 KB). */
const ONCE_PER_OPERATION = ["_service", "_entities"];

/** Refuses a second response key for `_service` or `_entities` in one operation (fields of Query, so only the root is looked at). */
const federationFieldsOnce: ValidationRule = (context) => ({
  OperationDefinition(operation) {
    const keys = new Map<string, Set<string>>();
    for (const field of rootFields(operation, (name) => context.getFragment(name))) {
      if (!ONCE_PER_OPERATION.includes(field.name.value)) continue;
      const seen = keys.get(field.name.value) ?? new Set<string>();
      keys.set(field.name.value, seen.add(field.alias?.value ?? field.name.value));
    }
    for (const [name, aliases] of keys) {
      if (aliases.size > 1) context.reportError(new GraphQLError(`${name} may be selected once per operation, found ${aliases.size} aliases of it`));
    }
  },
});

/** The validation rules beside graphql-js's own. */
export function limitRules(limits: RequestLimits): ValidationRule[] {
  return [
    // Depth counts fields, not fragments: a spread adds nothing by itself. `__schema` is exempt
    // (an introspection query is deeper than any of ours) and open only to a caller with a token.
    maxDepthRule({ n: limits.maxDepth, flattenFragments: true, ignoreIntrospection: true, ...reportToValidation }),
    maxAliasesRule({ n: limits.maxAliases, ...reportToValidation }),
    maxDirectivesRule({ n: limits.maxDirectives, ...reportToValidation }),
    federationFieldsOnce,
  ];
}

/** The fields of an operation's root selection, through inline fragments and each named fragment once. */
function* rootFields(operation: OperationDefinitionNode, fragment: (name: string) => FragmentDefinitionNode | null | undefined): Generator<FieldNode> {
  const spread = new Set<string>();
  const pending: SelectionSetNode[] = [operation.selectionSet];
  for (let set = pending.pop(); set; set = pending.pop()) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) yield selection;
      else if (selection.kind === Kind.INLINE_FRAGMENT) pending.push(selection.selectionSet);
      else if (!spread.has(selection.name.value)) {
        spread.add(selection.name.value);
        const definition = fragment(selection.name.value);
        if (definition) pending.push(definition.selectionSet);
      }
    }
  }
}

/**
 * Whether a request without a credential may go on: only the gateway's SDL read may, exactly
 * `{ _service { sdl } }` (and `__typename`), without aliases, arguments, directives or fragments.
 * Only parsing (with the token limit) runs; nothing else looks at an anonymous request.
 */
export function isAnonymousReadable(query: unknown, maxTokens: number): boolean {
  if (typeof query !== "string") return false;
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens, noLocation: true });
  } catch {
    return false;
  }
  return isSdlRead(document);
}

function isSdlRead(document: DocumentNode): boolean {
  const [operation, ...others] = document.definitions;
  if (others.length || operation?.kind !== Kind.OPERATION_DEFINITION || operation.operation !== "query") return false;
  if (operation.variableDefinitions?.length || operation.directives?.length) return false;
  const plain = (selection: SelectionSetNode["selections"][number]): selection is FieldNode =>
    selection.kind === Kind.FIELD && !selection.alias && !selection.arguments?.length && !selection.directives?.length;
  const fields = operation.selectionSet.selections;
  if (!fields.every(plain)) return false;
  const services = fields.filter((f) => f.name.value === "_service");
  if (services.length > 1 || !fields.every((f) => f.name.value === "_service" || (f.name.value === "__typename" && !f.selectionSet))) return false;
  return services.every((s) => s.selectionSet?.selections.every((f) => plain(f) && (f.name.value === "sdl" || f.name.value === "__typename") && !f.selectionSet));
}

const badInput = (message: string, extra: Record<string, unknown> = {}) => ERRORS.badInput(message, { ...extra, http: { status: 400 } });

/**
 * Refuses strings with U+0000 (PostgreSQL cannot store them) and lists or input objects nested
 * deeper than the limit (a filter's AND/OR/NOT recursion), in the variables and in the document.
 */
const tooDeep = (limits: RequestLimits) => badInput(`Arguments and variables may nest lists and input objects at most ${limits.maxInputDepth} levels deep`, { maxInputDepth: limits.maxInputDepth });
const nul = () => badInput("Strings may not contain the NUL character (U+0000)");

function checkVariables(variables: Record<string, unknown>, limits: RequestLimits): void {
  // Recursion stops at the limit, so a 10,000-deep value costs no more than a 33-deep one.
  const walk = (value: unknown, depth: number): void => {
    if (typeof value === "string") {
      if (value.includes("\0")) throw nul();
    } else if (value !== null && typeof value === "object") {
      if (depth >= limits.maxInputDepth) throw tooDeep(limits);
      for (const [key, item] of Object.entries(value)) {
        if (key.includes("\0")) throw nul();
        walk(item, depth + 1);
      }
    }
  };
  walk(variables, -1);
}

function checkDocumentInputs(document: DocumentNode, limits: RequestLimits): void {
  let depth = 0;
  const nest = {
    enter: () => {
      if (++depth > limits.maxInputDepth) throw tooDeep(limits);
    },
    leave: () => {
      depth--;
    },
  };
  visit(document, {
    ListValue: nest,
    ObjectValue: nest,
    StringValue: (node) => {
      if (node.value.includes("\0")) throw nul();
    },
  });
}

/** Coerces the variables as execution will, so a bad value is the caller's error (BAD_USER_INPUT), never the server's. */
function coerceVariables(schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Record<string, unknown>): Record<string, unknown> {
  const result = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { hideSuggestions: true, maxErrors: 1 });
  if (result.errors) throw badInput(result.errors[0].message);
  return result.coerced;
}

/**
 * `_entities` representations must each name an entity type and carry its key (`id`, a string):
 * anything else would reach @apollo/subgraph's resolver and fail there as a server error.
 */
function checkRepresentations(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): void {
  const entityUnion = schema.getType("_Entity");
  const entitiesField = schema.getQueryType()?.getFields()._entities;
  if (!entitiesField || !isUnionType(entityUnion)) return;
  const entityTypes = new Set(entityUnion.getTypes().map((t) => t.name));
  const fragments = new Map(document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  for (const field of rootFields(operation, (name) => fragments.get(name))) {
    if (field.name.value !== "_entities") continue;
    const { representations } = getArgumentValues(entitiesField, field, variables) as { representations: unknown[] };
    representations.forEach((representation, index) => {
      const { __typename: type, id } = (representation ?? {}) as Record<string, unknown>;
      if (typeof representation !== "object" || Array.isArray(representation) || typeof type !== "string" || !entityTypes.has(type) || typeof id !== "string") {
        throw badInput(`representations[${index}] must be an object with the __typename of an entity (${[...entityTypes].join(", ")}) and its id`, { argumentName: "representations" });
      }
    });
  }
}

/**
 * Counts nodes the way GitHub's API does: a paged list of n rows costs n, and everything under
 * it n times (so `artifacts(first: 2) { revisions(first: 20) { files(first: 100) } }` is
 * 2 + 2·20 + 2·20·100 = 4,042). Other fields cost what is under them; `_entities` counts as a
 * list of its representations.
 */
function nodeEstimator(defaultPageSize: number): ComplexityEstimator {
  return ({ args, childComplexity, field }) => {
    if (field.name === "_entities") {
      const rows = Array.isArray(args.representations) ? args.representations.length : 1;
      return rows * (1 + childComplexity);
    }
    const paged = field.args.some((a) => ["first", "last", "limit"].includes(a.name));
    if (!paged) return childComplexity;
    const rows = Number(args.first ?? args.last ?? args.limit ?? defaultPageSize);
    return Math.max(rows, 0) * (1 + childComplexity);
  };
}

export function costOf(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, limits: RequestLimits, operationName?: string): number {
  try {
    return getComplexity({ schema, query: document, variables, operationName, estimators: [nodeEstimator(limits.defaultPageSize)] });
  } catch (error) {
    // The library's own refusal, of a selection of more than 10,000 nodes once fragments are
    // spread out (or an argument it cannot read), is the caller's error.
    if (error instanceof GraphQLError) throw badInput(error.message);
    throw error;
  }
}

/**
 * What checkOperation found for documents it saw before: Apollo's document store hands an
 * identical query over as the same DocumentNode, so a client repeating a query (a web UI's list
 * page) pays for walking it once, and for its cost once per set of variables.
 */
export class OperationChecks {
  private readonly documents = new WeakSet<DocumentNode>();
  private readonly costs = new WeakMap<DocumentNode, Map<string, number>>();

  documentChecked(document: DocumentNode): boolean {
    return this.documents.has(document);
  }

  markChecked(document: DocumentNode): void {
    this.documents.add(document);
  }

  cost(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>, compute: () => number): number {
    const key = costKey(operation, variables);
    // A key of a few KB is a client's large input: costed each time rather than kept.
    if (key === undefined) return compute();
    let known = this.costs.get(document);
    if (!known) this.costs.set(document, (known = new Map()));
    const cached = known.get(key);
    if (cached !== undefined) return cached;
    const cost = compute();
    // Bounded: variables are the client's, a document's entries must not grow without end.
    if (known.size >= COSTS_PER_DOCUMENT) known.delete(known.keys().next().value!);
    known.set(key, cost);
    return cost;
  }

  /** How many costs are kept for a document (for tests). */
  cachedCosts(document: DocumentNode): number {
    return this.costs.get(document)?.size ?? 0;
  }
}

/**
 * A cost depends only on the operation and the values of the variables it declares: anything
 * else a client sends is left out of the key. undefined when the key would be too large to keep.
 */
function costKey(operation: OperationDefinitionNode, variables: Record<string, unknown>): string | undefined {
  const declared = (operation.variableDefinitions ?? []).map((d) => d.variable.name.value);
  const values = declared.map((name) => (name in variables ? (variables[name] ?? null) : "\u0000absent"));
  const key = `${operation.name?.value ?? ""}\n${declared.length ? JSON.stringify(values) : ""}`;
  return key.length > MAX_COST_KEY_CHARS ? undefined : key;
}

const MAX_COST_KEY_CHARS = 4096;
const COSTS_PER_DOCUMENT = 256;

/** Everything checked once the operation is known and valid, before it runs: inputs, variables, representations, cost. */
export function checkOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  limits: RequestLimits,
  seen?: OperationChecks,
): void {
  checkVariables(variables, limits);
  if (!seen?.documentChecked(document)) {
    checkDocumentInputs(document, limits);
    seen?.markChecked(document);
  }
  const coerced = coerceVariables(schema, operation, variables);
  checkRepresentations(schema, document, operation, coerced);
  const compute = () => costOf(schema, document, variables, limits, operation.name?.value);
  const cost = seen ? seen.cost(document, operation, variables, compute) : compute();
  if (cost > limits.maxCost) {
    throw badInput(`Query cost ${cost} exceeds the limit of ${limits.maxCost} nodes; ask for fewer rows`, { cost, maxCost: limits.maxCost });
  }
}

/** checkOperation over HTTP, once Apollo has parsed and validated the request. */
export function requestLimitsPlugin(limits: RequestLimits): ApolloServerPlugin {
  const seen = new OperationChecks();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema, operation }) {
          if (operation) checkOperation(schema, document, operation, request.variables ?? {}, limits, seen);
        },
      };
    },
  };
}

/** graphql-js's errors over graphql-ws get the codes Apollo gives them over HTTP. */
function coded(errors: readonly GraphQLError[], code: string): GraphQLError[] {
  return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, extensions: { ...e.extensions, code } }));
}

/**
 * The same steps for a graphql-ws operation: the execution arguments, or the errors to answer.
 * A caller without a credential is refused right after parsing, as over HTTP (see below).
 */
export function prepareOperation(
  schema: GraphQLSchema,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  auth: Authentication,
  limits: RequestLimits,
): ExecutionArgs | GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parse(payload.query, { maxTokens: limits.maxTokens });
  } catch (error) {
    if (error instanceof GraphQLError) return coded([error], "GRAPHQL_PARSE_FAILED");
    throw error;
  }
  // Nothing more is done for a caller without a credential: the execute and subscribe wrappers
  // (app.ts) answer it UNAUTHENTICATED as a result, which a gateway relays, unlike an error message.
  if (!auth.viewer) return { schema, document, operationName: payload.operationName };
  const errors = validate(schema, document, [...specifiedRules, ...limitRules(limits)], { hideSuggestions: true });
  if (errors.length) return coded(errors, "GRAPHQL_VALIDATION_FAILED");
  const operation = getOperationAST(document, payload.operationName);
  if (!operation) return [badInput("Unable to identify the operation to run: name it with operationName")];
  const variables = payload.variables ?? {};
  try {
    checkOperation(schema, document, operation, variables, limits);
  } catch (error) {
    if (error instanceof GraphQLError) return [error];
    throw error;
  }
  return { schema, document, operationName: payload.operationName, variableValues: variables, hideSuggestions: true };
}
