import type { ApolloServerPlugin } from "@apollo/server";
import depthLimit from "graphql-depth-limit";
import type { GraphQLSchema } from "graphql";
import { getComplexity, simpleEstimator, type ComplexityEstimator } from "graphql-query-complexity";
import { ERRORS } from "../common/errors";

export interface RequestLimits {
  maxDepth: number;
  maxCost: number;
  defaultPageSize: number;
}

/** A list field costs its children once per row it may return (first/last/limit, or the default page). */
function pagedEstimator(defaultPageSize: number): ComplexityEstimator {
  return ({ args, childComplexity, field }) => {
    const paged = field.args.some((a) => ["first", "last", "limit"].includes(a.name));
    if (!paged) return undefined;
    const rows = Number(args.first ?? args.last ?? args.limit ?? defaultPageSize);
    return 1 + childComplexity * Math.max(rows, 1);
  };
}

export function depthRule(limits: RequestLimits) {
  return depthLimit(limits.maxDepth);
}

export function costOf(schema: GraphQLSchema, document: Parameters<typeof getComplexity>[0]["query"], variables: Record<string, unknown>, limits: RequestLimits, operationName?: string): number {
  return getComplexity({
    schema,
    query: document,
    variables,
    operationName,
    estimators: [pagedEstimator(limits.defaultPageSize), simpleEstimator({ defaultComplexity: 1 })],
  });
}

/** Refuses an operation whose estimated cost is above the limit, before anything runs. */
export function costLimitPlugin(limits: RequestLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema, operationName }) {
          const cost = costOf(schema, document, request.variables ?? {}, limits, operationName ?? undefined);
          if (cost > limits.maxCost) {
            throw ERRORS.badInput(`Query cost ${cost} exceeds the limit of ${limits.maxCost}; ask for fewer rows or fields`, { cost, maxCost: limits.maxCost, http: { status: 400 } });
          }
        },
      };
    },
  };
}
