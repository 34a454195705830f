import { AppError, ERRORS } from "../common/errors";
import { bearerToken, hasIssuer, type UserTokens, type VerifiedToken } from "./jwt";
import type { Credential, Viewer } from "./viewer";

export interface Authentication {
  viewer: Viewer | null;
  /** The accepted token's facts (expiry, subject), with `viewer`. */
  credential?: Credential | null;
  /** Set when a credential was sent but is unusable: the request fails even where anonymity is allowed. */
  error: AppError | null;
}

/** What verifies the two kinds of bearer token this server accepts. */
export interface Verifiers {
  /** User tokens: HS256 with the server's own secret, claims `sub`, `role` and `exp`. */
  users: Pick<UserTokens, "verify">;
  /** Machine clients' tokens, signed with a key pair's secret key (KeypairService). */
  keypairs: { verifyClientToken(token: string): Promise<VerifiedToken> };
  /** Revoked subjects and key pairs (TokenRevocations). */
  revocations: { refusal(credential: Credential): string | null };
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
    const { viewer, credential } = hasIssuer(token) ? await verifiers.keypairs.verifyClientToken(token) : verifiers.users.verify(token);
    const revoked = verifiers.revocations.refusal(credential);
    if (revoked) return refused(ERRORS.unauthenticated(`Invalid token: ${revoked.toLowerCase()}`));
    return { viewer, credential, error: null };
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
