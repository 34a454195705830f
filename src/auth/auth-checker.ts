import type { AuthCheckerInterface, ResolverData } from "type-graphql";
import { ERRORS } from "../common/errors";
import { Role } from "../common/enums";
import type { AppContext } from "../schema/context";

/**
 * `@Authorized()` needs any signed-in viewer; `@Authorized(Role.ADMIN)` lists the roles allowed
 * besides superadmin, who may do everything. Refusals are typed errors, not type-graphql's own.
 */
export class AuthChecker implements AuthCheckerInterface<AppContext, Role> {
  check({ context }: ResolverData<AppContext>, roles: Role[]): boolean {
    const viewer = context.viewer;
    if (!viewer) throw ERRORS.unauthenticated();
    if (roles.length === 0 || viewer.role === Role.SUPERADMIN || roles.includes(viewer.role)) return true;
    throw ERRORS.forbidden(`The ${viewer.role} role may not do this (allowed: ${[Role.SUPERADMIN, ...roles].join(", ")})`);
  }
}
