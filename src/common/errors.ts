import { GraphQLError } from "graphql";

/** Every code a client can see in `extensions.code` (see the contract's conventions). */
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "UPSTREAM_ERROR"
  | "INTERNAL_SERVER_ERROR"
  | "NOT_IMPLEMENTED";

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401 };

export class AppError extends GraphQLError {
  constructor(readonly code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    const status = HTTP_STATUS[code];
    super(message, { extensions: { code, ...extra, ...(status ? { http: { status } } : {}) } });
  }
}

export const ERRORS = {
  unauthenticated: (message = "A valid bearer token is required") => new AppError("UNAUTHENTICATED", message),
  forbidden: (message = "Your role may not do this") => new AppError("FORBIDDEN", message),
  badInput: (message: string, extra: Record<string, unknown> = {}) => new AppError("BAD_USER_INPUT", message, extra),
  notFound: (what: string, id: string) => new AppError("NOT_FOUND", `${what} ${id} not found`, { id }),
  conflict: (message: string, extra: Record<string, unknown> = {}) => new AppError("CONFLICT", message, extra),
  upstream: (message: string, extra: Record<string, unknown> = {}) => new AppError("UPSTREAM_ERROR", message, extra),
};

export const KNOWN_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  "UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "NOT_FOUND", "CONFLICT", "UPSTREAM_ERROR",
  "INTERNAL_SERVER_ERROR", "NOT_IMPLEMENTED",
]);
