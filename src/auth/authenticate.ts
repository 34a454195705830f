import { AppError, ERRORS } from "../common/errors";
import { bearerToken, verifyToken } from "./jwt";
import type { Viewer } from "./viewer";

export interface Authentication {
  viewer: Viewer | null;
  /** Set when a credential was sent but is unusable: the request fails even where anonymity is allowed. */
  error: AppError | null;
}

/** Resolves the viewer of an HTTP header or a graphql-ws connectionParams value. */
export function authenticate(authorization: unknown, secret: string): Authentication {
  try {
    const token = bearerToken(authorization);
    return { viewer: token ? verifyToken(token, secret) : null, error: null };
  } catch (error) {
    return { viewer: null, error: error instanceof AppError ? error : ERRORS.unauthenticated() };
  }
}

/** connectionParams keys are case-insensitive: `authorization`, `Authorization`, ... */
export function authorizationFromParams(params: Record<string, unknown> | undefined | null): unknown {
  if (!params) return undefined;
  const key = Object.keys(params).find((k) => k.toLowerCase() === "authorization");
  return key ? params[key] : undefined;
}
