import { createSecretKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { systemClock, type Clock } from "../common/clock";
import { ERRORS } from "../common/errors";
import { Role } from "../common/enums";
import { isRole, type Credential, type Viewer } from "./viewer";

/** Signs with a string secret; for tools and tests. The server signs and verifies with UserTokens. */
/** A minted token's lifetime unless one is asked for: 30 days, or less when AUTH_MAX_TOKEN_TTL is shorter. */
export function defaultTokenLifetime(maxTokenTtlSeconds: number): number {
  return Math.min(30 * 86_400, maxTokenTtlSeconds);
}

export function signToken(viewer: Viewer, secret: string | KeyObject, expiresIn: jwt.SignOptions["expiresIn"] = "30d"): string {
  return jwt.sign({ role: viewer.role }, secret, { algorithm: "HS256", subject: viewer.sub, expiresIn });
}

export interface UserTokenOptions {
  /** AUTH_MAX_TOKEN_TTL: a token whose exp - iat is longer is refused. */
  maxTtlSeconds: number;
  clock?: Clock;
}

/** What a verified token says: who, and the credential's own facts (for expiry and revocation). */
export interface VerifiedToken {
  viewer: Viewer;
  credential: Credential;
}

/**
 * User tokens: HS256 with the server's secret, claims `sub`, `role`, `exp` (required) and `iat`.
 * The key object is built once: jsonwebtoken would otherwise build one from the string on every call.
 */
export class UserTokens {
  private readonly key: KeyObject;
  private readonly clock: Clock;

  constructor(secret: string, private readonly options: UserTokenOptions) {
    this.key = createSecretKey(Buffer.from(secret, "utf8"));
    this.clock = options.clock ?? systemClock;
  }

  get maxTtlSeconds(): number {
    return this.options.maxTtlSeconds;
  }

  /** A token for `viewer` living `lifetimeSeconds` (at most AUTH_MAX_TOKEN_TTL). */
  sign(viewer: Viewer, lifetimeSeconds: number): string {
    const iat = Math.floor(this.clock.now() / 1000);
    const lifetime = Math.min(lifetimeSeconds, this.options.maxTtlSeconds);
    return jwt.sign({ role: viewer.role, iat, exp: iat + lifetime }, this.key, { algorithm: "HS256", subject: viewer.sub });
  }

  /** Verifies a token and returns its viewer; anything wrong with it is UNAUTHENTICATED. */
  verify(token: string): VerifiedToken {
    const now = Math.floor(this.clock.now() / 1000);
    let claims: jwt.JwtPayload;
    try {
      const decoded = jwt.verify(token, this.key, { algorithms: ["HS256"], clockTimestamp: now });
      if (typeof decoded === "string") throw new Error("payload is not an object");
      claims = decoded;
    } catch (error) {
      throw ERRORS.unauthenticated(`Invalid token: ${(error as Error).message}`);
    }
    if (typeof claims.sub !== "string" || claims.sub.length === 0) throw ERRORS.unauthenticated("Invalid token: no sub claim");
    if (!isRole(claims.role)) throw ERRORS.unauthenticated(`Invalid token: role must be one of ${Object.values(Role).join(", ")}`);
    const credential = tokenLifetime("user", claims.sub, claims, now, this.options.maxTtlSeconds);
    return { viewer: { sub: claims.sub, role: claims.role }, credential };
  }
}

/**
 * The credential of verified claims: `exp` is required (a token without one would be good
 * forever), and exp - iat (or exp - now without iat) may not exceed `maxTtlSeconds`.
 */
export function tokenLifetime(kind: Credential["kind"], subject: string, claims: jwt.JwtPayload, now: number, maxTtlSeconds: number): Credential {
  if (typeof claims.exp !== "number") throw ERRORS.unauthenticated("Invalid token: exp is required");
  const issuedAt = typeof claims.iat === "number" ? claims.iat : null;
  const lifetime = claims.exp - (issuedAt ?? now);
  if (lifetime > maxTtlSeconds) {
    throw ERRORS.unauthenticated(`Invalid token: it lives ${lifetime} s, longer than the ${maxTtlSeconds} s this server accepts (AUTH_MAX_TOKEN_TTL)`);
  }
  return { kind, subject, issuedAt, expiresAt: claims.exp };
}

/**
 * Whether the token names an issuer, read without verifying anything: machine clients' tokens
 * carry their access key as `iss`, user tokens carry none.
 */
export function hasIssuer(token: string): boolean {
  const payload = jwt.decode(token);
  return typeof payload === "object" && payload !== null && payload.iss !== undefined;
}

/** Reads `Bearer <token>` from a header value; null when absent. */
export function bearerToken(header: unknown): string | null {
  if (header == null || header === "") return null;
  if (typeof header !== "string") throw ERRORS.unauthenticated("Authorization must be a string");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw ERRORS.unauthenticated("Authorization must be 'Bearer <token>'");
  return match[1];
}
