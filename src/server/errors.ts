import type { GraphQLFormattedError } from "graphql";
import { KNOWN_CODES } from "../common/errors";
import type { Logger } from "../common/logger";

/** Apollo's own codes for malformed requests are safe to show as they are. */
const APOLLO_CODES = new Set(["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT", "BAD_REQUEST", "OPERATION_RESOLUTION_FAILURE", "PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_NOT_SUPPORTED"]);

/**
 * Known errors reach the client as they are; anything else is logged in full and masked, so
 * SQL, stack traces and internal paths never leak.
 */
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (typeof code === "string" && code !== "INTERNAL_SERVER_ERROR" && (KNOWN_CODES.has(code) || APOLLO_CODES.has(code))) {
      const { stacktrace: _stack, http: _http, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    logger.error("unexpected error while serving a GraphQL request", error instanceof Error ? (error as { originalError?: Error }).originalError ?? error : error);
    return { message: "Internal server error", locations: formatted.locations, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
  };
}
