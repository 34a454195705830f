import { AppError, ERRORS } from "../common/errors";
import { bearerToken, hasIssuer, verifyToken } from "./jwt";
import type { Viewer } from "./viewer";

export interface Authentication {
  viewer: Viewer | null;
  /** Set when a credential was sent but is unusable: the request fails even where anonymity is allowed. */
  error: AppError | null;
}

/** What verifies the two kinds of bearer token this server accepts. */
export interface Verifiers {
  /** The server's own secret: user tokens are HS256 with it, claims `sub` and `role`. */
  userSecret: string;
  /** Machine clients' tokens, signed with a key pair's secret key (KeypairService). */
  keypairs: { verifyClientToken(token: string): Promise<Viewer> };
}

/**
 * Resolves the viewer of an HTTP header or a graphql-ws connectionParams value. A token with an
 * `iss` claim is a key pair's (the issuer is the access key); any other is a user token.
 * Credential problems come back as `error`; a failure to look the key pair up (the database)
 * is thrown, so it surfaces as a server error rather than as a refused credential.
 */
export async function authenticate(authorization: unknown, verifiers: Verifiers): Promise<Authentication> {
  let token: string | null;
  try {
    token = bearerToken(authorization);
  } catch (error) {
    return refused(error);
  }
  if (!token) return { viewer: null, error: null };
  try {
    // Reading `iss` before verifying only picks the key to verify with; nothing is trusted yet.
    const viewer = hasIssuer(token) ? await verifiers.keypairs.verifyClientToken(token) : verifyToken(token, verifiers.userSecret);
    return { viewer, error: null };
  } catch (error) {
    if (error instanceof AppError) return refused(error);
    throw error;
  }
}

function refused(error: unknown): Authentication {
  return { viewer: null, error: error instanceof AppError ? error : ERRORS.unauthenticated() };
}

/** connectionParams keys are case-insensitive: `authorization`, `Authorization`, ... */
export function authorizationFromParams(params: Record<string, unknown> | undefined | null): unknown {
  if (!params) return undefined;
  const key = Object.keys(params).find((k) => k.toLowerCase() === "authorization");
  return key ? params[key] : undefined;
}
