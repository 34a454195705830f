import { Arg, Authorized, Ctx, Mutation, Resolver } from "type-graphql";
import { Role } from "../common/enums";
import type { AppContext } from "../schema/context";
import { RevokeTokensInput, RevokeTokensPayload } from "./revocation.type";

@Resolver()
export class RevocationResolver {
  @Authorized(Role.SUPERADMIN)
  @Mutation(() => RevokeTokensPayload, {
    nullable: true,
    description: "Refuses every token of the subject issued until now, in every process, and closes the sockets that use them.",
  })
  async revokeTokens(@Arg("input", () => RevokeTokensInput) input: RevokeTokensInput, @Ctx() ctx: AppContext): Promise<RevokeTokensPayload> {
    const notBefore = await ctx.services.revocations.revokeSubject(input.subject, ctx.viewer!.sub);
    return { subject: input.subject.trim(), notBefore };
  }
}
