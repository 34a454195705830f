import { Role } from "../common/enums";

/** Who is asking: the verified claims of the request's token. */
export interface Viewer {
  sub: string;
  role: Role;
}

/** The facts of a verified token that can end it later: when it expires, and what revokes it. */
export interface Credential {
  /** A user token (the server's secret) or a machine client's (a key pair's secret; `subject` is its access key). */
  kind: "user" | "keypair";
  subject: string;
  /** `iat` in seconds since the epoch; null when the token has none. */
  issuedAt: number | null;
  /** `exp` in seconds since the epoch. */
  expiresAt: number;
}

export const ROLES: readonly Role[] = [Role.SUPERADMIN, Role.ADMIN, Role.USER];

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}
