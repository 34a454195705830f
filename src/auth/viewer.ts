import { Role } from "../common/enums";

/** Who is asking: the verified claims of the request's token. */
export interface Viewer {
  sub: string;
  role: Role;
}

export const ROLES: readonly Role[] = [Role.SUPERADMIN, Role.ADMIN, Role.USER];

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}
