import jwt from "jsonwebtoken";
import { ERRORS } from "../common/errors";
import { Role } from "../common/enums";
import { isRole, type Viewer } from "./viewer";

export function signToken(viewer: Viewer, secret: string, expiresIn: jwt.SignOptions["expiresIn"] = "30d"): string {
  return jwt.sign({ role: viewer.role }, secret, { algorithm: "HS256", subject: viewer.sub, expiresIn });
}

/** Verifies an HS256 token and returns its viewer; anything wrong with it is UNAUTHENTICATED. */
export function verifyToken(token: string, secret: string): Viewer {
  let claims: jwt.JwtPayload;
  try {
    const decoded = jwt.verify(token, secret, { algorithms: ["HS256"] });
    if (typeof decoded === "string") throw new Error("payload is not an object");
    claims = decoded;
  } catch (error) {
    throw ERRORS.unauthenticated(`Invalid token: ${(error as Error).message}`);
  }
  if (typeof claims.sub !== "string" || claims.sub.length === 0) throw ERRORS.unauthenticated("Invalid token: no sub claim");
  if (!isRole(claims.role)) throw ERRORS.unauthenticated(`Invalid token: role must be one of ${Object.values(Role).join(", ")}`);
  return { sub: claims.sub, role: claims.role };
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
